"""PointMLP part-segmentation backbone (TAP's ``PointMLPPartSegmentor``;
docs/methods/tap.md, 'ShapeNetPart fine-tuning').

Encoder: exactly :class:`PointMLP` (subclassed, so the parameter names ``embedding.net.*``,
``local_grouper_list.{i}.*``, ``pre_blocks_list.{i}.*``, ``pos_blocks_list.{i}.*`` are
the same and a TAP-pretrained PointMLP loads by name; only ``embedding.net.0.weight``
differs in shape, 6-d xyz + normals here vs 4-d xyz + height in pretraining).

Decoder (PointNet++ feature propagation), from the coarsest level up: interpolate the
coarse features onto the next finer level's points by 3-NN inverse-distance weighting,
concatenate ``[skip features, interpolated]``, fuse with Conv-BN-ReLU and residual
blocks.  Global context: every encoder level (coarsest first) -> Conv-BN-ReLU -> max over
its points; concatenated -> Conv-BN-ReLU.  Shape category: one-hot -> 2x Conv-BN-ReLU.
Per-point output = ``[decoder, global context, category]`` (128 + 64 + 64 = 256).

Extra parameter names: ``decode_list.{j}.fuse.net.*``, ``decode_list.{j}.extraction.*``,
``gmp_map_list.{l}.net.*``, ``gmp_map_end.net.*``, ``cls_map.{0,1}.net.*``.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from crosspt.ops import inverse_distance_interpolate
from crosspt.registry import MODELS

from .pointmlp import ConvBNAct1d, PointMLP, PosExtraction


class FeaturePropagation(nn.Module):
    """One decoder step: 3-NN interpolation of coarse features onto fine points, concat
    with the fine level's skip features, ``fuse`` (Conv-BN-act) then ``extraction``
    (``num_blocks`` residual blocks, PointMLP's :class:`PosExtraction`)."""

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int,
                 res_expansion: float, bias: bool, act: str,
                 distance: str = 'squared') -> None:
        super().__init__()
        self.fuse = ConvBNAct1d(in_channels, out_channels, bias, act)
        self.extraction = PosExtraction(out_channels, num_blocks, res_expansion, bias, act)
        self.distance = distance

    def interpolate(self, fine_xyz: Tensor, coarse_xyz: Tensor, coarse_feats: Tensor) -> Tensor:
        """fine_xyz (B, n, 3), coarse_xyz (B, m, 3), coarse_feats (B, m, C) -> (B, n, C).

        Weights ``1 / (d + 1e-8)`` over the (up to) three nearest coarse points,
        normalised; ``d`` is the squared distance by default (PointMLP's decoder)."""
        return inverse_distance_interpolate(fine_xyz, coarse_xyz, coarse_feats,
                                            distance=self.distance)

    def forward(self, fine_xyz: Tensor, coarse_xyz: Tensor, fine_feats: Tensor,
                coarse_feats: Tensor) -> Tensor:
        """-> fused fine features (B, n, C_out)."""
        x = torch.cat([fine_feats, self.interpolate(fine_xyz, coarse_xyz, coarse_feats)], -1)
        return self.extraction(self.fuse(x.transpose(1, 2))).transpose(1, 2)


@MODELS.register_module()
class PointMLPPartSeg(PointMLP):
    """PointMLP encoder-decoder for part segmentation (defaults: TAP's ShapeNetPart model).

    Args (besides :class:`PointMLP`'s, which build the identical encoder):
        in_channels: per-point input features (6: xyz + normals; 7 with height).
        de_dims: decoder widths, coarsest step first (one per encoder stage).
        de_blocks: residual blocks per decoder step.
        de_blocks_include_fuse: ``False`` (default, as in the public PointMLP part-seg
            code): each step is the fuse conv **plus** ``de_blocks`` residual blocks;
            ``True``: the fuse conv counts as one block, i.e. ``de_blocks - 1`` residual
            blocks.  Which one TAP's ``pointmlp_seg.py`` uses is [UNVERIFIED].
        gmp_dim: width of the global-context branch.
        cls_dim: width of the category branch.
        num_categories: shape categories of the one-hot input (16 for ShapeNetPart).
        interpolation_distance: 'squared' (PointMLP) or 'euclidean' (PointNet++) weights.

    ``out_channels`` = ``de_dims[-1] + gmp_dim + cls_dim`` (256 by default).
    """

    def __init__(self,
                 in_channels: int = 6,
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
                 de_dims: Sequence[int] = (512, 256, 128, 128),
                 de_blocks: Sequence[int] = (4, 4, 4, 4),
                 de_blocks_include_fuse: bool = False,
                 gmp_dim: int = 64,
                 cls_dim: int = 64,
                 num_categories: int = 16,
                 interpolation_distance: str = 'squared',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(in_channels=in_channels, embed_dims=embed_dims,
                         res_expansion=res_expansion, activation=activation, bias=bias,
                         normalize=normalize, dim_expansion=dim_expansion,
                         pre_blocks=pre_blocks, pos_blocks=pos_blocks,
                         k_neighbors=k_neighbors, reducers=reducers, init_cfg=init_cfg)
        num_stages = len(dim_expansion)
        if len(de_dims) != num_stages or len(de_blocks) != num_stages:
            raise ValueError(f'PointMLPPartSeg: de_dims {list(de_dims)} and de_blocks '
                             f'{list(de_blocks)} need one entry per encoder stage '
                             f'({num_stages})')
        if interpolation_distance not in ('squared', 'euclidean'):
            raise ValueError("PointMLPPartSeg: interpolation_distance must be 'squared' or "
                             f"'euclidean', got {interpolation_distance!r}")
        min_blocks = 1 if de_blocks_include_fuse else 0
        if any(n < min_blocks for n in de_blocks):
            raise ValueError(f'PointMLPPartSeg: de_blocks must be >= {min_blocks} with '
                             f'de_blocks_include_fuse={de_blocks_include_fuse}, got '
                             f'{list(de_blocks)}')
        self.encoder_channels: List[int] = [embed_dims]
        for expand in dim_expansion:
            self.encoder_channels.append(self.encoder_channels[-1] * expand)
        self.reducers = tuple(reducers)
        self.num_categories = num_categories

        # decoder: step j maps level (num_stages - j) onto level (num_stages - j - 1)
        coarse = self.encoder_channels[-1]
        self.decode_list = nn.ModuleList()
        for j, (de_dim, blocks) in enumerate(zip(de_dims, de_blocks)):
            skip = self.encoder_channels[num_stages - 1 - j]
            self.decode_list.append(FeaturePropagation(
                skip + coarse, de_dim, blocks - int(de_blocks_include_fuse), res_expansion,
                bias, activation, interpolation_distance))
            coarse = de_dim
        # global context over all encoder levels, coarsest first
        self.gmp_map_list = nn.ModuleList([
            ConvBNAct1d(c, gmp_dim, bias, activation) for c in reversed(self.encoder_channels)])
        self.gmp_map_end = ConvBNAct1d(gmp_dim * len(self.encoder_channels), gmp_dim, bias,
                                       activation)
        self.cls_map = nn.Sequential(ConvBNAct1d(num_categories, cls_dim, bias, activation),
                                     ConvBNAct1d(cls_dim, cls_dim, bias, activation))
        self.out_channels = de_dims[-1] + gmp_dim + cls_dim

    def _check_inputs(self, points: Tensor, features: Tensor, category: Tensor) -> Tensor:
        name = type(self).__name__
        if points.dim() != 3 or points.shape[-1] != 3:
            raise ValueError(f'{name}: points must be (B, N, 3), got {tuple(points.shape)}')
        if features.shape[:2] != points.shape[:2] or features.shape[-1] != self.in_channels:
            raise ValueError(
                f'{name}: features must be (B, N, {self.in_channels}) matching points '
                f'{tuple(points.shape)}, got {tuple(features.shape)}')
        if not isinstance(category, Tensor) or category.numel() != points.shape[0] \
                or category.is_floating_point():
            got = (f'{category.dtype} {tuple(category.shape)}' if isinstance(category, Tensor)
                   else repr(category))
            raise ValueError(f'{name}: category must be an integer tensor (B,) = '
                             f'({points.shape[0]},), got {got}')
        category = category.reshape(-1).long()
        if category.min() < 0 or category.max() >= self.num_categories:
            raise ValueError(f'{name}: category ids must lie in [0, {self.num_categories}), '
                             f'got [{int(category.min())}, {int(category.max())}]')
        n = points.shape[1]
        for reducer in self.reducers:
            n //= reducer
        if n < 1:
            raise ValueError(f'{name}: {points.shape[1]} points are too few for reducers '
                             f'{list(self.reducers)}')
        return category

    def forward(self, points: Tensor, features: Tensor, category: Tensor) -> Dict:
        """points (B, N, 3), features (B, N, C_in), category (B,) int64 -> dict with

        - ``point_features (B, N, out_channels)``;
        - ``encoder_points`` / ``encoder_features``: lists over the levels (finest first,
          level 0 = input points after the embedding) of (B, N_l, 3) / (B, N_l, C_l);
        - ``decoder_features``: list over the decoder steps (coarsest first) of
          (B, N_l, de_dim);
        - ``global_context (B, gmp_dim)`` and ``category_features (B, cls_dim)``.
        """
        category = self._check_inputs(points, features, category)
        xyz = points.contiguous()
        feats = self.embedding(features.transpose(1, 2)).transpose(1, 2)   # (B, N, C0)
        level_xyz, level_feats = [xyz], [feats]
        for grouper, pre, pos in zip(self.local_grouper_list, self.pre_blocks_list,
                                     self.pos_blocks_list):
            xyz, grouped = grouper(xyz, feats)
            feats = pos(pre(grouped).transpose(1, 2)).transpose(1, 2)      # (B, S, C_out)
            level_xyz.append(xyz)
            level_feats.append(feats)

        num_stages = len(self.decode_list)
        x = level_feats[-1]
        decoded = []
        for j, step in enumerate(self.decode_list):
            fine = num_stages - 1 - j
            x = step(level_xyz[fine], level_xyz[fine + 1], level_feats[fine], x)
            decoded.append(x)

        pooled = [mapper(f.transpose(1, 2)).max(dim=-1, keepdim=True).values
                  for mapper, f in zip(self.gmp_map_list, reversed(level_feats))]
        global_context = self.gmp_map_end(torch.cat(pooled, dim=1))      # (B, gmp, 1)
        onehot = F.one_hot(category, self.num_categories).to(x.dtype).unsqueeze(-1)
        category_features = self.cls_map(onehot)                          # (B, cls, 1)
        n = points.shape[1]
        point_features = torch.cat([
            x, global_context.transpose(1, 2).expand(-1, n, -1),
            category_features.transpose(1, 2).expand(-1, n, -1)], dim=-1)
        return dict(point_features=point_features, encoder_points=level_xyz,
                    encoder_features=level_feats, decoder_features=decoded,
                    global_context=global_context.squeeze(-1),
                    category_features=category_features.squeeze(-1))
