"""3D augmentations of a PPKT cloud (scale, rotation, elastic distortion); points move
but keep their order, so the pairs stay valid (docs/methods/ppkt.md, 'Augmentations')."""
import math
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from crosspt.registry import TRANSFORMS

from .common import _points, _probability, _range


@TRANSFORMS.register_module()
class RandomScale3D(BaseTransform):
    """``points *= s``, one isotropic factor ``s ~ U(scale)`` per sample (about the origin).
    Point order is unchanged, so the pairs stay valid."""

    def __init__(self, scale: Sequence[float] = (0.9, 1.1)) -> None:
        self.scale = _range(scale, 'scale', 'RandomScale3D', positive=True)

    def transform(self, results: dict) -> dict:
        points = _points(results, self)
        factor = np.random.uniform(*self.scale)
        results['points'] = (points * factor).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scale={self.scale})'


def rotation_matrix(axis: np.ndarray, angle: float) -> np.ndarray:
    """3x3 right-handed rotation by ``angle`` radians about the unit vector ``axis``
    (Rodrigues: R = I + sin(a) K + (1 - cos(a)) K^2, K = [axis]_x)."""
    x, y, z = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    cross = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + math.sin(angle) * cross + (1.0 - math.cos(angle)) * cross @ cross


@TRANSFORMS.register_module()
class RandomRotation3D(BaseTransform):
    """Rotate the cloud about an axis through the origin by ``angle ~ U(angle)`` radians.

    ``axis`` = 'z' (default: up axis of ScanNet world coordinates), 'x' or 'y', or
    'random': an axis drawn uniformly on the sphere (PointContrast's 360 degree rotation
    about a random axis).  PPKT's rotation parameters are [UNVERIFIED]
    (docs/methods/ppkt.md, 'Augmentations').
    """

    AXES = {'x': (1.0, 0.0, 0.0), 'y': (0.0, 1.0, 0.0), 'z': (0.0, 0.0, 1.0)}

    def __init__(self, axis: str = 'z', angle: Sequence[float] = (-math.pi, math.pi)) -> None:
        if axis not in (*self.AXES, 'random'):
            raise ValueError(f"RandomRotation3D: axis must be 'x', 'y', 'z' or 'random', "
                             f'got {axis!r}')
        self.axis = axis
        self.angle = _range(angle, 'angle', 'RandomRotation3D')

    def transform(self, results: dict) -> dict:
        points = _points(results, self)
        if self.axis == 'random':
            direction = np.random.normal(size=3)
            while np.linalg.norm(direction) < 1e-8:
                direction = np.random.normal(size=3)
        else:
            direction = np.array(self.AXES[self.axis])
        rotation = rotation_matrix(direction, np.random.uniform(*self.angle))
        results['points'] = (points.astype(np.float64) @ rotation.T).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(axis={self.axis!r}, angle={self.angle})'


def elastic_displacement(points: np.ndarray, granularity: float, magnitude: float
                         ) -> np.ndarray:
    """Smooth random displacement (M, 3) float64 of ``points`` (M, 3).

    A grid of unit Gaussian noise vectors with spacing ``granularity`` covers the cloud
    with one spare cell on every side; each component is smoothed twice by a 3-cell box
    filter along every axis (a cheap Gaussian blur); the field is interpolated
    trilinearly at the points and multiplied by ``magnitude``.  Inside the grid the
    displacement std per component is about 0.1 * magnitude.
    """
    from scipy import ndimage

    low = points.min(axis=0)
    cells = np.floor((points.max(axis=0) - low) / granularity).astype(np.int64) + 3
    origin = low - granularity
    noise = np.random.normal(size=(3, *cells.tolist()))
    for _ in range(2):
        for axis in (1, 2, 3):
            noise = ndimage.uniform_filter1d(noise, size=3, axis=axis, mode='constant')
    grid_coords = ((points - origin) / granularity).T            # (3, M) fractional indices
    displacement = np.stack([ndimage.map_coordinates(noise[c], grid_coords, order=1,
                                                     mode='nearest') for c in range(3)], 1)
    return displacement * magnitude


@TRANSFORMS.register_module()
class ElasticDistortion3D(BaseTransform):
    """Elastic distortion of the cloud, MinkowskiEngine/SpatioTemporalSegmentation
    convention: for each (granularity, magnitude) in ``params``, ``points +=``
    :func:`elastic_displacement` (smoothed noise grid of spacing ``granularity``,
    trilinearly interpolated, times ``magnitude``); applied with probability ``prob``
    (0.95 there).  Units: granularity in the points' unit (metres), as when the
    distortion runs on metric coordinates before voxelisation; PPKT's values are
    [UNVERIFIED] (docs/methods/ppkt.md, 'Augmentations').  Point order is unchanged."""

    def __init__(self, params: Sequence[Sequence[float]] = ((0.2, 0.4), (0.8, 1.6)),
                 prob: float = 0.95) -> None:
        owner = 'ElasticDistortion3D'
        checked = []
        for pair in params:
            try:
                granularity, magnitude = (float(v) for v in pair)
            except (TypeError, ValueError):
                granularity = magnitude = float('nan')
            if not (math.isfinite(granularity) and math.isfinite(magnitude)
                    and granularity > 0 and magnitude >= 0):
                raise ValueError(f'{owner}: every params entry must be (granularity > 0, '
                                 f'magnitude >= 0), got {pair!r}')
            checked.append((granularity, magnitude))
        self.params = tuple(checked)
        self.prob = _probability(prob, owner)

    def transform(self, results: dict) -> dict:
        points = _points(results, self)
        if len(points) == 0 or not self.params or np.random.rand() >= self.prob:
            return results
        moved = points.astype(np.float64)
        for granularity, magnitude in self.params:
            moved = moved + elastic_displacement(moved, granularity, magnitude)
        results['points'] = moved.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(params={self.params}, prob={self.prob})'
