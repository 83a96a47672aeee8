from .dgcnn import DGCNN
from .point_transformer import PointTransformer
from .pointmlp import PointMLP
from .pointmlp_partseg import PointMLPPartSeg
from .pointnet2 import PointNet2
from .srunet import SRUNet

__all__ = ['DGCNN', 'PointMLP', 'PointMLPPartSeg', 'PointNet2', 'PointTransformer', 'SRUNet']
