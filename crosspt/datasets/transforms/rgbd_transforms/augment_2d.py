"""2D augmentations of a PPKT frame that keep the pixel <-> point pairs valid
(docs/methods/ppkt.md, 'Augmentations')."""
import math
from typing import Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from crosspt.registry import TRANSFORMS

from .common import _image, _pairs, _positive_int, _probability, _range, _source


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
