from .point_transformer import PointTransformer
from .pointmlp import PointMLP
from .pointnet2 import PointNet2

__all__ = ['PointMLP', 'PointNet2', 'PointTransformer']
