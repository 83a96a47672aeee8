"""Furthest point sampling (exact, iterative)."""
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from ._utils import check_points, use_cpu_library


def _start_indices(batch: int, num_points: int, random_start: bool,
                   generator: Optional[torch.Generator]) -> Tensor:
    if not random_start:
        return torch.zeros(batch, dtype=torch.long)
    return torch.randint(num_points, (batch,), generator=generator)


def _fps_torch(points: Tensor, num_samples: int, start: Tensor) -> Tensor:
    b, n, _ = points.shape
    start = start.to(points.device)
    batch = torch.arange(b, device=points.device)
    indices = torch.empty(b, num_samples, dtype=torch.long, device=points.device)
    min_dist = torch.full((b, n), float('inf'), dtype=points.dtype, device=points.device)
    current = start
    for i in range(num_samples):
        indices[:, i] = current
        last = points[batch, current].unsqueeze(1)                       # (B, 1, 3)
        min_dist = torch.minimum(min_dist, ((points - last) ** 2).sum(-1))
        current = min_dist.argmax(dim=-1)                                # first max on ties
    return indices


def _fps_fpsample(points: Tensor, num_samples: int, start: Tensor) -> Tensor:
    import fpsample

    clouds = points.detach().cpu().numpy()
    starts = start.tolist()

    def one(b: int) -> np.ndarray:
        return fpsample.fps_sampling(clouds[b], num_samples, start_idx=int(starts[b]))

    if len(clouds) > 1:
        with ThreadPoolExecutor(max_workers=min(len(clouds), torch.get_num_threads())) as pool:
            result = list(pool.map(one, range(len(clouds))))
    else:
        result = [one(0)]
    return torch.from_numpy(np.stack(result).astype(np.int64))


def furthest_point_sample(points: Tensor, num_samples: int, random_start: bool = False,
                          generator: Optional[torch.Generator] = None,
                          backend: str = 'auto') -> Tensor:
    """Exact iterative furthest point sampling.

    The first sample is point 0 (or a random point with ``random_start=True``); each next
    sample is the point whose squared distance to the chosen set is largest.  On exact
    ties the PyTorch path takes the lowest index; the fpsample path may take another of
    the tied points (use ``backend='torch'`` when tie order matters).

    Args:
        points: (B, N, 3).
        num_samples: M <= N.
        random_start: draw the start index uniformly per cloud (from ``generator``).
        backend: 'auto' (fpsample on CPU when installed, else PyTorch), 'torch', 'cpu_lib'.
    Returns:
        (B, M) int64 indices on ``points.device``.
    """
    check_points('points', points, 'furthest_point_sample')
    b, n, _ = points.shape
    if not 0 < num_samples <= n:
        raise ValueError(f'furthest_point_sample: num_samples must be in [1, N={n}], '
                         f'got {num_samples}')
    start = _start_indices(b, n, random_start, generator)
    if use_cpu_library(backend, points, 'fpsample', 'furthest_point_sample'):
        return _fps_fpsample(points, num_samples, start).to(points.device)
    with torch.no_grad():
        return _fps_torch(points, num_samples, start)


def _fps_numpy(points: np.ndarray, num_samples: int, start_index: int) -> np.ndarray:
    """Exact FPS of one (N, 3) float64 cloud on coordinate columns -> (M,) int64.

    Same float64 arithmetic as :func:`_fps_torch` (``(dx^2 + dy^2) + dz^2``, first max on
    ties), without torch's per-op overhead and its slow reduction over a length-3 axis.
    """
    x, y, z = (np.ascontiguousarray(points[:, i]) for i in range(3))
    indices = np.empty(num_samples, dtype=np.int64)
    min_dist = np.full(len(x), np.inf)
    current = start_index
    for i in range(num_samples):
        indices[i] = current
        dist = (x - x[current]) ** 2
        dist += (y - y[current]) ** 2
        dist += (z - z[current]) ** 2
        np.minimum(min_dist, dist, out=min_dist)
        current = int(min_dist.argmax())
    return indices


def furthest_point_sample_numpy(points: np.ndarray, num_samples: int,
                                start_index: int = 0, backend: str = 'numpy') -> np.ndarray:
    """:func:`furthest_point_sample` for one ``(N, 3)`` numpy cloud -> ``(M,)`` int64.

    ``backend='numpy'`` (default) is exact float64 FPS whose ties resolve to the lowest
    index, equal to the PyTorch path (``'torch'``) and the same on every machine, so data
    files generated with it stay byte-identical; ``'auto'`` / ``'cpu_lib'`` use fpsample
    (faster at scale, float32 distances, may pick another of two near-tied points).
    """
    cloud = np.ascontiguousarray(points, dtype=np.float64)
    if cloud.ndim != 2 or cloud.shape[-1] != 3:
        raise ValueError(f'furthest_point_sample_numpy: points must be (N, 3), '
                         f'got {cloud.shape}')
    n = cloud.shape[0]
    if not 0 <= start_index < max(n, 1):
        raise ValueError(f'furthest_point_sample_numpy: start_index must be in [0, {n}), '
                         f'got {start_index}')
    if backend == 'numpy':
        if not 0 < num_samples <= n:
            raise ValueError(f'furthest_point_sample_numpy: num_samples must be in '
                             f'[1, N={n}], got {num_samples}')
        if not np.isfinite(cloud).all():
            raise ValueError('furthest_point_sample_numpy: points hold NaN or Inf')
        return _fps_numpy(cloud, num_samples, start_index)
    tensor = torch.from_numpy(cloud)[None]
    if start_index == 0:
        return furthest_point_sample(tensor, num_samples, backend=backend)[0].numpy()
    # rotate the cloud so that the start is index 0, then map the indices back
    order = np.roll(np.arange(n), -start_index)
    idx = furthest_point_sample(tensor[:, order], num_samples, backend=backend)[0].numpy()
    return order[idx]
