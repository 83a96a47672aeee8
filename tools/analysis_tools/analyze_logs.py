"""Loss / metric curves and training-time figures from mmengine's json logs.

    python tools/analysis_tools/analyze_logs.py plot_curve LOG [LOG ...] --keys loss view/loss
        [--legend a b] [--title T] [--out curves.png]
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG [LOG ...]

``LOG`` is ``<work_dir>/<timestamp>/vis_data/scalars.json`` (one JSON object per line,
written by mmengine's ``LocalVisBackend``) or a work dir, which stands for its newest
``<timestamp>/vis_data/scalars.json``.

Lines with an ``iter`` field are training lines (``step``, ``iter`` = global iteration,
``epoch`` in epoch-based runs, ``lr``, ``loss``, ``time``, ...); the others are
validation lines (metrics such as ``view/loss``, ``cls/oa``, ``mIoU`` plus ``step``).

``plot_curve`` draws one subplot per key and one curve per log.  A training key is
plotted against the iteration; a validation key against the line's ``step``, which
mmengine's ``LoggerHook`` sets to the epoch (``log_metric_by_epoch=True``, its
default) or to the iteration (``log_metric_by_epoch=False``).  An iteration-based run
that keeps the default logs every validation at step 0 (the epoch counter never moves);
when the validation steps of a log do not increase, or (in a run without epochs) lag
behind the iterations already logged, each validation line is placed at the iteration
of the training line logged before it instead, and a notice says so.
A key found in both kinds of line (``time``, ``data_time``) is read from the training
lines; prefix it with ``val:`` (``val:time``) for the validation ones.  A key missing
from a log raises a ``KeyError`` naming the file and listing the keys it has.

``cal_train_time`` prints, per log, the mean of the training lines' ``time`` (seconds per
iteration; each logged value is mmengine's mean over the logging window), the slowest
and fastest logged iteration, the mean ``data_time``, and the per-epoch mean in
epoch-based runs.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

VAL_PREFIX = 'val:'
TRAIN_PREFIX = 'train:'


@dataclass
class LogData:
    """One scalars.json.

    Attributes:
        path: the file read.
        train: training lines (have ``iter``), in file order.
        val: validation lines, in file order, each with ``_after_iter`` = the ``iter`` of
            the last training line before it (0 when none).
    """
    path: str
    train: List[dict] = field(default_factory=list)
    val: List[dict] = field(default_factory=list)

    @property
    def by_epoch(self) -> bool:
        return any('epoch' in r for r in self.train)

    def keys(self, which: str) -> List[str]:
        """Sorted keys of the 'train' or 'val' lines (bookkeeping fields excluded)."""
        records = self.train if which == 'train' else self.val
        skip = {'step', 'iter', 'epoch', '_after_iter'}
        return sorted({k for r in records for k in r if k not in skip})


def find_scalars(path: str) -> str:
    """``path`` itself if it is a file, else the newest ``<timestamp>/vis_data/
    scalars.json`` under the work dir ``path`` (newest = largest timestamp folder name,
    then latest modification time)."""
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise FileNotFoundError(f'analyze_logs: no such log file or work dir: {path}')
    found = glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json'))
    if not found:
        raise FileNotFoundError(f'analyze_logs: work dir {path} has no '
                                '<timestamp>/vis_data/scalars.json (is it an mmengine work '
                                'dir with LocalVisBackend?)')
    return max(found, key=lambda p: (osp.basename(osp.dirname(osp.dirname(p))),
                                     osp.getmtime(p)))


def load_log(path: str) -> LogData:
    """Read a scalars.json (or a work dir's newest one) into a :class:`LogData`.

    Raises:
        FileNotFoundError: nothing at ``path``.
        ValueError: a line that is not a JSON object (file and line number named).
    """
    path = find_scalars(path)
    log = LogData(path=path)
    last_iter = 0
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f'analyze_logs: {path} line {number} is not valid JSON '
                                 f'({error.msg})') from None
            if not isinstance(record, dict):
                raise ValueError(f'analyze_logs: {path} line {number} is a '
                                 f'{type(record).__name__}, expected a JSON object')
            if 'iter' in record:
                log.train.append(record)
                last_iter = record['iter']
            else:
                record['_after_iter'] = last_iter
                log.val.append(record)
    if not log.train and not log.val:
        raise ValueError(f'analyze_logs: {path} holds no log lines')
    return log


def _missing(log: LogData, key: str) -> KeyError:
    return KeyError(f'analyze_logs: key {key!r} is not in {log.path} (training keys: '
                    f'{", ".join(log.keys("train")) or "none"}; validation keys: '
                    f'{", ".join(log.keys("val")) or "none"})')


@dataclass
class Series:
    """One curve: ``x`` and ``y`` (NaN where a line lacks the value), the axis name of
    ``x`` and the notice, if any, about how ``x`` was chosen."""
    x: np.ndarray
    y: np.ndarray
    xlabel: str
    split: str
    notice: Optional[str] = None


def get_series(log: LogData, key: str) -> Series:
    """The curve of ``key`` in ``log`` (see the module docstring for the x axis).

    Raises:
        KeyError: ``key`` is in no line of the requested kind (names the file and the
            keys it has).
    """
    split = None
    name = key
    if key.startswith(VAL_PREFIX):
        split, name = 'val', key[len(VAL_PREFIX):]
    elif key.startswith(TRAIN_PREFIX):
        split, name = 'train', key[len(TRAIN_PREFIX):]
    in_train = any(name in r for r in log.train)
    in_val = any(name in r for r in log.val)
    if split is None:
        split = 'train' if in_train else 'val' if in_val else None
    if split is None or (split == 'train' and not in_train) or (split == 'val' and not in_val):
        raise _missing(log, key)
    if split == 'train':
        rows = [r for r in log.train if name in r]
        x = np.array([r['iter'] for r in rows], dtype=float)
        y = np.array([_number(r[name]) for r in rows], dtype=float)
        return Series(x, y, 'iteration', 'train')
    rows = [r for r in log.val if name in r]
    y = np.array([_number(r[name]) for r in rows], dtype=float)
    steps = np.array([r.get('step', math.nan) for r in rows], dtype=float)
    after = np.array([r['_after_iter'] for r in rows], dtype=float)
    increasing = len(steps) < 2 or bool(np.all(np.diff(steps) > 0))
    # an iteration-based run validates after iteration k at step >= k, unless its
    # LoggerHook logs metrics by epoch (then every step is 0)
    behind = not log.by_epoch and bool(np.any(steps < after))
    if increasing and not behind and not np.isnan(steps).any():
        return Series(steps, y, 'epoch' if log.by_epoch else 'iteration', 'val')
    notice = (f'{log.path}: the validation steps of {name!r} '
              f'({steps.tolist()[:6]}{"..." if len(steps) > 6 else ""}) do not follow the '
              "iterations (an iteration-based run with LoggerHook's default "
              'log_metric_by_epoch=True); plotted at the iteration of the training line '
              'logged before each validation')
    x = after
    return Series(x, y, 'iteration (last training log line before it)', 'val', notice)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def default_legend(paths: Sequence[str]) -> List[str]:
    """``<work dir name>/<timestamp>`` per scalars.json (the shortest unambiguous tail)."""
    labels = []
    for path in paths:
        parts = osp.normpath(path).split(os.sep)
        # .../<work_dir>/<timestamp>/vis_data/scalars.json
        labels.append('/'.join(parts[-4:-2]) if len(parts) >= 4 else path)
    if len(set(labels)) < len(labels):
        labels = [path for path in paths]
    return labels


def plot_curves(logs: Sequence[LogData], keys: Sequence[str], out: str,
                legend: Optional[Sequence[str]] = None,
                title: Optional[str] = None) -> Dict[str, List[Tuple[str, Series]]]:
    """One subplot per key, one curve per log; writes ``out`` (PNG).

    Returns:
        key -> [(legend label, :class:`Series`)] as drawn.
    Raises:
        KeyError: a key missing from a log; ValueError: legend of the wrong length.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if not keys:
        raise ValueError('analyze_logs: give at least one key (--keys)')
    labels = list(legend) if legend else default_legend([log.path for log in logs])
    if len(labels) != len(logs):
        raise ValueError(f'analyze_logs: --legend has {len(labels)} names for {len(logs)} '
                         'logs')
    drawn: Dict[str, List[Tuple[str, Series]]] = {}
    for key in keys:                                  # all errors before any drawing
        drawn[key] = [(label, get_series(log, key)) for log, label in zip(logs, labels)]
    cols = min(len(keys), 3)
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        xlabels = []
        for label, series in drawn[key]:
            style = dict(marker='o', markersize=4) if series.split == 'val' or \
                len(series.x) <= 20 else {}
            ax.plot(series.x, series.y, label=label, linewidth=1.4, **style)
            if series.xlabel not in xlabels:
                xlabels.append(series.xlabel)
        split = {s.split for _, s in drawn[key]}
        ax.set_title(f'{key} ({"/".join(sorted(split))})', fontsize=11)
        ax.set_xlabel(' / '.join(xlabels))
        ax.set_ylabel(key.split(':')[-1])
        ax.grid(alpha=0.3)
        if len(logs) > 1:
            ax.legend(fontsize=8, loc='best')
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return drawn


@dataclass
class TrainTime:
    """Training-time figures of one log (seconds)."""
    path: str
    mean: float
    std: float
    slowest: Tuple[int, float]
    fastest: Tuple[int, float]
    data_time: Optional[float]
    per_epoch: Dict[int, float]


def train_time(log: LogData) -> TrainTime:
    """Mean / std of the training lines' ``time``, the slowest and fastest logged
    iteration ``(iter, time)``, mean ``data_time`` and per-epoch means.

    Raises:
        KeyError: no training line carries ``time`` (names the file).
    """
    rows = [r for r in log.train if 'time' in r]
    if not rows:
        raise KeyError(f'analyze_logs: {log.path} has no training line with a "time" field '
                       '(was IterTimerHook disabled?)')
    times = np.array([float(r['time']) for r in rows])
    slow, fast = int(times.argmax()), int(times.argmin())
    data = [float(r['data_time']) for r in rows if 'data_time' in r]
    per_epoch: Dict[int, List[float]] = {}
    for r in rows:
        if 'epoch' in r:
            per_epoch.setdefault(int(r['epoch']), []).append(float(r['time']))
    return TrainTime(path=log.path, mean=float(times.mean()), std=float(times.std()),
                     slowest=(int(rows[slow]['iter']), float(times[slow])),
                     fastest=(int(rows[fast]['iter']), float(times[fast])),
                     data_time=float(np.mean(data)) if data else None,
                     per_epoch={e: float(np.mean(v)) for e, v in sorted(per_epoch.items())})


def print_train_time(result: TrainTime) -> None:
    print(f'-----Analyze train time of {result.path}-----')
    print(f'average time per iteration: {result.mean:.4f} s (std {result.std:.4f} s, '
          'over the logged iterations; each logged time is the mean of its logging window)')
    print(f'slowest iteration: {result.slowest[0]} ({result.slowest[1]:.4f} s)')
    print(f'fastest iteration: {result.fastest[0]} ({result.fastest[1]:.4f} s)')
    if result.data_time is not None:
        print(f'average data time per iteration: {result.data_time:.4f} s')
    for epoch, mean in result.per_epoch.items():
        print(f'  epoch {epoch}: {mean:.4f} s/iter')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Analyze mmengine json logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot curves of log keys')
    plot.add_argument('logs', nargs='+', help='scalars.json files or work dirs')
    plot.add_argument('--keys', nargs='+', default=['loss'],
                      help='keys to plot (one subplot each); val:KEY / train:KEY pick the '
                      'kind of line for keys in both')
    plot.add_argument('--legend', nargs='+', help='one name per log')
    plot.add_argument('--title', help='figure title')
    plot.add_argument('--out', default='curves.png', help='output PNG')
    times = sub.add_parser('cal_train_time', help='time per training iteration')
    times.add_argument('logs', nargs='+', help='scalars.json files or work dirs')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    logs = [load_log(path) for path in args.logs]
    if args.task == 'cal_train_time':
        for log in logs:
            print_train_time(train_time(log))
        return
    drawn = plot_curves(logs, args.keys, args.out, args.legend, args.title)
    for key, curves in drawn.items():
        for label, series in curves:
            if series.notice:
                print(f'notice: {series.notice}')
            finite = series.y[np.isfinite(series.y)]
            last = f'{finite[-1]:.4g}' if len(finite) else 'nan'
            print(f'{key} [{label}]: {len(series.x)} points ({series.split}), last {last}')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
