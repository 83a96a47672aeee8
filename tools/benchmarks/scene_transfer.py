"""Scene-level transfer benchmark: scratch vs pretrained fine-tuning, several seeds.

    python tools/benchmarks/scene_transfer.py SCRATCH_CONFIG PRETRAINED_CONFIG \
        --pretrained CKPT [--scene-fraction 0.25] [--seeds 0 1 2] [--metric miou] \
        [--work-dir work_dirs/scene_transfer/NAME] [--cfg-options KEY=VALUE ...]

For every seed, both configs are fine-tuned through ``tools/train.py`` with the same
budget, the same labelled scenes (``train_dataloader.dataset.scene_fraction`` with
``fraction_seed`` = run seed) and ``randomness.seed`` = run seed; PRETRAINED_CONFIG gets
CKPT through the ``CROSSPT_PRETRAINED`` environment variable its init_cfg reads.  The
metric is the config's evaluation after the last iteration (val split; no best-checkpoint
selection), so each run keeps only its final weights: no best checkpoint and no optimizer
state (an SR-UNet34 arm then writes 0.15 GB instead of 0.6 GB; ``--cfg-options`` can
turn either back on).  Prints both arms side by side with mean +- sample std and writes
``results.json`` / ``results.md`` in the work dir.  Each run keeps its own work dir and
log, so every number can be re-run alone.
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

from mmengine.config import DictAction

from crosspt.utils.python_command import python_command

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the metric is read from the last evaluation, and an arm is not resumed
FINAL_WEIGHTS_ONLY = ['default_hooks.checkpoint.save_best=None',
                      'default_hooks.checkpoint.save_optimizer=False',
                      'default_hooks.checkpoint.max_keep_ckpts=1']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='scratch vs pretrained, scene level')
    parser.add_argument('scratch_config')
    parser.add_argument('pretrained_config')
    parser.add_argument('--pretrained', required=True, help='pre-training checkpoint')
    parser.add_argument('--scene-fraction', type=float, default=0.25)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--metric', default='miou', help="e.g. 'miou' or 'mAP_0.25'")
    parser.add_argument('--work-dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = parser.parse_args(argv)
    if not osp.isfile(args.pretrained):
        parser.error(f'--pretrained {args.pretrained}: no such file')
    if not 0 < args.scene_fraction <= 1:
        parser.error(f'--scene-fraction must be in (0, 1], got {args.scene_fraction}')
    return args


def last_metrics(run_dir: str, metric: str) -> Dict[str, float]:
    """The last evaluation's scalars of a run (mmengine's vis_data/scalars.json)."""
    paths = sorted(glob.glob(osp.join(run_dir, '2*', 'vis_data', 'scalars.json')))
    if not paths:
        raise FileNotFoundError(f'{run_dir}: no */vis_data/scalars.json (did the run fail?)')
    evals = [json.loads(line) for line in open(paths[-1]) if metric in json.loads(line)]
    if not evals:
        raise KeyError(f'{paths[-1]}: no evaluation holds {metric!r}')
    return evals[-1]


def mean_std(values: List[float]) -> str:
    if len(values) < 2:
        return f'{values[0]:.1f}'
    return f'{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}'


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict[int, float]]:
    """Runs both arms over the seeds; returns ``{arm: {seed: metric x 100}}``."""
    args = parse_args(argv)
    name = osp.splitext(osp.basename(args.pretrained_config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', 'scene_transfer', name)
    os.makedirs(work_dir, exist_ok=True)
    arms = dict(scratch=(args.scratch_config, None),
                pretrained=(args.pretrained_config, osp.abspath(args.pretrained)))
    results: Dict[str, Dict[int, float]] = {arm: {} for arm in arms}
    for seed in args.seeds:
        for arm, (config, checkpoint) in arms.items():
            run_dir = osp.join(work_dir, f'{arm}_seed{seed}')
            options = FINAL_WEIGHTS_ONLY + [
                f'{k}={v}' for k, v in args.cfg_options.items()] + [
                f'randomness.seed={seed}',
                f'train_dataloader.dataset.scene_fraction={args.scene_fraction}',
                f'train_dataloader.dataset.fraction_seed={seed}']
            env = dict(os.environ)
            if checkpoint:
                env['CROSSPT_PRETRAINED'] = checkpoint
            cmd = [*python_command(), osp.join(REPO, 'tools', 'train.py'), config,
                   '--work-dir', run_dir, '--cfg-options', *options]
            start = time.time()
            with open(osp.join(work_dir, f'{arm}_seed{seed}.log'), 'w') as log:
                proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                      cwd=REPO)
            if proc.returncode:
                raise RuntimeError(f'{arm} seed {seed} failed: see '
                                   f'{osp.join(work_dir, f"{arm}_seed{seed}.log")}')
            value = 100 * last_metrics(run_dir, args.metric)[args.metric]
            results[arm][seed] = value
            print(f'[scene_transfer] {arm} seed {seed}: {args.metric} {value:.1f} '
                  f'({time.time() - start:.0f} s)', flush=True)
    lines = [f'{name}: scene_fraction {args.scene_fraction:g}, seeds {args.seeds}, '
             f'{args.metric} (x100) after the last iteration, val split', '',
             f'| seed | scratch | pretrained |', '|---|---|---|']
    lines += [f'| {s} | {results["scratch"][s]:.1f} | {results["pretrained"][s]:.1f} |'
              for s in args.seeds]
    lines.append(f'| mean ± std | {mean_std(list(results["scratch"].values()))} | '
                 f'{mean_std(list(results["pretrained"].values()))} |')
    text = '\n'.join(lines)
    print(text)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(text + '\n')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(dict(args=vars(args), results=results), f, indent=1)
    return results


if __name__ == '__main__':
    main()
