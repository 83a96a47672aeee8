"""DGCNN (dynamic graph CNN) encoder in the form TAP uses (openpoints ``DGCNN``).

One self-contained file, pure PyTorch on top of ``crosspt.ops``.

TAP configuration (docs/methods/tap.md, 'DGCNN'; the original: docs/methods/benchmarks.md,
'DGCNN'): ``in_channels 4`` (xyz + height),
``channels 64``, ``n_blocks 5``, ``k 20``, BatchNorm, LeakyReLU(0.2), conv order
conv-norm-act, no conv bias (BN follows).

EdgeConv: for every point ``i`` and each of its ``k`` neighbours ``j`` the edge feature is
``cat([x_i, x_j - x_i])`` (2C channels, ``x_i`` first); a 1x1 ``Conv2d(2C -> C_out)`` ->
``BatchNorm2d`` -> ``LeakyReLU(0.2)`` is applied to every edge and the result is max-pooled
over the ``k`` neighbours.  The kNN graph contains the point itself (distance 0) as one of
its ``k`` neighbours.

==============  =====================  ==========================================
module          channels               graph
==============  =====================  ==========================================
``head``        2*4 = 8 -> 64          static: kNN on the xyz of ``points``
``backbone.0``  2*64 = 128 -> 64       dynamic: kNN in the space of its input
``backbone.1``  2*64 = 128 -> 128      dynamic
``backbone.2``  2*128 = 256 -> 256     dynamic
``fusion``      64+64+128+256 = 512    Conv1d -> 1024, BN1d, LeakyReLU(0.2)
==============  =====================  ==========================================

Parameters: 617,984 for ``in_channels=4`` (convs + BN affine).

Key names follow the public openpoints source, so openpoints
weights load by name: ``head.gconv.nn.{0,1}.*``, ``backbone.{i}.gconv.nn.{0,1}.*``
(``nn.0`` the Conv2d, ``nn.1`` the BatchNorm2d) and ``fusion_block.{0,1}.*`` (Conv1d,
BatchNorm1d).

Output of ``forward(points, features)``: a dict with ``centers (B, N, 3)`` (the input
points themselves), ``features (B, N, 1024)`` (per-point fusion features, what TAP's
photograph module reads) and ``global_features (B, 2048) = cat(max over points, mean over
points)`` (the classification feature).

Attributes: ``out_channels`` = per-point feature width (1024), ``global_channels`` =
``global_features`` width (2048, the ClsHead input).  Note that openpoints' own
``DGCNN.out_channels`` is 2048 (the classification width).
"""
from typing import Dict, List, Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.ops import group_points, knn
from crosspt.ops.knn import MAX_PAIRS_PER_CHUNK, pairwise_sq_dist
from crosspt.registry import MODELS


def feature_knn(x: Tensor, k: int) -> Tensor:
    """The ``k`` nearest neighbours of every point in feature space, the point itself first.

    Euclidean distances in the C-dimensional feature space
    (``crosspt.ops.knn.pairwise_sq_dist``, in chunks of ``MAX_PAIRS_PER_CHUNK`` pairs).
    The point itself is always one of its neighbours (its distance is set to the
    minimum), as in an exact kNN on a cloud without duplicates.

    Args:
        x: (B, N, C) float features.
        k: 1 <= k <= N.
    Returns:
        idx (B, N, k) int64, nearest first.
    """
    b, n, _ = x.shape
    if not 1 <= k <= n:
        raise ValueError(f'feature_knn: k must be in [1, N={n}], got k={k}')
    with torch.no_grad():
        x = x.detach()
        chunk = max(1, MAX_PAIRS_PER_CHUNK // max(n, 1))
        rows = torch.arange(n, device=x.device)
        chunks = []
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            dist = pairwise_sq_dist(x[:, start:stop], x)                      # (B, c, N)
            local = rows[start:stop]
            dist[:, local - start, local] = -1.0                              # self first
            chunks.append(dist.topk(k, dim=-1, largest=False, sorted=True).indices)
        return torch.cat(chunks, dim=1)


class EdgeConv(nn.Module):
    """Edge convolution on a given graph: ``max_j nn(cat([x_i, x_j - x_i]))``.

    ``nn`` = ``Conv2d(2 * in_channels, out_channels, 1, bias=False)`` -> ``BatchNorm2d`` ->
    ``LeakyReLU(negative_slope)``.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        self.nn = nn.Sequential(
            nn.Conv2d(2 * in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(negative_slope, inplace=True))

    def forward(self, x: Tensor, idx: Tensor) -> Tensor:
        """x (B, N, C), idx (B, N, k) int64 -> (B, N, C_out)."""
        x_j = group_points(x, idx)                                            # (B, N, k, C)
        x_i = x.unsqueeze(2).expand_as(x_j)
        edges = torch.cat([x_i, x_j - x_i], dim=-1).permute(0, 3, 1, 2)       # (B, 2C, N, k)
        return self.nn(edges).max(dim=-1).values.transpose(1, 2).contiguous()


class GraphConvBlock(nn.Module):
    """An :class:`EdgeConv` (``gconv``) on a static graph (``dynamic=False``: the caller
    passes ``idx``) or on a dynamic kNN graph recomputed from its input features."""

    def __init__(self, in_channels: int, out_channels: int, k: int, dynamic: bool,
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        self.k = k
        self.dynamic = dynamic
        self.gconv = EdgeConv(in_channels, out_channels, negative_slope)

    def forward(self, x: Tensor, idx: Optional[Tensor] = None) -> Tensor:
        """x (B, N, C) [, idx (B, N, k)] -> (B, N, C_out)."""
        if self.dynamic:
            idx = feature_knn(x, self.k)
        elif idx is None:
            raise ValueError('GraphConvBlock: a static graph block needs idx (B, N, k)')
        return self.gconv(x, idx)


@MODELS.register_module()
class DGCNN(BaseModule):
    """DGCNN encoder as in TAP (openpoints ``DGCNN`` / ``DGCNNGenEncoder``).

    Args:
        in_channels: per-point input feature channels (TAP: xyz + height = 4).
        channels: width of the first EdgeConv (64); the dynamic blocks use
            ``channels, 2 * channels, 4 * channels, ...`` outputs.
        embed_dims: output width of the fusion block (1024).
        n_blocks: the head plus ``n_blocks - 2`` dynamic EdgeConvs (openpoints' counting;
            5 gives 3 dynamic blocks).
        k: neighbours per point, the point itself included (20).
        negative_slope: LeakyReLU slope (0.2).
        knn_backend: backend of ``crosspt.ops.knn`` for the static xyz graph
            (``'auto'``, ``'torch'`` or ``'cpu_lib'``).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: int = 4,
                 channels: int = 64,
                 embed_dims: int = 1024,
                 n_blocks: int = 5,
                 k: int = 20,
                 negative_slope: float = 0.2,
                 knn_backend: str = 'auto',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if int(in_channels) < 1:
            raise ValueError(f'DGCNN: in_channels must be >= 1, got {in_channels}')
        if int(channels) < 1 or int(embed_dims) < 1:
            raise ValueError(f'DGCNN: channels and embed_dims must be >= 1, got channels='
                             f'{channels}, embed_dims={embed_dims}')
        if int(n_blocks) < 2:
            raise ValueError(f'DGCNN: n_blocks must be >= 2 (head + n_blocks - 2 dynamic '
                             f'blocks), got {n_blocks}')
        if int(k) < 1:
            raise ValueError(f'DGCNN: k must be >= 1, got {k}')
        if knn_backend not in ('auto', 'torch', 'cpu_lib'):
            raise ValueError(f"DGCNN: knn_backend must be 'auto', 'torch' or 'cpu_lib', got "
                             f'{knn_backend!r}')
        self.in_channels = int(in_channels)
        self.k = int(k)
        self.knn_backend = knn_backend
        self.head = GraphConvBlock(self.in_channels, int(channels), self.k, dynamic=False,
                                   negative_slope=negative_slope)
        widths: List[int] = [int(channels)]
        c_in, c_out = int(channels), int(channels)
        blocks = []
        for _ in range(int(n_blocks) - 2):
            blocks.append(GraphConvBlock(c_in, c_out, self.k, dynamic=True,
                                         negative_slope=negative_slope))
            widths.append(c_out)
            c_in, c_out = c_out, 2 * c_out
        self.backbone = nn.ModuleList(blocks)
        self.block_channels = widths
        self.fusion_block = nn.Sequential(
            nn.Conv1d(sum(widths), int(embed_dims), 1, bias=False),
            nn.BatchNorm1d(int(embed_dims)),
            nn.LeakyReLU(negative_slope, inplace=True))
        self.out_channels = int(embed_dims)
        self.global_channels = 2 * int(embed_dims)

    def _check_inputs(self, points: Tensor, features: Tensor) -> None:
        if not isinstance(points, Tensor) or points.dim() != 3 or points.shape[-1] != 3:
            shape = tuple(points.shape) if isinstance(points, Tensor) else type(points).__name__
            raise ValueError(f'DGCNN: points must be a (B, N, 3) tensor, got {shape}')
        if not points.is_floating_point():
            raise ValueError(f'DGCNN: points must be floating point, got {points.dtype}')
        if not isinstance(features, Tensor) or features.dim() != 3 \
                or features.shape[:2] != points.shape[:2] or features.shape[-1] != self.in_channels:
            shape = tuple(features.shape) if isinstance(features, Tensor) \
                else type(features).__name__
            raise ValueError(
                f'DGCNN: features must be (B, N, {self.in_channels}) matching points '
                f'{tuple(points.shape)}, got {shape}')
        if not features.is_floating_point():
            raise ValueError(f'DGCNN: features must be floating point, got {features.dtype}')
        if points.shape[1] < self.k:
            raise ValueError(f'DGCNN: points has N={points.shape[1]} points, fewer than k='
                             f'{self.k} neighbours')

    def forward(self, points: Tensor, features: Tensor) -> Dict[str, Tensor]:
        """Encode a batch of clouds.

        Args:
            points: (B, N, 3) float xyz (the static graph of the head).
            features: (B, N, C_in) float per-point features (TAP: xyz + height).
        Returns:
            dict(centers (B, N, 3) = ``points``, features (B, N, embed_dims),
            global_features (B, 2 * embed_dims) = cat(max, mean) over the points).
        """
        self._check_inputs(points, features)
        _, idx = knn(points.detach().contiguous(), points.detach().contiguous(), self.k,
                     backend=self.knn_backend)                               # (B, N, k)
        outs = [self.head(features.to(points.dtype), idx)]
        for block in self.backbone:
            outs.append(block(outs[-1]))
        fused = self.fusion_block(torch.cat(outs, dim=-1).transpose(1, 2))   # (B, E, N)
        global_features = torch.cat([fused.max(dim=-1).values, fused.mean(dim=-1)], dim=-1)
        return dict(centers=points, features=fused.transpose(1, 2).contiguous(),
                    global_features=global_features)
