"""CPU ball query through scipy's cKDTree, index for index equal to the PyTorch path.

cKDTree proposes candidates within a radius padded by ``PAD`` (its float64 distances on
the same coordinates err by far less than that, so the candidates include every ball
member); the inclusion test ``(dx*dx + dy*dy) + dz*dz < radius * radius`` is then redone
in the points' own dtype with the PyTorch path's formula wherever rounding could decide
it, and the hits are ordered, cut to K and padded with its rules.  Work and memory grow
with the number of hits, not with ``M * N``: no dense distance matrix is built.

- ``'first'``: all candidate pairs from ``sparse_distance_matrix`` (a flat array; the
  exact test only for pairs within ``PAD`` of the radius), sorted by (query, index);
- ``'nearest'``: the K + 1 nearest within the padded radius (pykdtree, OpenMP, when
  installed, else cKDTree's ``query``), re-sorted by (exact distance, index); a ball
  whose (K+1)-th candidate is too close to call (a tie with the K-th within the rounding
  error) is redone from all its candidates.
"""
from functools import cached_property
from itertools import chain
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .knn import kdtree_library

#: relative padding of the search radius (float32 squared distances err by < 1e-6)
PAD = 1e-4
#: relative error allowed between the exact-formula squared distances and the KD-tree
#: library's (cKDTree: float64; pykdtree: the points' dtype, float32 errs by < 1e-6)
REL_ERR = 1e-5
#: queries per cKDTree call (bounds the memory of the flattened hit lists)
QUERY_CHUNK = 32768

Cols = Tuple[np.ndarray, np.ndarray, np.ndarray]


def _workers() -> int:
    return max(1, torch.get_num_threads())


def _columns(points: np.ndarray) -> Cols:
    return tuple(np.ascontiguousarray(points[:, axis]) for axis in range(3))


class RefCloud:
    """A reference cloud (N, 3) with its coordinate columns and its search trees, each
    built on first use."""

    def __init__(self, points: np.ndarray):
        self.points = points
        self.cols = _columns(points)

    @cached_property
    def ckdtree(self):
        from scipy.spatial import cKDTree
        return cKDTree(self.points, balanced_tree=False, compact_nodes=False)

    @cached_property
    def pykdtree(self):
        from pykdtree.kdtree import KDTree
        return KDTree(self.points)

    def knn_within(self, query: np.ndarray, k: int,
                   bound: float) -> Tuple[np.ndarray, np.ndarray]:
        """The k nearest within ``bound`` of each query (m, 3): distances (m, k) (inf
        where fewer), indices (m, k) int64 (N where fewer); the library of
        :func:`crosspt.ops.knn.kdtree_library`."""
        if kdtree_library() == 'pykdtree':
            dist, nbr = self.pykdtree.query(query, k=k, distance_upper_bound=bound)
        else:
            dist, nbr = self.ckdtree.query(query, k=k, distance_upper_bound=bound,
                                           workers=_workers())
        return dist.reshape(len(query), k), nbr.reshape(len(query), k).astype(np.int64)


def pair_sq_dist(query: Cols, ref: Cols, qid: Optional[np.ndarray],
                 rid: np.ndarray) -> np.ndarray:
    """``(dx*dx + dy*dy) + dz*dz`` of the pairs (query[qid], ref[rid]) in the arrays'
    dtype, rounded exactly as ``crosspt.ops.ball_query.sq_dist_direct``.
    query / ref: x, y, z columns of (M,) / (N,); qid, rid: (P,) -> (P,), or qid None and
    rid (M, k) (row i pairs with query i) -> (M, k)."""
    def query_side(axis: int) -> np.ndarray:
        return query[axis][:, None] if qid is None else query[axis].take(qid)

    dist = query_side(0) - ref[0].take(rid)
    dist *= dist
    for axis in (1, 2):
        diff = query_side(axis) - ref[axis].take(rid)
        diff *= diff
        dist += diff
    return dist


def _flatten(lists: Sequence[list], rows: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Hit lists of the queries ``rows`` -> flat (query id, index)."""
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    rid = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(lengths.sum()))
    return np.repeat(rows, lengths), rid


def _kept(query: Cols, ref: Cols, qid: np.ndarray, rid: np.ndarray,
          threshold: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    dist = pair_sq_dist(query, ref, qid, rid)
    keep = dist < threshold
    return qid[keep], rid[keep], dist[keep]


def nearest_lowest_index(cloud: RefCloud, query: np.ndarray) -> np.ndarray:
    """Nearest reference point of each query (E, 3) by the exact formula, the lowest
    index among equally near ones (``torch.argmin``'s rule): (E,) int64."""
    if len(query) == 0:
        return np.zeros(0, dtype=np.int64)
    tree = cloud.ckdtree
    nearest, _ = tree.query(query, k=1, workers=_workers())
    radius = nearest * (1 + PAD) + np.finfo(np.float64).tiny
    lists = tree.query_ball_point(query, radius, workers=_workers(), return_sorted=True)
    qid, rid = _flatten(lists, np.arange(len(query)))
    dist = pair_sq_dist(_columns(query), cloud.cols, qid, rid)
    order = np.lexsort((rid, dist, qid))                  # by query, distance, index
    qid, rid = qid[order], rid[order]
    first = np.ones(len(qid), dtype=bool)
    first[1:] = qid[1:] != qid[:-1]
    return rid[first]


def _first_hits(cloud: RefCloud, query: np.ndarray,
                radius: float) -> Tuple[np.ndarray, np.ndarray]:
    """'first' mode: every ball member of each query, sorted by (query, index).

    The candidates come from ``sparse_distance_matrix`` against a tree of the queries
    (one flat array, no Python lists).  A candidate closer than ``radius * (1 - PAD)``
    by cKDTree's float64 distance is inside under any rounding of the exact formula;
    only the thin shell around the radius is tested with it.  The members are sorted on
    a packed (query << 32 | index) key."""
    from scipy.spatial import cKDTree
    queries = cKDTree(query, balanced_tree=False, compact_nodes=False)
    pairs = queries.sparse_distance_matrix(cloud.ckdtree, radius * (1 + PAD),
                                           output_type='ndarray')
    qid, rid = pairs['i'].astype(np.int64), pairs['j'].astype(np.int64)
    keep = pairs['v'] < radius * (1 - PAD)
    shell = np.flatnonzero(~keep)
    dist = pair_sq_dist(_columns(query), cloud.cols, qid[shell], rid[shell])
    keep[shell] = dist < np.asarray(radius * radius, dtype=query.dtype)
    # torch's stable (radix) sort: 3x numpy's default sort on these keys (2 cores, 1.1M)
    key = torch.sort(torch.from_numpy((qid[keep] << 32) | rid[keep]), stable=True)[0].numpy()
    return key >> 32, key & 0xFFFFFFFF


def _all_nearest(cloud: RefCloud, query: np.ndarray, radius: float,
                 rows: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Every ball member of the queries ``rows``, sorted by (query, distance, index)."""
    lists = cloud.ckdtree.query_ball_point(query[rows], radius * (1 + PAD),
                                           workers=_workers(), return_sorted=True)
    threshold = np.asarray(radius * radius, dtype=query.dtype)
    qid, rid, dist = _kept(_columns(query), cloud.cols, *_flatten(lists, rows), threshold)
    order = np.lexsort((rid, dist, qid))
    return qid[order], rid[order]


def _dense(qid: np.ndarray, rid: np.ndarray, rows: int,
           num_samples: int) -> Tuple[np.ndarray, np.ndarray]:
    """Hits sorted by query (in their order within a query) -> the first K per query
    (m, K) int64 (slots beyond the count hold 0) and the counts (m,) (unclipped)."""
    counts = np.bincount(qid, minlength=rows)
    rank = np.arange(len(qid)) - (np.cumsum(counts) - counts)[qid]
    taken = rank < num_samples
    idx = np.zeros((rows, num_samples), dtype=np.int64)
    idx[qid[taken], rank[taken]] = rid[taken]
    return idx, counts


def _row_sorted(key: np.ndarray, rid: np.ndarray) -> np.ndarray:
    """(m,) bool: whether each row of (key, rid) is in lexicographic order already."""
    step, same = key[:, 1:] > key[:, :-1], key[:, 1:] == key[:, :-1]
    return (step | (same & (rid[:, 1:] > rid[:, :-1]))).all(axis=1)


def _nearest_hits(cloud: RefCloud, query: np.ndarray, radius: float,
                  num_samples: int) -> Tuple[np.ndarray, np.ndarray]:
    """'nearest' mode: the K nearest members of each ball by (distance, index):
    idx (m, K) (slots beyond the count hold any index), counts (m,) (unclipped)."""
    m, n, k = len(query), len(cloud.points), num_samples + 1
    found, nbr = cloud.knn_within(query, k, radius * (1 + PAD))
    valid = nbr < n
    rid = np.where(valid, nbr, 0)
    dist = pair_sq_dist(_columns(query), cloud.cols, None, rid)
    inside = valid & (dist < np.asarray(radius * radius, dtype=query.dtype))
    key = np.where(inside, dist, np.inf)
    rid = np.where(inside, rid, n + np.arange(k))      # non-members last, in column order
    # the library orders by its own distances (cKDTree: float64): re-sort the rows where
    # the exact formula or equal distances disagree with (distance, index)
    rows = np.flatnonzero(~_row_sorted(key, rid))
    if len(rows):
        order = np.lexsort((rid[rows], key[rows]), axis=-1)
        key[rows] = np.take_along_axis(key[rows], order, 1)
        rid[rows] = np.take_along_axis(rid[rows], order, 1)
    counts = inside.sum(axis=1)
    # unseen points lie at least found[:, K] away: they cannot displace the K-th hit
    # (or join an unfilled ball) unless that distance is within the rounding error
    bound = np.where(counts >= num_samples, key[:, num_samples - 1], radius * radius)
    far = found[:, -1].astype(np.float64)
    unsure = np.flatnonzero(valid[:, -1] & (far * far * (1 - REL_ERR) <= bound))
    idx = rid[:, :num_samples]
    if len(unsure):
        q2, r2 = _all_nearest(cloud, query, radius, unsure)
        idx2, counts2 = _dense(q2, r2, m, num_samples)
        idx[unsure], counts[unsure] = idx2[unsure], counts2[unsure]
    return idx, counts


def _one_chunk(cloud: RefCloud, query: np.ndarray, radius: float, num_samples: int,
               mode: str) -> Tuple[np.ndarray, np.ndarray]:
    """Ball query of (m, 3) queries: idx (m, K) int64, counts (m,) int64 clipped to K."""
    if mode == 'first':
        idx, counts = _dense(*_first_hits(cloud, query, radius), len(query), num_samples)
    else:
        idx, counts = _nearest_hits(cloud, query, radius, num_samples)
    first = idx[:, 0].copy()
    empty = np.flatnonzero(counts == 0)
    first[empty] = nearest_lowest_index(cloud, query[empty])
    filled = np.arange(num_samples) < counts[:, None]
    return np.where(filled, idx, first[:, None]), np.minimum(counts, num_samples)


def ball_query_cloud(query: np.ndarray, ref: np.ndarray, radius: float, num_samples: int,
                     mode: str) -> Tuple[np.ndarray, np.ndarray]:
    """One cloud: query (M, 3), ref (N, 3), same float dtype -> idx (M, K) int64,
    counts (M,) int64 clipped to K."""
    if len(ref) >= 1 << 32 or len(query) >= 1 << 31:
        raise ValueError(f'ball_query: at most 2**32 reference and 2**31 query points per '
                         f'cloud on the KD-tree path, got {len(ref)} and {len(query)}')
    cloud = RefCloud(ref)
    idx = np.empty((len(query), num_samples), dtype=np.int64)
    counts = np.empty(len(query), dtype=np.int64)
    for start in range(0, len(query), QUERY_CHUNK):
        stop = start + QUERY_CHUNK
        idx[start:stop], counts[start:stop] = _one_chunk(cloud, query[start:stop], radius,
                                                         num_samples, mode)
    return idx, counts


def ball_query_kdtree(query: Tensor, ref: Tensor, radius: float, num_samples: int,
                      mode: str) -> Tuple[Tensor, Tensor]:
    """Batched CPU ball query: query (B, M, 3), ref (B, N, 3) of one float dtype ->
    idx (B, M, K) int64, counts (B, M) int64; see :func:`crosspt.ops.ball_query`."""
    q_np = query.detach().contiguous().numpy()
    r_np = ref.detach().contiguous().numpy()
    results: List[Tuple[np.ndarray, np.ndarray]] = [
        ball_query_cloud(q_np[b], r_np[b], radius, num_samples, mode)
        for b in range(len(q_np))]
    idx = torch.from_numpy(np.stack([i for i, _ in results]))
    counts = torch.from_numpy(np.stack([c for _, c in results]))
    return idx, counts
