"""Classification head and its label-smoothed cross-entropy (docs/methods/tap.md,
'Classification head')."""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.registry import MODELS


@MODELS.register_module()
class SmoothCrossEntropyLoss(nn.Module):
    """``-sum(target * log_softmax(logits))`` averaged over the batch, with
    ``target = onehot * (1 - eps) + (1 - onehot) * eps / (K - 1)`` (openpoints' rule; note
    the ``K - 1``, where torch's ``label_smoothing`` uses ``eps / K`` on every class)."""

    def __init__(self, label_smoothing: float = 0.3, loss_weight: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f'SmoothCrossEntropyLoss: label_smoothing must be in [0, 1), '
                             f'got {label_smoothing}')
        self.label_smoothing, self.loss_weight = label_smoothing, loss_weight

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """logits (B, K), labels (B,) int64 -> scalar."""
        num_classes = logits.shape[-1]
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(f'SmoothCrossEntropyLoss: labels must lie in [0, {num_classes}), '
                             f'got [{int(labels.min())}, {int(labels.max())}]')
        eps = self.label_smoothing
        onehot = F.one_hot(labels, num_classes).to(logits.dtype)
        target = onehot * (1 - eps) + (1 - onehot) * eps / max(num_classes - 1, 1)
        return self.loss_weight * -(target * F.log_softmax(logits, dim=-1)).sum(-1).mean()


@MODELS.register_module()
class ClsHead(BaseModule):
    """MLP head ``[Linear(no bias)-BN-ReLU, Dropout] x len(hidden_dims)`` then
    ``Linear(hidden_dims[-1], num_classes)``; owns its loss.

    Keys: ``layers.{0,2}.{0,1}`` (linear, BN), ``layers.4.0`` (classifier), as openpoints'
    ``prediction.head`` with the default two hidden layers.
    """

    def __init__(self, in_channels: int, num_classes: int,
                 hidden_dims: Sequence[int] = (512, 256), dropout: float = 0.5,
                 loss: dict = dict(type='SmoothCrossEntropyLoss', label_smoothing=0.3),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        layers = []
        channels = in_channels
        for hidden in hidden_dims:
            layers.append(nn.Sequential(nn.Linear(channels, hidden, bias=False),
                                        nn.BatchNorm1d(hidden), nn.ReLU(inplace=True)))
            layers.append(nn.Dropout(dropout))
            channels = hidden
        layers.append(nn.Sequential(nn.Linear(channels, num_classes)))
        self.layers = nn.Sequential(*layers)
        self.in_channels, self.num_classes = in_channels, num_classes
        self.loss_module = MODELS.build(loss)

    def forward(self, global_features: Tensor) -> Tensor:
        """(B, C) -> logits (B, K)."""
        if global_features.dim() != 2 or global_features.shape[1] != self.in_channels:
            raise ValueError(f'ClsHead: expected global features (B, {self.in_channels}), got '
                             f'{tuple(global_features.shape)}')
        return self.layers(global_features)

    def loss(self, global_features: Tensor, labels: Tensor) -> Dict[str, Tensor]:
        logits = self(global_features)
        accuracy = (logits.argmax(-1) == labels).float().mean() * 100
        return dict(loss_cls=self.loss_module(logits, labels), accuracy=accuracy.detach())

    def predict(self, global_features: Tensor) -> Tensor:
        """(B, C) -> class probabilities (B, K)."""
        return torch.softmax(self(global_features), dim=-1)
