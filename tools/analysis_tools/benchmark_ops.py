"""Side-by-side speed of crosspt's point ops and the TAP-PointMLP training step.

    python tools/analysis_tools/benchmark_ops.py [--repeats 3] [--tap-batch 32]

Prints, in one run:
  * FPS (B=32, 8192 -> 1024): crosspt (auto and pure-PyTorch backends) vs the
    ``fpsample`` package's exact FPS called per cloud;
  * kNN (B=32, 1024 points, k=24) and scene-scale kNN (40k points, 4096 queries, k=16):
    crosspt (auto and PyTorch) vs scipy's ``cKDTree`` (build + query);
  * a large fp32 matmul's GFLOP/s, and TAP-PointMLP (published sizes,
    configs/tap/pointmlp_shapenet.py) training samples/s with the step's achieved GFLOP/s
    (FLOPs counted by torch.utils.flop_counter) as a fraction of that matmul rate.
Ratios are crosspt time / reference time (lower is better; targets: FPS <= 1.5,
kNN <= 2). Times are the median of ``--repeats`` runs after one warm-up.
Scene-scale 3DETR timings (10k-100k points, growth exponents, peak RSS) are in the
sibling script benchmark_scene.py.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List

import numpy as np
import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..'))

from crosspt.ops import furthest_point_sample, knn  # noqa: E402
from crosspt.utils.benchmark import timeit  # noqa: E402


def row(name: str, seconds: Dict[str, float], reference: str) -> None:
    ref = seconds[reference]
    cells = '  '.join(f'{k}: {v * 1e3:9.1f} ms ({v / ref:4.2f}x)' for k, v in seconds.items())
    print(f'{name:<34s} {cells}')


def bench_fps(repeats: int) -> float:
    import fpsample
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(32, 8192, 3, generator=gen)
    clouds = points.numpy()
    seconds = {
        'fpsample': timeit(lambda: [fpsample.fps_sampling(c, 1024, start_idx=0)
                                    for c in clouds], repeats),
        'crosspt(auto)': timeit(lambda: furthest_point_sample(points, 1024), repeats),
        'crosspt(torch)': timeit(lambda: furthest_point_sample(points, 1024, backend='torch'),
                                 max(1, repeats // 3)),
    }
    row('FPS B=32 8192->1024', seconds, 'fpsample')
    return seconds['crosspt(auto)'] / seconds['fpsample']


def bench_knn(name: str, batch: int, n: int, m: int, k: int, repeats: int) -> float:
    from scipy.spatial import cKDTree
    gen = torch.Generator().manual_seed(1)
    ref = torch.rand(batch, n, 3, generator=gen)
    query = ref[:, torch.randperm(n, generator=gen)[:m]].contiguous()
    ref_np, query_np = ref.numpy(), query.numpy()
    seconds = {
        'cKDTree': timeit(lambda: [cKDTree(r).query(q, k=k) for r, q in zip(ref_np, query_np)],
                          repeats),
        'crosspt(auto)': timeit(lambda: knn(query, ref, k), repeats),
        'crosspt(torch)': timeit(lambda: knn(query, ref, k, backend='torch'),
                                 max(1, repeats // 3)),
    }
    row(name, seconds, 'cKDTree')
    return seconds['crosspt(auto)'] / seconds['cKDTree']


def matmul_gflops(repeats: int, size: int = 4096) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    seconds = timeit(lambda: a @ b, repeats)
    return 2 * size ** 3 / seconds / 1e9


def bench_tap(batch: int, repeats: int, config: str) -> Dict[str, float]:
    from mmengine.config import Config
    from torch.utils.flop_counter import FlopCounterMode

    from mmengine.registry import init_default_scope

    from crosspt.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'crosspt'))
    model = MODELS.build(cfg.model)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    gen = torch.Generator().manual_seed(2)
    num_views = cfg.get('num_views', 6)
    points = torch.rand(batch, 1024, 3, generator=gen) * 2 - 1
    from crosspt.rendering import tap_view_rotations
    rotations = torch.from_numpy(tap_view_rotations()[:num_views]).expand(batch, -1, -1, -1)
    data = dict(inputs=dict(
        points=list(points),
        features=list(torch.cat([points, points[..., 2:] + 1], dim=-1)),
        view_rotations=list(rotations),
        images=list(torch.randint(0, 256, (batch, num_views, 3, 224, 224), dtype=torch.uint8,
                                  generator=gen))))

    def step() -> None:
        batch_data = model.data_preprocessor(data, training=True)
        losses = model(**batch_data, mode='loss')
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    flops = counter.get_total_flops()
    seconds = timeit(step, repeats)
    return dict(seconds=seconds, samples_per_s=batch / seconds, gflop=flops / 1e9,
                gflops=flops / seconds / 1e9)


def main(argv: List[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--tap-batch', type=int, default=32)
    parser.add_argument('--tap-repeats', type=int, default=2)
    parser.add_argument('--tap-config', default=osp.join(
        osp.dirname(__file__), '..', '..', 'configs', 'tap', 'pointmlp_shapenet.py'))
    parser.add_argument('--skip-tap', action='store_true')
    args = parser.parse_args(argv)
    print(f'torch {torch.__version__}, threads {torch.get_num_threads()}, '
          f'numpy {np.__version__}; ratio = time / reference time')
    ratios = dict(fps=bench_fps(args.repeats),
                  knn_objects=bench_knn('kNN B=32 N=1024 k=24', 32, 1024, 1024, 24,
                                        args.repeats),
                  knn_scene=bench_knn('kNN scene N=40000 M=4096 k=16', 1, 40000, 4096, 16,
                                      args.repeats))
    gflops = matmul_gflops(args.repeats)
    print(f'{"fp32 matmul 4096^3":<34s} {gflops:8.1f} GFLOP/s')
    if not args.skip_tap:
        tap = bench_tap(args.tap_batch, args.tap_repeats, args.tap_config)
        print(f'{"TAP-PointMLP train step B=" + str(args.tap_batch):<34s} '
              f'{tap["seconds"]:.2f} s/step, {tap["samples_per_s"]:.2f} samples/s, '
              f'{tap["gflop"]:.0f} GFLOP/step, {tap["gflops"]:.1f} GFLOP/s = '
              f'{tap["gflops"] / gflops:.2f} of matmul')
    print('summary: ' + ', '.join(f'{k} {v:.2f}x' for k, v in ratios.items()) +
          ' (targets: fps <= 1.5x, knn <= 2x)')


if __name__ == '__main__':
    main()
