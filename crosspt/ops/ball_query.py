"""Ball query with PointNet++ ('first') or nearest-first ('nearest') semantics.

Two implementations return the same indices, tie for tie:

- the PyTorch path (CUDA tensors, ``backend='torch'``): chunked dense distances;
- the CPU path (``backend='auto'`` on CPU tensors, scipy installed): scipy's cKDTree
  finds the candidates, and the inclusion test and the ordering are then redone with
  the PyTorch path's arithmetic (:mod:`crosspt.ops.ball_query_kdtree`), so that memory
  and time grow with the number of hits instead of with ``M * N``.
"""
from typing import Tuple, Union

import torch
from torch import Tensor

from ._utils import check_points, use_cpu_library
from .knn import MAX_PAIRS_PER_CHUNK

MODES = ('first', 'nearest')
#: dtypes the cKDTree path reproduces bit for bit (others take the PyTorch path)
KDTREE_DTYPES = (torch.float32, torch.float64)


def sq_dist_direct(query: Tensor, ref: Tensor) -> Tensor:
    """``|q - r|^2`` of every pair as ``(dx*dx + dy*dy) + dz*dz`` in the input dtype.

    This is the per-pair formula of the CUDA PointNet++ kernel, with every operation
    rounded once (no fused multiply-add), so numpy reproduces it exactly.
    query (B, M, 3), ref (B, N, 3) -> (B, M, N).
    """
    dist = query[..., 0:1] - ref[..., 0].unsqueeze(1)
    dist.mul_(dist)
    for axis in (1, 2):
        diff = query[..., axis:axis + 1] - ref[..., axis].unsqueeze(1)
        dist.add_(diff.mul_(diff))
    return dist


def _ball_query_torch(query: Tensor, ref: Tensor, radius: float, num_samples: int,
                      mode: str, chunk_size: int) -> Tuple[Tensor, Tensor]:
    """The dense reference: (B, M, 3), (B, N, 3) -> idx (B, M, K), counts (B, M)."""
    n = ref.shape[1]
    k = min(num_samples, n)
    positions = torch.arange(n, device=ref.device)
    slots = torch.arange(k, device=ref.device)
    idx_chunks, count_chunks = [], []
    for start in range(0, query.shape[1], chunk_size):
        dist = sq_dist_direct(query[:, start:start + chunk_size], ref)
        inside = dist < radius * radius          # the scalar is rounded to dist.dtype
        counts = inside.sum(-1)
        if mode == 'first':
            idx = torch.where(inside, positions, n).topk(k, dim=-1, largest=False,
                                                         sorted=True).indices
        else:   # nearest first; equal distances in index order
            key = torch.where(inside, dist, float('inf'))
            idx = key.sort(dim=-1, stable=True).indices[..., :k]
        first = torch.where(counts > 0, idx[..., 0], dist.argmin(dim=-1))   # lowest index
        idx = torch.where(slots < counts.unsqueeze(-1), idx, first.unsqueeze(-1))
        if k < num_samples:
            idx = torch.cat([idx, first.unsqueeze(-1).expand(*first.shape,
                                                             num_samples - k)], dim=-1)
        idx_chunks.append(idx)
        count_chunks.append(counts.clamp_max(num_samples))
    return torch.cat(idx_chunks, dim=1), torch.cat(count_chunks, dim=1)


def _use_kdtree(backend: str, query: Tensor) -> bool:
    if not use_cpu_library(backend, query, 'scipy', 'ball_query'):
        return False
    if query.dtype not in KDTREE_DTYPES:
        if backend == 'cpu_lib':
            raise ValueError(f"ball_query: backend='cpu_lib' needs float32 or float64 "
                             f'points, got {query.dtype}')
        return False
    return True


def ball_query(query: Tensor, ref: Tensor, radius: float, num_samples: int,
               mode: str = 'first', chunk_size: int = None, return_counts: bool = False,
               backend: str = 'auto') -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """Up to ``num_samples`` reference points within ``radius`` of each query point.

    Semantics (a point is inside when ``(dx*dx + dy*dy) + dz*dz < radius * radius``,
    computed in the points' dtype, the radius squared rounded to that dtype):

    - ``mode='first'`` (PointNet++): the first ``num_samples`` hits in reference order;
    - ``mode='nearest'``: the ``num_samples`` nearest hits, nearest first; equal
      distances in reference order.

    Slots beyond the number of hits repeat the first returned hit (PointNet++ padding).
    An empty ball (no point inside) returns the nearest reference point (the lowest
    index among equally near ones) in every slot, so grouped features are always well
    defined (the CUDA PointNet++ kernel returns index 0 there instead).

    Args:
        query: (B, M, 3); ref: (B, N, 3).
        radius: ball radius (> 0).
        num_samples: K slots per query.
        mode: 'first' or 'nearest'.
        chunk_size: queries per chunk of the PyTorch path (default keeps chunk * N below
            ``MAX_PAIRS_PER_CHUNK``).
        return_counts: also return the number of hits (B, M), clipped to K.
        backend: 'auto' (cKDTree for float32/float64 CPU tensors when scipy is
            installed, else PyTorch), 'torch', 'cpu_lib'.  Both give the same indices.
    Returns:
        idx (B, M, K) int64 (and counts (B, M) int64).
    """
    check_points('query', query, 'ball_query')
    check_points('ref', ref, 'ball_query')
    if mode not in MODES:
        raise ValueError(f'ball_query: mode must be one of {MODES}, got {mode!r}')
    if radius <= 0 or num_samples < 1:
        raise ValueError(f'ball_query: need radius > 0 and num_samples >= 1, got '
                         f'radius={radius}, num_samples={num_samples}')
    if query.shape[0] != ref.shape[0]:
        raise ValueError(f'ball_query: batch sizes differ: {query.shape[0]} vs {ref.shape[0]}')
    ref = ref.to(query.dtype)
    with torch.no_grad():
        if _use_kdtree(backend, query):
            from .ball_query_kdtree import ball_query_kdtree
            idx, counts = ball_query_kdtree(query, ref, float(radius), int(num_samples), mode)
        else:
            if chunk_size is None:
                chunk_size = max(1, MAX_PAIRS_PER_CHUNK // max(ref.shape[1], 1))
            idx, counts = _ball_query_torch(query, ref, float(radius), int(num_samples),
                                            mode, chunk_size)
    return (idx, counts) if return_counts else idx
