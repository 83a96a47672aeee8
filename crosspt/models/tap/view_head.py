"""TAP 2D generator and its loss.

- ``TAPViewDecoder``: 4 transposed convs, ``(B*V, 256, 7, 7) -> (B*V, 3, 224, 224)``;
  ReLU x3 then Sigmoid, so outputs are in [0, 1] like the ground-truth images / 255.
- ``FgBgWeightedMSELoss``: ``fg_weight * MSE(fg pixels) + bg_weight * MSE(bg pixels)``
  where a pixel is foreground if any channel of the ground truth is below
  ``fg_threshold`` (1.0 = not pure white).  Each term is a mean over its own elements;
  a term whose pixel set is empty contributes 0 (the released code would give NaN).
- ``TAPViewHead``: owns the decoder and the loss.
"""
from typing import Dict, Optional

from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.registry import MODELS


@MODELS.register_module()
class TAPViewDecoder(BaseModule):
    """Transposed-conv image generator: 7 -> 28 -> 56 -> 112 -> 224."""

    def __init__(self, in_channels: int = 256, out_channels: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.layer1 = nn.Sequential(
            nn.ConvTranspose2d(in_channels, 128, 5, stride=4, padding=1, output_padding=1),
            nn.ReLU())
        self.layer2 = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 3, stride=2, padding=1, output_padding=1), nn.ReLU())
        self.layer3 = nn.Sequential(
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU())
        self.layer4 = nn.Sequential(
            nn.ConvTranspose2d(32, out_channels, 3, stride=2, padding=1, output_padding=1),
            nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


@MODELS.register_module()
class FgBgWeightedMSELoss(nn.Module):
    """Foreground/background-weighted MSE between images ``(B, 3, H, W)`` in [0, 1]."""

    def __init__(self, fg_weight: float = 20.0, bg_weight: float = 1.0,
                 fg_threshold: float = 1.0) -> None:
        super().__init__()
        self.fg_weight, self.bg_weight, self.fg_threshold = fg_weight, bg_weight, fg_threshold

    def foreground_mask(self, target: Tensor) -> Tensor:
        """(B, 3, H, W) -> bool (B, 3, H, W): any channel below the threshold."""
        return (target < self.fg_threshold).any(dim=1, keepdim=True).expand_as(target)

    def forward(self, pred: Tensor, target: Tensor) -> Dict[str, Tensor]:
        if pred.shape != target.shape:
            raise ValueError(f'FgBgWeightedMSELoss: prediction {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} differ in shape')
        fg = self.foreground_mask(target)
        sq = (pred - target.to(pred.dtype)) ** 2
        fg_f = fg.to(sq.dtype)
        mse_fg = (sq * fg_f).sum() / fg_f.sum().clamp(min=1)
        mse_bg = (sq * (1 - fg_f)).sum() / (1 - fg_f).sum().clamp(min=1)
        return dict(loss=self.fg_weight * mse_fg + self.bg_weight * mse_bg,
                    mse_fg=mse_fg.detach(), mse_bg=mse_bg.detach())


@MODELS.register_module()
class TAPViewHead(BaseModule):
    """View features ``(B*V, D, S, S)`` -> images; ``loss`` compares with ground truth."""

    def __init__(self, decoder: dict, loss: dict, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.decoder = MODELS.build(decoder)
        self.loss_module = MODELS.build(loss)

    def predict(self, view_features: Tensor) -> Tensor:
        return self.decoder(view_features)

    def loss(self, view_features: Tensor, target_images: Tensor) -> Dict[str, Tensor]:
        """target_images: (B, V, 3, H, W) in [0, 1], batch-major like the features."""
        pred = self.predict(view_features)
        target = target_images.reshape(-1, *target_images.shape[-3:])
        terms = self.loss_module(pred, target)
        return dict(loss_view=terms['loss'], mse_fg=terms['mse_fg'], mse_bg=terms['mse_bg'])
