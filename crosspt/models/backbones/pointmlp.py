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
from contextlib import contextmanager, nullcontext
from typing import Dict, Iterator, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint
from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.ops import furthest_point_sample, gather_points, group_points, knn
from crosspt.registry import MODELS


def _activation(name: str) -> nn.Module:
    table = {'relu': nn.ReLU, 'gelu': nn.GELU, 'leakyrelu': lambda: nn.LeakyReLU(0.2)}
    if name.lower() not in table:
        raise KeyError(f'PointMLP: unknown activation {name!r}; expected one of {list(table)}')
    return table[name.lower()]()


def pointwise_bn(conv: nn.Conv1d, bn: nn.BatchNorm1d, x: Tensor) -> Tensor:
    """A kernel-1 ``conv`` then ``bn`` on channels-last rows: ``(R, C_in) -> (R, C_out)``.

    The same function as ``bn(conv(x.T))`` on ``(B, C, L)`` (R = B*L rows; BN statistics
    over the same B*L values), computed as one GEMM: oneDNN's Conv1d on ``(B*S, C, k)``
    with k = 24 neighbours runs at a fraction of the matmul rate, forward and backward.
    """
    return bn(F.linear(x, conv.weight.squeeze(-1), conv.bias))


class ConvBNAct1d(nn.Module):
    """Pointwise Conv1d -> BN -> activation on ``(B, C, L)``; :meth:`forward_rows` does
    the same on channels-last rows ``(R, C)``."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool, act: str) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, 1, bias=bias), nn.BatchNorm1d(out_channels),
            _activation(act))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def forward_rows(self, x: Tensor) -> Tensor:
        """(R, C_in) -> (R, C_out)."""
        return self.net[2](pointwise_bn(self.net[0], self.net[1], x))


class ResidualBlock1d(nn.Module):
    """``act(BN(conv(act(BN(conv(x))))) + x)`` on ``(B, C, L)``; :meth:`forward_rows` on
    channels-last rows ``(R, C)``."""

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

    def forward_rows(self, x: Tensor) -> Tensor:
        """(R, C) -> (R, C)."""
        hidden = self.net1[2](pointwise_bn(self.net1[0], self.net1[1], x))
        return self.act(pointwise_bn(self.net2[0], self.net2[1], hidden) + x)


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

    def sample(self, xyz: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """xyz (B, N, 3) -> anchors (B, S, 3), anchor_idx (B, S), nbr_idx (B, S, k)
        (FPS, then the k nearest input points of every anchor; no gradient flows here)."""
        anchor_idx = furthest_point_sample(xyz, xyz.shape[1] // self.reducer)
        anchors = gather_points(xyz, anchor_idx)
        _, nbr_idx = knn(anchors, xyz, self.k)
        return anchors, anchor_idx, nbr_idx

    def group(self, feats: Tensor, anchor_idx: Tensor, nbr_idx: Tensor) -> Tensor:
        """feats (B, N, C) -> grouped (B, S, k, 2C) for the indices of :meth:`sample`.

        The affine ``alpha * diff / (std + eps) + beta`` is one ``addcmul`` with the
        per-sample scale ``alpha / (std + eps)``, so autograd keeps ``diff`` but not a
        second (B, S, k, C) tensor of normalised values."""
        anchor_feats = gather_points(feats, anchor_idx)                # (B, S, C)
        grouped = group_points(feats, nbr_idx)                         # (B, S, k, C)
        if self.normalize is not None:
            ref = anchor_feats.unsqueeze(2) if self.normalize == 'anchor' \
                else grouped.mean(dim=2, keepdim=True)
            diff = grouped - ref
            std = diff.reshape(diff.shape[0], -1).std(dim=-1).view(-1, 1, 1, 1)
            grouped = torch.addcmul(self.affine_beta, diff, self.affine_alpha / (std + 1e-5))
        repeated = anchor_feats.unsqueeze(2).expand(-1, -1, self.k, -1)
        return torch.cat([grouped, repeated], dim=-1)

    def forward(self, xyz: Tensor, feats: Tensor) -> Tuple[Tensor, Tensor]:
        """xyz (B, N, 3), feats (B, N, C) -> anchors (B, S, 3), grouped (B, S, k, 2C)."""
        anchors, anchor_idx, nbr_idx = self.sample(xyz)
        return anchors, self.group(feats, anchor_idx, nbr_idx)


@contextmanager
def frozen_running_stats(module: nn.Module) -> Iterator[None]:
    """Batch-norm layers of ``module`` still normalise with the batch statistics but
    leave ``running_mean``/``running_var``/``num_batches_tracked`` as they were: a
    checkpointed forward that is run again for backward must not update them twice.
    (``momentum = 0`` makes the update ``1 * running + 0 * batch``, exact; switching
    ``track_running_stats`` off instead would save other tensors for backward than the
    first forward did, which torch.utils.checkpoint rejects.)"""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
             and m.track_running_stats]
    saved = [(m.momentum, m.num_batches_tracked.clone()) for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, count) in zip(norms, saved):
            m.momentum = momentum
            m.num_batches_tracked.copy_(count)


class PreExtraction(nn.Module):
    """Transfer conv + residual blocks on each group, then max over the k neighbours."""

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int,
                 res_expansion: float, bias: bool, act: str) -> None:
        super().__init__()
        self.transfer = ConvBNAct1d(in_channels, out_channels, bias, act)
        self.operation = nn.Sequential(*[
            ResidualBlock1d(out_channels, res_expansion, bias, act) for _ in range(num_blocks)])

    def forward(self, grouped: Tensor) -> Tensor:
        """grouped (B, S, k, 2C) -> (B, S, C_out), on the B*S*k rows (channels last)."""
        b, s, k, c = grouped.shape
        x = self.transfer.forward_rows(grouped.reshape(b * s * k, c))
        for block in self.operation:
            x = block.forward_rows(x)
        return x.view(b, s, k, -1).max(dim=2).values                    # (B, S, C_out)


class PosExtraction(nn.Module):
    """Residual blocks over the anchors, ``(B, C, S) -> (B, C, S)``."""

    def __init__(self, channels: int, num_blocks: int, res_expansion: float, bias: bool,
                 act: str) -> None:
        super().__init__()
        self.operation = nn.Sequential(*[
            ResidualBlock1d(channels, res_expansion, bias, act) for _ in range(num_blocks)])

    def forward(self, x: Tensor) -> Tensor:
        return self.operation(x)

    def forward_rows(self, x: Tensor) -> Tensor:
        """Channels last: (..., C) -> (..., C)."""
        rows = x.reshape(-1, x.shape[-1])
        for block in self.operation:
            rows = block.forward_rows(rows)
        return rows.view(x.shape)


@MODELS.register_module()
class PointMLP(BaseModule):
    """PointMLP encoder.  Defaults are the published PointMLP (TAP input: xyz + height).

    ``PointMLP(embed_dims=32, res_expansion=0.25, dim_expansion=(2, 2, 2, 1),
    pre_blocks=(1, 1, 2, 1), pos_blocks=(1, 1, 2, 1))`` is PointMLP-elite.

    ``with_cp=True`` (training only) keeps, of each stage's kNN grouping and
    pre-extraction, only the stage input ``(B, N, C)`` for backward and recomputes the
    ``(B*S*k, C)`` activations when backward reaches the stage (torch.utils.checkpoint):
    those are most of the step's memory (the grouped rows are k = 24 times the points),
    for about a third more backbone compute.  Outputs, gradients and BN running
    statistics are the same as without it.
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
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
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
        b, n, _ = features.shape
        feats = self.embedding.forward_rows(features.reshape(b * n, -1)).view(b, n, -1)
        for grouper, pre, pos in zip(self.local_grouper_list, self.pre_blocks_list,
                                     self.pos_blocks_list):
            xyz, anchor_idx, nbr_idx = grouper.sample(xyz)
            feats = pos.forward_rows(self._group_extract(grouper, pre, feats, anchor_idx,
                                                         nbr_idx))         # (B, S, C_out)
        return dict(centers=xyz, features=feats, global_features=feats.max(dim=1).values)

    def _group_extract(self, grouper: LocalGrouper, pre: PreExtraction, feats: Tensor,
                       anchor_idx: Tensor, nbr_idx: Tensor) -> Tensor:
        """feats (B, N, C) -> (B, S, C_out): group, pre-extract, max over neighbours
        (checkpointed under ``with_cp`` in training)."""
        def run(x: Tensor) -> Tensor:
            return pre(grouper.group(x, anchor_idx, nbr_idx))

        if not (self.with_cp and self.training and torch.is_grad_enabled()):
            return run(feats)
        return checkpoint(run, feats, use_reentrant=False,
                          context_fn=lambda: (nullcontext(), frozen_running_stats(pre)))
