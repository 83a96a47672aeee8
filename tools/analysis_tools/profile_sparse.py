"""Where SR-UNet34's training step spends its time on CPU, and its GEMM FLOP rate.

    python tools/analysis_tools/profile_sparse.py --profile [--voxels 20000 80000 200000]
        [--repeats 2] [--threads N] [--config configs/ppkt/srunet34_synthetic.py]

For each size, the PPKT student backbone of configs/ppkt/srunet34_synthetic.py (SR-UNet34,
96-d output, train mode) runs on the surface-like room voxels of benchmark_sparse.py
(2.5 cm, RGB features, exactly that many voxels).  A step is: a new SparseTensor (so the
kernel maps are built as for a new batch), forward, mean square of the output, backward.
After one warm-up step, ``--repeats`` rounds alternate: a step without the profiler, a step
under ``torch.profiler`` (CPU activity), and ``torch.mm`` on (N x 64) @ (64 x 64) and
(N x 256) @ (256 x 256), N = the voxel count.  Each figure is the minimum over the rounds;
the table's parts come from the round whose profiled step was shortest.

Parts of the profiled step (the sparse convolution's labels, crosspt.ops.sparse_tensor
``PROFILE_LABELS``, and the profiler's own aten ops outside them):
  * kernel map: coordinate hashing / sorting, index grids, neighbour look-ups, map sorting;
  * gather, GEMM (with the weight gradient's zeroed buffer), scatter (-add, with the
    zeroed output buffers), forward and backward;
  * BatchNorm and ReLU: aten ops named ``*batch_norm*`` / ``*relu*``, ``threshold_backward``;
  * other: every other aten op (residual adds, concatenation, bias, loss, gradient
    accumulation);
  * untraced: the profiled step minus all parts (Python between ops, autograd bookkeeping,
    the profiler's own cost).
An op counts as backward when it runs under an ``autograd::engine::evaluate_function``.

GEMM FLOPs are counted, not timed: ``2 * P * C_in * C_out`` per conv call, P the sum of its
kernel map's pair counts (the identity offset pairs every voxel), once for the forward and
once per gradient the backward computes (input features unless they are the data, and the
weight).  Achieved GEMM FLOP/s = FLOPs / (GEMM fwd + GEMM bwd seconds); overall FLOP/s =
FLOPs / the step without profiler; the ratio is GEMM FLOP/s over the faster mm rate.
"""
import argparse
import os
import os.path as osp
import platform
import sys
import time
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from benchmark_sparse import surface_voxels  # noqa: E402
from crosspt.ops import SparseConv3d, SparseTensor  # noqa: E402
from crosspt.ops.sparse_tensor import PROFILE_LABELS  # noqa: E402

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG = osp.join(REPO, 'configs', 'ppkt', 'srunet34_synthetic.py')
STEP_LABEL = 'crosspt.profile_step'
BACKWARD_PREFIX = 'autograd::engine::evaluate_function'
PART_OF_LABEL = {label: part for part, label in PROFILE_LABELS.items()}
PARTS = ['kernel map'] + [f'{p} {d}' for d in ('fwd', 'bwd')
                          for p in ('gather', 'GEMM', 'scatter', 'BatchNorm', 'ReLU', 'other')]
MM_WIDTHS = (64, 256)


def build_backbone(config: str = CONFIG) -> nn.Module:
    """``model.backbone`` of ``config``, built in train mode with seed 0."""
    from mmengine.config import Config

    import crosspt.models  # noqa: F401  (registers SRUNet)
    from crosspt.registry import MODELS
    cfg = Config.fromfile(config)
    if 'backbone' not in cfg.get('model', {}):
        raise KeyError(f'{config}: no model.backbone to profile')
    torch.manual_seed(0)
    return MODELS.build(cfg.model.backbone).train()


# ----------------------------------------------------------------------------- FLOPs
def conv_gemm_flops(conv: SparseConv3d, x: SparseTensor) -> int:
    """GEMM FLOPs of ``conv`` on ``x`` in forward + backward, from the kernel map it used
    (read from ``x.cache``; call after the forward)."""
    key = (conv.stride, conv.kernel_size, conv.dilation, conv.transposed)
    if key not in x.cache:
        raise KeyError(f'conv_gemm_flops: no kernel map {key} in the input cache (backend '
                       f'{conv.backend!r}; call after the forward)')
    pairs = sum(in_idx.numel() for in_idx, _ in x.cache[key][2])
    passes = 1
    if torch.is_grad_enabled():
        passes += int(x.feats.requires_grad) + int(conv.weight.requires_grad)
    return 2 * pairs * conv.in_channels * conv.out_channels * passes


class GemmFlopCounter:
    """Sums :func:`conv_gemm_flops` over every SparseConv3d call in ``model`` (itself
    included) through forward hooks; ``close()`` removes them."""

    def __init__(self, model: nn.Module) -> None:
        self.total = 0
        self.handles = [m.register_forward_hook(self._hook) for m in model.modules()
                        if isinstance(m, SparseConv3d)]

    def _hook(self, conv: SparseConv3d, args: tuple, output: SparseTensor) -> None:
        self.total += conv_gemm_flops(conv, args[0])

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


# ----------------------------------------------------------------------------- parts
def aten_part(name: str, backward: bool) -> str:
    """Table part of an unlabelled aten op."""
    if 'batch_norm' in name:
        kind = 'BatchNorm'
    elif 'relu' in name or name == 'aten::threshold_backward':
        kind = 'ReLU'
    else:
        kind = 'other'
    return f'{kind} {"bwd" if backward else "fwd"}'


def attribute(event, backward: bool, seconds: Dict[str, float], counts: Dict[str, int]) -> None:
    """Add the inclusive time of the outermost labelled range or aten op on every path
    below ``event`` to its part; descend through anything else (autograd nodes)."""
    for child in event.cpu_children:
        name = child.name
        in_bwd = backward or name.startswith(BACKWARD_PREFIX)
        part = PART_OF_LABEL.get(name)
        if part is None and name.startswith('aten::'):
            part = aten_part(name, in_bwd)
        if part is None:
            attribute(child, in_bwd, seconds, counts)
            continue
        seconds[part] += child.time_range.elapsed_us() * 1e-6
        counts[part] += 1


def step_parts(events) -> Tuple[float, Dict[str, float], Dict[str, int]]:
    """(profiled step seconds, seconds per part incl. 'untraced', ranges per part) of the
    :data:`STEP_LABEL` event in a profiler's event list."""
    steps = [e for e in events if e.name == STEP_LABEL]
    if len(steps) != 1:
        raise RuntimeError(f'profile_sparse: expected one {STEP_LABEL!r} range, got '
                           f'{len(steps)}')
    seconds = dict.fromkeys(PARTS, 0.0)
    counts = dict.fromkeys(PARTS, 0)
    attribute(steps[0], False, seconds, counts)
    total = steps[0].time_range.elapsed_us() * 1e-6
    seconds['untraced'] = total - sum(seconds.values())
    return total, seconds, counts


# ----------------------------------------------------------------------------- timing
def train_step(model: nn.Module, coords: torch.Tensor, feats: torch.Tensor) -> float:
    """Seconds of one step: new SparseTensor, forward, loss, backward (grads then dropped)."""
    start = time.perf_counter()
    model(SparseTensor(coords, feats)).feats.square().mean().backward()
    seconds = time.perf_counter() - start
    model.zero_grad(set_to_none=True)
    return seconds


def profile_step_events(model: nn.Module, coords: torch.Tensor, feats: torch.Tensor):
    """The event list of one step under ``torch.profiler`` (CPU), in a :data:`STEP_LABEL`
    range."""
    from torch.profiler import ProfilerActivity, profile, record_function
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        with record_function(STEP_LABEL):
            model(SparseTensor(coords, feats)).feats.square().mean().backward()
    model.zero_grad(set_to_none=True)
    return prof.events()


def profiled_step(model: nn.Module, coords: torch.Tensor,
                  feats: torch.Tensor) -> Tuple[float, Dict[str, float], Dict[str, int]]:
    """:func:`step_parts` of one profiled step."""
    return step_parts(profile_step_events(model, coords, feats))


def matmul_rate(rows: int, width: int) -> float:
    """FLOP/s of ``torch.mm`` (rows x width) @ (width x width), best of 3 after a warm-up."""
    a, b = torch.randn(rows, width), torch.randn(width, width)
    torch.mm(a, b)
    best = float('inf')
    for _ in range(3):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * rows * width * width / best


def measure(model: nn.Module, voxels: int, repeats: int) -> Dict:
    """One size: the warm-up step counts the FLOPs, then ``repeats`` alternated rounds."""
    st = surface_voxels(voxels, seed=voxels)
    coords, feats = st.coords, st.feats
    counter = GemmFlopCounter(model)
    train_step(model, coords, feats)
    counter.close()
    row: Dict = dict(voxels=voxels, flops=counter.total, plain=float('inf'),
                     profiled=float('inf'), mm={w: 0.0 for w in MM_WIDTHS})
    for _ in range(repeats):
        row['plain'] = min(row['plain'], train_step(model, coords, feats))
        total, seconds, counts = profiled_step(model, coords, feats)
        if total < row['profiled']:
            row.update(profiled=total, seconds=seconds, counts=counts)
        for width in MM_WIDTHS:
            row['mm'][width] = max(row['mm'][width], matmul_rate(voxels, width))
    gemm = row['seconds']['GEMM fwd'] + row['seconds']['GEMM bwd']
    row['gemm_rate'] = row['flops'] / gemm if gemm > 0 else float('nan')
    row['overall_rate'] = row['flops'] / row['plain']
    row['ratio'] = row['gemm_rate'] / max(row['mm'].values())
    return row


# ----------------------------------------------------------------------------- report
def table_lines(rows: List[Dict]) -> List[str]:
    """The markdown table: per part seconds and % of the profiled step, then the totals."""
    head = ''.join(f' {r["voxels"] / 1000:g}k s | % |' for r in rows)
    lines = [f'| part |{head}', '|---|' + '---|---|' * len(rows)]
    for part in PARTS + ['untraced']:
        cells = ''.join(f' {r["seconds"][part]:.3f} | '
                        f'{100 * r["seconds"][part] / r["profiled"]:.1f} |' for r in rows)
        lines.append(f'| {part} |{cells}')

    def line(label: str, values: List[str]) -> str:
        return f'| {label} |' + ''.join(f' {v} | |' for v in values)

    lines.append(line('step, profiled (s)', [f'{r["profiled"]:.3f}' for r in rows]))
    lines.append(line('step, no profiler (s)', [f'{r["plain"]:.3f}' for r in rows]))
    lines.append(line('GEMM GFLOP (counted)', [f'{r["flops"] / 1e9:.2f}' for r in rows]))
    lines.append(line('GEMM GFLOP/s', [f'{r["gemm_rate"] / 1e9:.2f}' for r in rows]))
    lines.append(line('overall GFLOP/s', [f'{r["overall_rate"] / 1e9:.2f}' for r in rows]))
    for width in MM_WIDTHS:
        lines.append(line(f'torch.mm (N x {width}) @ ({width} x {width}) GFLOP/s',
                          [f'{r["mm"][width] / 1e9:.2f}' for r in rows]))
    lines.append(line('GEMM GFLOP/s / best mm', [f'{r["ratio"]:.2f}' for r in rows]))
    return lines


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return ' '.join(f'{v:.2f}' for v in os.getloadavg())


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--profile', action='store_true',
                        help='profile SR-UNet34 forward + backward (the only mode)')
    parser.add_argument('--voxels', type=int, nargs='+', default=[20000, 80000, 200000])
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: torch default)')
    parser.add_argument('--config', default=CONFIG, help='config whose model.backbone runs')
    args = parser.parse_args(argv)
    if not args.profile:
        parser.error('nothing to do: pass --profile')
    if args.repeats < 1 or min(args.voxels) < 1:
        parser.error('--repeats and --voxels must be >= 1')
    if args.threads:
        torch.set_num_threads(args.threads)
    model = build_backbone(args.config)
    print(f'torch {torch.__version__}, threads {torch.get_num_threads()}, usable CPUs '
          f'{len(os.sched_getaffinity(0))}, python {platform.python_version()}; backbone of '
          f'{osp.relpath(args.config, REPO)}; min of {args.repeats} alternated rounds; '
          f'load average {load_average()} at the start', flush=True)
    rows = []
    for n in args.voxels:
        start = time.perf_counter()
        rows.append(measure(model, n, args.repeats))
        print(f'  {n} voxels done in {time.perf_counter() - start:.0f} s', flush=True)
    print('\n'.join(table_lines(rows)))
    print(f'load average {load_average()} at the end')


if __name__ == '__main__':
    main()
