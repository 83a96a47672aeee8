"""PPKT building blocks: the UpSampling Projection Layer and the PPNCE loss."""
from .ppnce_loss import PPNCELoss
from .upl import UpsamplingProjection

__all__ = ['PPNCELoss', 'UpsamplingProjection']
