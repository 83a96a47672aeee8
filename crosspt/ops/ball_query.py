"""Ball query with PointNet++ ('first') or nearest-first ('nearest') semantics."""
import torch
from torch import Tensor

from ._utils import check_points
from .knn import MAX_PAIRS_PER_CHUNK, pairwise_sq_dist

MODES = ('first', 'nearest')


def ball_query(query: Tensor, ref: Tensor, radius: float, num_samples: int,
               mode: str = 'first', chunk_size: int = None, return_counts: bool = False):
    """Up to ``num_samples`` reference points within ``radius`` of each query point.

    Semantics (a point is inside when ``|q - r|^2 < radius^2``):

    - ``mode='first'`` (PointNet++): the first ``num_samples`` hits in reference order;
    - ``mode='nearest'``: the ``num_samples`` nearest hits, nearest first.

    Slots beyond the number of hits repeat the first returned hit (PointNet++ padding).
    An empty ball (no point inside) returns the single nearest reference point in every
    slot, so grouped features are always well defined (the CUDA PointNet++ kernel
    returns index 0 there instead).

    Args:
        query: (B, M, 3); ref: (B, N, 3).
        radius: ball radius (> 0).
        num_samples: K slots per query.
        return_counts: also return the number of hits (B, M), clipped to K.
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
    n = ref.shape[1]
    k = min(num_samples, n)
    if chunk_size is None:
        chunk_size = max(1, MAX_PAIRS_PER_CHUNK // max(n, 1))
    positions = torch.arange(n, device=ref.device)
    idx_chunks, count_chunks = [], []
    with torch.no_grad():
        for start in range(0, query.shape[1], chunk_size):
            dist = pairwise_sq_dist(query[:, start:start + chunk_size], ref.to(query.dtype))
            inside = dist < radius * radius
            counts = inside.sum(-1)
            if mode == 'first':
                key = torch.where(inside, positions.to(dist.dtype), float(n))
            else:
                key = torch.where(inside, dist, float('inf'))
            idx = key.topk(k, dim=-1, largest=False, sorted=True).indices
            filled = torch.arange(k, device=ref.device) < counts.unsqueeze(-1)
            first = torch.where(counts > 0, idx[..., 0], dist.argmin(dim=-1))
            idx = torch.where(filled, idx, first.unsqueeze(-1))
            if k < num_samples:
                idx = torch.cat([idx, first.unsqueeze(-1).expand(*first.shape,
                                                                 num_samples - k)], dim=-1)
            idx_chunks.append(idx)
            count_chunks.append(counts.clamp_max(num_samples))
    idx = torch.cat(idx_chunks, dim=1)
    return (idx, torch.cat(count_chunks, dim=1)) if return_counts else idx
