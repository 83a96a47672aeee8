"""Pack a PPKT frame into model inputs and a data sample."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from crosspt.registry import TRANSFORMS

from ..tap_transforms import _require
from .common import _image, _source


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
