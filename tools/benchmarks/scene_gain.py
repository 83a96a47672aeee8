"""Does PPKT pre-training help at scene level?  Per-point linear probe and limited-label
fine-tuning of one scene encoder, pre-trained vs random initialisation, over seeds
(docs/finetuning.md, "Does pre-training help? (embedded benchmark)").

    python tools/benchmarks/scene_gain.py --pretrained CKPT \
        --linear-probe-config LP_CONFIG --scratch-config SCRATCH --finetune-config FT \
        [--seeds 0 1 2 3 4] [--scene-fraction 0.1] [--metric miou] \
        [--protocols linear_probe finetune] [--out DIR]

For every seed:
- linear probe (tools/benchmarks/linear_probe.py on LP_CONFIG): the frozen encoder from
  the seed (``random``) and from CKPT (``pretrained``); the seed draws the random weights,
  the labelled training points and the classifier's initialisation;
- fine-tuning (tools/benchmarks/scene_transfer.py): SCRATCH and FT (CKPT through
  ``CROSSPT_PRETRAINED``) trained on the same ``--scene-fraction`` of the labelled rooms
  (drawn with the seed) with the same seed, scored after the last iteration.

Prints, per protocol, mean +- sample std over the seeds of both inits, delta = pretrained
- random, the pooled std and whether delta > 2 x pooled std; writes ``results.json``
(every per-seed number and the summaries) and ``results.md`` to ``--out``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
for path in (REPO_ROOT, osp.dirname(osp.abspath(__file__))):
    if path not in sys.path:
        sys.path.insert(0, path)

import linear_probe  # noqa: E402  (tools/benchmarks/linear_probe.py)
import scene_transfer  # noqa: E402  (tools/benchmarks/scene_transfer.py)

from crosspt.evaluation import pretrain_gain as pg  # noqa: E402

PROTOCOLS = ('linear_probe', 'finetune')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='pre-trained vs random-init scene encoder: '
                                     'per-point linear probe and limited-label fine-tuning')
    parser.add_argument('--pretrained', required=True, help='pre-training checkpoint')
    parser.add_argument('--linear-probe-config', required=True)
    parser.add_argument('--scratch-config', required=True)
    parser.add_argument('--finetune-config', required=True)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    parser.add_argument('--scene-fraction', type=float, default=0.1)
    parser.add_argument('--metric', default='miou', help='the fine-tuning evaluator key')
    parser.add_argument('--protocols', nargs='+', choices=PROTOCOLS, default=list(PROTOCOLS))
    parser.add_argument('--out', default='work_dirs/scene_gain')
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f'[scene_gain] {message}', flush=True)


def cached_probe(path: str, config: str, checkpoint: Optional[str], seed: int
                 ) -> Optional[Dict]:
    """The record of an earlier linear-probe run at ``path`` when it was made with the same
    config, checkpoint and seed and no --cfg-options; else None (the run is repeated)."""
    if not osp.isfile(path):
        return None
    with open(path) as f:
        record = json.load(f)
    same = (record.get('config') == config and record.get('checkpoint') == checkpoint
            and record.get('settings', {}).get('seed') == seed
            and not record.get('cfg_options'))
    return record if same else None


def run_linear_probe(args: argparse.Namespace) -> Dict[str, Dict[int, float]]:
    """``{init: {seed: mIoU in [0, 1]}}`` of the frozen random and pre-trained encoders.
    A run whose result file already holds the same config, checkpoint and seed is read,
    not repeated (``<out>/linear_probe/<init>_seed<seed>.json``, as linear_probe.py
    writes it with ``--out``)."""
    results: Dict[str, Dict[int, float]] = {'random': {}, 'pretrained': {}}
    for seed in args.seeds:
        for init in results:
            out = osp.join(args.out, 'linear_probe', f'{init}_seed{seed}.json')
            checkpoint = args.pretrained if init == 'pretrained' else None
            argv = [args.linear_probe_config, '--seed', str(seed), '--out', out]
            if checkpoint:
                argv += ['--checkpoint', checkpoint]
            start = time.time()
            record = cached_probe(out, args.linear_probe_config, checkpoint, seed)
            if record is not None:
                log(f'linear probe {init} seed {seed}: read {out}')
            else:
                record = linear_probe.main(argv)
            results[init][seed] = float(record['results']['miou'])
            log(f'linear probe {init} seed {seed}: mIoU {100 * results[init][seed]:.1f} '
                f'({time.time() - start:.0f} s)')
    return results


def run_finetune(args: argparse.Namespace) -> Dict[str, Dict[int, float]]:
    """``{init: {seed: metric in [0, 1]}}`` after fine-tuning on the scene fraction."""
    arms = scene_transfer.main([
        args.scratch_config, args.finetune_config, '--pretrained', args.pretrained,
        '--scene-fraction', str(args.scene_fraction), '--metric', args.metric,
        '--seeds', *map(str, args.seeds), '--work-dir', osp.join(args.out, 'finetune')])
    return {'random': {s: v / 100 for s, v in arms['scratch'].items()},
            'pretrained': {s: v / 100 for s, v in arms['pretrained'].items()}}


def summarise(per_seed: Dict[str, Dict[str, Dict[int, float]]], budgets: Dict[str, str]
              ) -> Dict[str, Dict[str, Dict]]:
    """``summaries[protocol][budget][init]`` (:func:`pg.compare` dicts, random = reference)."""
    summaries: Dict[str, Dict[str, Dict]] = {}
    for protocol, inits in per_seed.items():
        reference = list(inits['random'].values())
        summaries[protocol] = {budgets[protocol]: {
            init: pg.compare(list(values.values()), reference)
            for init, values in inits.items()}}
    return summaries


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    if args.pretrained and not osp.isfile(args.pretrained):
        raise FileNotFoundError(f'--pretrained {args.pretrained}: no such file')
    if len(args.seeds) < 2:
        raise ValueError('scene_gain: give at least 2 seeds (the spread needs them)')
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    runners = dict(linear_probe=run_linear_probe, finetune=run_finetune)
    per_seed = {protocol: runners[protocol](args) for protocol in args.protocols}
    budgets = dict(linear_probe='all train rooms',
                   finetune=f'{100 * args.scene_fraction:g} % of the rooms')
    summaries = summarise(per_seed, budgets)
    text = pg.format_table(summaries, ['random', 'pretrained'], metric='mIoU')
    print(text, flush=True)
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(dict(args=vars(args), per_seed=per_seed, summaries=summaries), f, indent=1)
    with open(osp.join(args.out, 'results.md'), 'w') as f:
        f.write(text + '\n')
    log(f'wrote {args.out}/results.json and results.md ({time.time() - start:.0f} s)')
    return dict(per_seed=per_seed, summaries=summaries)


if __name__ == '__main__':
    main()
