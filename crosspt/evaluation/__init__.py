from .classification_metric import ClassificationAccuracy
from .image_seg_metric import ImageSegMIoU  # noqa: F401
from .part_seg_metric import SHAPENETPART_PARTS, PartSegMIoU, shape_iou
from .silhouette import silhouette_iou, silhouette_iou_floor
from .view_metric import ViewGenerationMetric

__all__ = ['ViewGenerationMetric', 'ClassificationAccuracy', 'PartSegMIoU', 'shape_iou',
           'SHAPENETPART_PARTS', 'silhouette_iou', 'silhouette_iou_floor']
