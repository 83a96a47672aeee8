"""Object classification metrics: overall accuracy and mean class accuracy."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from crosspt.registry import METRICS

from .utils import sample_field


@METRICS.register_module()
class ClassificationAccuracy(BaseMetric):
    """``oa`` = correct / all objects; ``macc`` = mean over the classes present in the
    ground truth of the per-class accuracy (both in percent).

    Each data sample provides ``gt_label`` (int) and ``pred_score`` ((K,) scores or
    logits; the prediction is their argmax) or ``pred_label`` (int).
    Args:
        num_classes: K; labels outside [0, K) raise an error naming the label.
    """

    default_prefix = 'cls'

    def __init__(self, num_classes: int, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            gt = int(sample_field(sample, 'gt_label', 'ClassificationAccuracy'))
            score = sample.get('pred_score') if hasattr(sample, 'get') else None
            if score is not None:
                pred = int(torch.as_tensor(score).argmax())
            else:
                pred = int(sample_field(sample, 'pred_label', 'ClassificationAccuracy'))
            for name, label in (('gt_label', gt), ('pred_label', pred)):
                if not 0 <= label < self.num_classes:
                    raise ValueError(f'ClassificationAccuracy: {name} {label} outside '
                                     f'[0, {self.num_classes})')
            self.results.append((gt, pred))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        if not results:
            raise ValueError('ClassificationAccuracy: no samples were evaluated')
        gt, pred = np.array(results).T
        per_class = [np.mean(pred[gt == c] == c) for c in np.unique(gt)]
        return dict(oa=100.0 * float(np.mean(gt == pred)), macc=100.0 * float(np.mean(per_class)))
