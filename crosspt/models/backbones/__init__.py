import warnings
from typing import Any

from .dgcnn import DGCNN
from .pointmlp import PointMLP
from .pointmlp_partseg import PointMLPPartSeg
from .pointnet2 import PointNet2
from .srunet import SRUNet
from .standard_transformer import POINT_TRANSFORMER_DEPRECATION, StandardTransformer

__all__ = ['DGCNN', 'PointMLP', 'PointMLPPartSeg', 'PointNet2', 'StandardTransformer',
           'SRUNet']


def __getattr__(name: str) -> Any:
    """``crosspt.models.backbones.PointTransformer``: the deprecated name of
    :class:`StandardTransformer` (warns, returns that class)."""
    if name == 'PointTransformer':
        warnings.warn(POINT_TRANSFORMER_DEPRECATION, DeprecationWarning, stacklevel=2)
        return StandardTransformer
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
