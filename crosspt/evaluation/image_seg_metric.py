"""Pixel accuracy and mIoU of 2D semantic segmentation from one confusion matrix over
all evaluated images (the ScanNet / mmdet3d convention, docs/methods/benchmarks.md,
'mIoU')."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from crosspt.registry import METRICS

from .confusion import confusion_matrix, iou_per_class
from .utils import sample_field


def scores_from_confusion(conf: np.ndarray) -> Dict[str, float]:
    """``aAcc`` = correct / labelled pixels; ``mIoU`` = mean over classes with
    TP + FP + FN > 0 of TP / (TP + FP + FN); ``mAcc`` = mean over classes present in
    the ground truth of TP / (TP + FN).  Percent."""
    conf = conf.astype(np.float64)
    tp, gt_count = np.diag(conf), conf.sum(1)
    total = conf.sum()
    if total == 0:
        raise ValueError('ImageSegMIoU: no labelled pixel was evaluated')
    iou = iou_per_class(conf)
    iou = iou[~np.isnan(iou)]
    acc = tp[gt_count > 0] / gt_count[gt_count > 0]
    return dict(aAcc=100.0 * tp.sum() / total, mIoU=100.0 * float(iou.mean()),
                mAcc=100.0 * float(acc.mean()))


@METRICS.register_module()
class ImageSegMIoU(BaseMetric):
    """Data samples provide ``gt_sem_seg`` and ``pred_sem_seg`` ((H, W) ids).

    Args:
        num_classes: K (20 for ScanNet).
        ignore_index: ground-truth id that is not evaluated (255).
        class_names: when given, per-class IoU is reported as ``IoU.<name>``.
    """

    default_prefix = 'seg2d'

    def __init__(self, num_classes: int = 20, ignore_index: int = 255,
                 class_names: Optional[Sequence[str]] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f'ImageSegMIoU: {len(class_names)} class_names for num_classes='
                             f'{num_classes}')
        self.num_classes, self.ignore_index = int(num_classes), int(ignore_index)
        self.class_names = None if class_names is None else tuple(class_names)

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            gt = torch.as_tensor(sample_field(sample, 'gt_sem_seg', 'ImageSegMIoU')).cpu()
            pred = torch.as_tensor(sample_field(sample, 'pred_sem_seg', 'ImageSegMIoU')).cpu()
            if gt.shape != pred.shape:
                raise ValueError(f'ImageSegMIoU: gt_sem_seg {tuple(gt.shape)} and pred_sem_seg '
                                 f'{tuple(pred.shape)} differ in shape')
            self.results.append(confusion_matrix(
                gt.numpy(), pred.numpy(), self.num_classes, self.ignore_index,
                owner='ImageSegMIoU', names=('gt_sem_seg', 'pred_sem_seg')))

    def compute_metrics(self, results: List[np.ndarray]) -> Dict[str, float]:
        if not results:
            raise ValueError('ImageSegMIoU: no samples were evaluated')
        conf = np.sum(results, axis=0)
        metrics = scores_from_confusion(conf)
        if self.class_names is not None:
            for name, iou in zip(self.class_names, iou_per_class(conf)):
                if not np.isnan(iou):
                    metrics[f'IoU.{name}'] = 100.0 * float(iou)
        return metrics
