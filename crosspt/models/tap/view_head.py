"""TAP 2D generator and its loss.

- ``TAPViewDecoder``: transposed convs, by default the released 4,
  ``(B*V, 256, 7, 7) -> (B*V, 3, 224, 224)``; ReLU, then a final Sigmoid, so outputs
  are in [0, 1] like the ground-truth images / 255.
- ``FgBgWeightedMSELoss``: ``fg_weight * MSE(fg pixels) + bg_weight * MSE(bg pixels)``
  where a pixel is foreground if any channel of the ground truth is below
  ``fg_threshold`` (1.0 = not pure white).  Each term is a mean over its own elements;
  a term whose pixel set is empty contributes 0 (the released code would give NaN).
- ``TAPViewHead``: owns the decoder and the loss.
"""
from typing import Dict, Optional, Sequence

from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.registry import MODELS


@MODELS.register_module()
class TAPViewDecoder(BaseModule):
    """Transposed-conv image generator ``(B*V, C, S, S) -> (B*V, 3, 4 * 2**L * S, same)``.

    ``layer1`` upsamples x4 (kernel 5) to ``hidden_channels[0]``; every further hidden
    width adds one x2 layer (kernel 3); the last x2 layer outputs ``out_channels`` through
    a Sigmoid.  The default ``(128, 64, 32)`` is the released generator,
    7 -> 28 -> 56 -> 112 -> 224 with layers ``layer1`` .. ``layer4``; ``(128,)`` draws
    7 -> 28 -> 56 (the embedded quick start's small views, docs/pretraining.md).
    """

    def __init__(self, in_channels: int = 256, out_channels: int = 3,
                 hidden_channels: Sequence[int] = (128, 64, 32),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(hidden_channels) < 1:
            raise ValueError('TAPViewDecoder: hidden_channels needs at least one width')
        widths = [in_channels, *hidden_channels]
        self.num_layers = len(widths)
        self.layer1 = nn.Sequential(
            nn.ConvTranspose2d(widths[0], widths[1], 5, stride=4, padding=1,
                               output_padding=1), nn.ReLU())
        for i in range(1, len(hidden_channels)):
            self.add_module(f'layer{i + 1}', _upsample_x2(widths[i], widths[i + 1], nn.ReLU()))
        self.add_module(f'layer{self.num_layers}',
                        _upsample_x2(widths[-1], out_channels, nn.Sigmoid()))

    @property
    def upsample_factor(self) -> int:
        return 4 * 2 ** (self.num_layers - 1)

    def forward(self, x: Tensor) -> Tensor:
        for i in range(1, self.num_layers + 1):
            x = getattr(self, f'layer{i}')(x)
        return x


def _upsample_x2(in_channels: int, out_channels: int, activation: nn.Module) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1,
                                            output_padding=1), activation)


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
        sq = (pred - target.to(pred.dtype)) ** 2
        # one (B, 1, H, W) mask broadcast over the channels: autograd keeps it (and its
        # complement) at a third of the size of per-channel masks
        fg_f = self.foreground_mask(target)[:, :1].to(sq.dtype)
        channels = target.shape[1]
        mse_fg = (sq * fg_f).sum() / (channels * fg_f.sum()).clamp(min=1)
        mse_bg = (sq * (1 - fg_f)).sum() / (channels * (1 - fg_f).sum()).clamp(min=1)
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
