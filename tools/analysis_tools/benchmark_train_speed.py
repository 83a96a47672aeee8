"""Training speed of configs: data loading and optimisation step timed separately.

    python tools/analysis_tools/benchmark_train_speed.py CONFIG [CONFIG ...] [--iters 5]
        [--warmup 2] [--batch-size B] [--num-workers 0] [--threads T] [--out speed.png]
        [--json-out speed.json] [--cfg-options k=v ...]

For each config the model, the training dataloader and the optim wrapper are built from
the config (in its ``default_scope``, after its ``custom_imports``, as the Runner would;
embedded data are generated on first use while the dataset is built, before any timing).
No weights are loaded (``init_weights`` is not called; a PPKT 2D teacher is built
randomly initialised instead of reading its checkpoint): timings do not depend on them.

Each of ``--warmup`` + ``--iters`` iterations times

* data: ``next()`` on the dataloader (loading, transforms, collation; the iterator is
  restarted at the end of an epoch, as in training),
* step: ``model.train_step(batch, optim_wrapper)`` (data preprocessor, forward, loss,
  backward, optimizer step, zero_grad),

and the ``--iters`` iterations after the warm-up are averaged.  Data loading runs in the
main process by default (``--num-workers 0``), so "data" is the full cost of a batch, not
the wait for background workers; ``--num-workers N`` measures the config's setting.
Reported: s/iter (data + step), samples/s (= batch size / s per iter) and the peak
resident set size of the process (``crosspt.utils.benchmark.max_rss_mb``; it includes
dataset caches and memory the allocator keeps).  With several configs each runs in its
own subprocess (so every peak RSS is that config's alone), and the table adds each
config's ratio to the first one (s/iter and samples/s).  ``--out`` writes a PNG with
the s/iter split into data and step, samples/s and peak RSS.
"""
import argparse
import json
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper
    from torch import nn
    from torch.utils.data import DataLoader

HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(HERE))
for path in (REPO_ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)


@dataclass
class SpeedResult:
    """Timings of one config (seconds; per iteration unless named otherwise)."""
    config: str
    batch_size: int
    iters: int
    warmup: int
    threads: int
    num_workers: int
    data_times: List[float] = field(default_factory=list)
    step_times: List[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    notes: List[str] = field(default_factory=list)

    @property
    def data_time(self) -> float:
        return statistics.fmean(self.data_times)

    @property
    def step_time(self) -> float:
        return statistics.fmean(self.step_times)

    @property
    def iter_time(self) -> float:
        return self.data_time + self.step_time

    @property
    def iter_std(self) -> float:
        totals = [d + s for d, s in zip(self.data_times, self.step_times)]
        return statistics.pstdev(totals) if len(totals) > 1 else 0.0

    @property
    def samples_per_s(self) -> float:
        return self.batch_size / self.iter_time


def prepare_config(path: str, batch_size: Optional[int], num_workers: int,
                   cfg_options: Optional[Dict[str, Any]]) -> 'Config':
    """Read ``path`` with checked ``--cfg-options`` and apply the benchmark's loader
    settings (batch size, workers; ``persistent_workers`` only with workers)."""
    from crosspt.utils import load_tool_config

    cfg = load_tool_config(path, cfg_options, work_dir=None)
    if 'train_dataloader' not in cfg or 'optim_wrapper' not in cfg:
        raise KeyError(f'{path}: needs train_dataloader and optim_wrapper to benchmark '
                       'training')
    loader = cfg.train_dataloader
    if batch_size is not None:
        if batch_size < 1:
            raise ValueError(f'--batch-size must be >= 1, got {batch_size}')
        loader.batch_size = batch_size
    if num_workers < 0:
        raise ValueError(f'--num-workers must be >= 0, got {num_workers}')
    loader.num_workers = num_workers
    loader.persistent_workers = num_workers > 0
    if num_workers == 0:
        loader.pop('prefetch_factor', None)
    return cfg


def build_pieces(cfg: 'Config', notes: List[str]) -> Tuple['nn.Module', 'DataLoader',
                                                           'OptimWrapper']:
    """(model in train mode, train dataloader, optim wrapper) in the config's scope."""
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, DefaultScope
    from mmengine.runner import Runner
    from mmengine.utils import import_modules_from_strings

    import crosspt.engine  # noqa: F401  (crosspt's loops, hooks, optimizers)
    from get_flops import random_teachers

    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    scope = cfg.get('default_scope', 'crosspt')
    # keep the optim constructor's per-parameter INFO lines out of the report
    MMLogger.get_instance('benchmark_train_speed', log_level='WARNING')
    model_cfg = cfg.model.copy()
    random_teachers(model_cfg, notes)
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(model_cfg)
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    return model, loader, optim_wrapper


def benchmark(path: str, iters: int = 5, warmup: int = 2, batch_size: Optional[int] = None,
              num_workers: int = 0, threads: Optional[int] = None,
              cfg_options: Optional[Dict[str, Any]] = None) -> SpeedResult:
    """Time ``warmup + iters`` training iterations of ``path`` in this process."""
    import torch

    from crosspt.utils.benchmark import max_rss_mb

    if iters < 1 or warmup < 0:
        raise ValueError(f'--iters must be >= 1 and --warmup >= 0, got {iters}, {warmup}')
    if threads is not None:
        if threads < 1:
            raise ValueError(f'--threads must be >= 1, got {threads}')
        torch.set_num_threads(threads)
    cfg = prepare_config(path, batch_size, num_workers, cfg_options)
    result = SpeedResult(config=path, batch_size=int(cfg.train_dataloader.batch_size),
                         iters=iters, warmup=warmup, threads=torch.get_num_threads(),
                         num_workers=num_workers)
    torch.manual_seed(0)
    model, loader, optim_wrapper = build_pieces(cfg, result.notes)
    if len(loader) == 0:
        raise ValueError(f'{path}: the training dataloader yields no batch (dataset of '
                         f'{len(loader.dataset)} samples, batch size {result.batch_size}, '
                         f'drop_last={loader.drop_last})')
    iterator = iter(loader)
    for i in range(warmup + iters):
        start = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:
            iterator = iter(loader)
            batch = next(iterator)
        loaded = time.perf_counter()
        model.train_step(batch, optim_wrapper)
        done = time.perf_counter()
        if i >= warmup:
            result.data_times.append(loaded - start)
            result.step_times.append(done - loaded)
    result.peak_rss_mb = max_rss_mb()
    return result


def benchmark_in_subprocess(path: str, args: argparse.Namespace) -> SpeedResult:
    """Run :func:`benchmark` for ``path`` in a fresh interpreter (own peak RSS)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'result.json')
        cmd = [sys.executable, osp.abspath(__file__), path, '--iters', str(args.iters),
               '--warmup', str(args.warmup), '--num-workers', str(args.num_workers),
               '--worker-json', out]
        if args.batch_size is not None:
            cmd += ['--batch-size', str(args.batch_size)]
        if args.threads is not None:
            cmd += ['--threads', str(args.threads)]
        if args.cfg_options:
            cmd += ['--cfg-options'] + [f'{k}={_option(v)}' for k, v in
                                        args.cfg_options.items()]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-3000:]
            raise RuntimeError(f'benchmark of {path} failed:\n{tail}')
        with open(out) as f:
            return SpeedResult(**json.load(f))


def _option(value: Any) -> str:
    """A parsed --cfg-options value written back in DictAction's syntax."""
    if isinstance(value, (list, tuple)):
        inner = ','.join(_option(v) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner})'
    return str(value)


def short_name(path: str) -> str:
    """The config path after ``configs/`` without ``.py`` (see get_flops.short_name)."""
    from get_flops import short_name as name
    return name(path)


def table(results: Sequence[SpeedResult]) -> str:
    """Markdown table; ratio columns relative to the first result."""
    first = results[0]
    lines = ['| config | batch | data s/iter | step s/iter | s/iter | samples/s | peak RSS MiB '
             '| s/iter vs first | samples/s vs first |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for r in results:
        lines.append(
            f'| {short_name(r.config)} | {r.batch_size} | {r.data_time:.4f} | '
            f'{r.step_time:.4f} | {r.iter_time:.4f} ± {r.iter_std:.4f} | '
            f'{r.samples_per_s:.2f} | {r.peak_rss_mb:.0f} | '
            f'{r.iter_time / first.iter_time:.2f}x | '
            f'{r.samples_per_s / first.samples_per_s:.2f}x |')
    settings = {(r.iters, r.warmup, r.threads, r.num_workers) for r in results}
    for iters, warmup, threads, workers in sorted(settings):
        lines.append(f'\n{iters} timed iterations after {warmup} warm-up, {threads} '
                     f'thread(s), {workers} dataloader worker(s)')
    for r in results:
        for note in r.notes:
            lines.append(f'- {short_name(r.config)}: {note}')
    return '\n'.join(lines)


def plot(results: Sequence[SpeedResult], out: str) -> None:
    """Three panels: s/iter split into data and step, samples/s, peak RSS."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    names = [short_name(r.config) for r in results]
    y = np.arange(len(results))
    height = max(3.0, 0.5 * len(results) + 2.0)
    fig, axes = plt.subplots(1, 3, figsize=(15, height), sharey=True)
    data = np.array([r.data_time for r in results])
    step = np.array([r.step_time for r in results])
    axes[0].barh(y, data, color='tab:orange', label='data loading')
    axes[0].barh(y, step, left=data, color='tab:blue', label='optimisation step',
                 xerr=[r.iter_std for r in results], capsize=3)
    axes[0].set_xlabel('seconds per iteration')
    axes[0].set_title('time per iteration (mean ± std)')
    panels = ((axes[1], [r.samples_per_s for r in results], 'samples / s', 'throughput',
               'tab:green'),
              (axes[2], [r.peak_rss_mb for r in results], 'MiB', 'peak RSS', 'tab:gray'))
    for ax, values, xlabel, title, colour in panels:
        ax.barh(y, values, color=colour)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
    labels = ([f' {r.iter_time:.3g} s (data {r.data_time:.2g} s)' for r in results],
              [f' {r.samples_per_s:.3g}' for r in results],
              [f' {r.peak_rss_mb:.0f}' for r in results])
    ends = (data + step + np.array([r.iter_std for r in results]),
            np.array([r.samples_per_s for r in results]),
            np.array([r.peak_rss_mb for r in results]))
    for ax, texts, values, room in zip(axes, labels, ends, (1.6, 1.25, 1.25)):
        for yi, value, text in zip(y, values, texts):
            ax.text(value, yi, text, va='center', fontsize=8)
        top = float(values.max())
        ax.set_xlim(0, top * room if top > 0 else 1)
        ax.grid(axis='x', alpha=0.3)
        ax.set_ylim(len(results) - 0.5, -0.5)
    axes[0].set_yticks(y, names, fontsize=9)
    r0 = results[0]
    fig.suptitle(f'training speed: batch {r0.batch_size}, {r0.iters} iterations after '
                 f'{r0.warmup} warm-up, {r0.threads} thread(s), {r0.num_workers} worker(s)',
                 fontsize=11)
    fig.legend(*axes[0].get_legend_handles_labels(), loc='lower center', ncol=2,
               fontsize=9, frameon=False, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.45 / height, 1, 1))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='Benchmark training speed of configs')
    parser.add_argument('configs', nargs='+', help='config file(s)')
    parser.add_argument('--iters', type=int, default=5, help='timed iterations')
    parser.add_argument('--warmup', type=int, default=2, help='untimed iterations first')
    parser.add_argument('--batch-size', type=int, help="override the config's batch size")
    parser.add_argument('--num-workers', type=int, default=0,
                        help='dataloader workers (default 0: loading in the main process)')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads')
    parser.add_argument('--out', help='PNG with the timings')
    parser.add_argument('--json-out', help='write the results as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys of every config')
    parser.add_argument('--worker-json', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[SpeedResult]:
    args = parse_args(argv)
    if args.worker_json:
        result = benchmark(args.configs[0], args.iters, args.warmup, args.batch_size,
                           args.num_workers, args.threads, args.cfg_options)
        with open(args.worker_json, 'w') as f:
            json.dump(asdict(result), f)
        return [result]
    if len(args.configs) == 1:
        results = [benchmark(args.configs[0], args.iters, args.warmup, args.batch_size,
                             args.num_workers, args.threads, args.cfg_options)]
    else:
        results = []
        for path in args.configs:
            print(f'benchmarking {path} ...', flush=True)
            results.append(benchmark_in_subprocess(path, args))
    for r in results:
        bad = [v for v in r.data_times + r.step_times if not math.isfinite(v) or v < 0]
        if bad:
            raise RuntimeError(f'{r.config}: invalid timings {bad}')
    print(table(results))
    if args.json_out:
        with open(args.json_out, 'w') as f:
            json.dump([dict(asdict(r), data_time=r.data_time, step_time=r.step_time,
                            iter_time=r.iter_time, samples_per_s=r.samples_per_s)
                       for r in results], f, indent=1)
    if args.out:
        plot(results, args.out)
        print(f'wrote {args.out}')
    return results


if __name__ == '__main__':
    main()
