"""PPKT's UpSampling Projection Layer (UPL), evaluated only where needed
(docs/methods/ppkt.md, 'UpSampling Projection Layer').

UPL = 1x1 conv ``C_in -> C_out`` (with bias) on the frozen teacher's last feature map,
then bilinear upsampling by ``scale`` (``align_corners=True``, as in SLidR's PPKT head).
A 1x1 conv commutes exactly with bilinear interpolation (per-channel linear weights that
sum to 1), so the feature of one output pixel is the conv applied to the bilinearly
interpolated low-resolution feature at that pixel.  :meth:`sample` computes exactly
that for K pixels, without the (B, C_out, H, W) map (3.8 GB for PPKT's batch of 24).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.registry import MODELS


@MODELS.register_module()
class UpsamplingProjection(BaseModule):
    """Args:
        in_channels: teacher feature channels (ResNet-50 layer4: 2048).
        out_channels: projected width (128).
        scale: upsampling factor from the feature map to the image (32).
    """

    def __init__(self, in_channels: int = 2048, out_channels: int = 128, scale: int = 32,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if scale < 1:
            raise ValueError(f'UpsamplingProjection: scale must be >= 1, got {scale}')
        self.scale = int(scale)
        self.proj = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=True)

    def output_size(self, feature_map: Tensor,
                    image_size: Optional[Tuple[int, int]] = None) -> Tuple[int, int]:
        """(H, W) of the upsampled map: ``image_size`` when given (an image whose side is
        not a multiple of the stride, e.g. 240 -> layer4 8 -> 240), else h*scale, w*scale."""
        if image_size is not None:
            return int(image_size[0]), int(image_size[1])
        return feature_map.shape[-2] * self.scale, feature_map.shape[-1] * self.scale

    def forward(self, feature_map: Tensor,
                image_size: Optional[Tuple[int, int]] = None) -> Tensor:
        """Full map: (B, C_in, h, w) -> (B, C_out, H, W), (H, W) = :meth:`output_size`."""
        return F.interpolate(self.proj(feature_map),
                             size=self.output_size(feature_map, image_size),
                             mode='bilinear', align_corners=True)

    def sample(self, feature_map: Tensor, batch_idx: Tensor, rows: Tensor,
               cols: Tensor, image_size: Optional[Tuple[int, int]] = None) -> Tensor:
        """UPL features of K output pixels, equal to
        ``forward(feature_map, image_size)[b, :, r, c]``.

        Args:
            feature_map: (B, C_in, h, w).
            batch_idx, rows, cols: (K,) long, pixel positions in the (H, W) output.
            image_size: (H, W) of the output; default (h*scale, w*scale).
        Returns:
            (K, C_out).
        """
        b, _, h, w = feature_map.shape
        big_h, big_w = self.output_size(feature_map, image_size)
        for name, idx, size in (('batch_idx', batch_idx, b), ('rows', rows, big_h),
                                ('cols', cols, big_w)):
            if idx.dim() != 1 or idx.numel() != batch_idx.numel():
                raise ValueError(f'UpsamplingProjection.sample: {name} must be (K,) like '
                                 f'batch_idx, got {tuple(idx.shape)}')
            if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= size):
                raise ValueError(f'UpsamplingProjection.sample: {name} must lie in '
                                 f'[0, {size}), got [{int(idx.min())}, {int(idx.max())}]')
        # align_corners=True: output p -> input p * (n_in - 1) / (n_out - 1)
        y = rows.to(feature_map.dtype) * ((h - 1) / max(big_h - 1, 1))
        x = cols.to(feature_map.dtype) * ((w - 1) / max(big_w - 1, 1))
        y0 = y.floor().long().clamp(0, h - 1)
        x0 = x.floor().long().clamp(0, w - 1)
        y1, x1 = (y0 + 1).clamp(max=h - 1), (x0 + 1).clamp(max=w - 1)
        wy, wx = (y - y0.to(y.dtype)).unsqueeze(1), (x - x0.to(x.dtype)).unsqueeze(1)
        fmap = feature_map.permute(0, 2, 3, 1)                               # (B, h, w, C)
        value = (fmap[batch_idx, y0, x0] * (1 - wy) * (1 - wx)
                 + fmap[batch_idx, y0, x1] * (1 - wy) * wx
                 + fmap[batch_idx, y1, x0] * wy * (1 - wx)
                 + fmap[batch_idx, y1, x1] * wy * wx)                        # (K, C_in)
        weight = self.proj.weight.flatten(1)                                 # (C_out, C_in)
        return value @ weight.t() + self.proj.bias
