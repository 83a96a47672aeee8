"""k-nearest-neighbour search: pykdtree or scipy cKDTree on CPU, chunked PyTorch elsewhere
(memory O(chunk * N))."""
from concurrent.futures import ThreadPoolExecutor
from typing import Tuple

import numpy as np
import torch
from torch import Tensor

from ._utils import check_points, has_module, use_cpu_library

#: Largest number of (query, reference) distances held at once by the PyTorch path.
MAX_PAIRS_PER_CHUNK = 1 << 23


def pairwise_sq_dist(query: Tensor, ref: Tensor) -> Tensor:
    """Squared distances (B, M, N), via ``|q|^2 + |r|^2 - 2 q.r`` clamped at 0."""
    dist = (query * query).sum(-1, keepdim=True) + (ref * ref).sum(-1).unsqueeze(1) \
        - 2 * query @ ref.transpose(1, 2)
    return dist.clamp_min_(0)


def _exact_sq_dist(query: Tensor, ref: Tensor, idx: Tensor) -> Tensor:
    """Exact ``|q - r|^2`` for the selected neighbours: query (B,M,3), idx (B,M,k)."""
    b = torch.arange(ref.shape[0], device=ref.device).view(-1, 1, 1)
    return ((ref[b, idx] - query.unsqueeze(2)) ** 2).sum(-1)


def _knn_torch(query: Tensor, ref: Tensor, k: int, chunk_size: int) -> Tuple[Tensor, Tensor]:
    idx_chunks = []
    for start in range(0, query.shape[1], chunk_size):
        q = query[:, start:start + chunk_size]
        dist = pairwise_sq_dist(q, ref)
        idx_chunks.append(dist.topk(k, dim=-1, largest=False, sorted=True).indices)
    idx = torch.cat(idx_chunks, dim=1)
    dist = _exact_sq_dist(query, ref, idx)
    # re-sort on exact distances (the expanded form can swap near-equal neighbours)
    dist, order = dist.sort(dim=-1, stable=True)
    return dist, idx.gather(-1, order)


def _one_pykdtree(ref: np.ndarray, query: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    from pykdtree.kdtree import KDTree
    dist2, idx = KDTree(ref).query(query, k=k, sqr_dists=True)
    return dist2.reshape(-1, k), idx.reshape(-1, k).astype(np.int64)


def _one_ckdtree(ref: np.ndarray, query: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree
    tree = cKDTree(ref, balanced_tree=False, compact_nodes=False)
    dist, idx = tree.query(query, k=k, workers=max(1, torch.get_num_threads()))
    return (dist ** 2).reshape(-1, k), idx.reshape(-1, k).astype(np.int64)


def kdtree_library() -> str:
    """The CPU kNN library used by ``backend='auto'``: 'pykdtree' (OpenMP; 1.3-2x faster
    than cKDTree with all cores in the measurements of benchmark_ops.py --scale scene)
    when installed, else 'scipy' (cKDTree)."""
    return 'pykdtree' if has_module('pykdtree') else 'scipy'


def _knn_kdtree(query: Tensor, ref: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """Per cloud KD-tree kNN: (B, M, 3), (B, N, 3) -> dist2, idx (B, M, k); the clouds of a
    batch run on a thread pool (both libraries release the GIL while they search)."""
    dtype = np.float64 if query.dtype == torch.float64 else np.float32
    q_np = np.ascontiguousarray(query.detach().cpu().numpy(), dtype=dtype)
    r_np = np.ascontiguousarray(ref.detach().cpu().numpy(), dtype=dtype)
    one = _one_pykdtree if kdtree_library() == 'pykdtree' else _one_ckdtree

    def run(b: int) -> Tuple[np.ndarray, np.ndarray]:
        return one(r_np[b], q_np[b], k)

    threads = min(len(q_np), torch.get_num_threads())
    if threads > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            result = list(pool.map(run, range(len(q_np))))
    else:
        result = [run(b) for b in range(len(q_np))]
    dist = torch.from_numpy(np.stack([d for d, _ in result])).to(query)
    idx = torch.from_numpy(np.stack([i for _, i in result]))
    return dist, idx.to(query.device)


def knn(query: Tensor, ref: Tensor, k: int, backend: str = 'auto',
        chunk_size: int = None) -> Tuple[Tensor, Tensor]:
    """The ``k`` nearest reference points of every query point, nearest first.

    Args:
        query: (B, M, 3).
        ref: (B, N, 3).
        k: number of neighbours, 1 <= k <= N (a larger k raises: no silent padding).
        backend: 'auto' (on CPU: pykdtree when installed, else scipy's cKDTree, see
            :func:`kdtree_library`; PyTorch on CUDA), 'torch', 'cpu_lib'.
        chunk_size: queries per chunk of the PyTorch path (default keeps chunk * N below
            ``MAX_PAIRS_PER_CHUNK``).
    Returns:
        dist2 (B, M, k) squared distances, ascending, and idx (B, M, k) int64.
        Among equidistant neighbours the order is unspecified.
    """
    check_points('query', query, 'knn')
    check_points('ref', ref, 'knn')
    if query.shape[0] != ref.shape[0]:
        raise ValueError(f'knn: batch sizes differ: query {query.shape[0]}, ref {ref.shape[0]}')
    n = ref.shape[1]
    if not 1 <= k <= n:
        raise ValueError(f'knn: k must be in [1, N={n}] (number of reference points), got k={k}')
    with torch.no_grad():
        if use_cpu_library(backend, query, 'scipy', 'knn'):
            return _knn_kdtree(query, ref, k)
        if chunk_size is None:
            chunk_size = max(1, MAX_PAIRS_PER_CHUNK // max(n, 1))
        return _knn_torch(query, ref.to(query.dtype), k, chunk_size)
