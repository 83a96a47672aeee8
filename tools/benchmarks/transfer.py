"""Transfer benchmark: does TAP pre-training help fine-tuning?  Scratch vs TAP, seeds.

    python tools/benchmarks/transfer.py FINETUNE_CONFIG --pretrain-config PRETRAIN_CONFIG \
        [--label-fraction 0.34] [--seeds 0 1 2] [--max-epochs 20] [--batch-size 8] \
        [--work-dir work_dirs/transfer/NAME] [--pretrained BACKBONE.pth] \
        [--cfg-options KEY=VALUE ...]   # applied to every fine-tuning run

1. Pre-trains with PRETRAIN_CONFIG through tools/train.py (skipped with --pretrained or
   when the work dir already holds a published backbone) and publishes the backbone
   (tools/model_converters/publish_model.py).
2. For every seed, fine-tunes FINETUNE_CONFIG twice with the same budget, data subset
   and seed: from the TAP backbone and from scratch.  The labelled training set is a
   class-balanced ``--label-fraction`` of the training split (``LabelFractionDataset``,
   subset seed = run seed).  The schedule is the config's optimizer with the TAP recipe's
   linear warm-up (epoch 0 at 1e-6, full lr from epoch 1; mmengine's LinearLR needs
   ``end >= 2`` to ramp at all) and cosine decay to 1e-6 over ``--max-epochs``; the test
   split is evaluated once, after the last epoch (no best-epoch selection on the test
   set).
3. Prints scratch and TAP OA / mAcc side by side per seed and mean +- std (sample std),
   and writes ``results.json`` and ``results.md`` in the work dir.

Each run is a separate ``tools/train.py`` process with its own dumped config
(``<work-dir>/<init>_seed<seed>/config.py``), so every number can be re-run alone.
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import time
from typing import Dict, List, Optional

from mmengine.config import Config, DictAction

from crosspt.utils.python_command import python_command

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METRICS = ('cls/oa', 'cls/macc')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='TAP vs scratch transfer benchmark')
    parser.add_argument('finetune_config', help='classification fine-tuning config')
    parser.add_argument('--pretrain-config', help='TAP pre-training config')
    parser.add_argument('--pretrained', help='published backbone checkpoint (skips pre-training)')
    parser.add_argument('--label-fraction', type=float, default=0.34)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--max-epochs', type=int, default=20)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--work-dir', help='default: work_dirs/transfer/<finetune config name>')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='overrides for every fine-tuning run (e.g. a larger synthetic '
                             'test set), applied before the benchmark settings')
    args = parser.parse_args(argv)
    if not args.pretrained and not args.pretrain_config:
        parser.error('give --pretrain-config (to pre-train) or --pretrained (a backbone file)')
    if args.max_epochs < 3:
        parser.error('--max-epochs must be >= 3 (2 warm-up steps + cosine)')
    return args


def run(cmd: List[str], log_path: str) -> None:
    """Run ``cmd`` from the repository root, output to ``log_path``; fail loudly."""
    with open(log_path, 'w') as log:
        proc = subprocess.run(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log_path) as log:
            tail = log.read()[-3000:]
        raise RuntimeError(f'{" ".join(cmd)} failed (exit {proc.returncode}); log {log_path}:'
                           f'\n{tail}')


def pretrain(args, work_dir: str) -> str:
    """Pre-train once and publish the backbone; returns the backbone file."""
    out_dir = osp.join(work_dir, 'pretrain')
    published = sorted(glob.glob(osp.join(out_dir, 'backbone-*.pth')))
    if published:
        print(f'[transfer] reusing the published backbone {published[-1]}', flush=True)
        return published[-1]
    os.makedirs(out_dir, exist_ok=True)
    start = time.time()
    print(f'[transfer] pre-training {args.pretrain_config} -> {out_dir}', flush=True)
    run([*python_command(), 'tools/train.py', args.pretrain_config, '--work-dir', out_dir],
        osp.join(out_dir, 'train.log'))
    with open(osp.join(out_dir, 'last_checkpoint')) as f:
        last = f.read().strip()
    run([*python_command(), 'tools/model_converters/publish_model.py', last,
         osp.join(out_dir, 'backbone.pth')], osp.join(out_dir, 'publish.log'))
    published = sorted(glob.glob(osp.join(out_dir, 'backbone-*.pth')))
    print(f'[transfer] pre-training done in {time.time() - start:.0f} s: {published[-1]}',
          flush=True)
    return published[-1]


def finetune_config(args, seed: int, backbone: Optional[str]) -> Config:
    """The fine-tuning config of one run (label subset, budget, seed, initialisation)."""
    cfg = Config.fromfile(args.finetune_config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.train_dataloader.dataset = dict(type='LabelFractionDataset',
                                        dataset=cfg.train_dataloader.dataset,
                                        fraction=args.label_fraction, seed=seed)
    cfg.train_dataloader.batch_size = args.batch_size
    lr = cfg.optim_wrapper.optimizer.lr
    epochs = args.max_epochs
    # LinearLR over [0, 2): 1e-6 at epoch 0, the full lr at epoch 1 (with end=1 it
    # would never leave 1e-6); then cosine from epoch 2
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-6 / lr, end_factor=1.0, by_epoch=True,
             begin=0, end=2),
        dict(type='CosineAnnealingLR', T_max=epochs - 2, eta_min=1e-6, by_epoch=True,
             begin=2, end=epochs),
    ]
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=epochs,
                                        save_best=None, max_keep_ckpts=1)
    cfg.randomness = dict(seed=seed, diff_rank_seed=True)
    cfg.model.backbone.init_cfg = None if backbone is None else dict(
        type='Pretrained', checkpoint=backbone, prefix='backbone.')
    return cfg


def final_metrics(run_dir: str) -> Dict[str, float]:
    """The last validation record of the run (``vis_data/scalars.json``)."""
    found = {}
    for scalars in sorted(glob.glob(osp.join(run_dir, '2*', 'vis_data', 'scalars.json'))):
        with open(scalars) as f:
            for line in f:
                record = json.loads(line)
                if all(m in record for m in METRICS):
                    found = {m: float(record[m]) for m in METRICS}
    if not found:
        raise RuntimeError(f'no {METRICS} record in {run_dir}/*/vis_data/scalars.json')
    return found


def mean_std(values: List[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{statistics.mean(values):.1f} ± {std:.1f}'


def table(results: Dict[str, Dict[int, Dict[str, float]]], seeds: List[int]) -> str:
    rows = ['| seed | scratch OA | TAP OA | scratch mAcc | TAP mAcc |',
            '|---|---|---|---|---|']
    for seed in seeds:
        s, t = results['scratch'][seed], results['tap'][seed]
        rows.append(f'| {seed} | {s["cls/oa"]:.1f} | {t["cls/oa"]:.1f} | '
                    f'{s["cls/macc"]:.1f} | {t["cls/macc"]:.1f} |')
    col = {(init, m): [results[init][s][m] for s in seeds]
           for init in ('scratch', 'tap') for m in METRICS}
    rows.append(f'| mean ± std | {mean_std(col["scratch", "cls/oa"])} | '
                f'{mean_std(col["tap", "cls/oa"])} | {mean_std(col["scratch", "cls/macc"])} | '
                f'{mean_std(col["tap", "cls/macc"])} |')
    return '\n'.join(rows)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    name = osp.splitext(osp.basename(args.finetune_config))[0]
    work_dir = osp.abspath(args.work_dir or osp.join('work_dirs', 'transfer', name))
    os.makedirs(work_dir, exist_ok=True)
    start = time.time()
    backbone = osp.abspath(args.pretrained) if args.pretrained else pretrain(args, work_dir)
    if not osp.isfile(backbone):
        raise FileNotFoundError(f'pre-trained backbone not found: {backbone}')
    runs = [(seed, init) for seed in args.seeds for init in ('scratch', 'tap')]
    results: Dict[str, Dict[int, Dict[str, float]]] = {'scratch': {}, 'tap': {}}
    ft_start = time.time()
    for done, (seed, init) in enumerate(runs):
        run_dir = osp.join(work_dir, f'{init}_seed{seed}')
        os.makedirs(run_dir, exist_ok=True)
        cfg = finetune_config(args, seed, backbone if init == 'tap' else None)
        config_path = osp.join(run_dir, 'config.py')
        cfg.dump(config_path)
        run([*python_command(), 'tools/train.py', config_path, '--work-dir', run_dir],
            osp.join(run_dir, 'train.log'))
        results[init][seed] = final_metrics(run_dir)
        elapsed = time.time() - ft_start
        eta = elapsed / (done + 1) * (len(runs) - done - 1)
        print(f'[transfer] {done + 1}/{len(runs)} {init:7s} seed {seed}: '
              f'OA {results[init][seed]["cls/oa"]:.1f}  mAcc {results[init][seed]["cls/macc"]:.1f}'
              f'  (elapsed {elapsed:.0f} s, eta {eta:.0f} s)', flush=True)
    text = table(results, args.seeds)
    header = (f'{name}: {args.label_fraction:.0%} of the training labels, {args.max_epochs} '
              f'epochs, batch {args.batch_size}, seeds {args.seeds}; final-epoch test '
              f'metrics (%); backbone {backbone}; total {time.time() - start:.0f} s'
              + (f'; cfg-options {args.cfg_options}' if args.cfg_options else ''))
    print(header)
    print(text)
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(dict(config=args.finetune_config, pretrain_config=args.pretrain_config,
                       backbone=backbone, label_fraction=args.label_fraction,
                       max_epochs=args.max_epochs, batch_size=args.batch_size,
                       seeds=args.seeds, cfg_options=args.cfg_options, results=results,
                       seconds=round(time.time() - start, 1)), f, indent=2)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(header + '\n\n' + text + '\n')


if __name__ == '__main__':
    main()
