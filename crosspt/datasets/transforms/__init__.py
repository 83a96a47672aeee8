"""Data transforms registered in ``crosspt.registry.TRANSFORMS``."""
from .object_transforms import (FPSSamplePoints, FPSThenRandom, LoadObjectPoints,
                                PackPartSegInputs, PackPointClsInputs, RandomDropNormals,
                                RandomJitter, RandomRotateAxis, RandomSamplePoints,
                                RandomTranslate, ShufflePoints, TakeFirstPoints)
from . import rgbd_transforms  # noqa: F401  (PPKT RGB-D frame transforms)
from .tap_transforms import (CenterAndNormalize, ComputeHeight, LoadPointsFromPLY,
                             LoadViewImages, NormalizeToUnitSphere, PackTAPInputs,
                             RandomPointScaling, RandomSampleViews)
from .test_time_aug import PointTestTimeAug

__all__ = [
    'LoadPointsFromPLY', 'NormalizeToUnitSphere', 'ComputeHeight', 'RandomPointScaling',
    'CenterAndNormalize', 'RandomSampleViews', 'LoadViewImages', 'PackTAPInputs',
    'LoadObjectPoints', 'ShufflePoints', 'TakeFirstPoints', 'RandomSamplePoints',
    'FPSSamplePoints', 'FPSThenRandom', 'RandomRotateAxis', 'RandomTranslate', 'RandomJitter',
    'RandomDropNormals', 'PackPointClsInputs', 'PackPartSegInputs', 'PointTestTimeAug',
]
