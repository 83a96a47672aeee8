"""Scene-scale CPU cost of 3DETR on crosspt's pure-PyTorch point ops.

    python tools/analysis_tools/benchmark_scene.py [--points 10000 20000 40000 100000]
        [--repeats 3] [--threads N]

Input: one synthetic indoor scan per size (batch 1): points sampled uniformly over the
floor, four walls and box furniture of an 8 x 6 x 3 m room, with 5 mm noise, so the
ball neighbourhoods have the density of a surface scan, not of a filled volume.

Each size runs in a fresh subprocess (``--worker``), so its peak memory is that
process's maximum resident set size (``getrusage(RUSAGE_SELF).ru_maxrss``); the table
gives the absolute peak and its growth over the idle process (model built, input
loaded).  RSS includes memory the allocator keeps cached.

Printed tables (eval mode, ``torch.no_grad()``, median of ``--repeats`` runs after one
warm-up; crosspt ops take ``--threads`` threads, fpsample is single-threaded, cKDTree
queries use ``--threads`` workers):

  1. the 3DETR pre-encoder set abstraction (FPS 2048 centres, ball radius 0.2, 64
     neighbours, MLP 3 -> 64 -> 128 -> 256, ``crosspt.models.detectors.threedetr.
     PointSetAbstraction``), and its two point ops side by side with CPU references:
     FPS = crosspt (``backend='auto'``, i.e. fpsample when installed, and the
     pure-PyTorch ``backend='torch'``) vs ``fpsample.fps_sampling``; ball query =
     crosspt (``'first'``: the first 64 hits in index order) vs scipy ``cKDTree``
     (``query_ball_point(..., return_sorted=True)`` truncated to 64, which is the same
     rule); "SA ref" = the same layer with fpsample FPS + cKDTree ball query, the
     share of its ball-query rows identical to crosspt's ("same BQ"; the others differ
     by points at distance ~= r, which the two distance computations round differently)
     and the largest output difference over the identical rows ("max|dF|");
  2. the full 3DETR forward (``ThreeDETRDetector`` defaults: vanilla encoder, 8 decoder
     layers, 256 queries, 18 classes) and forward + post-processing (``predict``).
Every time column also gets its ratio to the first (10k) row and the least-squares
growth exponent ``a`` of ``time ~ N^a`` (1.00 = linear).  Ratios crosspt / reference
below 1 mean crosspt is faster.
"""
import argparse
import json
import math
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..'))

from crosspt.ops import ball_query, furthest_point_sample, gather_points  # noqa: E402
from crosspt.ops import group_points  # noqa: E402
from crosspt.utils.benchmark import max_rss_mb, timeit  # noqa: E402

ROOM = (8.0, 6.0, 3.0)   # room extent (m)
NOISE = 0.005            # point jitter (m)


# ----------------------------------------------------------------------------- scene
def indoor_scan(num_points: int, seed: int = 0, room: Tuple[float, float, float] = ROOM
                ) -> torch.Tensor:
    """(num_points, 3) float32 points on the floor, walls and 8 boxes of a room
    (extent ``room`` in metres), area-uniform."""
    gen = np.random.default_rng(seed)
    sx, sy, sz = room
    # rectangles as (origin, edge u, edge v)
    rects = [((0, 0, 0), (sx, 0, 0), (0, sy, 0)),
             ((0, 0, 0), (sx, 0, 0), (0, 0, sz)), ((0, sy, 0), (sx, 0, 0), (0, 0, sz)),
             ((0, 0, 0), (0, sy, 0), (0, 0, sz)), ((sx, 0, 0), (0, sy, 0), (0, 0, sz))]
    for _ in range(8):
        dx, dy, dz = gen.uniform(0.4, 2.0), gen.uniform(0.4, 1.2), gen.uniform(0.4, 1.5)
        x0, y0 = gen.uniform(0.2, sx - dx - 0.2), gen.uniform(0.2, sy - dy - 0.2)
        rects += [((x0, y0, dz), (dx, 0, 0), (0, dy, 0)),
                  ((x0, y0, 0), (dx, 0, 0), (0, 0, dz)), ((x0, y0 + dy, 0), (dx, 0, 0), (0, 0, dz)),
                  ((x0, y0, 0), (0, dy, 0), (0, 0, dz)), ((x0 + dx, y0, 0), (0, dy, 0), (0, 0, dz))]
    origin, u, v = (np.array([r[i] for r in rects], dtype=np.float64) for i in range(3))
    area = np.linalg.norm(np.cross(u, v), axis=1)
    which = gen.choice(len(rects), size=num_points, p=area / area.sum())
    s, t = gen.random((num_points, 1)), gen.random((num_points, 1))
    pts = origin[which] + s * u[which] + t * v[which]
    pts += gen.normal(scale=NOISE, size=pts.shape)
    return torch.from_numpy(pts.astype(np.float32))


# ----------------------------------------------------------------------------- timing
def fit_exponent(sizes: List[float], seconds: List[float]) -> float:
    """Least-squares slope of log(seconds) against log(sizes)."""
    xs, ys = [math.log(v) for v in sizes], [math.log(v) for v in seconds]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


# ----------------------------------------------------------------------------- references
def ckdtree_ball_query(centers: np.ndarray, xyz: np.ndarray, radius: float, k: int,
                       workers: int) -> np.ndarray:
    """First ``k`` neighbours (index order) within ``radius`` of each centre, padded with
    the first hit: crosspt's ``ball_query(mode='first')`` rule, from scipy's cKDTree
    (tree build included).  (M, 3), (N, 3) -> (M, k) int64."""
    from scipy.spatial import cKDTree
    hits = cKDTree(xyz).query_ball_point(centers, radius, return_sorted=True, workers=workers)
    out = np.empty((len(centers), k), dtype=np.int64)
    for i, row in enumerate(hits):
        row = row[:k]
        out[i, :len(row)] = row
        out[i, len(row):] = row[0]
    return out


def reference_sa(sa, xyz: torch.Tensor, workers: int):
    """The set abstraction ``sa`` with fpsample FPS and cKDTree ball query instead of
    crosspt's ops (same grouping and MLP).  xyz (1, N, 3) -> (features, nbr_idx)."""
    import fpsample
    cloud = xyz[0].numpy()
    center_idx = fpsample.fps_sampling(cloud, sa.num_points, start_idx=0).astype(np.int64)
    centers = xyz[:, torch.from_numpy(center_idx)]
    nbr = torch.from_numpy(ckdtree_ball_query(centers[0].numpy(), cloud, sa.radius,
                                              sa.num_samples, workers))[None]
    rel = (group_points(xyz, nbr) - centers.unsqueeze(2)) / sa.radius
    feats = sa.mlp(rel.permute(0, 3, 1, 2).contiguous()).max(dim=-1).values
    return feats.transpose(1, 2), nbr


# ----------------------------------------------------------------------------- worker
def worker(path: str, repeats: int, threads: Optional[int], skip_torch_fps: bool) -> Dict:
    """All measurements of one size, in its own process."""
    from crosspt.models.detectors import ThreeDETRDetector
    if threads:
        torch.set_num_threads(threads)
    workers = torch.get_num_threads()
    xyz = torch.load(path, weights_only=True)[None]                     # (1, N, 3)
    torch.manual_seed(0)
    model = ThreeDETRDetector(num_classes=18).eval()
    sa = model.encoder.pre_encoder
    res: Dict = dict(points=xyz.shape[1], idle_rss_mb=max_rss_mb())
    has_fpsample = True
    try:
        import fpsample
    except ImportError:
        has_fpsample = False
    with torch.no_grad():
        # op level
        res['fps_crosspt'] = timeit(lambda: furthest_point_sample(xyz, sa.num_points), repeats)
        if not skip_torch_fps:
            res['fps_torch'] = timeit(
                lambda: furthest_point_sample(xyz, sa.num_points, backend='torch'),
                max(1, repeats // 3))
        if has_fpsample:
            cloud = xyz[0].numpy()
            res['fps_fpsample'] = timeit(
                lambda: fpsample.fps_sampling(cloud, sa.num_points, start_idx=0), repeats)
        centers = gather_points(xyz, furthest_point_sample(xyz, sa.num_points))
        res['bq_crosspt'] = timeit(
            lambda: ball_query(centers, xyz, sa.radius, sa.num_samples), repeats)
        res['bq_ckdtree'] = timeit(
            lambda: ckdtree_ball_query(centers[0].numpy(), xyz[0].numpy(), sa.radius,
                                       sa.num_samples, workers), repeats)
        # the SA layer: crosspt vs the reference composition
        res['sa_crosspt'] = timeit(lambda: sa(xyz), repeats)
        if has_fpsample:
            res['sa_ref'] = timeit(lambda: reference_sa(sa, xyz, workers), repeats)
            _, feats, _ = sa(xyz)
            ref_feats, ref_nbr = reference_sa(sa, xyz, workers)
            centers = gather_points(xyz, furthest_point_sample(xyz, sa.num_points))
            nbr = ball_query(centers, xyz, sa.radius, sa.num_samples)
            same = (nbr == ref_nbr).all(-1)                                # (1, M)
            res['sa_rows_equal'] = float(same.float().mean())
            res['sa_max_diff'] = float((feats - ref_feats)[same].abs().max())
        res['sa_rss_mb'] = max_rss_mb()
        # full model
        res['full_fwd'] = timeit(lambda: model.tensor(xyz), repeats)
        res['predict'] = timeit(lambda: model.predict(dict(points=xyz)), repeats)
    res['peak_rss_mb'] = max_rss_mb()
    return res


# ----------------------------------------------------------------------------- report
def report(rows: List[Dict]) -> None:
    first = rows[0]
    sizes = [r['points'] for r in rows]

    def ratio(r: Dict, key: str) -> str:
        return f'{r[key] / first[key]:.2f}'

    def exponent(key: str) -> str:
        if len(rows) < 2 or any(key not in r for r in rows):
            return '   -'
        return f'{fit_exponent(sizes, [r[key] for r in rows]):.2f}'

    def ms(r: Dict, key: str) -> str:
        return f'{r[key] * 1e3:.1f}' if key in r else '-'

    def share(r: Dict, num: str, den: str) -> str:
        return f'{r[num] / r[den]:.2f}' if num in r and den in r else '-'

    print('\n1) 3DETR pre-encoder SA (FPS 2048, r 0.2, 64 nbrs, MLP 3-64-128-256), batch 1, '
          'no_grad; ms')
    head = (f'{"points":>8} | {"FPS crosspt":>11} {"FPS torch":>10} {"fpsample":>9} '
            f'{"x ref":>6} | {"BQ crosspt":>10} {"cKDTree":>8} {"x ref":>6} | '
            f'{"SA crosspt":>10} {"x 10k":>6} {"SA ref":>8} {"x ref":>6} {"same BQ":>8} '
            f'{"max|dF|":>8}')
    print(head)
    print('-' * len(head))
    for r in rows:
        print(f'{r["points"]:>8d} | {ms(r, "fps_crosspt"):>11} {ms(r, "fps_torch"):>10} '
              f'{ms(r, "fps_fpsample"):>9} {share(r, "fps_crosspt", "fps_fpsample"):>6} | '
              f'{ms(r, "bq_crosspt"):>10} {ms(r, "bq_ckdtree"):>8} '
              f'{share(r, "bq_crosspt", "bq_ckdtree"):>6} | {ms(r, "sa_crosspt"):>10} '
              f'{ratio(r, "sa_crosspt"):>6} {ms(r, "sa_ref"):>8} '
              f'{share(r, "sa_crosspt", "sa_ref"):>6} '
              f'{r.get("sa_rows_equal", float("nan")) * 100:>7.1f}% '
              f'{r.get("sa_max_diff", float("nan")):>8.1e}')
    print(f'growth exponent a (time ~ N^a): FPS crosspt {exponent("fps_crosspt")}, '
          f'FPS torch {exponent("fps_torch")}, fpsample {exponent("fps_fpsample")}, '
          f'BQ crosspt {exponent("bq_crosspt")}, cKDTree {exponent("bq_ckdtree")}, '
          f'SA crosspt {exponent("sa_crosspt")}, SA ref {exponent("sa_ref")}')

    print('\n2) full 3DETR forward (ThreeDETRDetector defaults, 18 classes), batch 1, '
          'no_grad')
    head = (f'{"points":>8} | {"forward s":>9} {"x 10k":>6} | {"fwd+post s":>10} '
            f'{"x 10k":>6} | {"peak RSS MB":>11} {"over idle MB":>12} {"SA-only MB":>10}')
    print(head)
    print('-' * len(head))
    for r in rows:
        print(f'{r["points"]:>8d} | {r["full_fwd"]:>9.2f} {ratio(r, "full_fwd"):>6} | '
              f'{r["predict"]:>10.2f} {ratio(r, "predict"):>6} | {r["peak_rss_mb"]:>11.0f} '
              f'{r["peak_rss_mb"] - r["idle_rss_mb"]:>12.0f} '
              f'{r["sa_rss_mb"] - r["idle_rss_mb"]:>10.0f}')
    print(f'growth exponent a (time ~ N^a): forward {exponent("full_fwd")}, '
          f'forward + post-processing {exponent("predict")}')


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--points', type=int, nargs='+', default=[10000, 20000, 40000, 100000])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads and cKDTree workers (default: torch default)')
    parser.add_argument('--skip-torch-fps', action='store_true',
                        help="skip crosspt's pure-PyTorch FPS (backend='torch') column")
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeats, args.threads,
                                args.skip_torch_fps)))
        return

    try:
        import fpsample  # noqa: F401
        fps_info = 'fpsample installed (crosspt FPS auto backend uses it)'
    except ImportError:
        fps_info = 'fpsample: not installed (no FPS reference; crosspt FPS is pure PyTorch)'
    import scipy
    load = ', '.join(f'{v:.1f}' for v in os.getloadavg())
    print(f'torch {torch.__version__}, threads {args.threads or torch.get_num_threads()}, '
          f'os.cpu_count() {os.cpu_count()}, usable CPUs {len(os.sched_getaffinity(0))}, '
          f'load average {load}, python {platform.python_version()}, numpy '
          f'{np.__version__}, scipy {scipy.__version__}; {fps_info}')
    print(f'median of {args.repeats} runs after one warm-up; scene: {ROOM[0]:.0f} x '
          f'{ROOM[1]:.0f} x {ROOM[2]:.0f} m room surfaces + 8 boxes, {NOISE * 1e3:.0f} mm noise')
    rows: List[Dict] = []
    failed: List[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.points):
            path = osp.join(tmp, f'scene_{n}.pt')
            torch.save(indoor_scan(n, seed=n), path)
            cmd = [sys.executable, osp.abspath(__file__), '--worker', path,
                   '--repeats', str(args.repeats)]
            if args.threads:
                cmd += ['--threads', str(args.threads)]
            if args.skip_torch_fps:
                cmd.append('--skip-torch-fps')
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                lines = proc.stderr.strip().splitlines() or [f'exit code {proc.returncode}']
                failed.append(f'{n} points: worker failed: {lines[-1][:300]}')
                print(f'  {failed[-1]}', flush=True)
                continue
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f'  {n} points done in {time.perf_counter() - start:.0f} s', flush=True)
    if rows:
        report(rows)
    for line in failed:
        print(line)


if __name__ == '__main__':
    main()
