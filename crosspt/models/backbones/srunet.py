"""SR-UNet: the sparse residual 3D U-Net student of PPKT (MinkowskiEngine ``Res16UNet34C``).

Pure PyTorch on top of :mod:`crosspt.ops.sparse_conv`.  Defaults give SR-UNet34
(docs/methods/ppkt.md, '3D student'); ``layers=(2, 2, 2, 2, 2, 2, 2, 2)`` gives SR-UNet18.

===========  ==========  ====================================================  ==========
stage        stride out  layers                                                channels
===========  ==========  ====================================================  ==========
stem         1           conv k3 -> BN -> ReLU                                 in -> 32
enc1..enc4   2, 4, 8, 16 conv k2 s2 -> BN -> ReLU, BasicBlocks 2/3/4/6         32/64/128/256
dec1..dec4   8, 4, 2, 1  convT k2 s2 -> BN -> ReLU, cat skip, BasicBlocks 2x4  256/128/96/96
head         1           conv 1x1 (bias)                                       96 -> out
===========  ==========  ====================================================  ==========

- The stride-2 encoder conv keeps its input width (32, 32, 64, 128); the first BasicBlock
  of the stage changes it, with a 1x1 conv + BN projection on the residual branch.
- Skips: dec1 <- enc3, dec2 <- enc2, dec3 <- enc1, dec4 <- stem, concatenated as
  ``[decoder, skip]``, so the decoder blocks take 256+128, 128+64, 96+32, 96+32 channels.
- BasicBlock: conv k3 -> BN -> ReLU -> conv k3 -> BN, + residual, ReLU.  Convs have no bias.
- The transposed convs upsample onto the cached encoder coordinates, so the output has
  exactly the input coordinates.

docs/methods/ppkt.md, '3D student', states stem k3, the stage/plane/block lists, the skip
concatenation, the 96-d output and the 1x1 head.  The BN + ReLU after the stride-2 encoder
conv, the width of that conv and the 1x1 projection shortcut follow the usual
MinkowskiEngine ResNet layout and are [UNVERIFIED] against PPKT.  BN momentum defaults to
0.05 (PointContrast/SLidR pretraining configs; 0.02 for fine-tuning).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.ops.sparse_conv import (SparseBatchNorm, SparseConv3d, SparseReLU, SparseTensor,
                                     sparse_cat, voxelize)
from crosspt.registry import MODELS


class ConvBNReLU(nn.Module):
    """SparseConv3d -> SparseBatchNorm -> SparseReLU (the conv has no bias)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 transposed: bool = False, bn_momentum: float = 0.1,
                 backend: str = 'torch') -> None:
        super().__init__()
        self.conv = SparseConv3d(in_channels, out_channels, kernel_size, stride,
                                 transposed=transposed, backend=backend)
        self.bn = SparseBatchNorm(out_channels, momentum=bn_momentum)
        self.relu = SparseReLU()

    def forward(self, x: SparseTensor, target: Optional[SparseTensor] = None) -> SparseTensor:
        return self.relu(self.bn(self.conv(x, target)))


class BasicBlock(nn.Module):
    """Sparse ResNet BasicBlock on fixed coordinates; 1x1 conv + BN shortcut if widths differ."""

    def __init__(self, in_channels: int, out_channels: int, bn_momentum: float = 0.1,
                 backend: str = 'torch') -> None:
        super().__init__()
        self.conv1 = SparseConv3d(in_channels, out_channels, 3, backend=backend)
        self.bn1 = SparseBatchNorm(out_channels, momentum=bn_momentum)
        self.conv2 = SparseConv3d(out_channels, out_channels, 3, backend=backend)
        self.bn2 = SparseBatchNorm(out_channels, momentum=bn_momentum)
        self.relu = SparseReLU()
        self.downsample = None
        if in_channels != out_channels:
            self.downsample = nn.Sequential(
                SparseConv3d(in_channels, out_channels, 1, backend=backend),
                SparseBatchNorm(out_channels, momentum=bn_momentum))

    def forward(self, x: SparseTensor) -> SparseTensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out.replace_feats(out.feats + identity.feats))


def make_blocks(in_channels: int, out_channels: int, num_blocks: int,
                bn_momentum: float, backend: str = 'torch') -> nn.Sequential:
    return nn.Sequential(*[
        BasicBlock(in_channels if i == 0 else out_channels, out_channels, bn_momentum, backend)
        for i in range(num_blocks)
    ])


@MODELS.register_module()
class SRUNet(BaseModule):
    """Sparse residual U-Net (Res16UNet); defaults = SR-UNet34 (Res16UNet34C).

    Args:
        in_channels: input feature width (3: RGB or dummy ones).
        out_channels: width of the final 1x1 conv (bias); None keeps the 96-d decoder features.
        stem_channels: stem width (INIT_DIM, 32).
        planes: widths of enc1..enc4 then dec1..dec4.
        layers: BasicBlocks per stage, same order as ``planes``.
        stem_kernel_size: stem conv kernel (3 for PPKT, docs/methods/ppkt.md, '3D student').
        bn_momentum: PyTorch-convention BN momentum.
        backend: sparse conv backend of every conv: 'torch' (default, trainable on CPU and
            CUDA) or 'spconv' (spconv 2.x layers, same parameters and state dict; on CPU
            inference only, a forward that needs gradients raises).  Config:
            ``backbone=dict(type='SRUNet', backend='spconv')``.
    """

    def __init__(self, in_channels: int = 3, out_channels: Optional[int] = 128,
                 stem_channels: int = 32,
                 planes: Sequence[int] = (32, 64, 128, 256, 256, 128, 96, 96),
                 layers: Sequence[int] = (2, 3, 4, 6, 2, 2, 2, 2), stem_kernel_size: int = 3,
                 bn_momentum: float = 0.05, backend: str = 'torch',
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(planes) != 8 or len(layers) != 8:
            raise ValueError(f'SRUNet: planes and layers need 8 entries (4 encoder + 4 decoder '
                             f'stages), got planes={list(planes)}, layers={list(layers)}')
        self.in_channels = in_channels
        self.backend = backend
        self.stem = ConvBNReLU(in_channels, stem_channels, stem_kernel_size,
                               bn_momentum=bn_momentum, backend=backend)
        self.down = nn.ModuleList()
        self.enc = nn.ModuleList()
        width, skips = stem_channels, [stem_channels]
        for i in range(4):
            self.down.append(ConvBNReLU(width, width, 2, 2, bn_momentum=bn_momentum,
                                        backend=backend))
            self.enc.append(make_blocks(width, planes[i], layers[i], bn_momentum, backend))
            width = planes[i]
            skips.append(width)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in range(4):
            p = planes[4 + i]
            self.up.append(ConvBNReLU(width, p, 2, 2, transposed=True, bn_momentum=bn_momentum,
                                      backend=backend))
            self.dec.append(make_blocks(p + skips[3 - i], p, layers[4 + i], bn_momentum,
                                        backend))
            width = p
        self.feat_channels = width
        self.head = (SparseConv3d(width, out_channels, 1, bias=True, backend=backend)
                     if out_channels else None)
        self.out_channels = out_channels or width
        self._init_conv_weights()

    def _init_conv_weights(self) -> None:
        """Kaiming-normal (fan_out = k^3 * C_out, ReLU gain) on every sparse conv weight."""
        for m in self.modules():
            if isinstance(m, SparseConv3d):
                std = (2.0 / (m.weight.shape[0] * m.out_channels)) ** 0.5
                nn.init.normal_(m.weight, 0.0, std)

    def forward(self, x: SparseTensor) -> SparseTensor:
        """(N, in_channels) voxel features -> (N, out_channels) on the same coordinates."""
        if x.feats.shape[1] != self.in_channels:
            raise ValueError(f'SRUNet: x.feats has {x.feats.shape[1]} channels, expected '
                             f'in_channels={self.in_channels}')
        out = self.stem(x)
        levels = [out]
        for down, enc in zip(self.down, self.enc):
            out = enc(down(out))
            levels.append(out)
        for i, (up, dec) in enumerate(zip(self.up, self.dec)):
            skip = levels[3 - i]
            out = dec(sparse_cat([up(out, target=skip), skip]))
        return self.head(out) if self.head is not None else out

    def point_features(self, inputs: Dict[str, Tensor]) -> Tensor:
        """The PPKT student interface: a packed voxel batch -> per-voxel features.

        Args:
            inputs: ``coords`` (N, 4) int (batch, x, y, z) and ``feats`` (N, in_channels),
                one row per voxel (``PPKTDataPreprocessor``'s output).
        Returns:
            (N, out_channels) in the order of ``coords``.
        """
        return self(SparseTensor(inputs['coords'].long(), inputs['feats'])).feats

    def forward_points(self, points: Tensor, batch: Tensor, voxel_size: float,
                       feats: Optional[Tensor] = None) -> Tuple[Tensor, SparseTensor, Tensor]:
        """Per-point features: voxelize (mean of point features), run, gather back.

        Args:
            points: (N, 3) float; batch: (N,) int64; feats: (N, in_channels), ones if None.
        Returns:
            point_feats (N, out_channels), the output SparseTensor, and inverse (N,) int64.
        """
        if feats is None:
            feats = points.new_ones(points.shape[0], self.in_channels)
        st, inverse = voxelize(points, batch, voxel_size, feats, reduce='mean')
        out = self(st)
        return out.feats[inverse], out, inverse
