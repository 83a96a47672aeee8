"""Parameters and FLOPs of crosspt models, in total and per top-level submodule.

    python tools/analysis_tools/get_flops.py CONFIG [CONFIG ...] [--num-points N]
        [--batch-size 1] [--mode loss|tensor] [--counter auto|jit|dispatch]
        [--out table.png] [--cfg-options k=v ...]

For every config the model is built from crosspt's registries (no weights are loaded:
counts do not depend on them; a PPKT 2D teacher is built randomly initialised instead of
reading its checkpoint) and one forward of a dummy batch is traced:

* the batch has the shapes the config's *training* pipeline produces (its last
  ``num_points`` setting, the feature channels of the pack transform's
  ``feature_keys``, TAP's ``num_views`` x ``image_size`` views, PPKT's crop ``size``,
  the 2D teacher's crop ``size``), ``--batch-size`` samples (default 1);
  ``--num-points`` overrides the point count (for a sparse PPKT student, whose voxel
  count the pipeline does not fix, it sets the number of voxels of the dummy scene, a
  one-voxel-thick wavy surface, default 16384: every voxel has at most 9 occupied 3x3x3
  neighbours, itself included; scans, thickened by depth noise, have more, so their
  sparse-convolution FLOPs per voxel are higher);
* it goes through the model's data preprocessor, then ``model(inputs, data_samples,
  mode)`` is traced: ``--mode loss`` (default) is the training forward (TAP's 2D
  generator and loss included), ``--mode tensor`` the model's tensor mode (TAP, PPKT:
  the point backbone only; classifiers and segmentors: the logits).

FLOPs follow ``mmengine.analysis.FlopAnalyzer``'s rules, which count **one
multiply-add as one FLOP**: a Linear layer of ``in -> out`` channels on M rows is
``M * in * out``, a convolution ``batch * prod(weight.shape) * prod(output spatial)``,
attention ``softmax(Q K^T) V`` (a rule added here) ``B * H * L * S * (E + E_v)``;
normalisation, bilinear/nearest upsampling and adaptive pooling get FlopAnalyzer's small
per-element counts.  ``--counter auto`` (default) traces the forward with FlopAnalyzer
(TAP traces, with every backbone, and gives the dispatcher's figures) and, when the JIT
tracer cannot follow the model, applies the same rules to every ATen call at the
dispatcher instead (``dispatch``); the table names the counter used and why.  The
dispatcher is the right counter for crosspt's sparse convolution (SR-UNet, PPKT): its
matrix products run inside an autograd Function, which a JIT trace records as one opaque
``prim::PythonOp`` (no FLOPs), and their number depends on the kernel map, a Python
object no JIT handle sees; the dispatcher sees each product and counts
``sum_k P_k * C_in * C_out`` over the kernel offsets k with P_k active pairs.  Operators
that do no arithmetic (views, copies, indexing, comparisons) count 0 under both
counters; every other operator without a rule (element-wise arithmetic, softmax, top-k,
...) is listed under "not counted" with how often it ran, never dropped silently.  The per-submodule FLOPs attribute an operator to the top-level
submodule whose ``__call__`` ran it; operators run by the model's own methods (e.g.
PPKT's pixel sampling), and parameters registered on the model itself, form the row
"(model's own)".

Configs whose ``default_scope`` is not ``crosspt`` (the mmdet3d-scoped 3DETR and
ScanNet segmentation benchmarks) take mmdet3d ``Det3DDataSample`` batches; they are
skipped with a message naming the config.

Prints one markdown summary table and one breakdown table per config; ``--out`` writes a
PNG with stacked bars of parameters and FLOPs per submodule for every config.
"""
import argparse
import math
import os
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from mmengine.config import Config, DictAction  # noqa: E402

# the counting and the dummy inputs live in sibling modules; their names stay importable
# from here
from flop_count import OWN_OPS, FlopReport, count_flops, count_parameters  # noqa: E402,F401
from flop_inputs import InputSpec, dummy_batch, input_spec  # noqa: E402,F401


# ----------------------------------------------------------------------------- configs
@dataclass
class ConfigReport:
    """Everything printed / plotted for one config (``skipped`` set: nothing else)."""
    config: str
    skipped: Optional[str] = None
    model_type: str = ''
    mode: str = 'loss'
    batch_size: int = 1
    spec: Optional[InputSpec] = None
    params: Dict[str, Tuple[int, int]] = field(default_factory=dict)
    flops: Optional[FlopReport] = None
    notes: List[str] = field(default_factory=list)
    counter: str = 'auto'


def random_teachers(model_cfg: Any, notes: List[str]) -> None:
    """Build PPKT-style 2D teachers randomly initialised (no checkpoint read)."""
    from crosspt.apis.inference import release_teacher_checkpoints
    for entry in release_teacher_checkpoints(model_cfg):
        notes.append(f'{entry}: ImageTeacher built without its checkpoint; the figures here '
                     f'do not depend on its weights')


def build_model(cfg: Config, notes: List[str]) -> nn.Module:
    """``cfg.model`` built in crosspt's scope, without loading any weights."""
    from mmengine.registry import DefaultScope

    import crosspt.models  # noqa: F401
    from crosspt.registry import MODELS

    model_cfg = cfg.model.copy()
    random_teachers(model_cfg, notes)
    with DefaultScope.overwrite_default_scope('crosspt'):
        return MODELS.build(model_cfg)


def analyze_config(path: str, mode: str = 'loss', num_points: Optional[int] = None,
                   batch_size: int = 1, cfg_options: Optional[dict] = None,
                   counter: str = 'auto', seed: int = 0) -> ConfigReport:
    """Build ``path``'s model, count its parameters and the FLOPs of one ``mode``
    forward of a dummy batch (see the module docstring)."""
    from crosspt.utils import check_cfg_options

    if not osp.isfile(path):
        raise FileNotFoundError(f'get_flops: config file not found: {path}')
    # custom_imports only once the config is known to be analysed (mmdet3d's are slow)
    cfg = Config.fromfile(path, import_custom_modules=False)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    report = ConfigReport(config=path, mode=mode, batch_size=batch_size)
    scope = cfg.get('default_scope', 'crosspt')
    if scope != 'crosspt':
        report.skipped = (f"default_scope={scope!r}: its model takes {scope} data samples "
                          "(Det3DDataSample batches), which this tool does not synthesise; "
                          'count it inside that framework')
        return report
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    if 'model' not in cfg:
        raise KeyError(f'{path}: no `model` key')
    report.spec = input_spec(cfg, path, num_points)
    report.notes.extend(report.spec.notes)
    torch.manual_seed(seed)
    model = build_model(cfg, report.notes)
    model.eval()
    report.model_type = type(model).__name__
    report.params = count_parameters(model)
    data = model.data_preprocessor(dummy_batch(report.spec, batch_size, seed), False)
    report.flops = count_flops(model, data['inputs'], data.get('data_samples'), mode, counter)
    if report.flops.note:
        report.notes.append(report.flops.note)
    return report


# ----------------------------------------------------------------------------- output
def short_name(path: str) -> str:
    """``.../configs/tap/pointmlp_synthetic.py`` -> ``tap/pointmlp_synthetic`` (the part
    after ``configs/``, else the file name), without ``.py``."""
    parts = osp.normpath(path).split(os.sep)
    if 'configs' in parts[:-1]:
        parts = parts[len(parts) - 1 - parts[::-1].index('configs') + 1:]
    else:
        parts = parts[-1:]
    name = '/'.join(parts)
    return name[:-3] if name.endswith('.py') else name


def human(value: float, unit: str = '') -> str:
    """1234567 -> '1.235 M' (k, M, G, T)."""
    for scale, prefix in ((1e12, 'T'), (1e9, 'G'), (1e6, 'M'), (1e3, 'k')):
        if abs(value) >= scale:
            return f'{value / scale:.3f} {prefix}{unit}'
    return f'{value:.0f} {unit}'.rstrip()


def markdown(reports: Sequence[ConfigReport]) -> str:
    """The summary table, then one breakdown table per analysed config."""
    lines = ['| config | model | forward | input | params | trainable | FLOPs | counter |',
             '|---|---|---|---|---:|---:|---:|---|']
    for r in reports:
        name = short_name(r.config)
        if r.skipped:
            lines.append(f'| {name} | skipped | | {r.skipped} | | | | |')
            continue
        total, trainable = r.params['total']
        lines.append(f'| {name} | {r.model_type} | {r.mode} | '
                     f'{r.spec.describe(r.batch_size)} | {human(total)} | '
                     f'{human(trainable)} | {human(r.flops.total, "FLOPs")} | '
                     f'{r.flops.counter} |')
    for r in reports:
        if r.skipped:
            continue
        lines += ['', f'### {short_name(r.config)} ({r.model_type}, {r.mode} forward, '
                  f'batch {r.batch_size})', '',
                  '| submodule | params | trainable | FLOPs | share of FLOPs |',
                  '|---|---:|---:|---:|---:|']
        names = [k for k in r.params if k != 'total']
        names += [k for k in r.flops.by_module if k not in names]
        for name in names:
            total, trainable = r.params.get(name, (0, 0))
            flops = r.flops.by_module.get(name, 0)
            share = f'{100 * flops / r.flops.total:.1f} %' if r.flops.total else '-'
            lines.append(f'| {name} | {human(total)} | {human(trainable)} | '
                         f'{human(flops, "FLOPs")} | {share} |')
        total, trainable = r.params['total']
        lines.append(f'| **total** | {human(total)} | {human(trainable)} | '
                     f'{human(r.flops.total, "FLOPs")} | |')
        for note in r.notes:
            lines.append(f'- {note}')
        if r.flops.not_counted:
            ops = ', '.join(f'{op} x{n}' for op, n in r.flops.not_counted.items())
            lines.append(f'- not counted (no FLOP rule; calls): {ops}')
    return '\n'.join(lines)


def plot(reports: Sequence[ConfigReport], out: str) -> None:
    """Stacked horizontal bars: parameters (M) and FLOPs (G) per submodule, one bar per
    analysed config."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    done = [r for r in reports if not r.skipped]
    if not done:
        raise ValueError('get_flops: every config was skipped; nothing to plot')
    names = [short_name(r.config) for r in done]
    parts: List[str] = []                  # submodules with parameters or FLOPs somewhere
    for r in done:
        for name in list(r.params) + list(r.flops.by_module):
            if name != 'total' and name not in parts and (
                    r.params.get(name, (0, 0))[0] or r.flops.by_module.get(name, 0)):
                parts.append(name)
    colours = plt.get_cmap('tab10' if len(parts) <= 10 else 'tab20')
    height = max(3.0, 0.4 * len(done) + 2.0)
    fig, axes = plt.subplots(1, 2, figsize=(14, height), sharey=True)
    y = np.arange(len(done))
    for ax, what, scale, unit in ((axes[0], 'params', 1e6, 'parameters (M)'),
                                  (axes[1], 'flops', 1e9, 'GFLOPs (1 multiply-add = 1)')):
        left = np.zeros(len(done))
        for i, part in enumerate(parts):
            if what == 'params':
                values = np.array([r.params.get(part, (0, 0))[0] for r in done]) / scale
            else:
                values = np.array([r.flops.by_module.get(part, 0) for r in done]) / scale
            if not values.any():
                continue
            ax.barh(y, values, left=left, color=colours(i % colours.N), label=part)
            left += values
        for yi, total in zip(y, left):
            ax.text(total, yi, f' {total:.3g}', va='center', fontsize=8)
        ax.set_xlabel(unit)
        ax.set_xlim(0, left.max() * 1.18 if left.max() > 0 else 1)
        ax.grid(axis='x', alpha=0.3)
    axes[0].set_yticks(y, names, fontsize=9)
    axes[0].set_title('parameters per submodule')
    modes = sorted({f'{r.mode} forward, batch {r.batch_size}' for r in done})
    axes[1].set_title(f'FLOPs per submodule ({"; ".join(modes)})')
    handles, labels = {}, []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in handles:
                handles[lab] = h
                labels.append(lab)
    for ax in axes:
        ax.set_ylim(len(done) - 0.5, -0.5)
    ncol = min(len(labels), 6)
    legend_inches = 0.25 + 0.24 * math.ceil(len(labels) / ncol)
    fig.legend([handles[lab] for lab in labels], labels, loc='lower center',
               bbox_to_anchor=(0.5, 0.0), ncol=ncol, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, legend_inches / height, 1, 1))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Parameters and FLOPs of crosspt configs')
    parser.add_argument('configs', nargs='+', help='config file(s)')
    parser.add_argument('--num-points', type=int, default=None,
                        help="points (or a sparse student's voxels) per sample; default: "
                        "the training pipeline's num_points")
    parser.add_argument('--batch-size', type=int, default=1, help='samples in the dummy batch')
    parser.add_argument('--mode', choices=['loss', 'tensor'], default='loss',
                        help="forward to count: 'loss' = training forward (default), "
                        "'tensor' = the model's tensor mode")
    parser.add_argument('--counter', choices=['auto', 'jit', 'dispatch'], default='auto',
                        help="'jit' = mmengine FlopAnalyzer, 'dispatch' = the same rules at "
                        "the ATen dispatcher, 'auto' = jit, dispatch when tracing fails")
    parser.add_argument('--out', help='PNG with parameter and FLOP bars')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys of every config')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[ConfigReport]:
    args = parse_args(argv)
    torch.set_grad_enabled(False)
    reports = []
    for path in args.configs:
        report = analyze_config(path, args.mode, args.num_points, args.batch_size,
                                args.cfg_options, args.counter)
        if report.skipped:
            print(f'skipped {path}: {report.skipped}')
        reports.append(report)
    print(markdown(reports))
    if args.out:
        plot(reports, args.out)
        print(f'wrote {args.out}')
    return reports


if __name__ == '__main__':
    main()
