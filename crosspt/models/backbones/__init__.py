from .dgcnn import DGCNN
from .point_transformer import PointTransformer
from .pointmlp import PointMLP
from .pointmlp_partseg import PointMLPPartSeg
from .pointnet2 import PointNet2

__all__ = ['DGCNN', 'PointMLP', 'PointMLPPartSeg', 'PointNet2', 'PointTransformer']
