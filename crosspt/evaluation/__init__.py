from .classification_metric import ClassificationAccuracy
from .image_seg_metric import ImageSegMIoU  # noqa: F401
from .linear_probe import (confusion_matrix, extract_global_features, extract_point_features,
                           fit_linear_probe, fit_point_probe, segmentation_scores)
from .part_seg_metric import SHAPENETPART_PARTS, PartSegMIoU, shape_iou
from .ppkt_retrieval_metric import PPKTRetrievalMetric, retrieval_auc, retrieval_topk
from .silhouette import silhouette_iou, silhouette_iou_floor
from .view_metric import ViewGenerationMetric

__all__ = ['ViewGenerationMetric', 'ClassificationAccuracy', 'PartSegMIoU', 'shape_iou',
           'SHAPENETPART_PARTS', 'silhouette_iou', 'silhouette_iou_floor',
           'PPKTRetrievalMetric', 'retrieval_auc', 'retrieval_topk', 'extract_global_features',
           'fit_linear_probe', 'extract_point_features', 'fit_point_probe',
           'confusion_matrix', 'segmentation_scores']
