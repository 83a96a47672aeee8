"""Does pre-training help?  Linear probe and few-label fine-tuning of one encoder from
several initialisations over seeds (docs/finetuning.md, "Does pre-training help?
(embedded benchmark)").

    python tools/benchmarks/pretrain_gain.py CONFIG --init random --init tap=PATH \
        --init supervised=PATH --seeds 0 1 2 3 4 --labels-per-class 1 5 10 \
        [--finetune-steps N] [--protocols linear_probe finetune] [--out DIR] \
        [--cfg-options KEY=VALUE ...]

CONFIG (configs/*/benchmarks/gain_*.py) holds the model, ``train_dataloader`` and
``test_dataloader`` (both through the test pipeline: feature extraction) and a
``pretrain_gain = dict(...)`` section with every default.  ``--init random`` is the
reference (encoder weights from the seed) and must be given; ``NAME=PATH`` loads the
encoder strictly from a training checkpoint or published backbone file (keys under
``pretrain_gain.checkpoint_prefix``).

For every init and seed:
- linear probe: frozen global features of both splits (extracted once per init and seed;
  a checkpoint's features do not depend on the seed and are extracted once), a linear
  classifier fitted on the whole train split and on ``k`` labels per class
  (class-balanced, drawn with the seed), scored on the whole test split;
- fine-tuning: the encoder and a linear head trained end to end on the ``k``-per-class
  subset for ``finetune.steps`` steps (AdamW, cosine decay, the ``finetune.pipeline``
  augmentations; the same batches for every init), scored on the whole test split once
  at the end.

Prints per protocol and budget the mean ± sample std over seeds of every init, delta =
init - random, the pooled std of (init, random) and whether delta > 2 x pooled std;
writes ``results.json`` (every per-seed number and the summaries) and ``results.md``.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import crosspt.engine  # noqa: E402,F401  (safe checkpoint loaders)
from crosspt.evaluation import linear_probe as lp  # noqa: E402
from crosspt.evaluation import pretrain_gain as pg  # noqa: E402
from crosspt.utils import load_tool_config  # noqa: E402

PROTOCOLS = ('linear_probe', 'finetune')
SECTION_KEYS = ('checkpoint_prefix', 'feature_channels', 'seeds', 'labels_per_class',
                'linear_probe', 'finetune', 'log_interval')
PROBE_KEYS = ('classifier', 'C', 'max_iter', 'batchnorm')
FINETUNE_KEYS = ('steps', 'batch_size', 'lr', 'weight_decay', 'label_smoothing', 'pipeline')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Pre-trained vs random-init encoder: '
                                     'linear probe and few-label fine-tuning over seeds')
    parser.add_argument('config', help='configs/*/benchmarks/gain_*.py')
    parser.add_argument('--init', action='append', required=True,
                        help="'random' (required, the reference) or NAME=CHECKPOINT; repeat")
    parser.add_argument('--seeds', type=int, nargs='+', help='default: config')
    parser.add_argument('--labels-per-class', type=int, nargs='+', help='default: config')
    parser.add_argument('--finetune-steps', type=int, help='default: config')
    parser.add_argument('--protocols', nargs='+', choices=PROTOCOLS, default=list(PROTOCOLS))
    parser.add_argument('--out', help='output folder (default: <work_dir>/pretrain_gain)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. pretrain_gain.finetune.lr=1e-3')
    return parser.parse_args(argv)


def parse_inits(values: List[str]) -> Dict[str, Optional[str]]:
    """``['random', 'tap=PATH']`` -> ``{'random': None, 'tap': 'PATH'}``."""
    inits: Dict[str, Optional[str]] = {}
    for value in values:
        name, sep, path = value.partition('=')
        if (value == 'random') == bool(sep) or (sep and not (name and path)) or name in inits:
            raise SystemExit(f"--init {value!r}: give 'random' or NAME=CHECKPOINT, each name "
                             f'once (NAME other than random)')
        inits[name] = path or None
    if 'random' not in inits:
        raise SystemExit('--init random is required: it is the reference of every delta')
    for name, path in inits.items():
        if path and '://' not in path and not osp.isfile(path):
            raise SystemExit(f'--init {name}={path}: no such checkpoint file')
    return inits


def settings_of(cfg: Config, args: argparse.Namespace) -> Dict:
    """The config's ``pretrain_gain`` section, checked, with the flags applied."""
    section = cfg.get('pretrain_gain')
    if not isinstance(section, dict):
        raise KeyError(f'{cfg.filename} has no pretrain_gain = dict(...) section; use a '
                       f'configs/*/benchmarks/gain_*.py config')
    settings = copy.deepcopy(dict(section))
    for where, keys, got in (('pretrain_gain', SECTION_KEYS, settings),
                             ('pretrain_gain.linear_probe', PROBE_KEYS,
                              settings.get('linear_probe', {})),
                             ('pretrain_gain.finetune', FINETUNE_KEYS,
                              settings.get('finetune', {}))):
        missing, unknown = [k for k in keys if k not in got], sorted(set(got) - set(keys))
        if missing or unknown:
            raise KeyError(f'{cfg.filename}: {where}: missing keys {missing}, unknown keys '
                           f'{unknown}; it takes exactly {list(keys)}')
    if args.seeds:
        settings['seeds'] = list(args.seeds)
    if args.labels_per_class:
        settings['labels_per_class'] = list(args.labels_per_class)
    if args.finetune_steps:
        settings['finetune']['steps'] = int(args.finetune_steps)
    if len(set(settings['seeds'])) < 2 or len(set(settings['seeds'])) != len(settings['seeds']):
        raise ValueError(f'seeds {settings["seeds"]}: give at least 2 distinct seeds (the '
                         f'pooled std needs them)')
    return settings


def log(message: str) -> None:
    print(f'[pretrain_gain] {message}', flush=True)


def build_model(cfg: Config, checkpoint: Optional[str], prefix: str, seed: int
                ) -> torch.nn.Module:
    """The config's model from ``torch.manual_seed(seed)``, its backbone loaded strictly
    from ``checkpoint`` when given; eval mode."""
    model = lp.build_seeded_model(cfg.model, seed)
    if checkpoint:
        lp.load_backbone_checkpoint(model.backbone, checkpoint, prefix)
    return model.eval()


class Benchmark:
    """Loaders, datasets and settings shared by every (init, seed) run."""

    def __init__(self, cfg: Config, settings: Dict, protocols: List[str]) -> None:
        from mmengine.runner import Runner
        from crosspt.registry import DATASETS
        self.cfg, self.settings, self.protocols = cfg, settings, protocols
        self.loaders = {split: Runner.build_dataloader(cfg[f'{split}_dataloader'], seed=0)
                        for split in ('train', 'test')}
        self.num_classes = len(self.loaders['train'].dataset.metainfo['classes'])
        train_set = copy.deepcopy(cfg.train_dataloader.dataset)
        train_set['pipeline'] = settings['finetune']['pipeline']
        train_set['test_mode'] = False
        self.finetune_set = DATASETS.build(train_set)
        self.cache: Dict[str, Tuple] = {}

    def features(self, init: str, checkpoint: Optional[str], model: torch.nn.Module
                 ) -> Tuple:
        """((train_x, train_y), (test_x, test_y)); cached per checkpoint init."""
        if checkpoint and init in self.cache:
            return self.cache[init]
        start, every = time.time(), self.settings['log_interval']
        bn = self.settings['linear_probe']['batchnorm']
        feats = tuple(lp.extract_global_features(model, self.loaders[s], log_interval=every,
                                                 name=f'{init} {s} split', batchnorm=bn)
                      for s in ('train', 'test'))
        log(f'{init}: features of {len(feats[0][1])} train / {len(feats[1][1])} test clouds '
            f'({time.time() - start:.1f} s)')
        if checkpoint:
            self.cache[init] = feats
        return feats

    def fetch(self, subset: np.ndarray, preprocessor: torch.nn.Module) -> pg.Fetch:
        """``fetch(batch indices into subset)`` -> augmented (points (B, N, 3), features
        (B, N, C_in), labels (B,))."""
        def fetch(idx: np.ndarray) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            samples = [self.finetune_set[int(subset[i])] for i in idx]
            data = preprocessor(pseudo_collate(samples), True)
            labels = torch.as_tensor([int(s.gt_label) for s in data['data_samples']])
            return data['inputs']['points'], data['inputs']['features'], labels
        return fetch

    def finetune(self, model: torch.nn.Module, train_y: np.ndarray, k: int, seed: int, name: str) -> Dict:
        """Fine-tune a copy of ``model.backbone`` on ``k`` labels per class; test OA."""
        ft = self.settings['finetune']
        subset = pg.balanced_subset(train_y, k, seed)
        state = np.random.get_state()
        np.random.seed(seed)  # the augmentations draw from numpy's global RNG
        try:
            clf, info = pg.finetune(
                copy.deepcopy(model.backbone), self.settings['feature_channels'],
                self.num_classes, self.fetch(subset, model.data_preprocessor), len(subset),
                ft['steps'], ft['batch_size'], ft['lr'], ft['weight_decay'], seed,
                ft['label_smoothing'], self.settings['log_interval'], name)
        finally:
            np.random.set_state(state)
        test_x, test_y = lp.extract_global_features(clf, self.loaders['test'],
                                                    model.data_preprocessor)
        result = pg.score_head(clf.head, test_x, test_y)
        return dict(result, num_train=int(len(subset)), steps=info['steps'],
                    samples_seen=info['samples_seen'], final_loss=info['losses'][-1],
                    seconds=round(info['seconds'], 1))

    def run(self, init: str, checkpoint: Optional[str], seed: int) -> List[Dict]:
        """Every protocol and budget for one init and seed."""
        s = self.settings
        model = build_model(self.cfg, checkpoint, s['checkpoint_prefix'], seed)
        rows = []
        if 'linear_probe' in self.protocols:
            (train_x, train_y), (test_x, test_y) = self.features(init, checkpoint, model)
            probe = s['linear_probe']
            for k in [None] + list(s['labels_per_class']):
                keep = np.arange(len(train_y)) if k is None else \
                    pg.balanced_subset(train_y, k, seed)
                r = lp.fit_linear_probe(train_x[keep], train_y[keep], test_x, test_y,
                                        probe['classifier'], probe['C'], seed,
                                        probe['max_iter'])
                r.update(protocol='linear_probe', budget='full' if k is None
                         else f'{k}/class', init=init, seed=seed)
                rows.append(r)
        if 'finetune' in self.protocols:
            train_y = self.train_labels()
            for k in s['labels_per_class']:
                r = self.finetune(model, train_y, k, seed, f'{init} seed {seed} {k}/class')
                rows.append(dict(r, protocol='finetune', budget=f'{k}/class', init=init,
                                 seed=seed))
        return rows

    def train_labels(self) -> np.ndarray:
        """(S,) labels of the train split in loader order (= dataset order)."""
        dataset = self.loaders['train'].dataset
        return np.asarray([int(dataset.get_data_info(i)['label']) for i in range(len(dataset))])


def summarise(rows: List[Dict], inits: List[str]) -> Dict:
    """summaries[protocol][budget][init] = pg.compare(accuracies, random accuracies)."""
    out: Dict[str, Dict[str, Dict]] = {}
    for row in rows:
        out.setdefault(row['protocol'], {}).setdefault(row['budget'], {})
    for protocol, budgets in out.items():
        for budget in budgets:
            acc = {i: [r['accuracy'] for r in rows if (r['protocol'], r['budget'], r['init'])
                       == (protocol, budget, i)] for i in inits}
            budgets[budget] = {i: pg.compare(acc[i], acc['random']) for i in inits if acc[i]}
    return out


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    inits = parse_inits(args.init)
    cfg = load_tool_config(args.config, args.cfg_options, None)
    settings = settings_of(cfg, args)
    out = args.out or osp.join(cfg.work_dir, 'pretrain_gain')
    os.makedirs(out, exist_ok=True)
    start = time.time()
    rows: List[Dict] = []
    jobs = [(i, s) for i in inits for s in settings['seeds']]
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'crosspt')):
        bench = Benchmark(cfg, settings, args.protocols)
        for done, (init, seed) in enumerate(jobs):
            for row in bench.run(init, inits[init], seed):
                log(f'{init} seed {seed} {row["protocol"]} {row["budget"]}: OA '
                    f'{100 * row["accuracy"]:.2f} %')
                rows.append(row)
            elapsed = time.time() - start
            eta = elapsed / (done + 1) * (len(jobs) - done - 1)
            log(f'{init} seed {seed} done ({done + 1}/{len(jobs)}; elapsed {elapsed:.0f} s, '
                f'ETA {eta:.0f} s)')
    summaries = summarise(rows, list(inits))
    text = pg.format_table(summaries, list(inits))
    print(text, flush=True)
    record = dict(config=args.config, inits=inits, protocols=args.protocols,
                  settings={k: v for k, v in settings.items()}, runs=rows,
                  summaries=summaries, seconds=round(time.time() - start, 1))
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(record, f, indent=1, default=str)
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(f'# {osp.basename(args.config)}\n\nseeds {settings["seeds"]}; accuracy on '
                f'the whole test split\n\n{text}\n')
    log(f'wrote {out}/results.json and results.md ({time.time() - start:.0f} s)')
    return record


if __name__ == '__main__':
    main()
