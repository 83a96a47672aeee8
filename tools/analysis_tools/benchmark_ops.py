"""Side-by-side speed of crosspt's point ops and the best CPU libraries.

    python tools/analysis_tools/benchmark_ops.py [--scale object] [--repeats 3] [--tap-batch 32]
    python tools/analysis_tools/benchmark_ops.py --scale scene [--sizes 10000 30000 100000 300000]
        [--repeats 3] [--threads 2]

``--scale object`` (default) prints, in one run:
  * FPS (B=32, 8192 -> 1024): crosspt (auto and pure-PyTorch backends) vs the
    ``fpsample`` package's exact FPS called per cloud;
  * kNN (B=32, 1024 points, k=24) and scene-scale kNN (40k points, 4096 queries, k=16):
    crosspt (auto and PyTorch) vs scipy's ``cKDTree`` (build + query);
  * a large fp32 matmul's GFLOP/s, and TAP-PointMLP (published sizes,
    configs/tap/pointmlp_1xb32-100e_shapenet55.py) training samples/s with the step's
    achieved GFLOP/s (FLOPs counted by torch.utils.flop_counter) as a fraction of the
    matmul rate, the step and the matmul alternated in one process (minimum of
    ``--tap-repeats``); ``--tap-with-cp`` times the memory-saving recomputation.
  Ratios are crosspt time / reference time (lower is better; targets: FPS <= 1.5,
  kNN <= 2). Times are the median of ``--repeats`` runs after one warm-up.

``--scale scene`` times each op on one synthetic indoor scan per size N (batch 1): the
room of benchmark_scene.py scaled by sqrt(N / 40k) in every dimension, so the surface
density stays that of 40k points in an 8 x 6 x 3 m room (3DETR's input) and a ball
holds about the same number of points at every N (printed as pts/ball).  Rows (M =
N / 10 queries or samples):
  * ball query 'first' (PointNet++: the first 64 hits in index order, r = 0.2):
    crosspt ``ball_query`` vs cKDTree's two ways to list every hit: "lists" =
    ``query_ball_point(return_sorted=True)`` (a Python list per query), "pairs" =
    ``sparse_distance_matrix(output_type='ndarray')`` against a tree of the queries
    (unsorted (query, point, distance) records); neither is cut to 64 and padded yet;
  * ball query 'nearest' (the 64 nearest within r = 0.2): vs cKDTree and pykdtree
    ``query(k=64, distance_upper_bound=0.2)``;
  * FPS with a free start (N -> M): crosspt ``furthest_point_sample(free_start=True)``
    vs fpsample's bucket KD-line FPS at heights h = 5, 7, 9 (the best one);
  * FPS from point 0 (N -> 2048, the exact path): crosspt vs ``fpsample.fps_sampling``;
  * kNN (k = 16, M queries): crosspt ``knn`` vs pykdtree and cKDTree.
  Library trees are built with the settings crosspt uses and queried with ``--threads``
  workers.  Every timing includes the tree build.  The contenders are alternated within
  one process, and each time is the minimum of ``--repeats`` runs after a warm-up.  The
  last column is the least-squares exponent ``a`` of ``time ~ N^a`` over the sizes.
Scene-scale 3DETR timings (10k-100k points, growth exponents, peak RSS) are in the
sibling script benchmark_scene.py.
"""
import argparse
import math
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, List

import numpy as np
import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from crosspt.ops import ball_query, furthest_point_sample, knn  # noqa: E402
from crosspt.ops._utils import has_module  # noqa: E402
from crosspt.ops.knn import kdtree_library  # noqa: E402
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


def bench_tap(batch: int, repeats: int, config: str, with_cp: bool = False,
              matmul_size: int = 4096) -> Dict[str, float]:
    """One TAP training step (forward, backward, AdamW) on random clouds and views,
    alternated with a ``matmul_size``^3 fp32 matmul in one process (minimum of ``repeats``
    each, so load changes hit both alike); ``with_cp`` recomputes the backbone stages and the
    photograph blocks in backward.  GFLOP from torch.utils.flop_counter (2 per
    multiply-add, forward and backward)."""
    from mmengine.config import Config
    from torch.utils.flop_counter import FlopCounterMode

    from mmengine.registry import init_default_scope

    from crosspt.registry import MODELS
    cfg = Config.fromfile(config)
    if with_cp:
        cfg.merge_from_dict({'model.backbone.with_cp': True, 'model.photograph.with_cp': True})
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
    a, b = torch.randn(matmul_size, matmul_size), torch.randn(matmul_size, matmul_size)
    seconds = alternate({'tap': step, 'matmul': lambda: a @ b}, repeats)
    matmul = 2 * matmul_size ** 3 / seconds['matmul'] / 1e9
    gflops = flops / seconds['tap'] / 1e9
    return dict(seconds=seconds['tap'], samples_per_s=batch / seconds['tap'],
                gflop=flops / 1e9, gflops=gflops, matmul_gflops=matmul,
                fraction=gflops / matmul)


# ----------------------------------------------------------------------------- scene scale
SCENE_SIZES = (10_000, 30_000, 100_000, 300_000)
BALL_RADIUS, BALL_K, KNN_K, EXACT_FPS_M = 0.2, 64, 16, 2048
Contenders = Dict[str, Callable[[], object]]


def scene_cloud(n: int, seed: int = 0) -> torch.Tensor:
    """(n, 3) float32 indoor scan at the density of 40k points in the 8 x 6 x 3 m room:
    the room scaled by sqrt(n / 40k) in every dimension (below 10k points it stays
    4 x 3 x 1.5 m, so that its furniture fits)."""
    from benchmark_scene import ROOM, indoor_scan
    scale = math.sqrt(max(n, 10_000) / 40_000)
    return indoor_scan(n, seed, room=tuple(side * scale for side in ROOM))


def ball_first(xyz: torch.Tensor, query: torch.Tensor, threads: int) -> Contenders:
    from scipy.spatial import cKDTree
    x, q = xyz.numpy(), query.numpy()

    def tree(points: np.ndarray):
        return cKDTree(points, balanced_tree=False, compact_nodes=False)

    return {'crosspt': lambda: ball_query(query[None], xyz[None], BALL_RADIUS, BALL_K),
            'cKDTree lists': lambda: tree(x).query_ball_point(
                q, BALL_RADIUS, workers=threads, return_sorted=True),
            'cKDTree pairs': lambda: tree(q).sparse_distance_matrix(
                tree(x), BALL_RADIUS, output_type='ndarray')}


def ball_nearest(xyz: torch.Tensor, query: torch.Tensor, threads: int) -> Contenders:
    from scipy.spatial import cKDTree
    x, q = xyz.numpy(), query.numpy()
    out = {'crosspt': lambda: ball_query(query[None], xyz[None], BALL_RADIUS, BALL_K,
                                         mode='nearest'),
           'cKDTree': lambda: cKDTree(x, balanced_tree=False, compact_nodes=False).query(
               q, k=BALL_K, distance_upper_bound=BALL_RADIUS, workers=threads)}
    if has_module('pykdtree'):
        from pykdtree.kdtree import KDTree
        out['pykdtree'] = lambda: KDTree(x).query(q, k=BALL_K,
                                                  distance_upper_bound=BALL_RADIUS)
    return out


def fps_free(xyz: torch.Tensor, query: torch.Tensor, threads: int) -> Contenders:
    import fpsample
    x, m = xyz.numpy(), len(query)
    out = {'crosspt': lambda: furthest_point_sample(xyz[None], m, free_start=True)}
    for h in (5, 6, 7, 8, 9):
        if 2 ** h <= len(x):
            out[f'fpsample bucket h={h}'] = (
                lambda h=h: fpsample.bucket_fps_kdline_sampling(x, m, h, start_idx=0))
    return out


def fps_exact(xyz: torch.Tensor, query: torch.Tensor, threads: int) -> Contenders:
    import fpsample
    x, m = xyz.numpy(), min(EXACT_FPS_M, len(xyz))
    return {'crosspt': lambda: furthest_point_sample(xyz[None], m),
            'fpsample exact': lambda: fpsample.fps_sampling(x, m, start_idx=0)}


def knn_scene(xyz: torch.Tensor, query: torch.Tensor, threads: int) -> Contenders:
    from scipy.spatial import cKDTree
    x, q = xyz.numpy(), query.numpy()
    out = {'crosspt': lambda: knn(query[None], xyz[None], KNN_K),
           'cKDTree': lambda: cKDTree(x, balanced_tree=False, compact_nodes=False).query(
               q, k=KNN_K, workers=threads)}
    if has_module('pykdtree'):
        from pykdtree.kdtree import KDTree
        out['pykdtree'] = lambda: KDTree(x).query(q, k=KNN_K, sqr_dists=True)
    return out


SCENE_OPS = ((f"ball query 'first' K={BALL_K} r={BALL_RADIUS}", ball_first, 'ball'),
             (f"ball query 'nearest' K={BALL_K} r={BALL_RADIUS}", ball_nearest, 'ball'),
             ('FPS, free start', fps_free, 'fps'),
             ('FPS from point 0', fps_exact, 'fps_exact'),
             (f'kNN k={KNN_K}', knn_scene, 'queries'))


def _human(value: float) -> str:
    return f'{value / 1000:g}k' if value >= 1000 else f'{value:g}'


def size_label(kind: str, n: int, m: int, per_ball: float) -> str:
    """The size column: points, queries or samples (and points per ball)."""
    if kind == 'fps':
        return f'{_human(n)} -> {_human(m)}'
    if kind == 'fps_exact':
        return f'{_human(n)} -> {min(EXACT_FPS_M, n)}'
    label = f'{_human(n)} pts, {_human(m)} queries'
    return label + (f', {per_ball:.0f} pts/ball' if kind == 'ball' else '')


def alternate(contenders: Contenders, repeats: int) -> Dict[str, float]:
    """Minimum wall time of each contender over ``repeats`` rounds, one call of each
    per round (after one warm-up round), so load changes hit all of them alike."""
    for fn in contenders.values():
        fn()
    best = {name: math.inf for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def fit_exponent(sizes: List[float], seconds: List[float]) -> float:
    """Least-squares slope of log(seconds) against log(sizes) (nan for one size)."""
    if len(sizes) < 2:
        return math.nan
    xs, ys = np.log(sizes), np.log(seconds)
    return float(np.polyfit(xs, ys, 1)[0])


def scene_rows(sizes: List[int], repeats: int, threads: int) -> List[dict]:
    """One row per (op, N): crosspt and best-library seconds (see the module doc)."""
    from scipy.spatial import cKDTree
    rows = []
    for n in sizes:
        xyz = scene_cloud(n)
        query = xyz[torch.randperm(n, generator=torch.Generator().manual_seed(1))[:n // 10]]
        hits = float(cKDTree(xyz.numpy()).query_ball_point(
            query.numpy(), BALL_RADIUS, return_length=True).mean())
        for op, make, kind in SCENE_OPS:
            seconds = alternate(make(xyz, query, threads), repeats)
            ours = seconds.pop('crosspt')
            library = min(seconds, key=seconds.get)
            others = {k: v for k, v in seconds.items() if k != library}
            rows.append(dict(op=op, n=n, size=size_label(kind, n, len(query), hits),
                             crosspt=ours, library=library, library_s=seconds[library],
                             others=others))
    return rows


def _seconds(value: float) -> str:
    return f'{value:.3f} s' if value >= 1 else f'{value * 1e3:.1f} ms'


def scene_table(rows: List[dict]) -> str:
    """Markdown table of :func:`scene_rows` with the exponents of each op."""
    lines = ['| op | size | crosspt | best library (others) | ratio | '
             'time ~ N^a (crosspt / library) |',
             '|---|---|---|---|---|---|']
    for op, _, _ in SCENE_OPS:
        mine = [r for r in rows if r['op'] == op]
        sizes = [r['n'] for r in mine]
        a_ours = fit_exponent(sizes, [r['crosspt'] for r in mine])
        a_lib = fit_exponent(sizes, [r['library_s'] for r in mine])
        for r in mine:
            others = ', '.join(f'{k} {_seconds(v)}' for k, v in r['others'].items())
            lines.append(f"| {op} | {r['size']} | {_seconds(r['crosspt'])} | {r['library']} "
                         f"{_seconds(r['library_s'])}{f' ({others})' if others else ''} | "
                         f"{r['crosspt'] / r['library_s']:.2f} | {a_ours:.2f} / {a_lib:.2f} |")
    return '\n'.join(lines)


def run_scene(sizes: List[int], repeats: int, threads: int) -> None:
    torch.set_num_threads(threads)
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else math.nan
    print(f'torch {torch.__version__}, {threads} threads, numpy {np.__version__}, '
          f'{os.cpu_count()} CPUs, load average (1 min) {load:.2f} at the start; '
          f'kNN library: {kdtree_library()}; min of {repeats} alternated runs; '
          f'ratio = crosspt / best library')
    rows = scene_rows(sizes, repeats, threads)
    print(scene_table(rows))
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else math.nan
    print(f'load average (1 min) {load:.2f} at the end')


def main(argv: List[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--scale', choices=('object', 'scene'), default='object')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--sizes', type=int, nargs='+', default=list(SCENE_SIZES),
                        help='scene scale: cloud sizes N')
    parser.add_argument('--threads', type=int, default=2, help='scene scale: threads')
    parser.add_argument('--tap-batch', type=int, default=32)
    parser.add_argument('--tap-repeats', type=int, default=2)
    parser.add_argument('--tap-config', default=osp.join(
        osp.dirname(__file__), '..', '..', 'configs', 'tap',
        'pointmlp_1xb32-100e_shapenet55.py'))
    parser.add_argument('--skip-tap', action='store_true')
    parser.add_argument('--tap-with-cp', action='store_true',
                        help='TAP step with model.backbone.with_cp and '
                        'model.photograph.with_cp (recompute instead of storing)')
    args = parser.parse_args(argv)
    if args.scale == 'scene':
        os.environ['OMP_NUM_THREADS'] = str(args.threads)   # before pykdtree loads OpenMP
        if min(args.sizes) < 100 or args.repeats < 1 or args.threads < 1:
            parser.error('--sizes must be >= 100 points, --repeats and --threads >= 1')
        run_scene(sorted(args.sizes), args.repeats, args.threads)
        return
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
        tap = bench_tap(args.tap_batch, args.tap_repeats, args.tap_config, args.tap_with_cp)
        print(f'{"TAP-PointMLP train step B=" + str(args.tap_batch):<34s} '
              f'{tap["seconds"]:.2f} s/step, {tap["samples_per_s"]:.2f} samples/s, '
              f'{tap["gflop"]:.0f} GFLOP/step, {tap["gflops"]:.1f} GFLOP/s = '
              f'{tap["fraction"]:.2f} of the matmul rate measured alternately '
              f'({tap["matmul_gflops"]:.1f} GFLOP/s); load average (1 min) '
              f'{os.getloadavg()[0]:.2f}')
    print('summary: ' + ', '.join(f'{k} {v:.2f}x' for k, v in ratios.items()) +
          ' (targets: fps <= 1.5x, knn <= 2x)')


if __name__ == '__main__':
    main()
