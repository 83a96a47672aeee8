"""PointContrast's sparse-conv segmentation augmentations as mmdet3d transforms.

PointContrast fine-tunes its SR-UNets with the SpatioTemporalSegmentation data code
(docs/methods/ppkt.md, 'Downstream protocols'): whole scenes, an elastic distortion of the
metric cloud, a random rotation (every axis, in a random order) and scaling folded into
the voxelisation, random flips of the horizontal axes and three colour transforms on RGB
in 0..255.  mmdet3d lacks the elastic distortion, the x/y/z rotation and the colour
transforms; they are here, drawing from NumPy's global generator (which mmengine seeds
per worker).  Scaling and flips use mmdet3d's ``GlobalRotScaleTrans`` / ``RandomFlip3D``.

Every transform reads and writes ``results['points']`` (mmdet3d ``BasePoints``), moves no
point from its index (per-point masks stay aligned) and leaves the other columns alone.
Colour transforms need ``LoadPointsFromFile(use_color=True)`` and must run before
``NormalizePointsColor``.
"""
import math
from abc import abstractmethod
from typing import Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS

from crosspt.datasets.transforms.rgbd_transforms.augment_3d import (elastic_displacement,
                                                                     rotation_matrix)

__all__ = ['ElasticDistortionPoints', 'RandomRotationXYZ', 'ChromaticAutoContrast',
           'ChromaticTranslation', 'ChromaticJitter', 'xyz_rotation']

#: (x, y, z) rotation bounds of PointContrast's ScanNet / S3DIS voxelisation datasets
#: (radians): +-pi/64 (ScanNet) or +-pi/32 (S3DIS) about x and y, a full turn about z
SCANNET_ROTATION = ((-math.pi / 64, math.pi / 64), (-math.pi / 64, math.pi / 64),
                    (-math.pi, math.pi))


def _points(results: dict, owner: object):
    """``results['points']`` as mmdet3d points (TypeError naming the transform)."""
    points = results.get('points')
    if not hasattr(points, 'tensor') or not hasattr(points, 'coord'):
        raise TypeError(f'{type(owner).__name__}: results["points"] must be mmdet3d points '
                        f'(put it after LoadPointsFromFile), got {type(points).__name__}')
    return points


def _colour_columns(results: dict, owner: object) -> list:
    """Column indices of the colour attribute (ValueError when the points have none)."""
    points = _points(results, owner)
    dims = (points.attribute_dims or {}).get('color')
    if dims is None:
        raise ValueError(f'{type(owner).__name__}: the points of '
                         f'{results.get("lidar_path", "?")} have no colour (load them with '
                         f'LoadPointsFromFile(use_color=True))')
    return list(dims)


def _set_columns(points, columns: Sequence[int], values: np.ndarray) -> None:
    """Write (N, len(columns)) ``values`` into the points' tensor, in its dtype."""
    points.tensor[:, list(columns)] = torch.as_tensor(values, dtype=points.tensor.dtype)


def _probability(value: float, owner: str) -> float:
    if not 0 <= float(value) <= 1:
        raise ValueError(f'{owner}: prob must be in [0, 1], got {value!r}')
    return float(value)


@TRANSFORMS.register_module()
class ElasticDistortionPoints(BaseTransform):
    """With probability ``prob`` (0.95), for each (granularity, magnitude) of ``params``
    in turn, ``xyz += elastic_displacement(xyz, granularity, magnitude)`` (metres:
    smoothed Gaussian noise on a grid of spacing ``granularity``, trilinearly
    interpolated, times ``magnitude``; crosspt's
    :func:`~crosspt.datasets.transforms.rgbd_transforms.augment_3d.elastic_displacement`).
    Defaults: the (0.2, 0.4), (0.8, 1.6) pairs of PointContrast's ScanNet dataset."""

    def __init__(self, params: Sequence[Sequence[float]] = ((0.2, 0.4), (0.8, 1.6)),
                 prob: float = 0.95) -> None:
        owner = type(self).__name__
        self.params = tuple((float(g), float(m)) for g, m in params)
        if any(not (g > 0 and m >= 0 and math.isfinite(g + m)) for g, m in self.params):
            raise ValueError(f'{owner}: every params entry must be (granularity > 0, '
                             f'magnitude >= 0), got {params!r}')
        self.prob = _probability(prob, owner)

    def transform(self, results: dict) -> dict:
        """Distort ``results['points']`` xyz in place; returns ``results``."""
        points = _points(results, self)
        if len(points) == 0 or np.random.rand() >= self.prob:
            return results
        xyz = points.coord.numpy().astype(np.float64)
        for granularity, magnitude in self.params:
            xyz = xyz + elastic_displacement(xyz, granularity, magnitude)
        _set_columns(points, (0, 1, 2), xyz)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(params={self.params}, prob={self.prob})'


def xyz_rotation(angles: Sequence[float], order: Sequence[int]) -> np.ndarray:
    """3x3 product ``R_a R_b R_c`` of the rotations by ``angles[i]`` about axis i (x, y,
    z), multiplied in ``order`` = (a, b, c), a permutation of (0, 1, 2)."""
    rotations = [rotation_matrix(np.eye(3)[axis], angles[axis]) for axis in range(3)]
    return rotations[order[0]] @ rotations[order[1]] @ rotations[order[2]]


@TRANSFORMS.register_module()
class RandomRotationXYZ(BaseTransform):
    """PointContrast's voxeliser rotation: an angle ``U(bounds[i])`` about each axis i
    (x, y, z; drawn in that order), the three rotations multiplied in a random order
    (``np.random.permutation(3)``), applied to xyz about the origin.

    Args:
        bounds: (lo, hi) radians per axis; default ScanNet's (+-pi/64, +-pi/64, +-pi).
    """

    def __init__(self, bounds: Sequence[Sequence[float]] = SCANNET_ROTATION) -> None:
        checked = tuple((float(lo), float(hi)) for lo, hi in bounds)
        if len(checked) != 3 or any(not lo <= hi for lo, hi in checked):
            raise ValueError(f'{type(self).__name__}: bounds must be three (lo, hi) pairs '
                             f'with lo <= hi (x, y, z), got {bounds!r}')
        self.bounds: Tuple[Tuple[float, float], ...] = checked

    def transform(self, results: dict) -> dict:
        """Rotate ``results['points']`` xyz; records the (3, 3) matrix as
        ``results['xyz_rotation']``."""
        points = _points(results, self)
        angles = [np.random.uniform(lo, hi) for lo, hi in self.bounds]
        rotation = xyz_rotation(angles, np.random.permutation(3))
        xyz = points.coord.numpy().astype(np.float64)
        _set_columns(points, (0, 1, 2), xyz @ rotation.T)
        results['xyz_rotation'] = rotation
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(bounds={self.bounds})'


@TRANSFORMS.register_module()
class ChromaticAutoContrast(BaseTransform):
    """With probability ``prob`` (0.2): stretch each colour channel to 0..255
    (``(c - min) * 255 / (max - min)`` over the scene; a constant channel is left as
    is) and blend ``(1 - f) * c + f * stretched`` with ``f ~ U(0, 1)``
    (``randomize_blend_factor``) or ``blend_factor``."""

    def __init__(self, prob: float = 0.2, randomize_blend_factor: bool = True,
                 blend_factor: float = 0.5) -> None:
        self.prob = _probability(prob, type(self).__name__)
        self.randomize_blend_factor = bool(randomize_blend_factor)
        self.blend_factor = float(blend_factor)

    def transform(self, results: dict) -> dict:
        """Blend the colours of ``results['points']`` with their stretched copy."""
        columns = _colour_columns(results, self)
        if np.random.rand() >= self.prob:
            return results
        points = results['points']
        colour = points.tensor[:, columns].numpy().astype(np.float64)
        low, high = colour.min(axis=0), colour.max(axis=0)
        span = np.where(high > low, high - low, 1.0)
        stretched = np.where(high > low, (colour - low) * 255.0 / span, colour)
        factor = np.random.rand() if self.randomize_blend_factor else self.blend_factor
        _set_columns(points, columns, (1 - factor) * colour + factor * stretched)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, randomize_blend_factor='
                f'{self.randomize_blend_factor}, blend_factor={self.blend_factor})')


class _AdditiveColour(BaseTransform):
    """With probability ``prob``: colour += :meth:`_offset` (broadcast to (N, 3)), clipped
    to 0..255.  ``value`` (>= 0) is the subclass's scale parameter."""

    def __init__(self, value: float, prob: float) -> None:
        if not float(value) >= 0:
            raise ValueError(f'{type(self).__name__}: {self.PARAMETER} must be >= 0, got '
                             f'{value!r}')
        self.prob = _probability(prob, type(self).__name__)

    @abstractmethod
    def _offset(self, num_points: int, num_channels: int) -> np.ndarray:
        """The added values, (1 or N, num_channels)."""

    def transform(self, results: dict) -> dict:
        """Add :meth:`_offset` to the colours of ``results['points']``."""
        columns = _colour_columns(results, self)
        if np.random.rand() >= self.prob:
            return results
        points = results['points']
        offset = self._offset(len(points), len(columns))
        colour = points.tensor[:, columns].numpy().astype(np.float64)
        _set_columns(points, columns, np.clip(colour + offset, 0, 255))
        return results

    def __repr__(self) -> str:
        value = getattr(self, self.PARAMETER)
        return f'{type(self).__name__}({self.PARAMETER}={value}, prob={self.prob})'


@TRANSFORMS.register_module()
class ChromaticTranslation(_AdditiveColour):
    """With probability ``prob`` (0.95): add one offset per channel,
    ``(U(0, 1) - 0.5) * 2 * 255 * ratio``, to every point's colour; clip to 0..255."""

    PARAMETER = 'ratio'

    def __init__(self, ratio: float = 0.1, prob: float = 0.95) -> None:
        super().__init__(ratio, prob)
        self.ratio = float(ratio)

    def _offset(self, num_points: int, num_channels: int) -> np.ndarray:
        """(1, C) ``(U(0, 1) - 0.5) * 255 * 2 * ratio``."""
        return (np.random.rand(1, num_channels) - 0.5) * 255 * 2 * self.ratio


@TRANSFORMS.register_module()
class ChromaticJitter(_AdditiveColour):
    """With probability ``prob`` (0.95): add independent ``N(0, (std * 255)^2)`` noise to
    every colour value; clip to 0..255."""

    PARAMETER = 'std'

    def __init__(self, std: float = 0.05, prob: float = 0.95) -> None:
        super().__init__(std, prob)
        self.std = float(std)

    def _offset(self, num_points: int, num_channels: int) -> np.ndarray:
        """(N, C) ``N(0, 1) * std * 255``."""
        return np.random.randn(num_points, num_channels) * self.std * 255
