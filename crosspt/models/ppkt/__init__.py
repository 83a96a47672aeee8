"""PPKT: the algorithm, its data preprocessor, the UpSampling Projection Layer, the PPNCE
loss and the point-based student adapter."""
from .ppkt import PPKT, PointStudent, PPKTDataPreprocessor
from .ppnce_loss import PPNCELoss
from .upl import UpsamplingProjection

__all__ = ['PPKT', 'PPKTDataPreprocessor', 'PointStudent', 'PPNCELoss', 'UpsamplingProjection']
