"""LoadPointsFromPLY thins large clouds by exact FPS from index 0 through crosspt.ops,
taking the CPU fast path (fpsample) when it is installed."""
import re

import numpy as np
import pytest

import crosspt.ops.sampling as sampling
from crosspt.datasets.transforms import LoadPointsFromPLY
from crosspt.fileio.ply import write_ply_points
from crosspt.ops._utils import has_module


def brute_force_fps(points: np.ndarray, num: int) -> list:
    """Exact FPS from index 0 over the full (N, N) distance matrix (float64)."""
    p = points.astype(np.float64)
    dist = ((p[:, None] - p[None]) ** 2).sum(-1)
    chosen, nearest = [0], dist[0].copy()
    for _ in range(num - 1):
        chosen.append(int(nearest.argmax()))
        nearest = np.minimum(nearest, dist[chosen[-1]])
    return chosen


def test_matches_brute_force_fps_from_index_zero(tmp_path):
    cloud = np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32)
    path = str(tmp_path / 'cloud.ply')
    write_ply_points(path, cloud)
    out = LoadPointsFromPLY(num_points=40, axis_order=(2, 0, 1))(dict(ply_path=path))
    expected = cloud[brute_force_fps(cloud, 40)][:, [2, 0, 1]]
    np.testing.assert_array_equal(out['points'], expected)
    assert out['points'].dtype == np.float32
    # exactly num_points: kept as is (order too); fewer: an error naming the file
    same = LoadPointsFromPLY(num_points=300, axis_order=(0, 1, 2))(dict(ply_path=path))
    np.testing.assert_array_equal(same['points'], cloud)
    with pytest.raises(ValueError, match=re.escape(f'{path} has 300 points, expected at least')):
        LoadPointsFromPLY(num_points=301)(dict(ply_path=path))


@pytest.mark.skipif(not has_module('fpsample'), reason='fpsample not installed')
def test_uses_the_cpu_fast_path(tmp_path, monkeypatch):
    calls = []
    original = sampling._fps_fpsample

    def spy(points, num_samples, start):
        calls.append((tuple(points.shape), num_samples, start.tolist()))
        return original(points, num_samples, start)

    monkeypatch.setattr(sampling, '_fps_fpsample', spy)
    cloud = np.random.default_rng(1).normal(size=(500, 3)).astype(np.float32)
    path = str(tmp_path / 'big.ply')
    write_ply_points(path, cloud)
    out = LoadPointsFromPLY(num_points=64, axis_order=(0, 1, 2))(dict(ply_path=path))
    assert calls == [((1, 500, 3), 64, [0])]
    np.testing.assert_array_equal(out['points'], cloud[brute_force_fps(cloud, 64)])
