"""Silhouette IoU between generated and rendered views: is the object drawn at all?

Shared by ``ViewGenerationMetric`` (``view/fg_iou``) and the captions of
``TAPViewGridHook``'s grids, so both report the same number.
"""
from typing import Tuple

import torch
from torch import Tensor

# The renderer draws background as pure white (255) and surfaces in greys from 40 to
# 235 (0.16 to 0.92); the TAP loss pushes background pixels towards 1.0 and foreground
# pixels towards the object's grey.  A predicted pixel counts as drawn when its darkest
# channel is below 0.95: above the brightest rendered surface (0.92), so a prediction
# equal to the ground truth scores IoU 1, and 0.05 below white, so a sigmoid output that
# merely approaches the background (never exactly 1.0) is not counted as drawn.
DEFAULT_PRED_FG_THRESHOLD = 0.95


def foreground(images: Tensor, threshold: float) -> Tensor:
    """(..., 3, H, W) -> bool (..., H, W): any channel below ``threshold``.

    With ``threshold=1.0`` this is the TAP loss's rule: every pixel that is not pure white.
    """
    return (images < threshold).any(dim=-3)


def silhouette_iou(pred: Tensor, gt: Tensor, gt_threshold: float = 1.0,
                   pred_threshold: float = DEFAULT_PRED_FG_THRESHOLD) -> Tensor:
    """IoU of predicted and ground-truth foreground, one value per view.

    Args:
        pred, gt: (..., 3, H, W) images in [0, 1], e.g. (V, 3, H, W).
        gt_threshold: foreground rule for ``gt`` (the loss's ``fg_threshold``).
        pred_threshold: foreground rule for ``pred``.
    Returns:
        float (...), e.g. (V,).  A view where both masks are empty has IoU 1 (nothing to
        draw, nothing drawn).
    """
    if pred.shape != gt.shape:
        raise ValueError(f'silhouette_iou: prediction {tuple(pred.shape)} and ground truth '
                         f'{tuple(gt.shape)} differ in shape')
    p, g = foreground(pred, pred_threshold), foreground(gt, gt_threshold)
    inter, union = _counts(p & g), _counts(p | g)
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def silhouette_iou_floor(gt: Tensor, gt_threshold: float = 1.0) -> Tensor:
    """IoU of the best constant image per view: (..., 3, H, W) -> float (...).

    A constant image is all foreground (IoU = |gt fg| / |pixels|) or all background
    (IoU 1 if the gt foreground is empty, else 0); the floor is the better of the two.
    """
    g = foreground(gt, gt_threshold)
    fraction = _counts(g) / (g.shape[-1] * g.shape[-2])
    return torch.where(fraction > 0, fraction, torch.ones_like(fraction))


def mean_iou_and_floor(pred: Tensor, gt: Tensor, gt_threshold: float,
                       pred_threshold: float) -> Tuple[Tensor, Tensor]:
    """(..., V, 3, H, W) pair -> (fg_iou, floor), each float (...) averaged over views."""
    return (silhouette_iou(pred, gt, gt_threshold, pred_threshold).mean(dim=-1),
            silhouette_iou_floor(gt, gt_threshold).mean(dim=-1))


def _counts(mask: Tensor) -> Tensor:
    """bool (..., H, W) -> float (...): number of True pixels."""
    return mask.flatten(-2).sum(dim=-1).float()
