"""Per-sample transforms of the downstream object tasks (numpy in, numpy out).

Keys: ``points`` (N, 3) float32, optional ``normals`` (N, 3) float32 and ``gt_part``
(N,) int64.  Every sampling/shuffling transform indexes all per-point keys present
(:data:`PER_POINT_KEYS`) with the same indices, so they stay aligned.

Typical pipelines (the existing ``RandomPointScaling``, ``CenterAndNormalize``,
``NormalizeToUnitSphere`` and ``ComputeHeight`` of ``tap_transforms`` fit in between;
``CenterAndNormalize`` writes ``height_augmented``, ``ComputeHeight`` writes ``height``)::

    ScanObjectNN train (TAP): LoadObjectPoints -> ShufflePoints -> FPSThenRandom(1200, 1024)
        -> RandomPointScaling((0.9, 1.1)) -> CenterAndNormalize(gravity_dim=1)
        -> RandomRotateAxis(axis=1) -> PackPointClsInputs(('points', 'height_augmented'))
    ScanObjectNN test: LoadObjectPoints -> TakeFirstPoints(1024) -> CenterAndNormalize(1) -> Pack
    ModelNet40 h5 train (PointMLP): LoadObjectPoints -> TakeFirstPoints(1024)
        -> RandomPointScaling((2/3, 1.5)) -> RandomTranslate(0.2) -> ShufflePoints -> Pack
    ShapeNetPart train (TAP): LoadObjectPoints -> RandomSamplePoints(2048)
        -> RandomPointScaling((0.8, 1.2)) -> CenterAndNormalize(1) -> RandomJitter
        -> RandomDropNormals(0.2) -> PackPartSegInputs(('points', 'normals'))  (TAP's
        PointMLP embeds 6 channels, xyz + normals, docs/methods/tap.md, 'ShapeNetPart fine-tuning')

Randomness comes from the global ``np.random`` state (seeded per worker by mmengine).
A missing key raises KeyError naming the key and the transform.
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from crosspt.ops import furthest_point_sample_numpy
from crosspt.registry import TRANSFORMS

from .tap_transforms import _check_positive_int, _require

#: per-point keys kept aligned by the sampling transforms
PER_POINT_KEYS: Tuple[str, ...] = ('points', 'normals', 'gt_part', 'height',
                                   'height_augmented', 'points_norm')


def _source(results: dict) -> str:
    return str(results.get('source', '<unknown source>'))


def _xyz(results: dict, transform: object, key: str = 'points') -> np.ndarray:
    """``results[key]`` checked to be a non-empty (N, 3) array."""
    array = np.asarray(_require(results, key, transform))
    if array.ndim != 2 or array.shape[1] != 3 or len(array) == 0:
        raise ValueError(f'{type(transform).__name__}: {key} of {_source(results)} must be '
                         f'(N, 3) with N > 0, got shape {array.shape}')
    return array


def index_points(results: dict, idx: np.ndarray, transform: object) -> dict:
    """Index every per-point key present with ``idx`` (lengths must agree with points)."""
    count = len(_xyz(results, transform))
    for key in PER_POINT_KEYS:
        if key in results:
            value = np.asarray(results[key])
            if len(value) != count:
                raise ValueError(f'{type(transform).__name__}: per-point key {key!r} of '
                                 f'{_source(results)} has {len(value)} rows, points has {count}')
            results[key] = np.ascontiguousarray(value[idx])
    return results


def _enough(results: dict, num: int, transform: object) -> int:
    count = len(_xyz(results, transform))
    if count < num:
        raise ValueError(f'{type(transform).__name__}: {_source(results)} has {count} points, '
                         f'fewer than the {num} requested')
    return count


@TRANSFORMS.register_module()
class LoadObjectPoints(BaseTransform):
    """Split the data info's ``cloud`` (N, 3) or (N, 6) into ``points`` and ``normals``.

    Also copies ``part_labels`` (N,) to ``gt_part`` (int64) when present.  Checks shapes
    and that every value is finite (errors name ``source`` and the first bad row).

    Args:
        with_normals: None = normals when the cloud has 6 columns; True = require them;
            False = drop them.
        axis_order: permutation of (0, 1, 2) applied to points and normals; new axis i =
            old axis ``axis_order[i]``.  (2, 0, 1) turns a y-up cloud z-up, the frame TAP
            pre-trains in (``LoadPointsFromPLY``); default: unchanged.
    """

    def __init__(self, with_normals: Optional[bool] = None,
                 axis_order: Sequence[int] = (0, 1, 2)) -> None:
        self.with_normals = with_normals if with_normals is None else bool(with_normals)
        order = tuple(int(a) for a in axis_order)
        if sorted(order) != [0, 1, 2]:
            raise ValueError(f'LoadObjectPoints: axis_order must be a permutation of (0, 1, 2), '
                             f'got {tuple(axis_order)!r}')
        self.axis_order = list(order)

    def transform(self, results: dict) -> dict:
        cloud = np.asarray(_require(results, 'cloud', self))
        source = _source(results)
        if cloud.ndim != 2 or cloud.shape[1] not in (3, 6) or len(cloud) == 0:
            raise ValueError(f'LoadObjectPoints: cloud of {source} must be (N, 3) or (N, 6) with '
                             f'N > 0, got shape {cloud.shape}')
        if cloud.dtype.kind != 'f':
            raise ValueError(f'LoadObjectPoints: cloud of {source} must be floating point, got '
                             f'{cloud.dtype}')
        bad = ~np.isfinite(cloud).all(axis=1)
        if bad.any():
            raise ValueError(f'LoadObjectPoints: {source}: point row {int(np.argmax(bad))} '
                             f'contains NaN or inf')
        if self.with_normals and cloud.shape[1] != 6:
            raise ValueError(f'LoadObjectPoints: with_normals=True but the cloud of {source} '
                             f'has no normals (shape {cloud.shape})')
        results['points'] = np.ascontiguousarray(cloud[:, self.axis_order], dtype=np.float32)
        if cloud.shape[1] == 6 and self.with_normals is not False:
            normals = cloud[:, 3:6][:, self.axis_order]
            results['normals'] = np.ascontiguousarray(normals, dtype=np.float32)
        if 'part_labels' in results:
            parts = np.asarray(results['part_labels'])
            if parts.shape != (len(cloud),) or parts.dtype.kind not in 'iu':
                raise ValueError(f'LoadObjectPoints: part_labels of {source} must be '
                                 f'({len(cloud)},) int, got {parts.dtype} {parts.shape}')
            results['gt_part'] = parts.astype(np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(with_normals={self.with_normals}, '
                f'axis_order={tuple(self.axis_order)})')


@TRANSFORMS.register_module()
class ShufflePoints(BaseTransform):
    """Random permutation of the points (and every aligned per-point key)."""

    def transform(self, results: dict) -> dict:
        return index_points(results, np.random.permutation(len(_xyz(results, self))), self)

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


@TRANSFORMS.register_module()
class TakeFirstPoints(BaseTransform):
    """Keep the first ``num_points`` points (PointMLP/DGCNN h5, TAP's cached test set)."""

    def __init__(self, num_points: int = 1024) -> None:
        self.num_points = _check_positive_int(num_points, 'num_points', 'TakeFirstPoints')

    def transform(self, results: dict) -> dict:
        _enough(results, self.num_points, self)
        return index_points(results, np.arange(self.num_points), self)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_points={self.num_points})'


@TRANSFORMS.register_module()
class RandomSamplePoints(BaseTransform):
    """``np.random.choice(N, num_points, replace)`` (ShapeNetPart training: with
    replacement)."""

    def __init__(self, num_points: int = 2048, replace: bool = True) -> None:
        self.num_points = _check_positive_int(num_points, 'num_points', 'RandomSamplePoints')
        self.replace = bool(replace)

    def transform(self, results: dict) -> dict:
        count = len(_xyz(results, self))
        if not self.replace:
            _enough(results, self.num_points, self)
        idx = np.random.choice(count, self.num_points, replace=self.replace)
        return index_points(results, idx, self)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_points={self.num_points}, replace={self.replace})'


@TRANSFORMS.register_module()
class FPSSamplePoints(BaseTransform):
    """Exact furthest point sampling of ``num_points`` (start index 0).

    Args:
        backend: of ``crosspt.ops.furthest_point_sample_numpy`` ('numpy' / 'torch' =
            exact, ties to the lowest index everywhere; 'auto' uses fpsample when
            installed).
    """

    def __init__(self, num_points: int = 1024, backend: str = 'numpy') -> None:
        self.num_points = _check_positive_int(num_points, 'num_points', 'FPSSamplePoints')
        self.backend = backend

    def transform(self, results: dict) -> dict:
        _enough(results, self.num_points, self)
        idx = furthest_point_sample_numpy(_xyz(results, self), self.num_points,
                                          backend=self.backend)
        return index_points(results, idx, self)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_points={self.num_points}, backend={self.backend!r})'


@TRANSFORMS.register_module()
class FPSThenRandom(BaseTransform):
    """TAP's ScanObjectNN training resampling (docs/methods/tap.md, 'ScanObjectNN fine-tuning'): FPS ``fps_points`` (start
    index 0, so shuffle first), then a random ``num_points`` of them without replacement.
    TAP draws one random subset per batch on the GPU; here it is drawn per sample."""

    def __init__(self, fps_points: int = 1200, num_points: int = 1024,
                 backend: str = 'auto') -> None:
        self.fps_points = _check_positive_int(fps_points, 'fps_points', 'FPSThenRandom')
        self.num_points = _check_positive_int(num_points, 'num_points', 'FPSThenRandom')
        if self.num_points > self.fps_points:
            raise ValueError(f'FPSThenRandom: num_points ({num_points}) must not exceed '
                             f'fps_points ({fps_points})')
        self.backend = backend

    def transform(self, results: dict) -> dict:
        _enough(results, self.fps_points, self)
        fps = furthest_point_sample_numpy(_xyz(results, self), self.fps_points,
                                          backend=self.backend)
        idx = fps[np.random.choice(self.fps_points, self.num_points, replace=False)]
        return index_points(results, idx, self)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(fps_points={self.fps_points}, '
                f'num_points={self.num_points}, backend={self.backend!r})')


def rotation_about_axis(axis: int, angle: float) -> np.ndarray:
    """Right-handed rotation matrix (3, 3) by ``angle`` about coordinate ``axis``
    (column-vector convention: ``p' = R @ p``)."""
    c, s = math.cos(angle), math.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    rot = np.eye(3)
    rot[i, i], rot[i, j], rot[j, i], rot[j, j] = c, -s, s, c
    return rot


@TRANSFORMS.register_module()
class RandomRotateAxis(BaseTransform):
    """Rotate ``points`` (and ``normals``) by θ ~ U(angle) about coordinate ``axis``.

    Args:
        axis: 0, 1 or 2 (ScanObjectNN and ShapeNetPart are y-up: 1).
        angle: (lo, hi) in radians (TAP: (-pi, pi)).
    Writes ``results['rotation_angle']`` (float).
    """

    def __init__(self, axis: int = 1, angle: Sequence[float] = (-math.pi, math.pi)) -> None:
        if isinstance(axis, bool) or axis not in (0, 1, 2):
            raise ValueError(f'RandomRotateAxis: axis must be 0, 1 or 2, got {axis!r}')
        angle = tuple(float(a) for a in angle)
        if len(angle) != 2 or angle[0] > angle[1]:
            raise ValueError(f'RandomRotateAxis: angle must be (lo, hi) with lo <= hi, '
                             f'got {angle!r}')
        self.axis, self.angle = int(axis), angle

    def transform(self, results: dict) -> dict:
        theta = float(np.random.uniform(*self.angle))
        rot = rotation_about_axis(self.axis, theta)
        results['points'] = (_xyz(results, self) @ rot.T).astype(np.float32)
        if 'normals' in results:
            results['normals'] = (_xyz(results, self, 'normals') @ rot.T).astype(np.float32)
        results['rotation_angle'] = theta
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(axis={self.axis}, angle={self.angle})'


@TRANSFORMS.register_module()
class RandomTranslate(BaseTransform):
    """Add one offset ~ U(-shift, shift) per axis to ``points`` (PointMLP/DGCNN h5
    augmentation).  Writes ``results['translation']`` (3,) float32."""

    def __init__(self, shift: float = 0.2) -> None:
        if not float(shift) >= 0.0:
            raise ValueError(f'RandomTranslate: shift must be >= 0, got {shift!r}')
        self.shift = float(shift)

    def transform(self, results: dict) -> dict:
        offset = np.random.uniform(-self.shift, self.shift, size=3)
        results['points'] = (_xyz(results, self) + offset).astype(np.float32)
        results['translation'] = offset.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(shift={self.shift})'


@TRANSFORMS.register_module()
class RandomJitter(BaseTransform):
    """Add clip(sigma * N(0, 1), -clip, clip) noise to every coordinate of ``points``."""

    def __init__(self, sigma: float = 0.001, clip: float = 0.005) -> None:
        if not (float(sigma) >= 0.0 and float(clip) > 0.0):
            raise ValueError(f'RandomJitter: need sigma >= 0 and clip > 0, got {sigma}, {clip}')
        self.sigma, self.clip = float(sigma), float(clip)

    def transform(self, results: dict) -> dict:
        points = _xyz(results, self)
        noise = np.clip(self.sigma * np.random.randn(*points.shape), -self.clip, self.clip)
        results['points'] = (points + noise).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(sigma={self.sigma}, clip={self.clip})'


@TRANSFORMS.register_module()
class RandomDropNormals(BaseTransform):
    """With probability ``p`` set ``normals`` to zero (TAP's ChromaticDropGPU zeroes the
    normals feature, docs/methods/tap.md, 'ShapeNetPart fine-tuning').  Writes ``results['normals_dropped']`` (bool)."""

    def __init__(self, p: float = 0.2) -> None:
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f'RandomDropNormals: p must be in [0, 1], got {p!r}')
        self.p = float(p)

    def transform(self, results: dict) -> dict:
        normals = _xyz(results, self, 'normals')
        drop = bool(np.random.random_sample() < self.p)
        if drop:
            results['normals'] = np.zeros_like(normals, dtype=np.float32)
        results['normals_dropped'] = drop
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(p={self.p})'


def _features(results: dict, keys: Sequence[str], count: int, transform: object) -> np.ndarray:
    arrays = []
    for key in keys:
        array = np.asarray(_require(results, key, transform), dtype=np.float32)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or len(array) != count:
            raise ValueError(f'{type(transform).__name__}: feature {key!r} of {_source(results)} '
                             f'must be (N, c) with N = {count}, got shape {array.shape}')
        if not np.isfinite(array).all():
            raise ValueError(f'{type(transform).__name__}: feature {key!r} of '
                             f'{_source(results)} contains NaN or inf')
        arrays.append(array)
    return np.ascontiguousarray(np.concatenate(arrays, axis=-1))


def _check_keys(feature_keys: Sequence[str], owner: str) -> Tuple[str, ...]:
    keys = (feature_keys,) if isinstance(feature_keys, str) else tuple(feature_keys)
    if not keys or not all(isinstance(k, str) for k in keys):
        raise ValueError(f'{owner}: feature_keys must be a non-empty sequence of str, '
                         f'got {feature_keys!r}')
    return keys


@TRANSFORMS.register_module()
class PackPointClsInputs(BaseTransform):
    """Pack a classification sample for ``PointDataPreprocessor``.

    Returns ``{'inputs': {'points': (N, 3) float32 tensor, 'features': (N, C) float32
    tensor = concat of ``feature_keys``}, 'data_samples': BaseDataElement(gt_label=int,
    metainfo=dict(sample_idx, source))}``.
    """

    def __init__(self, feature_keys: Sequence[str] = ('points', 'height')) -> None:
        self.feature_keys = _check_keys(feature_keys, 'PackPointClsInputs')

    def transform(self, results: dict) -> dict:
        points = _xyz(results, self).astype(np.float32)
        features = _features(results, self.feature_keys, len(points), self)
        label = int(_require(results, 'label', self))
        inputs = {'points': torch.from_numpy(np.ascontiguousarray(points)),
                  'features': torch.from_numpy(features)}
        metainfo = dict(sample_idx=results.get('sample_idx'), source=_source(results))
        return {'inputs': inputs,
                'data_samples': BaseDataElement(gt_label=label, metainfo=metainfo)}

    def __repr__(self) -> str:
        return f'{type(self).__name__}(feature_keys={self.feature_keys})'


@TRANSFORMS.register_module()
class PackPartSegInputs(BaseTransform):
    """Pack a part-segmentation sample.

    Returns ``{'inputs': {'points': (N, 3) float32, 'features': (N, C) float32,
    'category': 0-dim int64 tensor}, 'data_samples': BaseDataElement(gt_part=(N,) int64
    tensor, category=int, metainfo=dict(sample_idx, source))}``.
    """

    def __init__(self, feature_keys: Sequence[str] = ('points', 'normals', 'height')) -> None:
        self.feature_keys = _check_keys(feature_keys, 'PackPartSegInputs')

    def transform(self, results: dict) -> dict:
        points = _xyz(results, self).astype(np.float32)
        features = _features(results, self.feature_keys, len(points), self)
        gt_part = np.asarray(_require(results, 'gt_part', self), dtype=np.int64)
        if gt_part.shape != (len(points),):
            raise ValueError(f'PackPartSegInputs: gt_part of {_source(results)} must be '
                             f'({len(points)},), got {gt_part.shape}')
        category = int(_require(results, 'category', self))
        inputs = {'points': torch.from_numpy(np.ascontiguousarray(points)),
                  'features': torch.from_numpy(features),
                  'category': torch.tensor(category, dtype=torch.int64)}
        metainfo = dict(sample_idx=results.get('sample_idx'), source=_source(results))
        sample = BaseDataElement(gt_part=torch.from_numpy(np.ascontiguousarray(gt_part)),
                                 category=category, metainfo=metainfo)
        return {'inputs': inputs, 'data_samples': sample}

    def __repr__(self) -> str:
        return f'{type(self).__name__}(feature_keys={self.feature_keys})'
