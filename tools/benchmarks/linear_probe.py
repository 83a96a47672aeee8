"""Linear probe of a frozen encoder (docs/finetuning.md, "Linear probe").

    python tools/benchmarks/linear_probe.py CONFIG [--checkpoint PATH_or_URL]
        [--classifier svm|logreg] [--C 0.01] [--seed 0] [--out results.json]
        [--save-features features.npz] [--device cpu] [--cfg-options KEY=VALUE ...]

CONFIG holds a ``linear_probe = dict(...)`` section (configs/tap/benchmarks/linear-probe_*.py,
projects/crosspt_mmdet3d/configs/ppkt/*linear-probe_*.py) and two splits that both use the
test pipeline: ``train_dataloader`` (the classifier is fitted on it) and
``test_dataloader`` (it is scored on it).  The encoder is the config's ``model.backbone``:
loaded strictly from ``--checkpoint`` (keys under ``linear_probe.checkpoint_prefix``; a
local file or an http(s):// / file:// URL, cached and sha256-checked), or randomly
initialised from ``--seed`` without one (the random-init baseline).  It stays frozen
(eval mode, no gradients).

- ``task='classification'``: the backbone's ``global_features`` of every cloud, a linear
  SVM or logistic regression on standardised features; accuracy and mean class accuracy.
- ``task='segmentation'`` (mmdet3d ScanNet-format configs): per-point backbone features,
  points of the dataset's ignore index left out, training points subsampled per scene and
  in total with a seeded RNG; mIoU / OA over every point of the test scenes.

Command-line flags override the config section.  Prints a table and writes the results as
JSON (``--out``, default ``<work_dir>/linear_probe_seed<seed>.json``).  ``--save-features``
also writes the extracted features as ``.npz`` (classification: ``train_x (S, C)``,
``train_y``, ``test_x``, ``test_y``; segmentation: the kept training points ``train_x (P, F)``,
``train_y``), e.g. to fit other classifiers without extracting again.
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:   # configs' custom_imports: projects.crosspt_mmdet3d
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import crosspt.engine  # noqa: E402,F401  (safe checkpoint loaders)
from crosspt.evaluation import linear_probe as lp  # noqa: E402
from crosspt.utils import load_tool_config  # noqa: E402

#: keys of the config's ``linear_probe`` section, per task
COMMON_KEYS = ('task', 'checkpoint', 'checkpoint_prefix', 'classifier', 'C', 'max_iter',
               'seed', 'log_interval')
TASK_KEYS = {'classification': COMMON_KEYS,
             'segmentation': COMMON_KEYS + ('max_points_per_scene', 'max_train_points')}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Linear probe of a frozen encoder')
    parser.add_argument('config', help='linear-probe config (configs/tap/benchmarks/'
                        'linear-probe_*.py, projects/crosspt_mmdet3d/configs/ppkt/'
                        '*linear-probe_*.py)')
    parser.add_argument('--checkpoint', help='encoder weights: training checkpoint or '
                        'published backbone file, or an http(s):// / file:// URL; without '
                        'it the encoder is randomly initialised (baseline)')
    parser.add_argument('--classifier', choices=lp.CLASSIFIERS,
                        help='default: linear_probe.classifier of the config')
    parser.add_argument('--C', type=float, help='inverse regularisation (default: config)')
    parser.add_argument('--seed', type=int, help='random init, subsampling and classifier '
                        'seed (default: config)')
    parser.add_argument('--out', help='results JSON (default: '
                        '<work_dir>/linear_probe_seed<seed>.json)')
    parser.add_argument('--device', default='cpu',
                        help="where the encoder runs, e.g. 'cuda:0' (default cpu)")
    parser.add_argument('--save-features', help='also write the extracted features (.npz)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. test_dataloader.dataset.indices=8')
    return parser.parse_args(argv)


def probe_settings(cfg: Config, args: argparse.Namespace) -> Dict:
    """The config's ``linear_probe`` section, checked, with the flags applied."""
    where = f'{cfg.filename}: linear_probe'
    if not isinstance(cfg.get('linear_probe'), dict):
        raise KeyError(f'{cfg.filename} has no linear_probe = dict(...) section; use a '
                       f'linear-probe_*.py config')
    settings = dict(cfg.linear_probe)
    task = settings.get('task')
    if task not in TASK_KEYS:
        raise ValueError(f'{where}.task must be one of {list(TASK_KEYS)}, got {task!r}')
    missing = [k for k in TASK_KEYS[task] if k not in settings]
    unknown = sorted(set(settings) - set(TASK_KEYS[task]))
    if missing or unknown:
        raise KeyError(f'{where} ({task}): missing keys {missing}, unknown keys {unknown}; '
                       f'it takes exactly {list(TASK_KEYS[task])}')
    for key in ('checkpoint', 'classifier', 'C', 'seed'):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    if settings['classifier'] not in lp.CLASSIFIERS:
        raise ValueError(f'{where}.classifier must be one of {list(lp.CLASSIFIERS)}, got '
                         f'{settings["classifier"]!r}')
    return settings


def innermost_pipeline(loader: dict) -> list:
    """``loader.dataset[.dataset...].pipeline``."""
    dataset = loader.get('dataset', {})
    while isinstance(dataset, dict) and 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset['dataset']
    return list(dataset.get('pipeline', [])) if isinstance(dataset, dict) else []


def check_splits(cfg: Config) -> None:
    """Both splits exist and the training split uses the test pipeline."""
    for key in ('train_dataloader', 'test_dataloader'):
        if not isinstance(cfg.get(key), dict):
            raise KeyError(f'{cfg.filename}: the linear probe needs {key}')
    if innermost_pipeline(cfg.train_dataloader) != innermost_pipeline(cfg.test_dataloader):
        raise ValueError(f'{cfg.filename}: train_dataloader.dataset.pipeline differs from '
                         f'test_dataloader.dataset.pipeline; the linear probe extracts both '
                         f'splits without augmentation: set the training split\'s pipeline '
                         f'to the test pipeline')


def build_encoder(cfg: Config, settings: Dict) -> torch.nn.Module:
    """The config's model, randomly initialised from the seed, its backbone loaded
    strictly from ``settings['checkpoint']`` when given; eval mode."""
    init = (cfg.model.get('backbone') or {}).get('init_cfg')
    if isinstance(init, dict) and str(init.get('type', '')).endswith('Pretrained'):
        raise ValueError(f'{cfg.filename}: model.backbone.init_cfg is a Pretrained init; the '
                         f'linear probe loads the encoder itself (--checkpoint, strict): set '
                         f'model.backbone.init_cfg=None in the config')
    model = lp.build_seeded_model(cfg.model, settings['seed'])
    if settings['checkpoint']:
        count = lp.load_backbone_checkpoint(model.backbone, settings['checkpoint'],
                                            settings['checkpoint_prefix'])
        log(f'loaded all {count} tensors of {type(model.backbone).__name__} from '
            f'{settings["checkpoint"]} (prefix {settings["checkpoint_prefix"]!r}, strict)')
    else:
        log(f'no checkpoint: {type(model.backbone).__name__} randomly initialised '
            f'(seed {settings["seed"]}), the random-init baseline')
    return model.eval()


def log(message: str) -> None:
    print(f'[linear_probe] {message}', flush=True)


def run_classification(cfg: Config, model, settings: Dict) -> Tuple[Dict, Dict]:
    from mmengine.runner import Runner
    seed, interval = settings['seed'], settings['log_interval']
    feats = {}
    for split, key in (('train', 'train_dataloader'), ('test', 'test_dataloader')):
        start = time.time()
        loader = Runner.build_dataloader(cfg[key], seed=seed)
        feats[split] = lp.extract_global_features(model, loader, log_interval=interval,
                                                  name=f'{split} split')
        log(f'{split} split: {feats[split][0].shape[0]} clouds -> {feats[split][0].shape[1]}-d '
            f'global features ({time.time() - start:.1f} s)')
    start = time.time()
    result = lp.fit_linear_probe(*feats['train'], *feats['test'], settings['classifier'],
                                 settings['C'], seed, settings['max_iter'])
    log(f'fitted {settings["classifier"]} (C={settings["C"]:g}) in {time.time() - start:.1f} s')
    arrays = dict(train_x=feats['train'][0], train_y=feats['train'][1],
                  test_x=feats['test'][0], test_y=feats['test'][1])
    return result, arrays


def run_segmentation(cfg: Config, model, settings: Dict) -> Tuple[Dict, Dict]:
    from mmengine.runner import Runner
    seed, interval = settings['seed'], settings['log_interval']
    start = time.time()
    train = Runner.build_dataloader(cfg.train_dataloader, seed=seed)
    dataset = train.dataset
    ignore_index, classes = int(dataset.ignore_index), list(dataset.metainfo['classes'])
    x, y = lp.extract_point_features(model, train, ignore_index,
                                     settings['max_points_per_scene'], seed, interval,
                                     'train scenes')
    log(f'train split: {len(dataset)} scenes -> {len(y)} labelled points kept, '
        f'{x.shape[1]}-d features ({time.time() - start:.1f} s)')
    start = time.time()
    fitted, info = lp.fit_point_classifier(x, y, ignore_index, settings['classifier'],
                                           settings['C'], seed, settings['max_train_points'],
                                           settings['max_iter'])
    log(f'fitted {settings["classifier"]} (C={settings["C"]:g}) on {info["num_train_points"]} '
        f'points in {time.time() - start:.1f} s')
    start = time.time()
    test = Runner.build_dataloader(cfg.test_dataloader, seed=seed)
    scores, _ = lp.evaluate_point_probe(fitted, model, test, len(classes), ignore_index, seed,
                                        interval)
    log(f'test split: {len(test.dataset)} scenes, {scores["num_points"]} scored points '
        f'({time.time() - start:.1f} s)')
    per_class = {name: (None if math.isnan(v) else v)
                 for name, v in zip(classes, scores.pop('per_class_iou'))}
    result = dict(scores, **info, per_class_iou=per_class, ignore_index=ignore_index)
    return result, dict(train_x=x, train_y=y)


def table(config: str, settings: Dict, result: Dict) -> str:
    init = 'checkpoint' if settings['checkpoint'] else 'random init'
    head = '| config | init | classifier | C | seed |'
    row = (f'| {osp.basename(config)} | {init} | {settings["classifier"]} | '
           f'{settings["C"]:g} | {settings["seed"]} |')
    if settings['task'] == 'classification':
        head += ' train | test | OA (%) | mAcc (%) |'
        row += (f' {result["num_train"]} | {result["num_test"]} | '
                f'{100 * result["accuracy"]:.2f} | {100 * result["mean_class_accuracy"]:.2f} |')
    else:
        head += ' train points | test points | mIoU (%) | OA (%) |'
        row += (f' {result["num_train_points"]} | {result["num_points"]} | '
                f'{100 * result["miou"]:.2f} | {100 * result["oa"]:.2f} |')
    return '\n'.join([head, '|' + '---|' * head.count(' | ') + '---|', row])


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    cfg = load_tool_config(args.config, args.cfg_options, None)
    settings = probe_settings(cfg, args)
    check_splits(cfg)
    out = args.out or osp.join(cfg.work_dir, f'linear_probe_seed{settings["seed"]}.json')
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    start = time.time()
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'crosspt')):
        model = build_encoder(cfg, settings).to(args.device)
        run = run_classification if settings['task'] == 'classification' \
            else run_segmentation
        result, arrays = run(cfg, model, settings)
    if args.save_features:
        os.makedirs(osp.dirname(osp.abspath(args.save_features)), exist_ok=True)
        np.savez(args.save_features, **arrays)
        log(f'wrote the features to {args.save_features}')
    text = table(args.config, settings, result)
    print(text, flush=True)
    record = dict(config=args.config, task=settings['task'],
                  checkpoint=settings['checkpoint'],
                  init='checkpoint' if settings['checkpoint'] else 'random',
                  device=args.device, settings=settings, cfg_options=args.cfg_options or {},
                  results=result, seconds=round(time.time() - start, 1))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(record, f, indent=1)
    log(f'wrote {out}')
    return record


if __name__ == '__main__':
    main()
