"""Per-point classification losses for part segmentation (docs/methods/tap.md,
'ShapeNetPart fine-tuning').

Both take channel-last scores ``(..., K)`` (e.g. ``(B, N, K)``) and integer labels of
the leading shape ``(...)`` (e.g. ``(B, N)``).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from crosspt.registry import MODELS

REDUCTIONS = ('mean', 'sum', 'none')


def _check_labels(name: str, scores: Tensor, labels: Tensor,
                  ignore_index: Optional[int] = None) -> None:
    if scores.shape[:-1] != labels.shape:
        raise ValueError(f'{name}: scores {tuple(scores.shape)} need labels of shape '
                         f'{tuple(scores.shape[:-1])}, got {tuple(labels.shape)}')
    valid = labels if ignore_index is None else labels[labels != ignore_index]
    num_classes = scores.shape[-1]
    if valid.numel() and (valid.min() < 0 or valid.max() >= num_classes):
        raise ValueError(f'{name}: labels must lie in [0, {num_classes}), got '
                         f'[{int(valid.min())}, {int(valid.max())}]')


@MODELS.register_module()
class PointCrossEntropyLoss(nn.Module):
    """Softmax cross-entropy over the last axis, averaged over all (non-ignored) points.

    Args:
        label_smoothing: torch's rule (``eps / K`` on every class).
        ignore_index: label to skip (``None``: every label must be a valid class).
        loss_weight: multiplies the loss.
    """

    def __init__(self, label_smoothing: float = 0.0, ignore_index: Optional[int] = None,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f'PointCrossEntropyLoss: label_smoothing must be in [0, 1), '
                             f'got {label_smoothing}')
        self.label_smoothing, self.ignore_index = label_smoothing, ignore_index
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """logits (..., K), labels (...) int64 -> scalar."""
        _check_labels('PointCrossEntropyLoss', logits, labels, self.ignore_index)
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1).long(),
            ignore_index=-100 if self.ignore_index is None else self.ignore_index,
            label_smoothing=self.label_smoothing)
        return self.loss_weight * loss


@MODELS.register_module()
class Poly1FocalLoss(nn.Module):
    """Sigmoid focal loss plus the Poly-1 term, on one-hot targets over the K classes.

    Per element (point ``i``, class ``c``), with ``p = sigmoid(s_ic)`` and ``y`` the
    one-hot target::

        p_t   = y p + (1 - y)(1 - p)
        alpha_t = alpha y + (1 - alpha)(1 - y)          (skipped when alpha < 0)
        loss  = alpha_t (1 - p_t)^gamma BCE(s_ic, y) + epsilon (1 - p_t)^(gamma + 1)

    ``reduction='mean'`` averages over **all** elements (points x classes).

    Args:
        epsilon, alpha, gamma: 1.0, 0.25, 2.0 as in TAP's ShapeNetPart config.
        input: ``'logits'`` applies the loss to the raw scores; ``'log_softmax'``
            first takes ``log_softmax`` over the classes, as TAP does (its model returns
            log-probabilities and the loss is applied to them, a quirk listed in
            docs/methods/tap.md, 'Quirks of the released code'; then
            every ``p <= 0.5``).
        reduction: 'mean', 'sum' or 'none' (returns the (..., K) elements).
        loss_weight: multiplies the loss.
    """

    def __init__(self, epsilon: float = 1.0, alpha: float = 0.25, gamma: float = 2.0,
                 input: str = 'logits', reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if input not in ('logits', 'log_softmax'):
            raise ValueError(f"Poly1FocalLoss: input must be 'logits' or 'log_softmax', "
                             f'got {input!r}')
        if reduction not in REDUCTIONS:
            raise ValueError(f'Poly1FocalLoss: reduction must be one of {REDUCTIONS}, '
                             f'got {reduction!r}')
        self.epsilon, self.alpha, self.gamma = epsilon, alpha, gamma
        self.input, self.reduction, self.loss_weight = input, reduction, loss_weight

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """logits (..., K), labels (...) int64 -> scalar (or (..., K) for 'none')."""
        _check_labels('Poly1FocalLoss', logits, labels)
        scores = F.log_softmax(logits, dim=-1) if self.input == 'log_softmax' else logits
        target = F.one_hot(labels.long(), scores.shape[-1]).to(scores.dtype)
        p = torch.sigmoid(scores)
        bce = F.binary_cross_entropy_with_logits(scores, target, reduction='none')
        one_minus_pt = 1 - (target * p + (1 - target) * (1 - p))
        loss = bce * one_minus_pt ** self.gamma
        if self.alpha >= 0:
            loss = loss * (self.alpha * target + (1 - self.alpha) * (1 - target))
        loss = loss + self.epsilon * one_minus_pt ** (self.gamma + 1)
        if self.reduction == 'mean':
            loss = loss.mean()
        elif self.reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss
