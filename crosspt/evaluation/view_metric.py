"""Validation metric for TAP: how well generated views match the rendered ones."""
from typing import Dict, List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from crosspt.registry import METRICS

from .silhouette import DEFAULT_PRED_FG_THRESHOLD, foreground, mean_iou_and_floor
from .utils import sample_field


@METRICS.register_module()
class ViewGenerationMetric(BaseMetric):
    """Per object: the TAP loss (``fg_weight * MSE_fg + bg_weight * MSE_bg``), both MSEs,
    the PSNR over all pixels, ``fg_iou`` and ``fg_iou_floor``; reported as means over objects.

    Reads ``pred_images`` and ``gt_images`` (V, 3, H, W) in [0, 1] from each data sample.
    Foreground = any ground-truth channel below ``fg_threshold`` (the loss's rule).

    ``fg_iou`` is the silhouette IoU per view (averaged over views) between the predicted
    foreground (any channel below ``pred_fg_threshold``) and the ground-truth foreground;
    a view where both are empty scores 1.  ``fg_iou_floor`` is what the best constant
    image scores (see ``silhouette_iou_floor``): a model that only draws the mean image
    stays at the floor.  ``pred_fg_threshold`` defaults to 0.95: the loss pushes
    background towards 1.0 and the embedded renderer draws surfaces at most 0.92 grey, so a perfect
    prediction scores 1 while an almost-white sigmoid output is not counted as drawn.
    """

    default_prefix = 'view'

    def __init__(self, fg_weight: float = 20.0, bg_weight: float = 1.0,
                 fg_threshold: float = 1.0,
                 pred_fg_threshold: float = DEFAULT_PRED_FG_THRESHOLD, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fg_weight, self.bg_weight, self.fg_threshold = fg_weight, bg_weight, fg_threshold
        self.pred_fg_threshold = pred_fg_threshold

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            pred = _field(sample, 'pred_images').float()
            gt = _field(sample, 'gt_images').float()
            fg = foreground(gt, self.fg_threshold).unsqueeze(-3).expand_as(gt)
            sq = (pred - gt) ** 2
            mse_fg = sq[fg].mean().item() if fg.any() else 0.0
            mse_bg = sq[~fg].mean().item() if (~fg).any() else 0.0
            mse = sq.mean().item()
            iou, floor = mean_iou_and_floor(pred, gt, self.fg_threshold, self.pred_fg_threshold)
            self.results.append(dict(
                loss=self.fg_weight * mse_fg + self.bg_weight * mse_bg, mse_fg=mse_fg,
                mse_bg=mse_bg, psnr=10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-10))).item(),
                fg_iou=iou.item(), fg_iou_floor=floor.item()))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('ViewGenerationMetric: no samples were evaluated')
        keys = results[0].keys()
        return {k: sum(r[k] for r in results) / len(results) for k in keys}


def _field(sample, name: str) -> torch.Tensor:
    return sample_field(sample, name, 'ViewGenerationMetric',
                        "the model must run in mode='predict' on data with images")
