"""TAP query generator: instructed camera poses -> per-pixel-cell queries.

For each view with rotation ``R`` (points rotate as ``p' = R p``) the object is fitted
orthographically into a ``obj_size`` box centred in an ``img_size`` image (MVCNN-style):
image row <-> x', column <-> y', the camera looks along z'.  The image is cut into a
``S x S`` grid (``S = img_size // downsample_ratio``, 7 for 224 / 32) and every cell
centre gives one 8-d query::

    [optical-line origin (3), viewing direction (3), grid position (2)]

- origin: ``R^-1 [scale * pixel + bias, 0]``, the point in the object frame where the
  optical line through the cell centre crosses the plane z' = 0;
- direction: ``direction='column'`` (default, as the released TAP code) takes the third
  column of R, which is the same for all 12 TAP poses; ``'row'`` takes the third row
  (``R^T e_z``), the geometrically correct per-view direction;
- grid position: ``(i / (S-1), j / (S-1))`` for row i, column j.

Camera fit and queries are computed in float64 (the pose matrices are float64).
"""
from typing import Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor

from crosspt.registry import MODELS


@MODELS.register_module()
class TAPQueryGenerator(BaseModule):
    """Builds ``(B*V, S*S, 8)`` queries from points ``(B, N, 3)`` and poses ``(B, V, 3, 3)``."""

    def __init__(self, img_size: int = 224, obj_size: int = 200, downsample_ratio: int = 32,
                 direction: str = 'column') -> None:
        super().__init__()
        if direction not in ('column', 'row'):
            raise KeyError(f"TAPQueryGenerator: direction must be 'column' or 'row', got {direction!r}")
        if obj_size > img_size or obj_size <= 3:
            raise ValueError(f'TAPQueryGenerator: need 3 < obj_size <= img_size, got '
                             f'obj_size={obj_size}, img_size={img_size}')
        self.img_size, self.obj_size, self.direction = img_size, obj_size, direction
        self.grid_size = img_size // downsample_ratio
        cells = torch.arange(self.grid_size, dtype=torch.float64)
        rows, cols = torch.meshgrid(cells, cells, indexing='ij')
        pixels = torch.stack([rows, cols], dim=-1).reshape(-1, 2)
        self.register_buffer('cell_centers', (pixels + 0.5) * downsample_ratio, persistent=False)
        self.register_buffer('grid_positions', pixels / max(self.grid_size - 1, 1),
                             persistent=False)

    @property
    def num_queries(self) -> int:
        return self.grid_size * self.grid_size

    def fit_camera(self, points: Tensor, rotations: Tensor) -> Tuple[Tensor, Tensor]:
        """Orthographic fit per view.

        Args:
            points: (B, N, 3) object-frame points (the full input cloud).
            rotations: (B, V, 3, 3) view rotations.
        Returns:
            scale (B, V) and bias (B, V, 2) with ``pixel = (p'_xy - bias) / scale``.
        """
        rotated = torch.einsum('bnc,bvdc->bvnd', points.to(torch.float64),
                               rotations.to(torch.float64))[..., :2]          # (B, V, N, 2)
        low = rotated.min(dim=2).values
        extent = rotated.max(dim=2).values - low
        scale = extent.max(dim=-1).values / (self.obj_size - 3)                # (B, V)
        if (scale <= 0).any():
            raise ValueError('TAPQueryGenerator: a point cloud has zero extent in a view; '
                             'cannot fit the camera')
        pixel_idx = torch.floor((rotated - low.unsqueeze(2)) / scale[..., None, None])
        center = torch.floor((pixel_idx.max(dim=2).values + pixel_idx.min(dim=2).values) / 2)
        offset = self.obj_size / 2 - center - 1
        pad = (self.img_size - self.obj_size) // 2
        bias = low - scale.unsqueeze(-1) * (offset + pad)
        return scale, bias

    def project(self, points: Tensor, rotations: Tensor) -> Tensor:
        """Pixel coordinates (row, col) of every point in every view: (B, V, N, 2)."""
        scale, bias = self.fit_camera(points, rotations)
        rotated = torch.einsum('bnc,bvdc->bvnd', points.to(torch.float64),
                               rotations.to(torch.float64))[..., :2]
        return (rotated - bias.unsqueeze(2)) / scale[..., None, None]

    def forward(self, points: Tensor, rotations: Tensor) -> Tensor:
        """points (B, N, 3), rotations (B, V, 3, 3) -> queries (B*V, S*S, 8) float32."""
        if rotations.dim() != 4 or rotations.shape[-2:] != (3, 3):
            raise ValueError(f'TAPQueryGenerator: rotations must be (B, V, 3, 3), '
                             f'got {tuple(rotations.shape)}')
        b, v = rotations.shape[:2]
        rot = rotations.to(torch.float64)
        scale, bias = self.fit_camera(points, rot)
        plane_xy = scale[..., None, None] * self.cell_centers + bias.unsqueeze(2)  # (B,V,Q,2)
        plane = torch.cat([plane_xy, torch.zeros_like(plane_xy[..., :1])], dim=-1)
        origins = torch.einsum('bvdc,bvqd->bvqc', rot, plane)   # R^T [u, v, 0]
        direction = rot[..., :, 2] if self.direction == 'column' else rot[..., 2, :]
        direction = torch.nn.functional.normalize(direction, dim=-1)
        direction = direction.unsqueeze(2).expand(-1, -1, self.num_queries, -1)
        grid = self.grid_positions.expand(b, v, -1, -1)
        queries = torch.cat([origins, direction, grid], dim=-1)
        return queries.reshape(b * v, self.num_queries, 8).to(torch.float32)
