"""3DETR's RandomCuboid augmentation as an mmdet3d transform.

3DETR (Misra et al., ICCV 2021) crops each training scene to a random axis-aligned cuboid
before sampling its 40,000 points (DepthContrast's crop, changed for detection to keep
only the boxes whose centre lies in the crop).  One trial:

1. draw a size factor per axis, ``f ~ U(min_crop, max_crop)^3``; reject the trial unless
   at least one of the xy, xz and yz aspect ratios ``min(f_a, f_b) / max(f_a, f_b)`` is
   ``>= aspect``;
2. centre the cuboid on a uniformly drawn input point ``c``; half-sizes
   ``f * extent / 2``, with ``extent`` the xyz max - min of the whole scene;
3. keep the points with ``c - half <= p <= c + half`` on every axis; reject the trial if
   fewer than ``min_points`` remain;
4. keep the boxes whose centre lies within the min / max of the kept points (bounds
   included); reject the trial if the scene has boxes and none is kept.

The first accepted trial of ``max_trials`` (100) wins; when none is accepted the scene is
left whole.  The draws are NumPy's global generator in the release's order (``rand(3)``,
then ``choice(N)`` once the aspect test passes), so mmengine's seeding makes runs
repeatable.  Release defaults: ``min_points`` 30,000 (of the at most 50,000 exported
vertices), ``aspect`` 0.8, crop 0.5-1.0.  One departure: the release tests "the scene has
boxes" as ``boxes.sum() > 0`` on its (K, 7) array; here it is ``K > 0``.
"""
from typing import Optional, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS

__all__ = ['passes_aspect', 'random_cuboid_crop', 'RandomCuboid']

#: (point mask (N,), box mask (K,), cuboid min (3,), cuboid max (3,))
Crop = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def passes_aspect(factors: np.ndarray, aspect: float) -> bool:
    """Whether any of the xy, xz, yz ratios ``min / max`` of ``factors`` (3,) is
    ``>= aspect``."""
    pairs = ((0, 1), (0, 2), (1, 2))
    return any(min(factors[a], factors[b]) / max(factors[a], factors[b]) >= aspect
               for a, b in pairs)


def random_cuboid_crop(xyz: np.ndarray, box_centers: np.ndarray, min_points: int,
                       aspect: float = 0.8, min_crop: float = 0.5, max_crop: float = 1.0,
                       max_trials: int = 100) -> Optional[Crop]:
    """Draw 3DETR's random cuboid crop (module docstring) with NumPy's global generator.

    Args:
        xyz: (N, 3) point coordinates.
        box_centers: (K, 3) box centres (K may be 0).
        min_points: fewest points a crop may keep.
        aspect, min_crop, max_crop: see the module docstring.
        max_trials: trials before giving up.
    Returns:
        ``(point_mask (N,) bool, box_mask (K,) bool, cuboid_min (3,), cuboid_max (3,))``
        of the first accepted trial, or None when no trial is accepted.
    """
    extent = xyz.max(axis=0) - xyz.min(axis=0)
    for _ in range(int(max_trials)):
        factors = min_crop + np.random.rand(3) * (max_crop - min_crop)
        if not passes_aspect(factors, aspect):
            continue
        center = xyz[np.random.choice(len(xyz))]
        half = extent * factors / 2.0
        low, high = center - half, center + half
        inside = np.all(xyz >= low, axis=1) & np.all(xyz <= high, axis=1)
        if inside.sum() < min_points:
            continue
        kept = xyz[inside]
        keep_box = (np.all(box_centers >= kept.min(axis=0), axis=1)
                    & np.all(box_centers <= kept.max(axis=0), axis=1))
        if len(box_centers) and not keep_box.any():
            continue
        return inside, keep_box, low, high
    return None


@TRANSFORMS.register_module()
class RandomCuboid(BaseTransform):
    """3DETR's random cuboid crop of a training scene (module docstring).

    Put it after ``GlobalAlignment`` and before ``PointSample``, as 3DETR crops the
    axis-aligned scene before sampling.  Changes ``points``, the per-point
    ``pts_instance_mask`` / ``pts_semantic_mask`` and the boxes ``gt_bboxes_3d`` (centre =
    ``gravity_center``) / ``gt_labels_3d``; records the cuboid as
    ``results['random_cuboid'] = dict(min=(3,), max=(3,))``, or None when the scene was
    left whole.

    Args:
        min_points: fewest points a crop keeps (release: 30,000).
        aspect: lowest accepted aspect ratio of the size factors (0.8).
        min_crop, max_crop: size factor range per axis, relative to the scene (0.5, 1.0).
        max_trials: trials before the scene is left whole (100).
    """

    PER_POINT = ('pts_instance_mask', 'pts_semantic_mask')

    def __init__(self, min_points: int = 30000, aspect: float = 0.8, min_crop: float = 0.5,
                 max_crop: float = 1.0, max_trials: int = 100) -> None:
        name = type(self).__name__
        if not 0 < min_crop <= max_crop:
            raise ValueError(f'{name}: need 0 < min_crop <= max_crop, got {min_crop}, '
                             f'{max_crop}')
        if not 0 < aspect <= 1:
            raise ValueError(f'{name}: aspect must be in (0, 1], got {aspect}')
        if int(min_points) < 1 or int(max_trials) < 1:
            raise ValueError(f'{name}: min_points and max_trials must be >= 1, got '
                             f'{min_points}, {max_trials}')
        self.min_points, self.aspect = int(min_points), float(aspect)
        self.min_crop, self.max_crop = float(min_crop), float(max_crop)
        self.max_trials = int(max_trials)

    def transform(self, results: dict) -> dict:
        """Crop ``results`` in place (see the class docstring); returns ``results``."""
        points = results.get('points')
        if not hasattr(points, 'coord'):
            raise TypeError(f'{type(self).__name__}: results["points"] must be mmdet3d '
                            f'points (put it after LoadPointsFromFile), got '
                            f'{type(points).__name__}')
        xyz = points.coord.numpy()
        boxes = results.get('gt_bboxes_3d')
        centers = (boxes.gravity_center.numpy() if boxes is not None and len(boxes)
                   else np.zeros((0, 3), dtype=xyz.dtype))
        crop = random_cuboid_crop(xyz, centers, self.min_points, self.aspect, self.min_crop,
                                  self.max_crop, self.max_trials)
        if crop is None:
            results['random_cuboid'] = None
            return results
        inside, keep_box, low, high = crop
        results['points'] = points[torch.from_numpy(inside)]
        for key in self.PER_POINT:
            if key in results:
                results[key] = np.asarray(results[key])[inside]
        if boxes is not None and len(boxes):
            results['gt_bboxes_3d'] = boxes[torch.from_numpy(keep_box)]
            if 'gt_labels_3d' in results:
                results['gt_labels_3d'] = np.asarray(results['gt_labels_3d'])[keep_box]
        results['random_cuboid'] = dict(min=low, max=high)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_points={self.min_points}, aspect={self.aspect}, '
                f'min_crop={self.min_crop}, max_crop={self.max_crop}, '
                f'max_trials={self.max_trials})')
