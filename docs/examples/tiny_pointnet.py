"""A tiny point backbone: the worked example of ``docs/extending.md``.

It lives outside ``crosspt/`` on purpose: configs load it with
``custom_imports = dict(imports=['docs.examples.tiny_pointnet'])`` (run from the
repository root; ``tools/train.py`` puts the root on ``sys.path``), which registers
``TinyPointNet`` in crosspt's ``MODELS`` registry.  A backbone that belongs to crosspt
goes to ``crosspt/models/backbones/<name>.py`` and is imported in that package's
``__init__.py`` instead.

Contract of an object-level crosspt backbone (what ``TAP`` and ``PointClassifier``
call)::

    forward(points (B, N, 3), features (B, N, C_in)) -> dict(
        centers=(B, M, 3),          # where the per-centre features live
        features=(B, M, C),         # read by TAP's memory builder (in_channels = C)
        global_features=(B, C_g))   # read by PointClassifier's ClsHead (in_channels = C_g)

Network: ``num_centers`` furthest-point-sampled centres, their ``k`` nearest input
points, a shared MLP on ``[xyz - centre, input features]`` max-pooled over each
neighbourhood (one PointNet++-style set abstraction), and the maximum over the centres
as the global feature.
"""
from typing import Dict, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.ops import furthest_point_sample, gather_points, group_points, knn
from crosspt.registry import MODELS


@MODELS.register_module()
class TinyPointNet(BaseModule):
    """One set abstraction: FPS centres -> kNN groups -> shared MLP -> max.

    Args:
        in_channels: width C_in of ``features`` (4 = xyz + height in TAP's pipelines).
        num_centers: M, centres kept by furthest point sampling (M <= N).
        k: neighbours per centre (k <= N).
        channels: widths of the shared MLP (Linear -> LayerNorm -> ReLU each); the last
            one is C = C_g.
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained',
            checkpoint=..., prefix='backbone.')``.

    Attributes:
        out_channels: C, width of ``features``.
        global_channels: C_g, width of ``global_features``.
    """

    def __init__(self, in_channels: int = 4, num_centers: int = 64, k: int = 16,
                 channels: Sequence[int] = (64, 128),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, value in (('in_channels', in_channels), ('num_centers', num_centers),
                            ('k', k)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'TinyPointNet: {name} must be a positive int, got {value!r}')
        if not channels or any(int(c) < 1 for c in channels):
            raise ValueError(f'TinyPointNet: channels must be positive widths, got {channels!r}')
        self.in_channels, self.num_centers, self.k = in_channels, num_centers, k
        layers = []
        width = in_channels + 3
        for out in channels:
            layers += [nn.Linear(width, int(out)), nn.LayerNorm(int(out)), nn.ReLU(inplace=True)]
            width = int(out)
        self.mlp = nn.Sequential(*layers)
        self.out_channels = self.global_channels = width

    def forward(self, points: Tensor, features: Tensor) -> Dict[str, Tensor]:
        """points (B, N, 3), features (B, N, in_channels) -> dict(centers (B, M, 3),
        features (B, M, C), global_features (B, C))."""
        if points.dim() != 3 or points.shape[-1] != 3:
            raise ValueError(f'TinyPointNet: expected points (B, N, 3), got {tuple(points.shape)}')
        if features.shape[:2] != points.shape[:2] or features.shape[-1] != self.in_channels:
            raise ValueError(f'TinyPointNet: expected features (B, N, {self.in_channels}) for '
                             f'points {tuple(points.shape)}, got {tuple(features.shape)}')
        if points.shape[1] < max(self.num_centers, self.k):
            raise ValueError(f'TinyPointNet: {points.shape[1]} points are fewer than '
                             f'num_centers={self.num_centers} or k={self.k}')
        centre_idx = furthest_point_sample(points.detach(), self.num_centers)   # (B, M)
        centers = gather_points(points, centre_idx)                             # (B, M, 3)
        _, neighbours = knn(centers.detach(), points.detach(), self.k)          # (B, M, k)
        relative = group_points(points, neighbours) - centers.unsqueeze(2)      # (B, M, k, 3)
        grouped = torch.cat([relative, group_points(features, neighbours)], dim=-1)
        local = self.mlp(grouped).max(dim=2).values                             # (B, M, C)
        return dict(centers=centers, features=local, global_features=local.max(dim=1).values)
