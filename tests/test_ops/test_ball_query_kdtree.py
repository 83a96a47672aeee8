"""The CPU ball query (scipy cKDTree) against the PyTorch path and a per-query numpy
brute force, on clouds full of ties: duplicate points, points exactly at distance r,
radii whose square rounds differently in float32 and float64, empty balls, K > hits
and K > N."""
import sys

import numpy as np
import pytest
import torch

from crosspt.ops import ball_query

bq_module = sys.modules['crosspt.ops.ball_query']
kd_module = pytest.importorskip('crosspt.ops.ball_query_kdtree')


def brute_ball(query: np.ndarray, ref: np.ndarray, radius: float, k: int,
               mode: str) -> np.ndarray:
    """One query at a time: hits by ``(dx*dx + dy*dy) + dz*dz < r*r`` in the arrays'
    dtype; 'first' in index order, 'nearest' by (distance, index); padded with the
    first hit; empty -> the nearest point (lowest index on ties)."""
    threshold = np.asarray(radius * radius, dtype=ref.dtype)
    out = np.empty((len(query), k), dtype=np.int64)
    for i, q in enumerate(query):
        d = (q[0] - ref[:, 0]) * (q[0] - ref[:, 0]) + (q[1] - ref[:, 1]) * (q[1] - ref[:, 1])
        d = d + (q[2] - ref[:, 2]) * (q[2] - ref[:, 2])
        hits = np.flatnonzero(d < threshold)
        if mode == 'nearest':
            hits = hits[np.argsort(d[hits], kind='stable')]
        hits = hits[:k]
        out[i] = hits[0] if len(hits) else int(np.argmin(d))
        out[i, :len(hits)] = hits
    return out


def lattice(dtype: torch.dtype, size: int = 5) -> torch.Tensor:
    axis = torch.arange(float(size), dtype=dtype)
    return torch.stack(torch.meshgrid(axis, axis, axis, indexing='ij'), -1).reshape(1, -1, 3)


def tie_cases(dtype: torch.dtype):
    """(query, ref, radius) triples; the comments say which tie each one holds."""
    gen = torch.Generator().manual_seed(0)
    grid = lattice(dtype)
    twice = torch.cat([grid, grid[:, :40], grid[:, 60:90]], 1)        # duplicate points
    return [
        (grid, grid, 1.0),                       # 6 neighbours exactly at r: outside
        (grid, grid, 2.0 ** 0.5),                # r*r = 2.0000000000000004: f32 rounds to 2
        (twice, twice, 1.5),                     # duplicates inside and tied distances
        (twice[:, :50] + 0.5, twice, 1.0),       # cube centres: 8 corners tie
        (grid * 0.1, grid * 0.1, 0.1),           # 0.1 not representable: near-ties at r
        (grid[:, :30] * 2.5 + 0.25, grid, 0.7),  # many empty balls
        (torch.rand(1, 60, 3, generator=gen, dtype=dtype) * 6 - 1,
         torch.rand(1, 300, 3, generator=gen, dtype=dtype) * 4, 0.6),
    ]


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('mode', ['first', 'nearest', 'nearest-ckdtree'])
def test_kdtree_path_equals_torch_path_and_brute_force_on_ties(dtype, mode, monkeypatch):
    """'nearest-ckdtree': 'nearest' with pykdtree hidden (the cKDTree fallback)."""
    if mode == 'nearest-ckdtree':
        monkeypatch.setattr(kd_module, 'kdtree_library', lambda: 'scipy')
        mode = 'nearest'
    elif mode == 'nearest':
        pytest.importorskip('pykdtree')
    exercised = dict(empty=0, partial=0, at_radius=0)
    for query, ref, radius in tie_cases(dtype):
        d = bq_module.sq_dist_direct(query, ref)
        threshold = torch.tensor(radius * radius, dtype=dtype)
        exercised['at_radius'] += int((d == threshold).sum())
        for k in (1, 4, 30, ref.shape[1] + 3):                       # K > hits, K > N
            lib, lib_counts = ball_query(query, ref, radius, k, mode=mode,
                                         backend='cpu_lib', return_counts=True)
            ref_idx, ref_counts = ball_query(query, ref, radius, k, mode=mode,
                                             backend='torch', return_counts=True,
                                             chunk_size=13)
            assert torch.equal(lib, ref_idx) and torch.equal(lib_counts, ref_counts)
            np.testing.assert_array_equal(
                lib[0].numpy(), brute_ball(query[0].numpy(), ref[0].numpy(), radius, k, mode))
            exercised['empty'] += int((lib_counts == 0).sum())
            exercised['partial'] += int(((lib_counts > 0) & (lib_counts < k)).sum())
    assert all(v > 0 for v in exercised.values()), exercised


def test_float32_rounds_the_squared_radius_like_torch():
    """r = sqrt(2): r*r is 2.0000000000000004 in float64 and 2.0 in float32, so a point
    at squared distance exactly 2 is inside for float64 points only."""
    ref = torch.tensor([[[1., 1, 0], [5, 5, 5]]])
    query = torch.zeros(1, 1, 3)
    for dtype, expected in ((torch.float32, 0), (torch.float64, 1)):
        _, counts = ball_query(query.to(dtype), ref.to(dtype), 2.0 ** 0.5, 2,
                               backend='cpu_lib', return_counts=True)
        assert counts.item() == expected


def test_first_mode_skips_candidates_exactly_at_the_radius():
    """30 points exactly at distance r = 5 (outside: the test is ``<``) precede the ball
    members in index order; cKDTree's padded search proposes them all."""
    ring = [(a, b, 0.) for a, b in ((3, 4), (4, 3), (5, 0))]
    ring = [(sx * x, sy * y, z) for x, y, z in ring for sx in (1, -1) for sy in (1, -1)]
    ring += [(z, x, y) for x, y, z in ring] + [(y, z, x) for x, y, z in ring]
    ring = sorted(set(ring))                                   # distinct points at 5.0
    inside = [(0.5 * i, 0., 0.) for i in range(1, 7)]
    ref = torch.tensor([ring + inside], dtype=torch.float32)
    query = torch.zeros(1, 1, 3)
    for mode in ('first', 'nearest'):
        idx, counts = ball_query(query, ref, 5.0, 8, mode=mode, backend='cpu_lib',
                                 return_counts=True)
        expected = [len(ring) + i for i in range(6)]
        assert idx[0, 0].tolist() == expected + expected[:1] * 2 and counts.item() == 6
        assert torch.equal(idx, ball_query(query, ref, 5.0, 8, mode=mode, backend='torch'))


def test_nearest_mode_resolves_ties_at_the_kth_neighbour(monkeypatch):
    """A query at a lattice point: 6 neighbours tie at distance 1 and 12 at sqrt(2), so
    K = 3 cuts through a tie and the exact fallback must pick the lowest indices."""
    grid = lattice(torch.float32)
    calls = []
    original = kd_module._all_nearest
    monkeypatch.setattr(kd_module, '_all_nearest',
                        lambda *a: calls.append(len(a[-1])) or original(*a))
    query = grid[:, 31:33]
    lib = ball_query(query, grid, 1.2, 3, mode='nearest', backend='cpu_lib')
    assert calls and torch.equal(lib, ball_query(query, grid, 1.2, 3, mode='nearest',
                                                 backend='torch'))
    neighbours = brute_ball(query[0].numpy(), grid[0].numpy(), 1.2, 7, 'nearest')
    assert lib[0].tolist() == neighbours[:, :3].tolist()


def test_empty_ball_takes_the_lowest_index_among_tied_nearest_points():
    ref = torch.tensor([[[3., 0, 0], [-3, 0, 0], [0, 3, 0], [9, 9, 9]]])
    query = torch.zeros(1, 1, 3)
    for backend in ('cpu_lib', 'torch'):
        assert ball_query(query, ref, 1.0, 3, backend=backend)[0, 0].tolist() == [0, 0, 0]
        assert ball_query(query, ref.flip(1), 1.0, 2, backend=backend)[0, 0].tolist() == [1, 1]


def test_cpu_default_never_builds_a_dense_matrix(monkeypatch):
    """backend='auto' on CPU float tensors takes the cKDTree path: the dense PyTorch
    reference is never called, even for 20k reference points."""
    def refuse(*args, **kwargs):
        raise AssertionError('dense ball query called on CPU')

    monkeypatch.setattr(bq_module, '_ball_query_torch', refuse)
    monkeypatch.setattr(bq_module, 'sq_dist_direct', refuse)
    gen = torch.Generator().manual_seed(5)
    ref = torch.rand(2, 20_000, 3, generator=gen)
    query = ref[:, :500]
    idx, counts = ball_query(query, ref, 0.05, 16, return_counts=True)
    assert idx.shape == (2, 500, 16) and bool((counts > 0).all())
    np.testing.assert_array_equal(idx[1, :40].numpy(), brute_ball(
        query[1, :40].numpy(), ref[1].numpy(), 0.05, 16, 'first'))
    monkeypatch.undo()
    with pytest.raises(ValueError, match='float32 or float64'):
        ball_query(query.half(), ref.half(), 0.05, 16, backend='cpu_lib')
