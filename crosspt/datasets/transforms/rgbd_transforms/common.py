"""Shared checks of the PPKT RGB-D transforms: key / shape validation of the image, cloud
and pairs, argument checks, and the valid-depth mask."""
import math
from typing import Optional, Sequence, Tuple

import numpy as np

from ..tap_transforms import _require


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
