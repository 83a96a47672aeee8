"""crosspt.ops against brute-force numpy references (both backends)."""
import numpy as np
import pytest
import torch

from crosspt.ops import (ball_query, furthest_point_sample, gather_points, group_points,
                         inverse_distance_interpolate, knn, three_interpolate, three_nn)

BACKENDS = ['torch', 'cpu_lib']


def brute_fps(points: np.ndarray, m: int, start: int = 0) -> np.ndarray:
    chosen = [start]
    dist = np.full(len(points), np.inf)
    for _ in range(m - 1):
        dist = np.minimum(dist, ((points - points[chosen[-1]]) ** 2).sum(1))
        chosen.append(int(np.argmax(dist)))
    return np.array(chosen)


def brute_sq_dist(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    return ((q[:, None, :] - r[None, :, :]) ** 2).sum(-1)


@pytest.mark.parametrize('backend', BACKENDS)
def test_fps_matches_brute_force(backend):
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(3, 300, 3, generator=gen, dtype=torch.float64)
    idx = furthest_point_sample(points, 40, backend=backend)
    assert idx.shape == (3, 40) and idx.dtype == torch.int64
    for b in range(3):
        np.testing.assert_array_equal(idx[b].numpy(), brute_fps(points[b].numpy(), 40))


def test_fps_hand_worked_line():
    # points on a line at 0, 1, 2, 10: start 0 -> 10 (farthest) -> 2? no: 1 is 1 from 0,
    # 2 is 2 from 0 and 8 from 10 -> min 2, so 2 comes next, then 1.
    points = torch.tensor([[[0., 0, 0], [1, 0, 0], [2, 0, 0], [10, 0, 0]]])
    for backend in BACKENDS:
        assert furthest_point_sample(points, 4, backend=backend).tolist() == [[0, 3, 2, 1]]


def test_fps_ties_take_first_index_and_duplicates():
    # square corners: from corner 0, corner 2 is farthest; then 1 and 3 tie -> first (1)
    square = torch.tensor([[[0., 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]])
    assert furthest_point_sample(square, 3, backend='torch').tolist() == [[0, 2, 1]]
    # every point identical: all distances 0, argmax picks index 0 again
    same = torch.zeros(1, 5, 3)
    assert furthest_point_sample(same, 3, backend='torch').tolist() == [[0, 0, 0]]


def test_fps_random_start_and_errors():
    points = torch.rand(4, 100, 3)
    gen = torch.Generator().manual_seed(3)
    starts = torch.randint(100, (4,), generator=torch.Generator().manual_seed(3))
    a = furthest_point_sample(points, 10, random_start=True, generator=gen, backend='torch')
    b = furthest_point_sample(points, 10, random_start=True,
                              generator=torch.Generator().manual_seed(3), backend='cpu_lib')
    assert torch.equal(a[:, 0], starts) and torch.equal(a, b)
    with pytest.raises(ValueError, match='num_samples'):
        furthest_point_sample(points, 101)
    with pytest.raises(ValueError, match=r'\(B, N, 3\)'):
        furthest_point_sample(torch.rand(100, 3), 10)
    with pytest.raises(ValueError, match='backend'):
        furthest_point_sample(points, 10, backend='cuda_kernel')


@pytest.mark.parametrize('backend', BACKENDS)
def test_knn_matches_brute_force(backend):
    gen = torch.Generator().manual_seed(1)
    ref = torch.rand(2, 200, 3, generator=gen, dtype=torch.float64)
    query = torch.rand(2, 50, 3, generator=gen, dtype=torch.float64)
    dist, idx = knn(query, ref, 7, backend=backend)
    for b in range(2):
        d = brute_sq_dist(query[b].numpy(), ref[b].numpy())
        expected = np.argsort(d, axis=1, kind='stable')[:, :7]
        np.testing.assert_array_equal(idx[b].numpy(), expected)
        np.testing.assert_allclose(dist[b].numpy(), np.take_along_axis(d, expected, 1),
                                   rtol=1e-12)


def test_knn_chunking_and_backends_agree():
    gen = torch.Generator().manual_seed(2)
    ref = torch.rand(2, 1000, 3, generator=gen)
    query = torch.rand(2, 333, 3, generator=gen)
    d_lib, i_lib = knn(query, ref, 16, backend='cpu_lib')
    d_one, i_one = knn(query, ref, 16, backend='torch', chunk_size=10_000)
    d_chk, i_chk = knn(query, ref, 16, backend='torch', chunk_size=7)
    assert torch.equal(i_one, i_chk) and torch.equal(d_one, d_chk)
    assert (i_lib == i_one).float().mean() > 0.999   # float32 near-ties may swap
    torch.testing.assert_close(d_lib, d_one)


@pytest.mark.parametrize('backend', BACKENDS)
def test_knn_ties_and_self(backend):
    # query at the centre of a square: all four corners tie at distance 0.5
    ref = torch.tensor([[[0., 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [5, 5, 5]]])
    query = torch.tensor([[[0.5, 0.5, 0.]]])
    dist, idx = knn(query, ref, 4, backend=backend)
    torch.testing.assert_close(dist, torch.full((1, 1, 4), 0.5))
    assert sorted(idx[0, 0].tolist()) == [0, 1, 2, 3]
    dist, idx = knn(ref, ref, 1, backend=backend)
    assert idx[0, :, 0].tolist() == [0, 1, 2, 3, 4] and float(dist.abs().max()) == 0


def test_knn_k_larger_than_n_raises():
    with pytest.raises(ValueError, match='k=6'):
        knn(torch.rand(1, 3, 3), torch.rand(1, 5, 3), 6)


def brute_ball(q, r, radius, k, mode):
    d = brute_sq_dist(q, r)
    out = np.empty((len(q), k), dtype=np.int64)
    for i in range(len(q)):
        hits = np.nonzero(d[i] < radius ** 2)[0]
        if mode == 'nearest':
            hits = hits[np.argsort(d[i, hits], kind='stable')]
        hits = hits[:k]
        if len(hits) == 0:
            out[i] = np.argmin(d[i])
        else:
            out[i, :len(hits)] = hits
            out[i, len(hits):] = hits[0]
    return out


@pytest.mark.parametrize('mode', ['first', 'nearest'])
def test_ball_query_matches_brute_force(mode):
    gen = torch.Generator().manual_seed(4)
    ref = torch.rand(2, 400, 3, generator=gen, dtype=torch.float64)
    query = torch.rand(2, 60, 3, generator=gen, dtype=torch.float64) * 1.6 - 0.3  # some empty
    idx, counts = ball_query(query, ref, 0.25, 12, mode=mode, chunk_size=17,
                             return_counts=True)
    for b in range(2):
        expected = brute_ball(query[b].numpy(), ref[b].numpy(), 0.25, 12, mode)
        np.testing.assert_array_equal(idx[b].numpy(), expected)
        d = brute_sq_dist(query[b].numpy(), ref[b].numpy())
        np.testing.assert_array_equal(counts[b].numpy(),
                                      np.minimum((d < 0.25 ** 2).sum(1), 12))
    assert (counts == 0).any() and (counts == 12).any()   # empty and full balls exercised


def test_ball_query_hand_worked():
    ref = torch.tensor([[[0.3, 0, 0], [0.1, 0, 0], [2.0, 0, 0], [0.2, 0, 0]]])
    query = torch.tensor([[[0., 0, 0], [1.5, 0, 0]]])
    first = ball_query(query, ref, 0.25, 3, mode='first')
    nearest = ball_query(query, ref, 0.25, 3, mode='nearest')
    assert first[0, 0].tolist() == [1, 3, 1]        # hits in index order, pad with first
    assert nearest[0, 0].tolist() == [1, 3, 1]
    assert ball_query(query, ref, 0.35, 3, mode='first')[0, 0].tolist() == [0, 1, 3]
    assert ball_query(query, ref, 0.35, 3, mode='nearest')[0, 0].tolist() == [1, 3, 0]
    assert first[0, 1].tolist() == [2, 2, 2]        # empty ball -> nearest point (2.0)
    # more slots than reference points
    assert ball_query(query, ref, 0.35, 6)[0, 0].tolist() == [0, 1, 3, 0, 0, 0]


def test_gather_and_group():
    values = torch.arange(24.).view(2, 4, 3).requires_grad_()
    idx = torch.tensor([[[0, 3], [1, 1]], [[2, 0], [3, 3]]])
    grouped = group_points(values, idx)
    assert grouped.shape == (2, 2, 2, 3)
    assert grouped[1, 0, 0].tolist() == values[1, 2].tolist()
    grouped.sum().backward()
    assert values.grad[0, 1].tolist() == [2.0, 2.0, 2.0] and values.grad[0, 2].sum() == 0
    assert gather_points(values.detach(), idx[:, 0]).shape == (2, 2, 3)
    with pytest.raises(IndexError, match='indices'):
        gather_points(values, torch.tensor([[4], [0]]))


def test_three_nn_interpolation_hand_worked():
    known = torch.tensor([[[0., 0, 0], [1, 0, 0], [0, 2, 0], [9, 9, 9]]])
    feats = torch.tensor([[[1.], [2.], [4.], [100.]]])
    unknown = torch.tensor([[[0.5, 0, 0]]])
    dist2, idx = three_nn(unknown, known)
    assert idx[0, 0].tolist() == [0, 1, 2] or idx[0, 0].tolist() == [1, 0, 2]
    torch.testing.assert_close(dist2[0, 0], torch.tensor([0.25, 0.25, 4.25]))
    # euclidean: d = .5, .5, sqrt(4.25); weights ∝ 2, 2, 1/sqrt(4.25)
    w = torch.tensor([2.0, 2.0, 1 / 4.25 ** 0.5])
    expected = (w * torch.tensor([1., 2., 4.])).sum() / w.sum()
    out = inverse_distance_interpolate(unknown, known, feats)
    torch.testing.assert_close(out[0, 0, 0], expected)
    w2 = torch.tensor([4.0, 4.0, 1 / 4.25])
    out2 = inverse_distance_interpolate(unknown, known, feats, distance='squared')
    torch.testing.assert_close(out2[0, 0, 0], (w2 * torch.tensor([1., 2., 4.])).sum() / w2.sum())
    # an unknown point on a known point gets (almost exactly) its features
    on_point = inverse_distance_interpolate(known[:, 3:], known, feats)
    torch.testing.assert_close(on_point[0, 0, 0], torch.tensor(100.), rtol=1e-5, atol=1e-4)
    # fewer than three known points
    single = inverse_distance_interpolate(unknown, known[:, :1], feats[:, :1])
    assert single.item() == 1.0
    assert three_interpolate(feats, idx, torch.full(idx.shape, 1 / 3)).shape == (1, 1, 1)


def test_large_knn_memory_is_chunked(monkeypatch):
    """The PyTorch path never materialises an (M, N) matrix bigger than one chunk."""
    import sys
    knn_module = sys.modules['crosspt.ops.knn']
    seen = []
    original = knn_module.pairwise_sq_dist

    def spy(q, r):
        seen.append(q.shape[1] * r.shape[1])
        return original(q, r)

    monkeypatch.setattr(knn_module, 'pairwise_sq_dist', spy)
    monkeypatch.setattr(knn_module, 'MAX_PAIRS_PER_CHUNK', 1 << 16)
    ref = torch.rand(1, 20000, 3)
    knn(ref[:, :2000], ref, 4, backend='torch')
    assert max(seen) <= 1 << 16 and sum(seen) == 2000 * 20000


def test_fps_numpy_wrapper_start_index():
    from crosspt.ops import furthest_point_sample_numpy
    points = np.random.default_rng(0).random((200, 3))
    for start in (0, 17):
        np.testing.assert_array_equal(furthest_point_sample_numpy(points, 30, start),
                                      brute_fps(points, 30, start))


def test_fps_numpy_backend_equals_brute_force_and_torch_with_ties():
    """The default exact float64 path keeps data files byte-identical: same indices as the
    brute-force reference (lowest index on ties) and the PyTorch path, also on a lattice
    full of exact ties."""
    from crosspt.ops import furthest_point_sample_numpy
    rng = np.random.default_rng(3)
    lattice = np.stack(np.meshgrid(*[np.arange(6.0)] * 3, indexing='ij'), -1).reshape(-1, 3)
    clouds = [rng.normal(size=(int(n), 3)) * s for n, s in ((300, 0.1), (1000, 3.0))]
    for points in clouds + [lattice]:
        for start in (0, 5):
            ours = furthest_point_sample_numpy(points, 40, start)
            np.testing.assert_array_equal(ours, brute_fps(points, 40, start))
        # the torch path rotates the cloud for start != 0, so compare its ties at start 0
        np.testing.assert_array_equal(furthest_point_sample_numpy(points, 40),
                                      furthest_point_sample_numpy(points, 40, backend='torch'))


def test_fps_numpy_backend_rejects_bad_input():
    from crosspt.ops import furthest_point_sample_numpy
    with pytest.raises(ValueError, match=r'num_samples must be in \[1, N=4\]'):
        furthest_point_sample_numpy(np.zeros((4, 3)), 5)
    with pytest.raises(ValueError, match='NaN'):
        furthest_point_sample_numpy(np.array([[0, 0, 0], [np.nan, 0, 0]]), 1)
    with pytest.raises(ValueError, match=r'\(N, 3\)'):
        furthest_point_sample_numpy(np.zeros((4, 2)), 1)
