"""Per-point part classifier that owns its loss (docs/methods/tap.md, 'ShapeNetPart
fine-tuning')."""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.registry import MODELS


@MODELS.register_module()
class PartSegHead(BaseModule):
    """``Conv1d(in -> hidden, no bias) - BN - act - Dropout - Conv1d(hidden -> K)`` per point.

    Keys: ``layers.0`` (conv), ``layers.1`` (BN), ``layers.4`` (classifier); ``layers.2``
    is the activation (``nn.Identity`` with ``act=None``) so the indices do not move.

    Args:
        in_channels: per-point feature width (256 for :class:`PointMLPPartSeg`).
        num_classes: number of parts (50 for ShapeNetPart).
        hidden_channels: 128.
        dropout: 0.5.
        act: 'relu' (default) or ``None``; TAP's / PointMLP's classifier has no
            activation between BN and dropout (docs/methods/tap.md, 'ShapeNetPart
            fine-tuning'), ``act=None`` reproduces it.
        loss: loss config applied to the logits (default cross-entropy; TAP uses
            ``dict(type='Poly1FocalLoss', input='log_softmax')``).
    """

    def __init__(self, in_channels: int = 256, num_classes: int = 50,
                 hidden_channels: int = 128, dropout: float = 0.5,
                 act: Optional[str] = 'relu',
                 loss: dict = dict(type='PointCrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        acts = {'relu': nn.ReLU, None: nn.Identity}
        if act not in acts:
            raise KeyError(f"PartSegHead: act must be 'relu' or None, got {act!r}")
        self.layers = nn.Sequential(
            nn.Conv1d(in_channels, hidden_channels, 1, bias=False),
            nn.BatchNorm1d(hidden_channels), acts[act](), nn.Dropout(dropout),
            nn.Conv1d(hidden_channels, num_classes, 1))
        self.in_channels, self.num_classes = in_channels, num_classes
        self.loss_module = MODELS.build(loss)

    def forward(self, point_features: Tensor) -> Tensor:
        """point_features (B, N, C) -> logits (B, N, K)."""
        if point_features.dim() != 3 or point_features.shape[-1] != self.in_channels:
            raise ValueError(f'PartSegHead: expected point features (B, N, {self.in_channels}), '
                             f'got {tuple(point_features.shape)}')
        return self.layers(point_features.transpose(1, 2)).transpose(1, 2)

    def loss(self, logits: Tensor, gt_part: Tensor) -> Dict[str, Tensor]:
        """logits (B, N, K), gt_part (B, N) int64 -> dict(loss_seg, accuracy (percent))."""
        accuracy = (logits.detach().argmax(-1) == gt_part).float().mean() * 100
        return dict(loss_seg=self.loss_module(logits, gt_part), accuracy=accuracy)

    def predict(self, logits: Tensor) -> Tensor:
        """logits (B, N, K) -> part probabilities (B, N, K)."""
        return torch.softmax(logits, dim=-1)
