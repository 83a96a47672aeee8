"""3DETR building blocks: the set-abstraction layer, 1x1 conv MLPs and the radius mask of
the masked encoder (docs/methods/3detr.md, 'Model')."""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from crosspt.ops import ball_query, furthest_point_sample, gather_points, group_points

from ...backbones.pointnet2 import ConvBNReLU2d


def _activation(name: str) -> nn.Module:
    if name == 'relu':
        return nn.ReLU(inplace=True)
    if name == 'gelu':
        return nn.GELU()
    raise ValueError(f"activation must be 'relu' or 'gelu', got {name!r}")


class PointSetAbstraction(nn.Module):
    """Single-scale set abstraction with a fixed number of centres (3DETR's SA layers).

    FPS picks ``num_points`` centres (first sample = point 0); a ball query takes up to
    ``num_samples`` neighbours within ``radius`` (``'first'``: PointNet++ order); each
    neighbour contributes ``[(p_j - p_i) / radius, f_j]`` (divided by the radius when
    ``normalize_xyz``), a shared 1x1 ``Conv2d -> BN -> ReLU`` MLP is applied and the
    result max-pooled over the neighbours.  Keys: ``mlp.{j}.conv.weight``,
    ``mlp.{j}.bn.*``.

    Args:
        in_channels: feature channels C of the incoming points (3 relative xyz are added).
        mlp: output widths of the shared MLP.
        num_points: number of centres M.
        radius: ball radius (metres).
        num_samples: neighbours per ball K.
        normalize_xyz: divide the relative xyz by ``radius``.
        ball_query_mode: ``'first'`` or ``'nearest'`` (see :func:`crosspt.ops.ball_query`).
    """

    def __init__(self, in_channels: int, mlp: Sequence[int], num_points: int, radius: float,
                 num_samples: int, normalize_xyz: bool = True,
                 ball_query_mode: str = 'first') -> None:
        super().__init__()
        if int(num_points) < 1 or float(radius) <= 0 or int(num_samples) < 1 or not mlp:
            raise ValueError(f'PointSetAbstraction: need num_points >= 1, radius > 0, '
                             f'num_samples >= 1 and a non-empty mlp, got {num_points}, '
                             f'{radius}, {num_samples}, {mlp}')
        self.in_channels = int(in_channels)
        self.out_channels = int(mlp[-1])
        self.num_points, self.radius, self.num_samples = int(num_points), float(radius), \
            int(num_samples)
        self.normalize_xyz = bool(normalize_xyz)
        self.ball_query_mode = ball_query_mode
        layers, channels = [], self.in_channels + 3
        for out in mlp:
            layers.append(ConvBNReLU2d(channels, int(out)))
            channels = int(out)
        self.mlp = nn.Sequential(*layers)

    def forward(self, xyz: Tensor, feats: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor, Tensor]:
        """xyz (B, N, 3), feats (B, N, C) or None (C = 0) ->
        centres (B, M, 3), features (B, M, C_out), centre indices (B, M) int64 into N."""
        if xyz.shape[1] < self.num_points:
            raise ValueError(f'PointSetAbstraction: {xyz.shape[1]} points, fewer than the '
                             f'{self.num_points} centres to sample')
        center_idx = furthest_point_sample(xyz.detach(), self.num_points)           # (B, M)
        centers = gather_points(xyz, center_idx)                                    # (B, M, 3)
        nbr_idx = ball_query(centers.detach(), xyz.detach(), self.radius, self.num_samples,
                             mode=self.ball_query_mode)                             # (B, M, K)
        rel = group_points(xyz, nbr_idx) - centers.unsqueeze(2)                     # (B, M, K, 3)
        if self.normalize_xyz:
            rel = rel / self.radius
        if feats is not None and feats.shape[-1] > 0:
            if feats.shape[-1] != self.in_channels:
                raise ValueError(f'PointSetAbstraction: expected {self.in_channels} feature '
                                 f'channels, got {feats.shape[-1]}')
            grouped = torch.cat([rel, group_points(feats.to(rel.dtype), nbr_idx)], dim=-1)
        else:
            if self.in_channels:
                raise ValueError(f'PointSetAbstraction: expected {self.in_channels} feature '
                                 f'channels, got none')
            grouped = rel
        out = self.mlp(grouped.permute(0, 3, 1, 2).contiguous())                    # (B, C', M, K)
        return centers, out.max(dim=-1).values.transpose(1, 2).contiguous(), center_idx


class ConvBlock1d(nn.Module):
    """1x1 ``Conv1d [-> BN] [-> act] [-> dropout]`` on ``(B, C, L)``; the conv has a bias
    only when no BatchNorm follows."""

    def __init__(self, in_channels: int, out_channels: int, norm: bool, act: bool,
                 dropout: float = 0.0, activation: str = 'relu') -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, 1, bias=not norm)
        self.bn = nn.BatchNorm1d(out_channels) if norm else nn.Identity()
        self.act = _activation(activation) if act else nn.Identity()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.act(self.bn(self.conv(x))))


def conv_mlp(in_channels: int, hidden: Sequence[int], out_channels: int, norm: bool,
             dropout: float = 0.0, output_norm_act: bool = False,
             activation: str = 'relu') -> nn.Sequential:
    """1x1 conv MLP ``in -> hidden... -> out`` on ``(B, C, L)``.  Hidden layers are
    ``conv [-> BN] -> act -> dropout``; the output layer is a plain conv (with bias) unless
    ``output_norm_act`` (then ``conv [-> BN] -> act``, no dropout)."""
    layers, channels = [], int(in_channels)
    for width in hidden:
        layers.append(ConvBlock1d(channels, int(width), norm, True, dropout, activation))
        channels = int(width)
    layers.append(ConvBlock1d(channels, int(out_channels), norm and output_norm_act,
                              output_norm_act, 0.0, activation))
    return nn.Sequential(*layers)


def radius_attention_mask(xyz: Tensor, radius: float) -> Tensor:
    """Attention mask of the masked encoder: point i may attend to point j only when their
    Euclidean distance is below ``radius`` (every point sees itself).

    Args:
        xyz: (B, N, 3).
        radius: metres.
    Returns:
        (B, N, N) bool, True where attention is **not** allowed (``dist >= radius``), the
        convention of ``nn.MultiheadAttention``'s boolean ``attn_mask``.
    """
    with torch.no_grad():
        return torch.cdist(xyz, xyz) >= radius
