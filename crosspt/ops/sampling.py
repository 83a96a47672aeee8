"""Furthest point sampling: exact iterative FPS, and fpsample's bucket FPS where the start
point is free."""
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from ._utils import check_points, use_cpu_library

#: bucket FPS from N * M >= this (the measured crossover with exact fpsample FPS)
BUCKET_MIN_WORK = 2048


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


def bucket_height(num_points: int) -> int:
    """KD-tree height h (buckets of 2**h points) for fpsample's bucket FPS, the fastest
    measured per cloud size (2 cores, 2026-12, N -> N / 10 samples): h=1 below 256
    points, 3 below 4096, 5 below 16384, 6 below 32768, 7 below 262144 (2**18), 8
    below 2**20, else 9 (at 30k points h=6 took 15.9-16.4 ms against 19.1-19.7 ms for
    h=5; at 300k h=8 216-221 ms against 231-238 ms for h=7; at 1M, 1.27-1.31 s for h=8
    and 9 against 1.88 s for h=7)."""
    for limit, height in ((256, 1), (4096, 3), (16384, 5), (32768, 6), (1 << 18, 7),
                          (1 << 20, 8)):
        if num_points < limit:
            return height
    return 9


def use_bucket(num_points: int, num_samples: int) -> bool:
    """Whether bucket FPS beats exact FPS: from ``N * M >= BUCKET_MIN_WORK`` on (it was
    faster at every size measured from 64 -> 16 points up to 300k -> 30k)."""
    return num_points * num_samples >= BUCKET_MIN_WORK and num_points >= 2


def _per_cloud(points: Tensor, sample) -> Tensor:
    """``sample(cloud (N, 3) ndarray, b) -> (M,)`` once per cloud in a plain loop
    (fpsample holds the GIL, so threads over the batch gain nothing) -> (B, M) int64."""
    clouds = points.detach().cpu().numpy()
    return torch.from_numpy(np.stack([sample(cloud, b).astype(np.int64)
                                      for b, cloud in enumerate(clouds)]))


def _fps_fpsample(points: Tensor, num_samples: int, start: Tensor) -> Tensor:
    """Exact FPS by fpsample from the given starts: (B, N, 3) -> (B, M) int64 (CPU)."""
    import fpsample
    starts = start.tolist()
    return _per_cloud(points, lambda cloud, b: fpsample.fps_sampling(
        cloud, num_samples, start_idx=int(starts[b])))


def _fps_bucket(points: Tensor, num_samples: int, start: Tensor) -> Tensor:
    """fpsample's bucket KD-line FPS, its start chosen through ``start`` (see
    :func:`furthest_point_sample`): (B, N, 3) -> (B, M) int64 (CPU)."""
    import fpsample
    starts = start.tolist()
    return _per_cloud(points, lambda cloud, b: fpsample.bucket_fps_kdline_sampling(
        cloud, num_samples, bucket_height(len(cloud)), start_idx=int(starts[b])))


def furthest_point_sample(points: Tensor, num_samples: int, random_start: bool = False,
                          generator: Optional[torch.Generator] = None,
                          backend: str = 'auto', free_start: bool = False) -> Tensor:
    """Furthest point sampling: each next sample is the point whose squared distance to
    the chosen set is largest.

    Start point:

    - default: point 0 (the released CUDA op's rule), exact FPS on every path;
    - ``random_start=True``: uniform over the cloud, reproducible from ``generator``;
    - ``free_start=True`` (or ``random_start=True``): the caller accepts any start.  On
      CPU with fpsample, for ``N * M >= BUCKET_MIN_WORK``, fpsample's bucket KD-line FPS
      ("QuickFPS") runs instead; its output is the exact FPS sequence from its first
      index, which fpsample chooses (fpsample 1.0.2 maps the requested start through its
      KD-tree order, a bijection: a drawn random start stays uniform, but the first
      returned index is not the drawn one).  Elsewhere the start is point 0 (or the
      drawn one).

    On exact ties the PyTorch path takes the lowest index; the fpsample paths compute in
    float32 and may take another of the tied points (``backend='torch'`` when tie order
    matters).

    Args:
        points: (B, N, 3).
        num_samples: M <= N.
        random_start: draw the start index uniformly per cloud (from ``generator``).
        backend: 'auto' (fpsample on CPU when installed, else PyTorch), 'torch', 'cpu_lib'.
        free_start: allow bucket FPS (see above).
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
        if (free_start or random_start) and use_bucket(n, num_samples):
            return _fps_bucket(points, num_samples, start).to(points.device)
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
