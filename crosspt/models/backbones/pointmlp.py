"""PointMLP (Ma et al., ICLR 2022): residual point MLPs with a geometric affine module.

One self-contained file.  Parameter names follow the public PointMLP / TAP code
(``embedding.net.*``, ``local_grouper_list.{i}.affine_*``, ``pre_blocks_list.*``,
``pos_blocks_list.*``) so released weights map by name.

Input: ``points (B, N, 3)`` and per-point ``features (B, N, C_in)`` (TAP: xyz + height,
``C_in = 4``).  Output: a dict with

- ``centers (B, M, 3)``: the FPS anchors of the last stage (M = N / prod(reducers));
- ``features (B, M, C)``: their features (C = embed_dims * prod(dim_expansion));
- ``global_features (B, C)``: max-pooled over the anchors (the classification feature).
"""
from typing import Dict, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.ops import furthest_point_sample, gather_points, group_points, knn
from crosspt.registry import MODELS


def _activation(name: str) -> nn.Module:
    table = {'relu': nn.ReLU, 'gelu': nn.GELU, 'leakyrelu': lambda: nn.LeakyReLU(0.2)}
    if name.lower() not in table:
        raise KeyError(f'PointMLP: unknown activation {name!r}; expected one of {list(table)}')
    return table[name.lower()]()


class ConvBNAct1d(nn.Module):
    """Pointwise Conv1d -> BN -> activation on ``(B, C, L)``."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool, act: str) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, 1, bias=bias), nn.BatchNorm1d(out_channels),
            _activation(act))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ResidualBlock1d(nn.Module):
    """``act(BN(conv(act(BN(conv(x))))) + x)`` on ``(B, C, L)``."""

    def __init__(self, channels: int, res_expansion: float, bias: bool, act: str) -> None:
        super().__init__()
        hidden = int(channels * res_expansion)
        self.net1 = nn.Sequential(
            nn.Conv1d(channels, hidden, 1, bias=bias), nn.BatchNorm1d(hidden), _activation(act))
        self.net2 = nn.Sequential(
            nn.Conv1d(hidden, channels, 1, bias=bias), nn.BatchNorm1d(channels))
        self.act = _activation(act)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.net2(self.net1(x)) + x)


class LocalGrouper(nn.Module):
    """FPS anchors + kNN groups + geometric affine.

    Returns ``anchors (B, S, 3)`` and grouped features ``(B, S, k, 2C)`` =
    [affine-normalised (neighbour - anchor feature), repeated anchor feature].
    ``normalize='anchor'`` divides by one std per sample (over all groups, neighbours and
    channels) as PointMLP does; ``'center'`` uses the group mean instead of the anchor;
    ``None`` skips normalisation and the affine.
    """

    def __init__(self, channels: int, reducer: int, k: int,
                 normalize: Optional[str] = 'anchor') -> None:
        super().__init__()
        if normalize not in ('anchor', 'center', None):
            raise KeyError(f"PointMLP: normalize must be 'anchor', 'center' or None, got {normalize!r}")
        self.reducer, self.k, self.normalize = reducer, k, normalize
        if normalize is not None:
            self.affine_alpha = nn.Parameter(torch.ones(1, 1, 1, channels))
            self.affine_beta = nn.Parameter(torch.zeros(1, 1, 1, channels))

    def forward(self, xyz: Tensor, feats: Tensor):
        num_anchors = xyz.shape[1] // self.reducer
        anchor_idx = furthest_point_sample(xyz, num_anchors)
        anchors = gather_points(xyz, anchor_idx)                       # (B, S, 3)
        anchor_feats = gather_points(feats, anchor_idx)                # (B, S, C)
        _, nbr_idx = knn(anchors, xyz, self.k)                         # (B, S, k)
        grouped = group_points(feats, nbr_idx)                         # (B, S, k, C)
        if self.normalize is not None:
            ref = anchor_feats.unsqueeze(2) if self.normalize == 'anchor' \
                else grouped.mean(dim=2, keepdim=True)
            diff = grouped - ref
            std = diff.reshape(diff.shape[0], -1).std(dim=-1).view(-1, 1, 1, 1)
            grouped = self.affine_alpha * (diff / (std + 1e-5)) + self.affine_beta
        repeated = anchor_feats.unsqueeze(2).expand(-1, -1, self.k, -1)
        return anchors, torch.cat([grouped, repeated], dim=-1)


class PreExtraction(nn.Module):
    """Transfer conv + residual blocks on each group, then max over the k neighbours."""

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int,
                 res_expansion: float, bias: bool, act: str) -> None:
        super().__init__()
        self.transfer = ConvBNAct1d(in_channels, out_channels, bias, act)
        self.operation = nn.Sequential(*[
            ResidualBlock1d(out_channels, res_expansion, bias, act) for _ in range(num_blocks)])

    def forward(self, grouped: Tensor) -> Tensor:
        b, s, k, c = grouped.shape
        x = grouped.reshape(b * s, k, c).transpose(1, 2)               # (B*S, 2C, k)
        x = self.operation(self.transfer(x))
        return x.max(dim=-1).values.view(b, s, -1)                     # (B, S, C_out)


class PosExtraction(nn.Module):
    """Residual blocks over the anchors, ``(B, C, S) -> (B, C, S)``."""

    def __init__(self, channels: int, num_blocks: int, res_expansion: float, bias: bool,
                 act: str) -> None:
        super().__init__()
        self.operation = nn.Sequential(*[
            ResidualBlock1d(channels, res_expansion, bias, act) for _ in range(num_blocks)])

    def forward(self, x: Tensor) -> Tensor:
        return self.operation(x)


@MODELS.register_module()
class PointMLP(BaseModule):
    """PointMLP encoder.  Defaults are the published PointMLP (TAP input: xyz + height).

    ``PointMLP(embed_dims=32, res_expansion=0.25, dim_expansion=(2, 2, 2, 1),
    pre_blocks=(1, 1, 2, 1), pos_blocks=(1, 1, 2, 1))`` is PointMLP-elite.
    """

    def __init__(self,
                 in_channels: int = 4,
                 embed_dims: int = 64,
                 res_expansion: float = 1.0,
                 activation: str = 'relu',
                 bias: bool = False,
                 normalize: Optional[str] = 'anchor',
                 dim_expansion: Sequence[int] = (2, 2, 2, 2),
                 pre_blocks: Sequence[int] = (2, 2, 2, 2),
                 pos_blocks: Sequence[int] = (2, 2, 2, 2),
                 k_neighbors: Sequence[int] = (24, 24, 24, 24),
                 reducers: Sequence[int] = (2, 2, 2, 2),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        lengths = {len(dim_expansion), len(pre_blocks), len(pos_blocks), len(k_neighbors),
                   len(reducers)}
        if len(lengths) != 1:
            raise ValueError('PointMLP: dim_expansion, pre_blocks, pos_blocks, k_neighbors and '
                             'reducers must have the same length (one entry per stage)')
        self.in_channels = in_channels
        self.embedding = ConvBNAct1d(in_channels, embed_dims, bias, activation)
        self.local_grouper_list = nn.ModuleList()
        self.pre_blocks_list = nn.ModuleList()
        self.pos_blocks_list = nn.ModuleList()
        channels = embed_dims
        for expand, n_pre, n_pos, k, reducer in zip(dim_expansion, pre_blocks, pos_blocks,
                                                    k_neighbors, reducers):
            out_channels = channels * expand
            self.local_grouper_list.append(LocalGrouper(channels, reducer, k, normalize))
            self.pre_blocks_list.append(PreExtraction(
                2 * channels, out_channels, n_pre, res_expansion, bias, activation))
            self.pos_blocks_list.append(PosExtraction(
                out_channels, n_pos, res_expansion, bias, activation))
            channels = out_channels
        self.out_channels = channels
        self.global_channels = channels  # width of global_features (max over anchors)
        self.total_reduction = 1
        for reducer in reducers:
            self.total_reduction *= reducer

    def forward(self, points: Tensor, features: Tensor) -> Dict[str, Tensor]:
        """points (B, N, 3), features (B, N, C_in) -> dict(centers, features, global_features)."""
        if points.dim() != 3 or points.shape[-1] != 3:
            raise ValueError(f'PointMLP: points must be (B, N, 3), got {tuple(points.shape)}')
        if features.shape[:2] != points.shape[:2] or features.shape[-1] != self.in_channels:
            raise ValueError(
                f'PointMLP: features must be (B, N, {self.in_channels}) matching points '
                f'{tuple(points.shape)}, got {tuple(features.shape)}')
        xyz = points.contiguous()
        feats = self.embedding(features.transpose(1, 2)).transpose(1, 2)   # (B, N, C)
        for grouper, pre, pos in zip(self.local_grouper_list, self.pre_blocks_list,
                                     self.pos_blocks_list):
            xyz, grouped = grouper(xyz, feats)
            feats = pos(pre(grouped).transpose(1, 2)).transpose(1, 2)      # (B, S, C_out)
        return dict(centers=xyz, features=feats, global_features=feats.max(dim=1).values)
