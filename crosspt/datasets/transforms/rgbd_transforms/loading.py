"""Load one RGB-D frame and back-project its valid depth (docs/methods/ppkt.md,
'Back-projection')."""
import numpy as np
from mmcv.transforms import BaseTransform

from crosspt.fileio.scannet_layout import read_color, read_depth
from crosspt.ops.backprojection import backproject_depth
from crosspt.registry import TRANSFORMS

from ..tap_transforms import _require
from .common import COORDINATES, valid_depth_mask


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
