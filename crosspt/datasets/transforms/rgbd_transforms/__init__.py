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

Modules: :mod:`.common` (shared checks, valid-depth mask), :mod:`.loading`,
:mod:`.augment_2d`, :mod:`.augment_3d`, :mod:`.voxels` and :mod:`.pack`.
"""
from .augment_2d import RandomHorizontalFlip2D, RandomResizedCrop2D
from .augment_3d import (ElasticDistortion3D, RandomRotation3D, RandomScale3D,
                         elastic_displacement, rotation_matrix)
from .common import COORDINATES, valid_depth_mask
from .loading import LoadRGBDFrame
from .pack import PackPPKTInputs
from .voxels import FEAT_MODES, VOXEL_KEYS, SampleVoxels, VoxelizePairs

__all__ = ['LoadRGBDFrame', 'RandomHorizontalFlip2D', 'RandomResizedCrop2D', 'RandomScale3D',
           'RandomRotation3D', 'ElasticDistortion3D', 'VoxelizePairs', 'SampleVoxels',
           'PackPPKTInputs', 'COORDINATES', 'FEAT_MODES', 'VOXEL_KEYS', 'valid_depth_mask',
           'rotation_matrix', 'elastic_displacement']
