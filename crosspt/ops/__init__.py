"""Pure-PyTorch point-cloud operators (CPU and CUDA, batched, channel-last).

On CPU, FPS, kNN and ball query use well-kept libraries (``fpsample``, ``pykdtree``,
``scipy.spatial.cKDTree``) behind the same API when they are installed; the PyTorch path
is used on CUDA, as a fallback, and whenever ``backend='torch'`` is requested.  Both paths
are tested to agree (ball query index for index, ties included).
Multi-process helpers: synchronised dense and sparse BatchNorm and an all_gather that
back-propagates, on ``torch.distributed`` collectives (gloo and NCCL).
"""
from .ball_query import ball_query
from .distributed import all_gather_with_grad, dist_world
from .grouping import gather_points, group_points
from .interpolate import inverse_distance_interpolate, three_interpolate, three_nn
from .knn import knn
from .sampling import furthest_point_sample, furthest_point_sample_numpy
from .sparse_conv import (SparseBatchNorm, SparseConv3d, SparseReLU, sparse_cat, sparse_conv3d,
                          voxelize)
from .sparse_tensor import SparseTensor, hash_coords
from .sync_batchnorm import SparseSyncBatchNorm, SyncBatchNorm, convert_sync_batchnorm

__all__ = [
    'furthest_point_sample', 'furthest_point_sample_numpy', 'knn', 'ball_query', 'gather_points', 'group_points',
    'three_nn', 'three_interpolate', 'inverse_distance_interpolate',
    'SparseTensor', 'SparseConv3d', 'SparseBatchNorm', 'SparseReLU', 'sparse_conv3d', 'sparse_cat',
    'hash_coords', 'voxelize', 'all_gather_with_grad', 'dist_world', 'SyncBatchNorm',
    'SparseSyncBatchNorm', 'convert_sync_batchnorm'
]
