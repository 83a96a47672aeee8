from .backbones import *  # noqa: F401,F403
from .classifiers import *  # noqa: F401,F403
from .data_preprocessor import PointDataPreprocessor  # noqa: F401
from .detectors import *  # noqa: F401,F403
from .image import *  # noqa: F401,F403
from .ppkt import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .tap import *  # noqa: F401,F403
from .weight_init import ReportingPretrainedInit  # noqa: F401
from .tta import PartSegTTAModel, PointClsTTAModel  # noqa: F401
