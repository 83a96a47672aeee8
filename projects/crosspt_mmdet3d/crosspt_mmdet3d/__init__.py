"""crosspt encoders, heads and detectors in mmdet3d's registries.

Loaded by mmdet3d-scoped configs with
``custom_imports = dict(imports=['projects.crosspt_mmdet3d.crosspt_mmdet3d'])``.
Importing this package imports mmdet3d (and so the compiled mmcv ops); crosspt's core
never imports it.  Every point op on the default path is crosspt's pure-PyTorch one.
"""
from . import segmentation  # noqa: F401
from . import detection  # noqa: F401
from . import datasets  # noqa: F401
from . import sunrgbd  # noqa: F401
from . import transforms  # noqa: F401
from . import scene_augment  # noqa: F401
from . import scene_segmentor  # noqa: F401
from . import s3dis  # noqa: F401
from . import point_contract  # noqa: F401
from . import votenet_cpu  # noqa: F401
