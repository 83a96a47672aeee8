"""Validation metric for TAP: how well generated views match the rendered ones."""
from typing import Dict, List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from crosspt.registry import METRICS

from .utils import sample_field


@METRICS.register_module()
class ViewGenerationMetric(BaseMetric):
    """Per object: the TAP loss (``fg_weight * MSE_fg + bg_weight * MSE_bg``), both MSEs
    and the PSNR over all pixels; reported as means over objects.

    Reads ``pred_images`` and ``gt_images`` (V, 3, H, W) in [0, 1] from each data sample.
    Foreground = any ground-truth channel below ``fg_threshold``.
    """

    default_prefix = 'view'

    def __init__(self, fg_weight: float = 20.0, bg_weight: float = 1.0,
                 fg_threshold: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fg_weight, self.bg_weight, self.fg_threshold = fg_weight, bg_weight, fg_threshold

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            pred = _field(sample, 'pred_images').float()
            gt = _field(sample, 'gt_images').float()
            fg = (gt < self.fg_threshold).any(dim=-3, keepdim=True).expand_as(gt)
            sq = (pred - gt) ** 2
            mse_fg = sq[fg].mean().item() if fg.any() else 0.0
            mse_bg = sq[~fg].mean().item() if (~fg).any() else 0.0
            mse = sq.mean().item()
            self.results.append(dict(
                loss=self.fg_weight * mse_fg + self.bg_weight * mse_bg, mse_fg=mse_fg,
                mse_bg=mse_bg, psnr=10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-10))).item()))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('ViewGenerationMetric: no samples were evaluated')
        keys = results[0].keys()
        return {k: sum(r[k] for r in results) / len(results) for k in keys}


def _field(sample, name: str) -> torch.Tensor:
    return sample_field(sample, name, 'ViewGenerationMetric',
                        "the model must run in mode='predict' on data with images")
