"""Free-start FPS (fpsample's bucket FPS) against exact FPS from its first index, and
kNN through pykdtree / cKDTree against a brute force."""
import sys

import numpy as np
import pytest
import torch

from crosspt.ops import furthest_point_sample, furthest_point_sample_numpy, knn

fpsample = pytest.importorskip('fpsample')
sampling = sys.modules['crosspt.ops.sampling']
knn_module = sys.modules['crosspt.ops.knn']


@pytest.fixture
def bucket_calls(monkeypatch):
    """Counts the calls of fpsample's bucket FPS (and lets them through)."""
    calls = []
    original = fpsample.bucket_fps_kdline_sampling

    def spy(*args, **kwargs):
        calls.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(fpsample, 'bucket_fps_kdline_sampling', spy)
    return calls


def test_free_start_fps_is_exact_fps_from_its_first_index(bucket_calls):
    """20k random points, 2000 samples: the bucket FPS sequence equals exact float64 FPS
    (lowest index on ties) started from the index it returned first."""
    points = torch.from_numpy(np.random.default_rng(0).random((1, 20_000, 3),
                                                               dtype=np.float32))
    idx = furthest_point_sample(points, 2000, free_start=True)
    assert bucket_calls == [2000] and idx.shape == (1, 2000) and idx.dtype == torch.int64
    exact = furthest_point_sample_numpy(points[0].numpy(), 2000, start_index=int(idx[0, 0]))
    np.testing.assert_array_equal(idx[0].numpy(), exact)


def test_free_start_batch_and_random_start(bucket_calls):
    gen = torch.Generator().manual_seed(1)
    points = torch.rand(3, 3000, 3, generator=gen)
    idx = furthest_point_sample(points, 300, free_start=True)
    assert len(bucket_calls) == 3                          # one call per cloud
    for b in range(3):
        exact = furthest_point_sample_numpy(points[b].numpy(), 300, int(idx[b, 0]))
        np.testing.assert_array_equal(idx[b].numpy(), exact)
    # random_start also frees the start: reproducible from the generator, varying with it
    first = [furthest_point_sample(points, 300, random_start=True,
                                   generator=torch.Generator().manual_seed(s))[:, 0]
             for s in (5, 5, 6)]
    assert torch.equal(first[0], first[1]) and not torch.equal(first[0], first[2])
    assert len(bucket_calls) == 12


def test_fixed_start_and_small_clouds_stay_on_exact_fps(bucket_calls):
    points = torch.rand(2, 500, 3, generator=torch.Generator().manual_seed(2))
    idx = furthest_point_sample(points, 50)                        # start at point 0
    assert bucket_calls == [] and bool((idx[:, 0] == 0).all())
    small = points[:, :40]
    assert sampling.use_bucket(40, 5) is False                     # below the crossover
    np.testing.assert_array_equal(furthest_point_sample(small, 5, free_start=True)[0],
                                  furthest_point_sample_numpy(small[0].numpy(), 5))
    assert bucket_calls == []
    torch_idx = furthest_point_sample(points, 50, free_start=True, backend='torch')
    assert bucket_calls == [] and bool((torch_idx[:, 0] == 0).all())


def test_bucket_height_fits_the_cloud():
    for n in (2, 255, 256, 4095, 4096, 32767, 32768, 2 ** 18, 10 ** 6, 2 ** 20):
        h = sampling.bucket_height(n)
        assert 1 <= h <= 9 and 2 ** h <= n
    assert [sampling.bucket_height(n) for n in (2 ** 18 - 1, 2 ** 18, 2 ** 20)] == [7, 8, 9]


@pytest.mark.parametrize('height', [8, 9])
def test_the_tall_bucket_trees_are_exact_fps_too(height):
    """The heights of the largest clouds, on 20k points: exact FPS from the first pick."""
    cloud = np.random.default_rng(1).random((20_000, 3), dtype=np.float32)
    idx = fpsample.bucket_fps_kdline_sampling(cloud, 1000, height, start_idx=0)
    exact = furthest_point_sample_numpy(cloud, 1000, start_index=int(idx[0]))
    np.testing.assert_array_equal(idx.astype(np.int64), exact)


def brute_knn_sets(query: np.ndarray, ref: np.ndarray, k: int):
    """Float64 brute force: (sets of the k nearest, whether each query's k-th and
    (k+1)-th distances are distinguishable in float32)."""
    q64, r64 = query.astype(np.float64), ref.astype(np.float64)
    d = ((q64[:, None] - r64[None]) ** 2).sum(-1)
    order = np.argsort(d, axis=1, kind='stable')
    kth, nxt = (np.take_along_axis(d, order[:, i:i + 1], 1)[:, 0] for i in (k - 1, k))
    clear = nxt - kth > 1e-5 * np.maximum(kth, 1e-12)
    return [set(row[:k]) for row in order], clear


@pytest.mark.parametrize('library', ['pykdtree', 'scipy'])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_knn_libraries_find_the_brute_force_neighbours(monkeypatch, library, dtype):
    if library == 'pykdtree':
        pytest.importorskip('pykdtree')
    monkeypatch.setattr(knn_module, 'kdtree_library', lambda: library)
    gen = torch.Generator().manual_seed(3)
    ref = torch.rand(3, 2000, 3, generator=gen, dtype=dtype)
    query = torch.rand(3, 300, 3, generator=gen, dtype=dtype)
    dist, idx = knn(query, ref, 10, backend='cpu_lib')
    assert idx.dtype == torch.int64 and dist.dtype == dtype
    for b in range(3):
        sets, clear = brute_knn_sets(query[b].numpy(), ref[b].numpy(), 10)
        assert clear.mean() > 0.9
        for i in np.flatnonzero(clear):
            assert set(idx[b, i].tolist()) == sets[i]
        exact = ((query[b, :, None].double() - ref[b, idx[b]].double()) ** 2).sum(-1)
        torch.testing.assert_close(dist[b].double(), exact, rtol=1e-5, atol=1e-7)
        assert bool((dist[b, :, 1:] >= dist[b, :, :-1]).all())


def test_knn_default_library_is_pykdtree_when_installed():
    pytest.importorskip('pykdtree')
    assert knn_module.kdtree_library() == 'pykdtree'
    ref = torch.tensor([[[0., 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]]])
    dist, idx = knn(ref[:, :1] + 0.1, ref, 2)
    assert idx[0, 0].tolist() == [0, 1]
    torch.testing.assert_close(dist[0, 0], torch.tensor([0.03, 0.83]))
