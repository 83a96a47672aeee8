"""Voxelisation of a PPKT frame with its pairs, and voxel sub-sampling for point students
(docs/methods/ppkt.md, 'Pairing after voxelisation')."""
import math
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from crosspt.ops.backprojection import voxel_pairs
from crosspt.registry import TRANSFORMS

from ..tap_transforms import _require
from .common import _pairs, _points, _positive_int, _source


FEAT_MODES = ('ones', 'rgb')


@TRANSFORMS.register_module()
class VoxelizePairs(BaseTransform):
    """Voxelise the cloud at ``voxel_size`` keeping one point per voxel, remap the pairs.

    Uses :func:`crosspt.ops.backprojection.voxel_pairs`; the kept point of each voxel is
    random (from the global ``np.random`` state) when ``random_keep`` (training), else
    the first point in cloud order.  Adds ``coords`` (V, 3) int64 =
    ``floor(point / voxel_size)``, ``voxel_points`` (V, 3) float32 (xyz of the kept
    point), ``voxel_point`` (V,) int64 (its index in ``points``), ``point_voxel`` (M,)
    int64 (voxel of every point), ``feats`` (V, C) float32 and ``pair_voxel`` (P',)
    int64, filtering ``pair_point`` / ``pair_pixel`` to the same P' pairs.

    Pairing (docs/methods/ppkt.md, 'Pairing after voxelisation'; [UNVERIFIED] which PPKT
    used):
    ``one_pixel_per_voxel=True`` (option (b), PointContrast's one point per voxel) keeps
    only the pairs of kept points, so a voxel has at most one pixel (a voxel whose kept
    point lost its pixel in the 2D crop gets none); ``False`` (option (a), SLidR) maps
    every pair to its point's voxel.

    Features (``feat_mode``): 'ones' (V, 3) — PointContrast's dummy features; 'rgb'
    (V, 3) in [0, 1] — ``point_rgb`` of the kept point, i.e. the colour of its loaded
    pixel before any 2D augmentation.  Which one PPKT used is [UNVERIFIED].
    Apply every 3D transform before this one.
    """

    def __init__(self, voxel_size: float = 0.025, one_pixel_per_voxel: bool = True,
                 feat_mode: str = 'ones', random_keep: bool = True) -> None:
        if isinstance(voxel_size, bool) or not isinstance(voxel_size, (int, float)) \
                or not voxel_size > 0 or not math.isfinite(voxel_size):
            raise ValueError(f'VoxelizePairs: voxel_size must be a positive number, '
                             f'got {voxel_size!r}')
        if feat_mode not in FEAT_MODES:
            raise ValueError(f'VoxelizePairs: feat_mode must be one of {FEAT_MODES}, '
                             f'got {feat_mode!r}')
        self.voxel_size = float(voxel_size)
        self.one_pixel_per_voxel = bool(one_pixel_per_voxel)
        self.feat_mode = feat_mode
        self.random_keep = bool(random_keep)

    def transform(self, results: dict) -> dict:
        points = _points(results, self)
        if len(points) == 0:
            raise ValueError(f'VoxelizePairs: {_source(results)} has an empty cloud')
        if not np.isfinite(points).all():
            raise ValueError(f'VoxelizePairs: points of {_source(results)} contain NaN or inf')
        pair_point, pair_pixel = _pairs(results, self)
        rng = np.random.default_rng(np.random.randint(0, 2 ** 31 - 1)) \
            if self.random_keep else None
        coords, kept, inverse = voxel_pairs(points, self.voxel_size, rng=rng)
        pair_voxel = inverse[pair_point]
        if self.one_pixel_per_voxel:
            keep = kept[pair_voxel] == pair_point
            pair_point, pair_pixel, pair_voxel = \
                pair_point[keep], pair_pixel[keep], pair_voxel[keep]
        if self.feat_mode == 'ones':
            feats = np.ones((len(coords), 3), dtype=np.float32)
        else:
            rgb = np.asarray(_require(results, 'point_rgb', self))
            if rgb.shape != (len(points), 3):
                raise ValueError(f'VoxelizePairs: point_rgb of {_source(results)} must be '
                                 f'({len(points)}, 3), got {rgb.shape}')
            feats = rgb[kept].astype(np.float32) / 255.0
        results['coords'] = coords.astype(np.int64)
        results['voxel_points'] = np.ascontiguousarray(points[kept], dtype=np.float32)
        results['voxel_point'] = kept
        results['point_voxel'] = inverse.astype(np.int64)
        results['feats'] = feats
        results['pair_point'] = pair_point
        results['pair_pixel'] = pair_pixel
        results['pair_voxel'] = pair_voxel.astype(np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(voxel_size={self.voxel_size}, '
                f'one_pixel_per_voxel={self.one_pixel_per_voxel}, '
                f'feat_mode={self.feat_mode!r}, random_keep={self.random_keep})')


VOXEL_KEYS = ('coords', 'voxel_points', 'feats', 'voxel_point')


@TRANSFORMS.register_module()
class SampleVoxels(BaseTransform):
    """Random subset of the voxels, pairs kept consistent (bounds memory / fixes N).

    Exactly one of:
      ``max_voxels``: when V > max_voxels keep a random ``max_voxels`` of them (in
      their original order); otherwise unchanged.
      ``num_points``: exactly N voxels for point-based students: a random N when
      V >= N, else all V followed by N - V random repeats (repeats carry no pair).

    Updates ``coords``, ``voxel_points``, ``feats``, ``voxel_point`` (the arrays of
    length V present), ``point_voxel`` (-1 for points whose voxel was dropped) and the
    pair arrays (pairs of dropped voxels are dropped, ``pair_voxel`` renumbered).
    """

    def __init__(self, max_voxels: Optional[int] = None,
                 num_points: Optional[int] = None) -> None:
        if (max_voxels is None) == (num_points is None):
            raise ValueError(f'SampleVoxels: give exactly one of max_voxels and num_points, '
                             f'got max_voxels={max_voxels!r}, num_points={num_points!r}')
        self.max_voxels = None if max_voxels is None else \
            _positive_int(max_voxels, 'max_voxels', 'SampleVoxels')
        self.num_points = None if num_points is None else \
            _positive_int(num_points, 'num_points', 'SampleVoxels')

    def transform(self, results: dict) -> dict:
        coords = np.asarray(_require(results, 'coords', self))
        total = len(coords)
        pair_voxel = np.asarray(_require(results, 'pair_voxel', self), dtype=np.int64)
        pair_point, pair_pixel = _pairs(results, self)
        if len(pair_voxel) != len(pair_point):
            raise ValueError(f'SampleVoxels: pair_voxel of {_source(results)} has '
                             f'{len(pair_voxel)} entries, pair_point {len(pair_point)}')
        target = self.max_voxels if self.max_voxels is not None else self.num_points
        if total <= target and (self.max_voxels is not None or total == target):
            return results
        if total >= target:
            select = np.sort(np.random.choice(total, target, replace=False))
        else:
            select = np.concatenate([np.arange(total),
                                     np.random.randint(0, total, target - total)])
        new_index = np.full(total, -1, dtype=np.int64)
        unique = min(total, target)                     # first `unique` entries are distinct
        new_index[select[:unique]] = np.arange(unique)
        for key in VOXEL_KEYS:
            if key in results:
                array = np.asarray(results[key])
                if len(array) != total:
                    raise ValueError(f'SampleVoxels: {key} of {_source(results)} has '
                                     f'{len(array)} rows, coords {total}')
                results[key] = array[select]
        if 'point_voxel' in results:
            results['point_voxel'] = new_index[np.asarray(results['point_voxel'])]
        remapped = new_index[pair_voxel]
        keep = remapped >= 0
        results['pair_voxel'] = remapped[keep]
        results['pair_point'] = pair_point[keep]
        results['pair_pixel'] = pair_pixel[keep]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(max_voxels={self.max_voxels}, '
                f'num_points={self.num_points})')
