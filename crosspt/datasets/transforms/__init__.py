"""Data transforms registered in ``crosspt.registry.TRANSFORMS``."""
from .tap_transforms import (CenterAndNormalize, ComputeHeight, LoadPointsFromPLY,
                             LoadViewImages, NormalizeToUnitSphere, PackTAPInputs,
                             RandomPointScaling, RandomSampleViews)

__all__ = [
    'LoadPointsFromPLY', 'NormalizeToUnitSphere', 'ComputeHeight', 'RandomPointScaling',
    'CenterAndNormalize', 'RandomSampleViews', 'LoadViewImages', 'PackTAPInputs',
]
