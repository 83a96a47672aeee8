from .backbones import *  # noqa: F401,F403
from .classifiers import *  # noqa: F401,F403
from .data_preprocessor import PointDataPreprocessor  # noqa: F401
from .tap import *  # noqa: F401,F403
from .weight_init import ReportingPretrainedInit  # noqa: F401
