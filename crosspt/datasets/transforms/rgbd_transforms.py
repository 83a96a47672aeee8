"""Per-frame transforms of PPKT pre-training, numpy only (docs/methods/ppkt.md,
'Pixel-point pairing' and 'Augmentations').

A sample is one RGB-D frame.  Every valid-depth pixel becomes one point, so the
pixel <-> point pairing is free; the transforms below keep it valid while they change
the image and the cloud.  Typical pipeline (``ScanNetFramesDataset``)::

    LoadRGBDFrame -> RandomResizedCrop2D -> RandomHorizontalFlip2D
    -> RandomScale3D -> RandomRotation3D -> ElasticDistortion3D
    -> VoxelizePairs -> [SampleVoxels] -> PackPPKTInputs

Keys shared by the transforms (M points, P pairs, V voxels)::

    img         (H, W, 3) uint8   current image (changed by the 2D transforms)
    points      (M, 3) float32    current cloud (changed by the 3D transforms)
    pixels      (M, 2) int64      (row, col) of each point in the *loaded* image;
                                  never changed (the 2D transforms move pair_pixel)
    point_rgb   (M, 3) uint8      colour of each point's loaded pixel (before any 2D
                                  augmentation), for ``feat_mode='rgb'``
    pair_point  (P,) int64        index into ``points`` of each pair
    pair_pixel  (P, 2) int64      (row, col) of each pair in the current ``img``
    pair_voxel  (P,) int64        after VoxelizePairs: index into ``coords`` of each pair

After loading P = M and ``pair_pixel == pixels``.  2D transforms move ``pair_pixel``
and drop pairs whose pixel leaves the image (the point stays in the cloud); 3D
transforms move ``points`` without reordering them, so ``pair_point`` stays valid.

Randomness comes from the global ``np.random`` state, which mmengine seeds per
dataloader worker.  A missing key raises ``KeyError`` naming the key and the transform.
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from crosspt.fileio.scannet_layout import read_color, read_depth
from crosspt.ops.backprojection import backproject_depth, voxel_pairs
from crosspt.registry import TRANSFORMS

from .tap_transforms import _require

COORDINATES = ('world', 'camera')


def _name(transform: object) -> str:
    return type(transform).__name__


def _source(results: dict) -> str:
    """The sample's colour path for error messages."""
    return str(results.get('img_path', '<unknown frame>'))


def valid_depth_mask(depth: np.ndarray, depth_scale: float = 1000.0,
                     min_depth: Optional[float] = None,
                     max_depth: Optional[float] = None) -> np.ndarray:
    """(H, W) bool: raw depth > 0 and, in metres, within [min_depth, max_depth].

    Args:
        depth: (H, W) raw depth (uint16 mm for ScanNet), 0 = invalid.
        depth_scale: raw units per metre.
        min_depth, max_depth: metres; None disables that bound.
    """
    valid = depth > 0
    metres = depth.astype(np.float64) / depth_scale
    if min_depth is not None:
        valid &= metres >= min_depth
    if max_depth is not None:
        valid &= metres <= max_depth
    return valid


def _image(results: dict, transform: object) -> np.ndarray:
    img = np.asarray(_require(results, 'img', transform))
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'{_name(transform)}: img of {_source(results)} must be (H, W, 3) '
                         f'uint8, got {img.dtype} {img.shape}')
    return img


def _points(results: dict, transform: object) -> np.ndarray:
    points = np.asarray(_require(results, 'points', transform))
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f'{_name(transform)}: points of {_source(results)} must be (M, 3), '
                         f'got shape {points.shape}')
    return points


def _pairs(results: dict, transform: object,
           img_shape: Optional[Tuple[int, int]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """``pair_point`` (P,) and ``pair_pixel`` (P, 2) as int64, checked against each other,
    the cloud size and (when given) the image size (H, W)."""
    owner = _name(transform)
    pair_point = np.asarray(_require(results, 'pair_point', transform))
    pair_pixel = np.asarray(_require(results, 'pair_pixel', transform))
    if pair_point.ndim != 1 or pair_pixel.shape != (len(pair_point), 2) \
            or pair_point.dtype.kind not in 'iu' or pair_pixel.dtype.kind not in 'iu':
        raise ValueError(f'{owner}: pairs of {_source(results)} must be integer pair_point '
                         f'(P,) and pair_pixel (P, 2), got {pair_point.dtype} '
                         f'{pair_point.shape} and {pair_pixel.dtype} {pair_pixel.shape}')
    if 'points' in results and len(pair_point) and \
            (pair_point.min() < 0 or pair_point.max() >= len(results['points'])):
        raise ValueError(f'{owner}: pair_point of {_source(results)} indexes outside the '
                         f'{len(results["points"])} points')
    if img_shape is not None and len(pair_pixel) and (
            pair_pixel.min() < 0 or (pair_pixel[:, 0] >= img_shape[0]).any()
            or (pair_pixel[:, 1] >= img_shape[1]).any()):
        raise ValueError(f'{owner}: pair_pixel of {_source(results)} lies outside the '
                         f'{img_shape[0]}x{img_shape[1]} image')
    return pair_point.astype(np.int64, copy=False), pair_pixel.astype(np.int64, copy=False)


def _range(value: Sequence[float], name: str, owner: str, positive: bool = False
           ) -> Tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f'{owner}: {name} must be a (low, high) pair of numbers, '
                         f'got {value!r}') from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi or (positive and lo <= 0):
        raise ValueError(f'{owner}: {name} must be finite with low <= high'
                         f'{" and low > 0" if positive else ""}, got {value!r}')
    return lo, hi


def _positive_int(value: int, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f'{owner}: {name} must be a positive int, got {value!r}')
    return int(value)


def _probability(value: float, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f'{owner}: prob must be a number in [0, 1], got {value!r}')
    return float(value)


# ---------------------------------------------------------------------------- loading
@TRANSFORMS.register_module()
class LoadRGBDFrame(BaseTransform):
    """Read one RGB-D frame and back-project its valid depth pixels (docs/methods/ppkt.md,
    'Back-projection').

    Reads from ``results`` (the data info of :class:`ScanNetFramesDataset`):
    ``img_path``, ``depth_path``, ``intrinsic`` (3x3 or 4x4 depth intrinsics) and, with
    their defaults when absent, ``coordinate`` ('world' needs ``pose``, a 4x4
    camera-to-world matrix, and its ``pose_path`` for errors; default 'world'),
    ``depth_scale`` (1000), ``min_depth``/``max_depth`` (metres, None = no bound) and
    ``depth_size`` ((H, W) every depth must have; None = any).

    Adds ``img`` (H, W, 3) uint8 (colour resized bilinearly to the depth resolution, so
    pixel (row, col) of ``img`` is depth pixel (row, col)), ``points`` (M, 3) float32
    (world or camera frame), ``pixels`` (M, 2) int64 (row, col), ``point_rgb`` (M, 3)
    uint8, ``pair_point`` = arange(M), ``pair_pixel`` = pixels, ``img_shape`` and
    ``ori_shape`` (H, W).

    Raises ValueError naming the depth file when it has no valid pixel (ScanNetFramesDataset
    rejects such frames at index time unless ``check_depth_at_init=False``) or the wrong
    size, and naming the pose file when a world-frame pose is not finite.
    """

    def transform(self, results: dict) -> dict:
        img_path = str(_require(results, 'img_path', self))
        depth_path = str(_require(results, 'depth_path', self))
        intrinsic = np.asarray(_require(results, 'intrinsic', self), dtype=np.float64)
        coordinate = results.get('coordinate', 'world')
        if coordinate not in COORDINATES:
            raise ValueError(f'LoadRGBDFrame: coordinate of {img_path} must be one of '
                             f'{COORDINATES}, got {coordinate!r}')
        depth_scale = float(results.get('depth_scale', 1000.0))
        size = results.get('depth_size')
        depth = read_depth(depth_path, expected_size=None if size is None else tuple(size))
        valid = valid_depth_mask(depth, depth_scale, results.get('min_depth'),
                                 results.get('max_depth'))
        if not valid.any():
            raise ValueError(f'LoadRGBDFrame: {depth_path} has no valid depth pixel (> 0 and '
                             f'within min_depth={results.get("min_depth")} .. max_depth='
                             f'{results.get("max_depth")} m); such frames must be rejected '
                             f'when the index is built (check_depth_at_init=True)')
        pose = None
        if coordinate == 'world':
            pose = np.asarray(_require(results, 'pose', self), dtype=np.float64)
            if pose.shape != (4, 4) or not np.isfinite(pose).all():
                raise ValueError(f'LoadRGBDFrame: pose {results.get("pose_path", "")} of '
                                 f'{depth_path} must be a finite 4x4 camera-to-world matrix '
                                 f'(ScanNet writes -inf when tracking was lost)')
        img = read_color(img_path, size=depth.shape)
        points, pixels = backproject_depth(np.where(valid, depth, 0), intrinsic,
                                           depth_scale=depth_scale, pose=pose)
        results['img'] = img
        results['points'] = points
        results['pixels'] = pixels
        results['point_rgb'] = img[pixels[:, 0], pixels[:, 1]]
        results['pair_point'] = np.arange(len(points), dtype=np.int64)
        results['pair_pixel'] = pixels.copy()
        results['img_shape'] = results['ori_shape'] = tuple(depth.shape)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


# --------------------------------------------------------------------------------- 2D
@TRANSFORMS.register_module()
class RandomHorizontalFlip2D(BaseTransform):
    """Mirror the image left-right with probability ``prob``: ``img[:, ::-1]`` and
    ``col -> W - 1 - col`` for every pair (SLidR ``FlipHorizontal``; docs/methods/ppkt.md,
    'Augmentations').
    Sets ``results['flip']``."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = _probability(prob, 'RandomHorizontalFlip2D')

    def transform(self, results: dict) -> dict:
        img = _image(results, self)
        pair_point, pair_pixel = _pairs(results, self, img.shape[:2])
        flip = bool(np.random.rand() < self.prob)
        if flip:
            results['img'] = np.ascontiguousarray(img[:, ::-1])
            pair_pixel = pair_pixel.copy()
            pair_pixel[:, 1] = img.shape[1] - 1 - pair_pixel[:, 1]
        results['pair_point'], results['pair_pixel'] = pair_point, pair_pixel
        results['flip'] = flip
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class RandomResizedCrop2D(BaseTransform):
    """Random crop of the image resized (bilinear) to ``size``, pairs remapped.

    The crop box follows torchvision's ``RandomResizedCrop``: area fraction uniform in
    ``scale``, aspect ratio (width / height) log-uniform in ``ratio``; a box that does
    not fit is redrawn (up to 100 times, then the largest box of the middle ratio that
    fits is used).  The defaults are SLidR's PPKT-on-LiDAR values (crop to 224x416,
    ratio 14/9..17/9 brackets 416/224; docs/methods/ppkt.md, 'Augmentations') — PPKT's
    own "random resize"
    parameters are [UNVERIFIED]; keep ``ratio`` around ``size[1] / size[0]`` to avoid
    stretching (e.g. ``size=(480, 640), ratio=(1.2, 1.47)``).

    Pixel mapping (half-pixel centres, as the bilinear resize): a source pixel (r, c)
    inside the box (top, left, h, w) goes to output pixel
    ``(floor((r - top + 0.5) * H / h), floor((c - left + 0.5) * W / w))``, i.e. the output
    pixel whose area holds the source pixel centre (= the nearest output centre; ties go
    to the lower index).  Pairs whose pixel is outside the box are dropped; their points
    stay in the cloud.

    Retry rule (SLidR): a crop is accepted when more than ``min_pairs`` pairs or more than
    ``min_fraction`` of the pairs survive; after ``max_tries`` rejected crops the whole
    image is resized to ``size`` (every pair survives).  Sets ``crop_box``
    (top, left, h, w) and ``img_shape``.

    Args:
        size: output (H, W).
        scale: range of the crop area as a fraction of the image area.
        ratio: range of the crop aspect ratio width / height.
        min_pairs: accept a crop keeping more pairs than this.
        min_fraction: accept a crop keeping more than this fraction of the pairs.
        max_tries: crops drawn before falling back to the full image.
    """

    BOX_ATTEMPTS = 100

    def __init__(self, size: Sequence[int], scale: Sequence[float] = (0.3, 1.0),
                 ratio: Sequence[float] = (14 / 9, 17 / 9), min_pairs: int = 1024,
                 min_fraction: float = 0.75, max_tries: int = 10) -> None:
        owner = 'RandomResizedCrop2D'
        if isinstance(size, (int, np.integer)) or len(size) != 2:
            raise ValueError(f'{owner}: size must be (H, W), got {size!r}')
        self.size = (_positive_int(size[0], 'size[0]', owner),
                     _positive_int(size[1], 'size[1]', owner))
        self.scale = _range(scale, 'scale', owner, positive=True)
        if self.scale[1] > 1:
            raise ValueError(f'{owner}: scale must lie in (0, 1], got {scale!r}')
        self.ratio = _range(ratio, 'ratio', owner, positive=True)
        if isinstance(min_pairs, bool) or not isinstance(min_pairs, (int, np.integer)) \
                or min_pairs < 0:
            raise ValueError(f'{owner}: min_pairs must be an int >= 0, got {min_pairs!r}')
        self.min_pairs = int(min_pairs)
        if not isinstance(min_fraction, (int, float)) or not 0 <= min_fraction <= 1:
            raise ValueError(f'{owner}: min_fraction must be in [0, 1], got {min_fraction!r}')
        self.min_fraction = float(min_fraction)
        self.max_tries = _positive_int(max_tries, 'max_tries', owner)

    def _sample_box(self, height: int, width: int) -> Tuple[int, int, int, int]:
        """(top, left, h, w) of a random crop box inside a height x width image."""
        log_ratio = np.log(self.ratio)
        for _ in range(self.BOX_ATTEMPTS):
            area = height * width * np.random.uniform(*self.scale)
            aspect = math.exp(np.random.uniform(*log_ratio))
            w = int(round(math.sqrt(area * aspect)))
            h = int(round(math.sqrt(area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                break
        else:
            aspect = math.exp(log_ratio.mean())
            if width / height > aspect:
                h, w = height, max(1, min(width, int(round(height * aspect))))
            else:
                h, w = max(1, min(height, int(round(width / aspect)))), width
        top = int(np.random.randint(0, height - h + 1))
        left = int(np.random.randint(0, width - w + 1))
        return top, left, h, w

    def _map(self, pair_pixel: np.ndarray, box: Tuple[int, int, int, int]
             ) -> Tuple[np.ndarray, np.ndarray]:
        """(kept mask (P,), output (row, col) (P, 2) of every pair) for crop ``box``."""
        top, left, h, w = box
        rows, cols = pair_pixel[:, 0], pair_pixel[:, 1]
        keep = (rows >= top) & (rows < top + h) & (cols >= left) & (cols < left + w)
        out_h, out_w = self.size
        new_rows = np.floor((rows - top + 0.5) * (out_h / h)).astype(np.int64)
        new_cols = np.floor((cols - left + 0.5) * (out_w / w)).astype(np.int64)
        mapped = np.stack([np.clip(new_rows, 0, out_h - 1), np.clip(new_cols, 0, out_w - 1)],
                          axis=1)
        return keep, mapped

    def transform(self, results: dict) -> dict:
        from PIL import Image

        img = _image(results, self)
        height, width = img.shape[:2]
        pair_point, pair_pixel = _pairs(results, self, (height, width))
        total = len(pair_point)
        if total == 0:
            raise ValueError(f'RandomResizedCrop2D: {_source(results)} has no pixel-point pair '
                             f'to keep')
        for _ in range(self.max_tries):
            box = self._sample_box(height, width)
            keep, mapped = self._map(pair_pixel, box)
            kept = int(keep.sum())
            if kept > self.min_pairs or kept / total > self.min_fraction:
                break
        else:
            box = (0, 0, height, width)
            keep, mapped = self._map(pair_pixel, box)
        top, left, h, w = box
        resized = Image.fromarray(img).resize((self.size[1], self.size[0]), Image.BILINEAR,
                                              box=(left, top, left + w, top + h))
        results['img'] = np.asarray(resized, dtype=np.uint8)
        results['pair_point'] = pair_point[keep]
        results['pair_pixel'] = mapped[keep]
        results['crop_box'] = box
        results['img_shape'] = self.size
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, scale={self.scale}, '
                f'ratio={self.ratio}, min_pairs={self.min_pairs}, '
                f'min_fraction={self.min_fraction}, max_tries={self.max_tries})')


# --------------------------------------------------------------------------------- 3D
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


# -------------------------------------------------------------------------- voxels
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


# ---------------------------------------------------------------------------- pack
@TRANSFORMS.register_module()
class PackPPKTInputs(BaseTransform):
    """Pack a frame for the PPKT model / data preprocessor.

    Returns ``{'inputs': {'img': uint8 (3, H, W), 'coords': int64 (V, 3),
    'points': float32 (V, 3) (``voxel_points``), 'feats': float32 (V, C)},
    'data_samples': BaseDataElement(pairs=int64 (P, 3) [voxel_index, row, col],
    metainfo=dict(scene, frame, img_path, img_shape))}`` (tensors).  Pairs are checked
    to index existing voxels and pixels.
    """

    def transform(self, results: dict) -> dict:
        source = _source(results)
        img = _image(results, self)
        coords = np.asarray(_require(results, 'coords', self))
        points = np.asarray(_require(results, 'voxel_points', self), dtype=np.float32)
        feats = np.asarray(_require(results, 'feats', self), dtype=np.float32)
        pair_voxel = np.asarray(_require(results, 'pair_voxel', self))
        pair_pixel = np.asarray(_require(results, 'pair_pixel', self))
        num = len(coords)
        if coords.ndim != 2 or coords.shape[1] != 3 or coords.dtype.kind not in 'iu':
            raise ValueError(f'PackPPKTInputs: coords of {source} must be integer (V, 3), got '
                             f'{coords.dtype} {coords.shape}')
        if points.shape != (num, 3) or feats.ndim != 2 or len(feats) != num:
            raise ValueError(f'PackPPKTInputs: voxel_points {points.shape} and feats '
                             f'{feats.shape} of {source} must have V = {num} rows')
        if not (np.isfinite(points).all() and np.isfinite(feats).all()):
            raise ValueError(f'PackPPKTInputs: voxel_points or feats of {source} contain NaN '
                             f'or inf')
        if pair_voxel.ndim != 1 or pair_pixel.shape != (len(pair_voxel), 2):
            raise ValueError(f'PackPPKTInputs: pair_voxel {pair_voxel.shape} and pair_pixel '
                             f'{pair_pixel.shape} of {source} must be (P,) and (P, 2)')
        height, width = img.shape[:2]
        if len(pair_voxel) and (
                pair_voxel.min() < 0 or pair_voxel.max() >= num or pair_pixel.min() < 0
                or pair_pixel[:, 0].max() >= height or pair_pixel[:, 1].max() >= width):
            raise ValueError(f'PackPPKTInputs: pairs of {source} index outside the {num} '
                             f'voxels or the {height}x{width} image')
        pairs = np.concatenate([pair_voxel.reshape(-1, 1), pair_pixel], axis=1)
        inputs = {
            'img': torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))),
            'coords': torch.from_numpy(np.ascontiguousarray(coords, dtype=np.int64)),
            'points': torch.from_numpy(np.ascontiguousarray(points)),
            'feats': torch.from_numpy(np.ascontiguousarray(feats)),
        }
        metainfo = dict(scene=results.get('scene'), frame=results.get('frame'),
                        img_path=results.get('img_path'), img_shape=(height, width))
        sample = BaseDataElement(
            metainfo=metainfo,
            pairs=torch.from_numpy(np.ascontiguousarray(pairs, dtype=np.int64)))
        return {'inputs': inputs, 'data_samples': sample}

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


__all__ = ['LoadRGBDFrame', 'RandomHorizontalFlip2D', 'RandomResizedCrop2D', 'RandomScale3D',
           'RandomRotation3D', 'ElasticDistortion3D', 'VoxelizePairs', 'SampleVoxels',
           'PackPPKTInputs', 'valid_depth_mask', 'rotation_matrix', 'elastic_displacement']
