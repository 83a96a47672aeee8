"""CPU cost of SR-UNet34 on crosspt's sparse convolution, and spconv side by side.

    python tools/analysis_tools/benchmark_sparse.py [--voxels 20000 80000 200000]
        [--repeats 3] [--threads N]

Inputs are surface-like voxel sets, as a depth-sensor scan gives: synthetic rooms (floor,
four walls, yawed boxes as furniture) sampled at 1.25 cm with 3 mm normal noise and
voxelised at 2.5 cm; rooms are added as batch items until the target count is reached, the
last one cropped to the voxels nearest a random floor point (a partial scan), so every row
has exactly the requested voxel count.  Random volumes would be far easier on the kernel
maps (fewer neighbours per voxel) and are deliberately not used.

Each size runs in a fresh subprocess, so its peak memory is the growth of the process's
maximum resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) over one
SR-UNet34 (SRUNet defaults: in 3, out 128, train mode) forward+backward, measured from the
state after importing, building the model and loading the input.  RSS includes memory the
allocator keeps cached, so it is an upper bound on what tensors need at the peak.

Printed tables (times are the median of ``--repeats`` runs after one warm-up; every run
builds a fresh SparseTensor, so kernel maps are rebuilt as for a new training batch):
  1. crosspt SR-UNet34: forward (grad enabled) / forward+backward / peak RSS growth / ms per
     1k voxels / time ratio to the first row, plus the least-squares exponent ``a`` of
     ``time ~ voxels^a``;
  2. inference forward under ``torch.no_grad()`` (eval mode), crosspt vs spconv
     (``SRUNet(backend='spconv')`` with the same state dict), ratio crosspt / spconv, and
     the largest output difference relative to the output scale;
  3. one submanifold 3x3x3 conv, 64 -> 64 channels: cold (new tensor, kernel map built)
     and warm (cached map) forward, crosspt vs spconv.
spconv's CPU layers always run single-threaded (crosspt.ops.spconv_backend, because of a
multithreaded scatter-add race); crosspt uses ``--threads``.  Use ``--threads 1`` for a
like-for-like comparison.

Memory guard: training memory grows about linearly with the voxel count, so before each
larger size the peak RSS is extrapolated from the largest finished row (peak / voxels *
n); when that exceeds half of MemAvailable, table 1 skips the size (tables 2-3, which need
far less, still run).  Each worker also caps its address space at its start size plus 60%
of MemAvailable, so an underestimate ends in a reported allocation failure, not in the
kernel's OOM killer hitting whatever else runs on the machine.
"""
import argparse
import json
import math
import os
import os.path as osp
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..'))

from crosspt.ops import SparseConv3d, SparseTensor, voxelize  # noqa: E402
from crosspt.ops.spconv_backend import spconv_unavailable_reason  # noqa: E402
from crosspt.utils.benchmark import max_rss_mb, timeit  # noqa: E402

VOXEL = 0.025   # voxel edge (m)
SPACING = 0.0125  # surface sampling step (m)
NOISE = 0.003   # std of the normal jitter (m)


# ----------------------------------------------------------------------------- scenes
def _rectangle(gen: torch.Generator, corner: Sequence[float], u: Sequence[float],
               v: Sequence[float]) -> torch.Tensor:
    """(P, 3) points covering the parallelogram ``corner + s u + t v`` (s, t in [0, 1])."""
    corner, u, v = (torch.tensor(a, dtype=torch.float64) for a in (corner, u, v))
    nu = max(2, int(u.norm() / SPACING) + 1)
    nv = max(2, int(v.norm() / SPACING) + 1)
    s = torch.linspace(0, 1, nu, dtype=torch.float64)
    t = torch.linspace(0, 1, nv, dtype=torch.float64)
    pts = corner + s[:, None, None] * u + t[None, :, None] * v
    normal = torch.linalg.cross(u, v)
    normal = normal / normal.norm()
    pts = pts.reshape(-1, 3)
    return pts + torch.randn(len(pts), 1, generator=gen, dtype=torch.float64) * NOISE * normal


def room(gen: torch.Generator) -> torch.Tensor:
    """(P, 6) xyz + rgb points on the floor, walls and box furniture of a random room."""
    def rand(lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=gen))

    sx, sy, h = rand(4.0, 8.0), rand(3.5, 6.5), rand(2.5, 3.0)
    rects = [((0, 0, 0), (sx, 0, 0), (0, sy, 0)),
             ((0, 0, 0), (sx, 0, 0), (0, 0, h)), ((0, sy, 0), (sx, 0, 0), (0, 0, h)),
             ((0, 0, 0), (0, sy, 0), (0, 0, h)), ((sx, 0, 0), (0, sy, 0), (0, 0, h))]
    for _ in range(int(torch.randint(4, 10, (), generator=gen))):
        bx, by, bz = rand(0.4, 2.0), rand(0.4, 1.2), rand(0.4, 1.2)
        yaw = rand(0, math.pi)
        c, s = math.cos(yaw), math.sin(yaw)
        ex, ey = (bx * c, bx * s, 0.0), (-by * s, by * c, 0.0)
        x0 = (rand(0.3, sx - 2.0), rand(0.3, sy - 2.0), 0.0)
        top = (x0[0], x0[1], bz)
        far = (x0[0] + ex[0] + ey[0], x0[1] + ex[1] + ey[1], 0.0)
        rects += [(top, ex, ey), (x0, ex, (0, 0, bz)), (x0, ey, (0, 0, bz)),
                  (far, tuple(-a for a in ex), (0, 0, bz)),
                  (far, tuple(-a for a in ey), (0, 0, bz))]
    parts = []
    for corner, u, v in rects:
        pts = _rectangle(gen, corner, u, v)
        rgb = torch.rand(1, 3, generator=gen, dtype=torch.float64) * 0.8 + 0.1
        rgb = (rgb + 0.05 * torch.randn(len(pts), 3, generator=gen, dtype=torch.float64))
        parts.append(torch.cat([pts, rgb.clamp(0, 1)], 1))
    return torch.cat(parts).float()


def surface_voxels(target: int, seed: int = 0) -> SparseTensor:
    """Exactly ``target`` surface voxels (2.5 cm) from one or more rooms, features = RGB."""
    gen = torch.Generator().manual_seed(seed)
    coords, feats, total, b = [], [], 0, 0
    while total < target:
        pts = room(gen)
        st, _ = voxelize(pts[:, :3], torch.full((len(pts), ), b, dtype=torch.int64), VOXEL,
                         pts[:, 3:])
        need = target - total
        if len(st) > need:  # partial scan: the voxels nearest a random floor point
            centre = st.coords[int(torch.randint(len(st), (), generator=gen)), 1:3]
            dist = (st.coords[:, 1:3] - centre).float().norm(dim=1)
            keep = dist.argsort()[:need].sort().values
            st = SparseTensor(st.coords[keep], st.feats[keep])
        coords.append(st.coords)
        feats.append(st.feats)
        total += len(st)
        b += 1
    return SparseTensor(torch.cat(coords), torch.cat(feats))


# ----------------------------------------------------------------------------- memory
def _meminfo_mb(field: str, path: str = '/proc/meminfo') -> float:
    with open(path) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024  # kB
    raise KeyError(field)


def mem_available_mb() -> float:
    return _meminfo_mb('MemAvailable')


def worker(path: str, repeats: int, threads: Optional[int], spconv_ok: bool,
           train: bool) -> Dict:
    """One size, in its own process; returns the measurements as a dict."""
    from crosspt.models.backbones.srunet import SRUNet
    budget = _meminfo_mb('VmSize', '/proc/self/status') + 0.6 * mem_available_mb()
    limit = int(budget * 2 ** 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if threads:
        torch.set_num_threads(threads)
    data = torch.load(path, weights_only=True)  # tensors this tool saved
    coords, feats = data['coords'], data['feats']
    torch.manual_seed(0)
    model = SRUNet(in_channels=3, out_channels=128).train()
    res: Dict = dict(voxels=len(coords), batch=int(coords[:, 0].max()) + 1)

    def forward() -> torch.Tensor:
        return model(SparseTensor(coords, feats)).feats

    def forward_backward() -> None:
        out = forward()
        out.square().mean().backward()
        model.zero_grad(set_to_none=True)

    if train:
        base = max_rss_mb()
        try:
            forward_backward()  # warm-up and the memory peak
            res['peak_rss_mb'] = max_rss_mb() - base
            res['fwd'] = timeit(lambda: forward().sum().item(), repeats)
            res['fwd_bwd'] = timeit(forward_backward, repeats, warmup=False)
        except (RuntimeError, MemoryError) as err:  # address-space cap reached
            res['train_skipped'] = f'allocation failed under a {budget / 1024:.1f} GB ' \
                                   f'address-space cap ({str(err).splitlines()[0][:80]})'
            model.zero_grad(set_to_none=True)

    model.eval()
    with torch.no_grad():
        res['infer'] = timeit(forward, repeats)
        if spconv_ok:
            alt = SRUNet(in_channels=3, out_channels=128, backend='spconv').eval()
            alt.load_state_dict(model.state_dict())
            ref = forward()
            got = alt(SparseTensor(coords, feats))
            res['spconv_coords_equal'] = bool(torch.equal(got.coords, coords))
            res['spconv_rel_diff'] = float((got.feats - ref).abs().max() / ref.abs().max())
            res['spconv_infer'] = timeit(lambda: alt(SparseTensor(coords, feats)), repeats)
        # single layer: submanifold 3x3x3, 64 -> 64
        f64 = torch.randn(len(coords), 64, generator=torch.Generator().manual_seed(1))
        layers = {'crosspt': SparseConv3d(64, 64, 3)}
        if spconv_ok:
            layers['spconv'] = SparseConv3d(64, 64, 3, backend='spconv')
            layers['spconv'].load_state_dict(layers['crosspt'].state_dict())
        for name, conv in layers.items():
            warm = SparseTensor(coords, f64)
            res[f'layer_cold_{name}'] = timeit(lambda: conv(SparseTensor(coords, f64)), repeats)
            res[f'layer_warm_{name}'] = timeit(lambda: conv(warm), repeats)
    return res


# ----------------------------------------------------------------------------- report
def fit_exponent(sizes: List[float], seconds: List[float]) -> float:
    """Least-squares slope of log(seconds) against log(sizes)."""
    xs, ys = [math.log(v) for v in sizes], [math.log(v) for v in seconds]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return (sum((x - mx) * (y - my) for x, y in zip(xs, ys))
            / sum((x - mx) ** 2 for x in xs))


def report(rows: List[Dict], spconv_reason: Optional[str]) -> None:
    trained = [r for r in rows if 'fwd_bwd' in r]
    print('\n1) crosspt SR-UNet34 (in 3, out 128), train mode, CPU')
    print(f'{"voxels":>8} {"scenes":>6} {"fwd s":>8} {"fwd+bwd s":>10} {"peak RSS MB":>12} '
          f'{"fb ms/1k vox":>13} {"x time vs row 1":>16} {"x voxels":>9}')
    for r in rows:
        if 'fwd_bwd' not in r:
            print(f'{r["voxels"]:>8d} {r["batch"]:>6d}  skipped: {r["train_skipped"]}')
            continue
        first = trained[0]
        print(f'{r["voxels"]:>8d} {r["batch"]:>6d} {r["fwd"]:>8.2f} {r["fwd_bwd"]:>10.2f} '
              f'{r["peak_rss_mb"]:>12.0f} {r["fwd_bwd"] / r["voxels"] * 1e6:>13.1f} '
              f'{r["fwd_bwd"] / first["fwd_bwd"]:>16.2f} '
              f'{r["voxels"] / first["voxels"]:>9.2f}')
    if len(trained) > 1:
        sizes = [r['voxels'] for r in trained]

        def exponent(key: str) -> float:
            return fit_exponent(sizes, [max(r[key], 1e-3) for r in trained])

        print(f'fitted growth (least squares on log-log, 1.00 = linear): fwd+bwd time ~ '
              f'voxels^{exponent("fwd_bwd"):.2f}, fwd ~ voxels^{exponent("fwd"):.2f}, '
              f'peak RSS growth ~ voxels^{exponent("peak_rss_mb"):.2f}')
    infer = [r['voxels'] for r in rows]
    if len(rows) > 1:
        print(f'inference forward (table 2) ~ voxels^'
              f'{fit_exponent(infer, [r["infer"] for r in rows]):.2f}')

    print('\n2) SR-UNet34 inference forward (eval, no_grad): crosspt vs spconv')
    if spconv_reason is not None:
        print(f'spconv: not installed ({spconv_reason})')
        for r in rows:
            print(f'{r["voxels"]:>8d}  crosspt {r["infer"]:8.2f} s')
    else:
        print(f'{"voxels":>8} {"crosspt s":>10} {"spconv s":>10} {"crosspt/spconv":>15} '
              f'{"max |diff|/max|out|":>20} {"same coords":>12}')
        for r in rows:
            print(f'{r["voxels"]:>8d} {r["infer"]:>10.2f} {r["spconv_infer"]:>10.2f} '
                  f'{r["infer"] / r["spconv_infer"]:>15.2f} {r["spconv_rel_diff"]:>20.1e} '
                  f'{str(r["spconv_coords_equal"]):>12}')

    print('\n3) one submanifold 3x3x3 conv 64->64, forward (no_grad); cold = new tensor '
          '(kernel map built), warm = cached map')
    names = ['crosspt'] + ([] if spconv_reason else ['spconv'])
    head = ''.join(f'{n + " cold ms":>18}{n + " warm ms":>18}' for n in names)
    print(f'{"voxels":>8}{head}' + ('' if spconv_reason else
                                    f'{"ratio cold":>12}{"ratio warm":>12}'))
    for r in rows:
        cells = ''.join(f'{r["layer_cold_" + n] * 1e3:>18.1f}{r["layer_warm_" + n] * 1e3:>18.1f}'
                        for n in names)
        if not spconv_reason:
            cells += (f'{r["layer_cold_crosspt"] / r["layer_cold_spconv"]:>12.2f}'
                      f'{r["layer_warm_crosspt"] / r["layer_warm_spconv"]:>12.2f}')
        print(f'{r["voxels"]:>8d}{cells}')
    if spconv_reason:
        print(f'spconv: not installed ({spconv_reason})')


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--voxels', type=int, nargs='+', default=[20000, 80000, 200000])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads for crosspt (default: torch default)')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    parser.add_argument('--spconv', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--no-train', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeats, args.threads, args.spconv,
                                not args.no_train)))
        return

    reason = spconv_unavailable_reason()
    if reason is None:
        import spconv
        spconv_info = f'spconv {spconv.__version__} (CPU layers run single-threaded)'
    else:
        spconv_info = f'spconv: not installed ({reason})'
    threads = args.threads or torch.get_num_threads()
    load = ', '.join(f'{v:.1f}' for v in os.getloadavg())
    print(f'torch {torch.__version__}, crosspt threads {threads}, os.cpu_count() '
          f'{os.cpu_count()}, usable CPUs {len(os.sched_getaffinity(0))}, load average '
          f'{load}, python {platform.python_version()}; {spconv_info}')
    print(f'median of {args.repeats} runs after one warm-up; scenes: rooms voxelised at '
          f'{VOXEL * 100:.1f} cm, surface sampling {SPACING * 1000:.1f} mm')
    rows: List[Dict] = []
    failed: List[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.voxels):
            st = surface_voxels(n, seed=n)
            path = osp.join(tmp, f'voxels_{n}.pt')
            torch.save(dict(coords=st.coords, feats=st.feats), path)
            cmd = [sys.executable, osp.abspath(__file__), '--worker', path,
                   '--repeats', str(args.repeats)]
            if args.threads:
                cmd += ['--threads', str(args.threads)]
            if reason is None:
                cmd.append('--spconv')
            measured = [r for r in rows if 'peak_rss_mb' in r]
            skip = None
            if measured:
                last = measured[-1]
                predicted = last['peak_rss_mb'] / last['voxels'] * n
                available = mem_available_mb()
                if predicted > 0.5 * available:
                    skip = (f'predicted peak RSS {predicted / 1024:.1f} GB > half of '
                            f'MemAvailable ({available / 1024:.1f} GB)')
                    cmd.append('--no-train')
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                lines = proc.stderr.strip().splitlines() or [f'exit code {proc.returncode}']
                failed.append(f'{n} voxels: worker failed: {lines[-1][:300]}')
                print(f'  {failed[-1]}', flush=True)
                continue
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            if skip:
                rows[-1]['train_skipped'] = skip
            print(f'  {n} voxels done in {time.perf_counter() - start:.0f} s', flush=True)
    if rows:
        report(rows, reason)
    for line in failed:
        print(line)


if __name__ == '__main__':
    main()
