"""Per-sample transforms of TAP pre-training (docs/methods/tap.md, 'Per-sample
processing'), numpy only.

Typical pipeline (``configs/_base_/datasets/shapenet55_views.py``)::

    LoadPointsFromPLY -> NormalizeToUnitSphere -> ComputeHeight -> RandomPointScaling
    -> CenterAndNormalize -> RandomSampleViews -> LoadViewImages -> PackTAPInputs

Randomness comes from the global ``np.random`` state, which mmengine seeds per
dataloader worker.  Every transform reads and writes keys of the ``results`` dict;
a missing key raises ``KeyError`` naming the key and the transform.
"""
import os
from typing import Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from crosspt.fileio.ply import read_ply_points
from crosspt.ops import furthest_point_sample_numpy
from crosspt.registry import TRANSFORMS
from crosspt.rendering.poses import tap_view_rotations


def _require(results: dict, key: str, transform: object) -> object:
    """``results[key]`` or a KeyError naming the key and the transform."""
    if key not in results:
        raise KeyError(f'{type(transform).__name__}: results has no key {key!r} '
                       f'(present keys: {sorted(results)}); check the pipeline order')
    return results[key]


def _source(results: dict) -> str:
    """The sample's .ply path for error messages."""
    return str(results.get('ply_path', '<unknown .ply>'))


def _check_gravity_dim(gravity_dim: int, owner: str) -> int:
    if isinstance(gravity_dim, bool) or not isinstance(gravity_dim, (int, np.integer)) \
            or not 0 <= int(gravity_dim) <= 2:
        raise ValueError(f'{owner}: gravity_dim must be an int in 0..2, got {gravity_dim!r}')
    return int(gravity_dim)


def _check_positive_int(value: int, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f'{owner}: {name} must be a positive int, got {value!r}')
    return int(value)


def _points_array(results: dict, transform: object) -> np.ndarray:
    """``results['points']`` checked to be an (N, 3) array."""
    points = np.asarray(_require(results, 'points', transform))
    if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
        raise ValueError(f'{type(transform).__name__}: points of {_source(results)} must be '
                         f'(N, 3) with N > 0, got shape {points.shape}')
    return points


def _unit_sphere(points: np.ndarray, source: str, owner: str) -> np.ndarray:
    """Subtract the centroid and divide by the max L2 norm; (N, 3) float32."""
    centered = points - points.mean(axis=0, keepdims=True)
    radius = float(np.sqrt((centered.astype(np.float64) ** 2).sum(axis=1)).max())
    if not np.isfinite(radius) or radius <= 0.0:
        raise ValueError(f'{owner}: cannot normalise the cloud of {source}: all points coincide '
                         f'or are not finite (max norm after centring = {radius})')
    return (centered / radius).astype(np.float32)


@TRANSFORMS.register_module()
class LoadPointsFromPLY(BaseTransform):
    """Read ``results['ply_path']`` into ``results['points']`` (N, 3) float32.

    The axes are permuted by ``axis_order`` (TAP: ``points[:, [2, 0, 1]]`` turns the
    y-up MVCNN meshes z-up).  A file with fewer than ``num_points`` points raises
    ValueError.  TAP also rejects files with more points; here they are reduced to
    ``num_points`` with deterministic furthest point sampling from index 0
    (:func:`crosspt.ops.furthest_point_sample_numpy` with ``backend='auto'``: fpsample on
    CPU when installed, which may break exact distance ties differently from the PyTorch
    path) unless ``strict_num_points=True``, which raises instead.

    Args:
        num_points: points per sample N.
        axis_order: permutation of (0, 1, 2); new axis i = old axis ``axis_order[i]``.
        strict_num_points: raise for files with more than ``num_points`` points.
    """

    def __init__(self, num_points: int = 1024, axis_order: Sequence[int] = (2, 0, 1),
                 strict_num_points: bool = False) -> None:
        self.num_points = _check_positive_int(num_points, 'num_points', 'LoadPointsFromPLY')
        order = tuple(int(a) for a in axis_order)
        if sorted(order) != [0, 1, 2]:
            raise ValueError(f'LoadPointsFromPLY: axis_order must be a permutation of (0, 1, 2), '
                             f'got {tuple(axis_order)!r}')
        self.axis_order = order
        self.strict_num_points = bool(strict_num_points)

    def transform(self, results: dict) -> dict:
        path = _require(results, 'ply_path', self)
        results['points'] = self.sample_and_permute(read_ply_points(path), path)
        return results

    def sample_and_permute(self, points: np.ndarray, source: str) -> np.ndarray:
        """What the transform does after reading: (N, 3) file-frame points ->
        (num_points, 3) float32 in the dataset frame (also used by ``crosspt.apis``)."""
        count = len(points)
        if count < self.num_points or (self.strict_num_points and count != self.num_points):
            raise ValueError(f'LoadPointsFromPLY: {source} has {count} points, expected '
                             f'{"exactly" if self.strict_num_points else "at least"} '
                             f'{self.num_points}')
        if count > self.num_points:
            points = points[furthest_point_sample_numpy(points, self.num_points, backend='auto')]
        return np.ascontiguousarray(points[:, list(self.axis_order)], dtype=np.float32)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_points={self.num_points}, '
                f'axis_order={self.axis_order}, strict_num_points={self.strict_num_points})')


@TRANSFORMS.register_module()
class NormalizeToUnitSphere(BaseTransform):
    """TAP ``pc_norm``: ``points = (points - centroid) / max ||points - centroid||``.

    Updates ``results['points']`` (N, 3) float32 and stores a copy of the normalised,
    not yet augmented cloud as ``results['points_norm']``.
    """

    def transform(self, results: dict) -> dict:
        points = _points_array(results, self)
        normed = _unit_sphere(points, _source(results), type(self).__name__)
        results['points'] = normed
        results['points_norm'] = normed.copy()
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


@TRANSFORMS.register_module()
class ComputeHeight(BaseTransform):
    """``results['height'] = points[:, g:g+1] - min(points[:, g])``, (N, 1) float32.

    Computed on the current ``results['points']``; placed before the augmentations it
    gives TAP's height from the un-augmented unit-sphere cloud.

    Args:
        gravity_dim: the up axis (2 = z after the TAP axis permutation).
    """

    def __init__(self, gravity_dim: int = 2) -> None:
        self.gravity_dim = _check_gravity_dim(gravity_dim, 'ComputeHeight')

    def transform(self, results: dict) -> dict:
        points = _points_array(results, self)
        up = points[:, self.gravity_dim:self.gravity_dim + 1]
        results['height'] = (up - up.min()).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(gravity_dim={self.gravity_dim})'


@TRANSFORMS.register_module()
class RandomPointScaling(BaseTransform):
    """Scale ``results['points']`` about the origin by a random factor ~ U(lo, hi).

    Args:
        scale: (lo, hi) with 0 < lo <= hi.
        anisotropic: one factor per axis (TAP default) instead of one for all axes.
        mirror: flip axes with probability: False = never, True = 0.5 per axis, or a
            sequence of 3 per-axis probabilities in [0, 1].
    Writes ``results['scale_factor']`` (3,) float32, the factors applied (signs included).
    """

    def __init__(self, scale: Sequence[float] = (0.9, 1.1), anisotropic: bool = True,
                 mirror: Union[bool, Sequence[float]] = False) -> None:
        scale = tuple(float(s) for s in scale)
        if len(scale) != 2 or not 0.0 < scale[0] <= scale[1]:
            raise ValueError(f'RandomPointScaling: scale must be (lo, hi) with 0 < lo <= hi, '
                             f'got {scale!r}')
        self.scale = scale
        self.anisotropic = bool(anisotropic)
        if isinstance(mirror, (bool, np.bool_)):
            probs = (0.5, 0.5, 0.5) if mirror else (0.0, 0.0, 0.0)
        else:
            probs = tuple(float(p) for p in mirror)
            if len(probs) != 3 or not all(0.0 <= p <= 1.0 for p in probs):
                raise ValueError(f'RandomPointScaling: mirror must be a bool or 3 probabilities '
                                 f'in [0, 1], got {mirror!r}')
        self.mirror = mirror if isinstance(mirror, (bool, np.bool_)) else probs
        self._mirror_probs = np.asarray(probs)

    def transform(self, results: dict) -> dict:
        points = _points_array(results, self)
        lo, hi = self.scale
        if self.anisotropic:
            factor = np.random.uniform(lo, hi, size=3)
        else:
            factor = np.full(3, np.random.uniform(lo, hi))
        if self._mirror_probs.any():
            flip = np.random.random_sample(3) < self._mirror_probs
            factor = np.where(flip, -factor, factor)
        results['points'] = (points * factor[None, :]).astype(np.float32)
        results['scale_factor'] = factor.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, anisotropic={self.anisotropic}, '
                f'mirror={self.mirror})')


@TRANSFORMS.register_module()
class CenterAndNormalize(BaseTransform):
    """Re-centre ``results['points']`` to its mean and divide by the max norm.

    Like openpoints' ``PointCloudCenterAndNormalize`` it also records the height of the
    incoming (augmented) cloud, ``results['height_augmented']`` (N, 1) float32 =
    ``points[:, g:g+1] - min``; TAP does not use it (the packed height is the one of
    :class:`ComputeHeight`).

    Args:
        gravity_dim: the up axis for ``height_augmented``.
    """

    def __init__(self, gravity_dim: int = 2) -> None:
        self.gravity_dim = _check_gravity_dim(gravity_dim, 'CenterAndNormalize')

    def transform(self, results: dict) -> dict:
        points = _points_array(results, self)
        up = points[:, self.gravity_dim:self.gravity_dim + 1]
        results['height_augmented'] = (up - up.min()).astype(np.float32)
        results['points'] = _unit_sphere(points, _source(results), type(self).__name__)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(gravity_dim={self.gravity_dim})'


@TRANSFORMS.register_module()
class RandomSampleViews(BaseTransform):
    """Choose ``num_views`` of the ``num_views_total`` rendered views.

    Random mode: ``np.random.choice(num_views_total, num_views, replace=False)`` (TAP).
    Deterministic mode (for validation, so the monitored loss does not jitter): evenly
    spaced views starting at view 0, ``(k * num_views_total) // num_views``, e.g.
    0, 2, 4, 6, 8, 10 for 6 of 12.

    Writes ``results['view_indices']`` (V,) int64 and ``results['view_rotations']``
    (V, 3, 3) float64 = ``tap_view_rotations(num_views_total)[view_indices]``.
    """

    def __init__(self, num_views: int = 6, num_views_total: int = 12,
                 deterministic: bool = False) -> None:
        self.num_views = _check_positive_int(num_views, 'num_views', 'RandomSampleViews')
        self.num_views_total = _check_positive_int(num_views_total, 'num_views_total',
                                                   'RandomSampleViews')
        if self.num_views > self.num_views_total:
            raise ValueError(f'RandomSampleViews: num_views ({num_views}) must not exceed '
                             f'num_views_total ({num_views_total})')
        self.deterministic = bool(deterministic)
        self._rotations = tap_view_rotations(self.num_views_total)

    def transform(self, results: dict) -> dict:
        if self.deterministic:
            indices = (np.arange(self.num_views) * self.num_views_total) // self.num_views
        else:
            indices = np.random.choice(self.num_views_total, self.num_views, replace=False)
        indices = np.asarray(indices, dtype=np.int64)
        results['view_indices'] = indices
        results['view_rotations'] = self._rotations[indices].copy()
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_views={self.num_views}, '
                f'num_views_total={self.num_views_total}, deterministic={self.deterministic})')


@TRANSFORMS.register_module()
class LoadViewImages(BaseTransform):
    """Load the chosen views ``results['image_paths'][i]``, i in ``results['view_indices']``.

    Images are converted to RGB and stored as ``results['images']`` (V, 3, H, W) uint8.
    By default there is no resizing: an image of another size raises ValueError.  With
    ``resize=True`` every image is area-averaged (PIL ``BOX``) to ``image_size``, e.g. the
    224-px views to 56 px for the embedded quick start (docs/pretraining.md); averaging
    keeps a pixel pure white only where its whole source block is white, so the loss's
    foreground rule (not pure white) still covers every drawn source pixel.  An unreadable
    image raises ValueError, a missing one FileNotFoundError (both name the file).

    Args:
        image_size: H = W, or (H, W).
        resize: area-resize images of another size instead of refusing them.
    """

    def __init__(self, image_size: Union[int, Tuple[int, int]] = 224,
                 resize: bool = False) -> None:
        if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
            size = (int(image_size), int(image_size))
        else:
            size = tuple(image_size)
        if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size):
            raise ValueError(f'LoadViewImages: image_size must be a positive int or (H, W), '
                             f'got {image_size!r}')
        self.image_size = (int(size[0]), int(size[1]))
        self.resize = bool(resize)

    def _load(self, path: str) -> np.ndarray:
        from PIL import Image

        if not os.path.isfile(path):
            raise FileNotFoundError(f'LoadViewImages: view image not found: {path}')
        try:
            with Image.open(path) as image:
                image.load()
                rgb = image.convert('RGB')
        except Exception as exc:  # PIL raises several types for corrupt files
            raise ValueError(f'LoadViewImages: cannot read image {path}: '
                             f'{type(exc).__name__}: {exc}') from exc
        height, width = rgb.height, rgb.width
        if self.resize and (height, width) != self.image_size:
            rgb = rgb.resize(self.image_size[::-1], Image.BOX)
        elif (height, width) != self.image_size:
            raise ValueError(f'LoadViewImages: image {path} is {height}x{width} (HxW), expected '
                             f'{self.image_size[0]}x{self.image_size[1]}; images are not resized '
                             f'(LoadViewImages(resize=True) area-resizes them)')
        return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)

    def transform(self, results: dict) -> dict:
        paths = _require(results, 'image_paths', self)
        indices = np.asarray(_require(results, 'view_indices', self), dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= len(paths)):
            raise ValueError(f'LoadViewImages: view_indices {indices.tolist()} out of range for '
                             f'{len(paths)} image paths of {_source(results)}')
        images = [self._load(os.fspath(paths[int(i)])) for i in indices]
        if images:
            results['images'] = np.ascontiguousarray(np.stack(images))
        else:
            results['images'] = np.zeros((0, 3, *self.image_size), dtype=np.uint8)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(image_size={self.image_size}, resize={self.resize})'


@TRANSFORMS.register_module()
class PackTAPInputs(BaseTransform):
    """Pack a sample for :class:`crosspt.models.tap.TAPDataPreprocessor`.

    Returns ``{'inputs': {'points': (N, 3) float32, 'features': (N, C) float32 =
    concat of ``feature_keys`` arrays along the last dim, 'view_rotations': (V, 3, 3)
    float64, 'images': (V, 3, H, W) uint8}, 'data_samples': BaseDataElement}`` with
    metainfo ``sample_idx, ply_path, view_indices (list), subset``.

    Args:
        feature_keys: result keys whose (N, c) arrays form the per-point features.
    """

    def __init__(self, feature_keys: Sequence[str] = ('points', 'height')) -> None:
        if isinstance(feature_keys, str):
            feature_keys = (feature_keys,)
        keys = tuple(feature_keys)
        if not keys or not all(isinstance(k, str) for k in keys):
            raise ValueError(f'PackTAPInputs: feature_keys must be a non-empty sequence of '
                             f'str, got {feature_keys!r}')
        self.feature_keys = keys

    def transform(self, results: dict) -> dict:
        source = _source(results)
        points = _points_array(results, self).astype(np.float32)
        if not np.isfinite(points).all():
            raise ValueError(f'PackTAPInputs: points of {source} contain NaN or inf')
        features = []
        for key in self.feature_keys:
            array = np.asarray(_require(results, key, self), dtype=np.float32)
            if array.ndim == 1:
                array = array[:, None]
            if array.ndim != 2 or array.shape[0] != len(points):
                raise ValueError(f'PackTAPInputs: feature {key!r} of {source} must be (N, c) '
                                 f'with N = {len(points)}, got shape {array.shape}')
            if not np.isfinite(array).all():
                raise ValueError(f'PackTAPInputs: feature {key!r} of {source} contains NaN '
                                 f'or inf')
            features.append(array)
        rotations = np.asarray(_require(results, 'view_rotations', self), dtype=np.float64)
        images = np.asarray(_require(results, 'images', self))
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f'PackTAPInputs: images of {source} must be uint8 (V, 3, H, W), '
                             f'got {images.dtype} {images.shape}')
        if rotations.shape != (len(images), 3, 3):
            raise ValueError(f'PackTAPInputs: view_rotations of {source} must be '
                             f'({len(images)}, 3, 3), got {rotations.shape}')
        inputs = {
            'points': torch.from_numpy(np.ascontiguousarray(points)),
            'features': torch.from_numpy(np.ascontiguousarray(np.concatenate(features, -1))),
            'view_rotations': torch.from_numpy(np.ascontiguousarray(rotations)),
            'images': torch.from_numpy(np.ascontiguousarray(images)),
        }
        view_indices = np.asarray(results.get('view_indices', []), dtype=np.int64).tolist()
        metainfo = dict(sample_idx=results.get('sample_idx'), ply_path=results.get('ply_path'),
                        view_indices=view_indices, subset=results.get('subset'))
        return {'inputs': inputs, 'data_samples': BaseDataElement(metainfo=metainfo)}

    def __repr__(self) -> str:
        return f'{type(self).__name__}(feature_keys={self.feature_keys})'
