from .losses import Poly1FocalLoss, PointCrossEntropyLoss
from .part_seg_head import PartSegHead
from .part_segmentor import PointPartSegmentor, refine_part_labels

__all__ = ['Poly1FocalLoss', 'PointCrossEntropyLoss', 'PartSegHead', 'PointPartSegmentor',
           'refine_part_labels']
