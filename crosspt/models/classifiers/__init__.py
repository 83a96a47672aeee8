from .cls_head import ClsHead, SmoothCrossEntropyLoss
from .point_classifier import PointClassifier

__all__ = ['ClsHead', 'SmoothCrossEntropyLoss', 'PointClassifier']
