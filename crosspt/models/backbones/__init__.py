from .pointmlp import PointMLP
from .pointnet2 import PointNet2

__all__ = ['PointMLP', 'PointNet2']
