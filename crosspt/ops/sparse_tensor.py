"""Sparse voxel tensors on integer coordinates: hashing, neighbour look-up and kernel maps
(pure PyTorch, CPU and CUDA).  The convolutions built on them: :mod:`crosspt.ops.sparse_conv`.

- A :class:`SparseTensor` holds ``coords`` (N, 4) int64 rows ``(batch, x, y, z)``, unique,
  with x, y, z multiples of the tensor ``stride``, and ``feats`` (N, C).
- Coordinates are hashed to one int64 key
  ``((b * 2^16 + x + 2^15) * 2^16 + y + 2^15) * 2^16 + z + 2^15``, so the supported range
  is ``0 <= b < 2^15`` and ``-2^15 <= x, y, z < 2^15`` (:data:`COORD_MIN`,
  :data:`COORD_MAX`, :data:`MAX_BATCH`).  Out-of-range inputs raise ``ValueError``;
  neighbour queries that fall outside the range simply find nothing.
- Neighbour look-ups go through a dense (b, x, y, z) index grid of the tensor's bounding box
  (int32 row per cell, coordinates divided by the stride) when that grid has at most
  ``max(DENSE_MIN_CELLS, DENSE_CELLS_PER_ROW * N)`` cells, and through binary search in the
  sorted keys otherwise; both give identical results (the grid is O(1) per query, about
  10x faster on room-sized scans).
- Kernel offsets: kernel index ``i`` along one axis has offset ``i - (k - 1) // 2``
  (k=3: -1, 0, 1; k=2: 0, 1).  The flat index is ``K = (i * k + j) * k + l`` for the
  (x, y, z) indices (i, j, l), x slowest.
- Profiler ranges: while a ``torch.profiler`` runs, the parts of a sparse convolution are
  labelled (:func:`profile_label`, names in :data:`PROFILE_LABELS`): kernel-map building
  (coordinate hashing and sorting, index grids, neighbour look-ups, map sorting), and per
  pass (forward / backward) the gathers, the GEMMs (with the weight gradient's zeroed
  buffer) and the scatter-adds (with the zeroed output buffers).  Without a profiler a
  label is a shared no-op context.
"""
import contextlib
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.profiler import record_function

COORD_BITS = 16
#: Smallest / largest supported x, y, z coordinate and the number of batch indices.
COORD_MIN = -(1 << (COORD_BITS - 1))
COORD_MAX = (1 << (COORD_BITS - 1)) - 1
MAX_BATCH = 1 << (63 - 3 * COORD_BITS)

#: The dense look-up grid is used while it has at most this many cells, or at most
#: DENSE_CELLS_PER_ROW cells per voxel (4 bytes each).
DENSE_MIN_CELLS = 1 << 22
DENSE_CELLS_PER_ROW = 64

KernelMap = List[Tuple[Tensor, Tensor]]
DenseIndex = Tuple[Tensor, Tensor, Tensor, Tensor]

#: part -> profiler range name (tools/analysis_tools/profile_sparse.py sums them)
PROFILE_LABELS = {
    'kernel map': 'crosspt.kernel_map',
    'gather fwd': 'crosspt.fwd.gather', 'GEMM fwd': 'crosspt.fwd.gemm',
    'scatter fwd': 'crosspt.fwd.scatter',
    'gather bwd': 'crosspt.bwd.gather', 'GEMM bwd': 'crosspt.bwd.gemm',
    'scatter bwd': 'crosspt.bwd.scatter',
}
_NO_LABEL = contextlib.nullcontext()


def profile_label(name: str) -> contextlib.AbstractContextManager:
    """``record_function(name)`` while an autograd profiler runs, else a shared no-op
    context: ``record_function`` alone costs about 20 us per use even with no profiler."""
    if torch.autograd._profiler_enabled():
        return record_function(name)
    return _NO_LABEL


def _in_range(coords: Tensor) -> Tensor:
    """(N,) bool: rows of (N, 4) ``coords`` that the hash can represent."""
    xyz = coords[:, 1:]
    return ((coords[:, 0] >= 0) & (coords[:, 0] < MAX_BATCH)
            & (xyz >= COORD_MIN).all(1) & (xyz <= COORD_MAX).all(1))


def hash_coords(coords: Tensor) -> Tensor:
    """Encode (N, 4) int64 ``(b, x, y, z)`` rows as (N,) int64 keys, ordered like (b, x, y, z).

    Raises ValueError when a row is outside ``0 <= b < MAX_BATCH``,
    ``COORD_MIN <= x, y, z <= COORD_MAX``.
    """
    if coords.dim() != 2 or coords.shape[1] != 4 or coords.dtype != torch.int64:
        raise ValueError(f'hash_coords: coords must be (N, 4) int64, got '
                         f'{tuple(coords.shape)} {coords.dtype}')
    ok = _in_range(coords)
    if not bool(ok.all()):
        bad = coords[~ok][0].tolist()
        raise ValueError(f'hash_coords: coordinate (b, x, y, z)={bad} is outside the supported '
                         f'range 0 <= b < {MAX_BATCH}, {COORD_MIN} <= x, y, z <= {COORD_MAX}')
    return _hash_unchecked(coords)


def _hash_unchecked(coords: Tensor) -> Tensor:
    key = coords[:, 0]
    for d in range(1, 4):
        key = (key << COORD_BITS) + (coords[:, d] - COORD_MIN)
    return key


class SparseTensor:
    """Batched sparse voxel features.

    Args:
        coords: (N, 4) int64 ``(batch, x, y, z)``, unique rows, x/y/z multiples of ``stride``.
        feats: (N, C) float.
        stride: tensor stride (>= 1).
        cache: kernel-map cache to share (only between tensors with identical ``coords``);
            a new one is made when omitted, and the coordinates are then validated.

    The cache dict holds ``'table'`` (sorted keys and their row order) and kernel maps keyed
    by ``(stride, kernel_size, dilation, transposed)``.  :meth:`replace_feats` keeps it, so
    consecutive convolutions on the same coordinates reuse their maps.
    """

    def __init__(self, coords: Tensor, feats: Tensor, stride: int = 1,
                 cache: Optional[Dict] = None) -> None:
        if not isinstance(coords, Tensor) or coords.dim() != 2 or coords.shape[1] != 4 \
                or coords.dtype != torch.int64:
            raise ValueError(f'SparseTensor: coords must be an (N, 4) int64 tensor, got '
                             f'{getattr(coords, "shape", type(coords))} '
                             f'{getattr(coords, "dtype", "")}')
        if not isinstance(feats, Tensor) or feats.dim() != 2 or feats.shape[0] != coords.shape[0]:
            raise ValueError(f'SparseTensor: feats must be (N, C) with N={coords.shape[0]}, got '
                             f'{getattr(feats, "shape", type(feats))}')
        if not isinstance(stride, int) or stride < 1:
            raise ValueError(f'SparseTensor: stride must be a positive int, got {stride!r}')
        self.coords = coords
        self.feats = feats
        self.stride = stride
        if cache is None:
            with profile_label(PROFILE_LABELS['kernel map']):
                cache = {'table': self._key_table(coords, stride)}
        self.cache = cache

    @staticmethod
    def _key_table(coords: Tensor, stride: int) -> Tuple[Tensor, Tensor]:
        """Validated (sorted keys, their row order) of new coordinates."""
        if stride > 1 and bool((coords[:, 1:] % stride != 0).any()):
            raise ValueError(f'SparseTensor: coords x, y, z must be multiples of '
                             f'stride={stride}')
        keys = hash_coords(coords)
        sorted_keys, order = keys.sort()
        if sorted_keys.numel() > 1 and bool((sorted_keys[1:] == sorted_keys[:-1]).any()):
            i = int((sorted_keys[1:] == sorted_keys[:-1]).nonzero()[0, 0])
            raise ValueError(f'SparseTensor: coords has duplicate rows, e.g. (b, x, y, z)='
                             f'{coords[order[i]].tolist()}; rows must be unique')
        return sorted_keys, order

    def __len__(self) -> int:
        return self.coords.shape[0]

    def __repr__(self) -> str:
        return (f'SparseTensor(N={len(self)}, C={self.feats.shape[1]}, stride={self.stride}, '
                f'device={self.feats.device})')

    @property
    def batch_size(self) -> int:
        return int(self.coords[:, 0].max()) + 1 if len(self) else 0

    def replace_feats(self, feats: Tensor) -> 'SparseTensor':
        """Same coordinates (and shared cache) with new (N, C') ``feats``."""
        return SparseTensor(self.coords, feats, self.stride, cache=self.cache)

    def lookup(self, query: Tensor) -> Tensor:
        """Row of each (M, 4) ``query`` coordinate in this tensor, -1 where absent: (M,) int64."""
        if 'dense' not in self.cache:
            self.cache['dense'] = build_dense_index(self.coords, self.stride)
        if self.cache['dense'] is not None:
            return dense_lookup(self.cache['dense'], query, self.stride)
        sorted_keys, order = self.cache['table']
        ok = _in_range(query)
        keys = _hash_unchecked(torch.where(ok.unsqueeze(1), query, torch.zeros_like(query)))
        if sorted_keys.numel() == 0:
            return torch.full_like(keys, -1)
        pos = torch.searchsorted(sorted_keys, keys).clamp_(max=sorted_keys.numel() - 1)
        found = ok & (sorted_keys[pos] == keys)
        return torch.where(found, order[pos], torch.full_like(pos, -1))


def build_dense_index(coords: Tensor, stride: int, pad: int = 0) -> Optional[DenseIndex]:
    """Dense row index over the bounding box of (N, 4) ``coords`` (x, y, z divided by
    ``stride``) grown by ``pad`` cells on every side of x, y and z, or None when it would
    exceed the cell budget (module docstring).

    Returns ``(low (4,), dims (4,), place (4,), grid (prod(dims),) int32)``: the row of the
    voxel at cell ``c`` is ``grid[((c - low) * place).sum()]``, -1 where there is none.
    """
    if coords.shape[0] == 0:
        return None
    cells = coords.clone()
    if stride > 1:
        cells[:, 1:] = torch.div(cells[:, 1:], stride, rounding_mode='floor')
    margin = torch.tensor([0, pad, pad, pad], device=coords.device)
    low = cells.min(0).values - margin
    dims = cells.max(0).values + margin - low + 1
    volume = int(dims.prod())
    if volume > max(DENSE_MIN_CELLS, DENSE_CELLS_PER_ROW * coords.shape[0]):
        return None
    place = torch.stack([dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3],
                         torch.ones_like(dims[3])])
    grid = torch.full((volume,), -1, dtype=torch.int32, device=coords.device)
    grid[((cells - low) * place).sum(1)] = torch.arange(
        coords.shape[0], dtype=torch.int32, device=coords.device)
    return low, dims, place, grid


def dense_lookup(index: DenseIndex, query: Tensor, stride: int) -> Tensor:
    """Rows (M,) int64 of (M, 4) ``query`` coordinates in a :func:`build_dense_index`, -1
    where absent (outside the box or not a multiple of ``stride``)."""
    low, dims, place, grid = index
    if stride > 1:
        xyz = query[:, 1:]
        cells = torch.cat([query[:, :1], torch.div(xyz, stride, rounding_mode='floor')], 1)
        ok = ((cells - low >= 0) & (cells - low < dims)).all(1) \
            & (torch.remainder(xyz, stride) == 0).all(1)
        cells = cells - low
    else:
        cells = query - low
        ok = ((cells >= 0) & (cells < dims)).all(1)
    rows = grid[torch.where(ok, (cells * place).sum(1), torch.zeros_like(ok, dtype=torch.int64))]
    return torch.where(ok, rows.long(), torch.full_like(ok, -1, dtype=torch.int64))


def kernel_offsets(kernel_size: int, device=None) -> Tensor:
    """(k^3, 3) int64 offsets, x slowest, per-axis offset ``i - (k - 1) // 2``."""
    r = torch.arange(kernel_size, device=device) - (kernel_size - 1) // 2
    return torch.cartesian_prod(r, r, r).reshape(-1, 3)


def _pairs(in_rows: Tensor) -> KernelMap:
    """(K, M) input row per (offset, output), -1 where absent -> K (in_idx, out_idx) pairs."""
    found = in_rows >= 0
    k_idx, out_idx = found.nonzero(as_tuple=True)
    in_flat = in_rows[k_idx, out_idx].long()
    counts = found.sum(1).tolist()
    return list(zip(in_flat.split(counts), out_idx.split(counts)))


def build_kernel_map(in_tensor: SparseTensor, out_coords: Tensor, offsets: Tensor,
                     step: int) -> KernelMap:
    """Per kernel offset the (in_idx, out_idx) pairs with ``c_in = c_out + offset * step``.

    Args:
        in_tensor: input tensor (its look-up index is used).
        out_coords: (M, 4) int64 output coordinates.
        offsets: (K, 3) int64 kernel offsets.
        step: coordinate step per unit offset (negative for transposed convolution).
    Returns:
        K pairs of (P_k,) int64 index tensors.
    """
    num_k, m = offsets.shape[0], out_coords.shape[0]
    query = out_coords.unsqueeze(0).repeat(num_k, 1, 1)
    query[:, :, 1:] += offsets.to(out_coords.device).unsqueeze(1) * step
    return _pairs(in_tensor.lookup(query.reshape(-1, 4)).view(num_k, m))


def _padded_rows(x: SparseTensor, offsets: Tensor, dilation: int) -> Optional[Tensor]:
    """(K, N) rows of ``x`` at ``c + offset * dilation * stride`` for every voxel c of ``x``
    through a dense grid padded by the kernel radius (no range checks: every neighbour
    cell lies inside the grid), or None when the grid is over budget."""
    pad = int(offsets.abs().max()) * dilation if len(offsets) else 0
    key = ('dense_padded', pad)
    if key not in x.cache:
        index = build_dense_index(x.coords, x.stride, pad)
        if index is not None:
            low, _, place, grid = index
            cells = x.coords.clone()
            if x.stride > 1:
                cells[:, 1:] = torch.div(cells[:, 1:], x.stride, rounding_mode='floor')
            index = (((cells - low) * place).sum(1), place, grid)
        x.cache[key] = index
    if x.cache[key] is None:
        return None
    linear, place, grid = x.cache[key]
    delta = (offsets.to(place.device) * dilation * place[1:]).sum(1)       # (K,)
    return grid[linear.unsqueeze(0) + delta.unsqueeze(1)]


def build_submanifold_map(x: SparseTensor, kernel_size: int, dilation: int) -> KernelMap:
    """:func:`build_kernel_map` of a stride-1 conv from ``x`` onto its own coordinates,
    with half the look-ups: offset ``-o`` pairs are offset ``o``'s pairs swapped (``c_j =
    c_i + o s`` iff ``c_i = c_j - o s``; re-sorted by output row, which keeps the
    scatter-add sequential), and the centre offset pairs every row with itself
    (one shared ``arange`` tensor as both indices, which the convolution recognises and
    multiplies without gather or scatter).  ``kernel_size`` must be odd."""
    offsets = kernel_offsets(kernel_size, device=x.coords.device)
    centre = offsets.shape[0] // 2                   # offsets are symmetric about it
    rows = _padded_rows(x, offsets[:centre], dilation)
    if rows is not None:
        half = _pairs(rows)
    else:
        half = build_kernel_map(x, x.coords, offsets[:centre], dilation * x.stride)
    identity = torch.arange(len(x), device=x.coords.device)
    mirrored = []
    for in_idx, out_idx in reversed(half):     # sorted by output row, as the lookups give
        order = in_idx.argsort()
        mirrored.append((out_idx[order], in_idx[order]))
    return half + [(identity, identity)] + mirrored


def downsample_coords(coords: Tensor, new_stride: int) -> Tensor:
    """Unique ``floor(c / new_stride) * new_stride`` of (N, 4) coords (batch kept), sorted."""
    out = coords.clone()
    out[:, 1:] = torch.div(coords[:, 1:], new_stride, rounding_mode='floor') * new_stride
    # unique of the order-preserving int64 keys: on CPU ``torch.unique(out, dim=0)`` compares
    # rows one by one (about 0.15 s for 80k rows); sorting keys is ~20x faster
    _, inverse = torch.unique(hash_coords(out), return_inverse=True)
    return out[first_of_each(inverse)]


def first_of_each(inverse: Tensor) -> Tensor:
    """(M,) int64: for each group ``0..M-1`` of the (N,) ``inverse`` (as ``torch.unique``
    returns it), the lowest row index in that group."""
    m = int(inverse.max()) + 1 if len(inverse) else 0
    first = torch.full((m, ), len(inverse), dtype=torch.int64, device=inverse.device)
    return first.scatter_reduce(0, inverse, torch.arange(len(inverse), device=inverse.device),
                                reduce='amin')
