"""PointNet++ SSG encoder in the form TAP uses (PointNeXt-style set abstraction).

One self-contained file, pure PyTorch on top of ``crosspt.ops``.

Each set-abstraction (SA) stage
  1. picks ``M = N // stride`` centres by furthest point sampling (FPS, starts at index 0);
  2. ball-queries ``num_samples`` neighbours within ``radius`` of every centre
     (``ball_query_mode='first'`` by default: the first hits in point order, padded with
     the first hit, as the PointNet++ CUDA kernel does; ``'nearest'`` is also accepted);
  3. builds ``feature_type='dp_fj'`` groups: the concatenation of the relative xyz
     ``p_j - p_i`` (not normalised by the radius) and the neighbour features ``f_j``,
     so a stage with ``C`` input feature channels has ``3 + C`` input channels;
  4. applies a shared MLP of 1x1 ``Conv2d -> BatchNorm2d -> ReLU`` layers and takes the
     max over the neighbours.

A GroupAll stage (PointNet++ ``group_all``) instead groups every point into one centre at
the origin, so its relative xyz is the absolute xyz.

Channels (TAP defaults, ``in_channels=4`` = xyz + height; docs/methods/tap.md, 'PointNet++';
the original: docs/methods/benchmarks.md, 'PointNet++'):

=======  =============  ===================  ===========================
stage    first conv in  MLP                  points (1024 input)
=======  =============  ===================  ===========================
SA1      3 + 4 = 7      64, 64, 128          1024 -> 512 (r 0.2, K 32)
SA2      3 + 128 = 131  128, 128, 256        512 -> 128 (r 0.4, K 64)
SA3      3 + 256 = 259  256, 512, 1024       128 -> 64 (r 0.2, K 32) or -> 1 (GroupAll)
=======  =============  ===================  ===========================

``stage3`` selects the last stage's grouping, without changing any parameter:

- ``'local'`` -- TAP pre-training (``PointNet2GenEncoder``, strides [2, 4, 2]): the last
  stage is a local SA; output centres are its FPS points (64 for 1024 input points).
- ``'global'`` -- ScanObjectNN fine-tuning (``PointNet2Encoder``, strides [2, 4, 1],
  radius/num_samples ``null`` in the last stage): the last stage is GroupAll; the one
  output centre is the origin (zeros), the convention of PointNet++ ``group_all``.
  The last entries of ``strides``/``radius``/``num_samples`` are ignored (may be None).

Key names.  No checked source gives parameter names for TAP's PointNet++, so this module
uses its own: ``sa_modules.{i}.mlp.{j}.conv.weight`` and
``sa_modules.{i}.mlp.{j}.bn.{weight,bias,running_mean,running_var,num_batches_tracked}``
(convs have no bias by default, since BN follows).  Both ``stage3`` forms have identical
keys and shapes, so a pre-trained state dict loads strictly into the fine-tuning form.
Loading openpoints checkpoints would need a key map.

Output of ``forward(points, features)``: a dict with ``centers (B, M, 3)``,
``features (B, M, C_out)`` and ``global_features (B, C_out)`` (max over the centres;
for GroupAll this is the single centre's feature).  ``C_out = mlps[-1][-1] = 1024``.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.ops import ball_query, furthest_point_sample, gather_points, group_points
from crosspt.registry import MODELS

STAGE3_MODES = ('local', 'global')


class ConvBNReLU2d(nn.Module):
    """1x1 ``Conv2d -> BatchNorm2d -> ReLU`` on ``(B, C, M, K)``."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=bias)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


class SetAbstraction(nn.Module):
    """One single-scale set-abstraction stage (local ball-query SA or GroupAll).

    Args:
        in_channels: feature channels C of the incoming points (relative xyz is added).
        mlp: output channels of the shared 1x1 conv layers.
        stride: centres = N // stride (local mode only).
        radius: ball radius (local mode only).
        num_samples: neighbours per ball (local mode only).
        group_all: use GroupAll (one centre at the origin, all points as neighbours).
        ball_query_mode: ``'first'`` (PointNet++) or ``'nearest'``.
        conv_bias: give the convs a bias.
    """

    def __init__(self, in_channels: int, mlp: Sequence[int], stride: Optional[int],
                 radius: Optional[float], num_samples: Optional[int], group_all: bool,
                 ball_query_mode: str = 'first', conv_bias: bool = False) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = int(mlp[-1])
        self.stride, self.radius, self.num_samples = stride, radius, num_samples
        self.group_all = group_all
        self.ball_query_mode = ball_query_mode
        layers: List[nn.Module] = []
        channels = in_channels + 3
        for out in mlp:
            layers.append(ConvBNReLU2d(channels, int(out), bias=conv_bias))
            channels = int(out)
        self.mlp = nn.Sequential(*layers)

    def group(self, xyz: Tensor, feats: Tensor):
        """xyz (B, N, 3), feats (B, N, C) -> centres (B, M, 3), groups (B, M, K, 3 + C)."""
        if self.group_all:
            centers = xyz.new_zeros(xyz.shape[0], 1, 3)
            return centers, torch.cat([xyz, feats], dim=-1).unsqueeze(1)
        num_centers = xyz.shape[1] // self.stride
        center_idx = furthest_point_sample(xyz.detach(), num_centers)             # (B, M)
        centers = gather_points(xyz, center_idx)                                  # (B, M, 3)
        nbr_idx = ball_query(centers.detach(), xyz.detach(), self.radius, self.num_samples,
                             mode=self.ball_query_mode)                           # (B, M, K)
        rel_xyz = group_points(xyz, nbr_idx) - centers.unsqueeze(2)               # dp
        nbr_feats = group_points(feats, nbr_idx)                                  # f_j
        return centers, torch.cat([rel_xyz, nbr_feats], dim=-1)

    def forward(self, xyz: Tensor, feats: Tensor):
        """xyz (B, N, 3), feats (B, N, C) -> centres (B, M, 3), features (B, M, C_out)."""
        centers, grouped = self.group(xyz, feats)
        x = self.mlp(grouped.permute(0, 3, 1, 2))                                 # (B, C', M, K)
        return centers, x.max(dim=-1).values.transpose(1, 2).contiguous()


def _stage_mlp(entry: Union[Sequence[int], Sequence[Sequence[int]]], index: int) -> List[int]:
    """Accept ``[64, 64, 128]`` or the openpoints single-scale form ``[[64, 64, 128]]``."""
    if len(entry) > 0 and isinstance(entry[0], (list, tuple)):
        if len(entry) != 1:
            raise ValueError(f'PointNet2: mlps[{index}] has {len(entry)} scales; only single-'
                             f'scale grouping (SSG) is supported, e.g. [[64, 64, 128]]')
        entry = entry[0]
    if len(entry) == 0 or any(int(c) < 1 for c in entry):
        raise ValueError(f'PointNet2: mlps[{index}] must be a non-empty list of positive '
                         f'channel counts, got {entry!r}')
    return [int(c) for c in entry]


@MODELS.register_module()
class PointNet2(BaseModule):
    """PointNet++ SSG encoder as in TAP (pre-training ``'local'`` / fine-tuning ``'global'``).

    Args:
        in_channels: per-point input feature channels (TAP: xyz + height = 4).
        strides: per-stage FPS down-sampling factor.
        radius: per-stage ball-query radius (not normalised relative xyz).
        num_samples: per-stage neighbours per ball.
        mlps: per-stage shared-MLP widths, ``[64, 64, 128]`` or ``[[64, 64, 128]]``.
        stage3: ``'local'`` (last stage is a local SA) or ``'global'`` (last stage is
            GroupAll; its ``strides``/``radius``/``num_samples`` entries are ignored).
        ball_query_mode: ``'first'`` (PointNet++ semantics, default) or ``'nearest'``.
        conv_bias: give the convs a bias (default False: each conv is followed by BN).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: int = 4,
                 strides: Sequence[Optional[int]] = (2, 4, 2),
                 radius: Sequence[Optional[float]] = (0.2, 0.4, 0.2),
                 num_samples: Sequence[Optional[int]] = (32, 64, 32),
                 mlps: Sequence = ([[64, 64, 128]], [[128, 128, 256]], [[256, 512, 1024]]),
                 stage3: str = 'local',
                 ball_query_mode: str = 'first',
                 conv_bias: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if stage3 not in STAGE3_MODES:
            raise ValueError(f'PointNet2: stage3 must be one of {STAGE3_MODES}, got {stage3!r}')
        if ball_query_mode not in ('first', 'nearest'):
            raise ValueError(f"PointNet2: ball_query_mode must be 'first' or 'nearest', got "
                             f'{ball_query_mode!r}')
        if int(in_channels) < 0:
            raise ValueError(f'PointNet2: in_channels must be >= 0, got {in_channels}')
        num_stages = len(mlps)
        if num_stages == 0 or {len(strides), len(radius), len(num_samples)} != {num_stages}:
            raise ValueError(
                f'PointNet2: strides, radius, num_samples and mlps must have the same non-zero '
                f'length (one entry per stage), got {len(strides)}, {len(radius)}, '
                f'{len(num_samples)}, {num_stages}')
        self.in_channels = int(in_channels)
        self.stage3 = stage3
        self.sa_modules = nn.ModuleList()
        channels = self.in_channels
        for i in range(num_stages):
            group_all = stage3 == 'global' and i == num_stages - 1
            mlp = _stage_mlp(mlps[i], i)
            stride, rad, k = strides[i], radius[i], num_samples[i]
            if group_all:
                stride = rad = k = None
            else:
                if stride is None or int(stride) < 1:
                    raise ValueError(f'PointNet2: strides[{i}] must be an int >= 1, got {stride!r}')
                if rad is None or float(rad) <= 0:
                    raise ValueError(f'PointNet2: radius[{i}] must be > 0, got {rad!r}')
                if k is None or int(k) < 1:
                    raise ValueError(f'PointNet2: num_samples[{i}] must be an int >= 1, got {k!r}')
                stride, rad, k = int(stride), float(rad), int(k)
            self.sa_modules.append(SetAbstraction(channels, mlp, stride, rad, k, group_all,
                                                  ball_query_mode, conv_bias))
            channels = mlp[-1]
        self.out_channels = channels
        self.global_channels = channels  # width of global_features

    def num_centers(self, num_points: int) -> int:
        """Number of output centres for an input of ``num_points`` points."""
        n = num_points
        for sa in self.sa_modules:
            n = 1 if sa.group_all else n // sa.stride
        return n

    def forward(self, points: Tensor, features: Tensor) -> Dict[str, Tensor]:
        """Encode a batch of clouds.

        Args:
            points: (B, N, 3) float xyz.
            features: (B, N, C_in) float per-point features (TAP: xyz + height).
        Returns:
            dict(centers (B, M, 3), features (B, M, C_out), global_features (B, C_out)),
            M = N // prod(strides) for ``stage3='local'``, M = 1 for ``'global'``.
        """
        if not isinstance(points, Tensor) or points.dim() != 3 or points.shape[-1] != 3:
            shape = tuple(points.shape) if isinstance(points, Tensor) else type(points).__name__
            raise ValueError(f'PointNet2: points must be a (B, N, 3) tensor, got {shape}')
        if not isinstance(features, Tensor) or features.dim() != 3 \
                or features.shape[:2] != points.shape[:2] or features.shape[-1] != self.in_channels:
            shape = tuple(features.shape) if isinstance(features, Tensor) \
                else type(features).__name__
            raise ValueError(
                f'PointNet2: features must be (B, N, {self.in_channels}) matching points '
                f'{tuple(points.shape)}, got {shape}')
        if not points.is_floating_point():
            raise ValueError(f'PointNet2: points must be floating point, got {points.dtype}')
        n = points.shape[1]
        size = n
        for i, sa in enumerate(self.sa_modules):
            if not sa.group_all:
                size //= sa.stride
                if size < 1:
                    raise ValueError(
                        f'PointNet2: points has N={n} points, too few for strides '
                        f'{[m.stride for m in self.sa_modules if not m.group_all]} '
                        f'(stage {i} would keep no centre)')
        xyz = points.contiguous()
        feats = features.to(points.dtype)
        for sa in self.sa_modules:
            xyz, feats = sa(xyz, feats)
        return dict(centers=xyz, features=feats, global_features=feats.max(dim=1).values)
