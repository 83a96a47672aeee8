"""ShapeNetPart part-segmentation metrics: instance and class mIoU."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from crosspt.fileio.object_classes import SHAPENETPART_PARTS
from crosspt.registry import METRICS

from .utils import sample_field

RULES = ('pointnet2', 'pointmlp')


def shape_iou(pred: np.ndarray, gt: np.ndarray, parts: Sequence[int], rule: str,
              num_parts: int) -> float:
    """Mean part IoU of one shape.

    ``rule='pointnet2'`` (standard): IoU over the shape category's parts only; a part
    absent from both prediction and ground truth counts as IoU 1.
    ``rule='pointmlp'`` (PointMLP's ``compute_overall_iou``): all ``num_parts`` parts,
    averaging only the parts present in the ground truth.
    """
    ious = []
    for part in (parts if rule == 'pointnet2' else range(num_parts)):
        in_pred, in_gt = pred == part, gt == part
        union = np.logical_or(in_pred, in_gt).sum()
        if rule == 'pointmlp' and not in_gt.any():
            continue
        ious.append(1.0 if union == 0 else np.logical_and(in_pred, in_gt).sum() / union)
    return float(np.mean(ious)) if ious else 1.0


@METRICS.register_module()
class PartSegMIoU(BaseMetric):
    """``instance_miou`` = mean shape IoU over all shapes; ``class_miou`` = mean over the
    categories present of their mean shape IoU (percent).

    Each data sample provides ``pred_part`` (N,) and ``gt_part`` (N,) global part ids and
    ``category`` (int index into ``categories``).
    Args:
        categories: category -> part ids (default ShapeNetPart's 16 categories, 50 parts).
        rule: 'pointnet2' (default, the standard protocol) or 'pointmlp' (see
            :func:`shape_iou`; numbers of the two rules must not be mixed).
    """

    default_prefix = 'partseg'

    def __init__(self, categories: Optional[Dict[str, Sequence[int]]] = None,
                 rule: str = 'pointnet2', collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if rule not in RULES:
            raise KeyError(f'PartSegMIoU: rule must be one of {RULES}, got {rule!r}')
        self.categories = dict(categories or SHAPENETPART_PARTS)
        self.category_names = list(self.categories)
        self.num_parts = 1 + max(p for parts in self.categories.values() for p in parts)
        self.rule = rule

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            pred = torch.as_tensor(sample_field(sample, 'pred_part', 'PartSegMIoU')).cpu().numpy()
            gt = torch.as_tensor(sample_field(sample, 'gt_part', 'PartSegMIoU')).cpu().numpy()
            category = int(sample_field(sample, 'category', 'PartSegMIoU'))
            if pred.shape != gt.shape:
                raise ValueError(f'PartSegMIoU: pred_part {pred.shape} and gt_part {gt.shape} '
                                 'differ in shape')
            if not 0 <= category < len(self.category_names):
                raise ValueError(f'PartSegMIoU: category {category} outside '
                                 f'[0, {len(self.category_names)})')
            if gt.size and (gt.min() < 0 or gt.max() >= self.num_parts):
                raise ValueError(f'PartSegMIoU: gt_part ids must lie in [0, {self.num_parts}), '
                                 f'got [{gt.min()}, {gt.max()}]')
            parts = self.categories[self.category_names[category]]
            self.results.append(
                (category, shape_iou(pred, gt, parts, self.rule, self.num_parts)))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        if not results:
            raise ValueError('PartSegMIoU: no samples were evaluated')
        categories = np.array([c for c, _ in results])
        ious = np.array([iou for _, iou in results])
        class_means = [ious[categories == c].mean() for c in np.unique(categories)]
        return dict(instance_miou=100.0 * float(ious.mean()),
                    class_miou=100.0 * float(np.mean(class_means)))
