"""Evaluate a checkpoint with a config's test dataloader and evaluator.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...]
                                           [--tta] [--partial-load]
                                           [--launcher none|pytorch|slurm]

CHECKPOINT is a local file or an ``http(s)://`` / ``file://`` URL (downloaded once into
the crosspt cache and checked against the sha256 prefix of its name).  It must fit the
model exactly (every tensor present, none extra, same shapes); ``--partial-load`` loads
only the matching tensors and logs the key report as a WARNING.

``--tta`` evaluates with voting test-time augmentation: the config's ``tta_pipeline``
replaces the test pipeline and ``tta_model`` wraps the model (crosspt.models.tta).
"""
import argparse
import os
import os.path as osp
import sys

# the repository root, so configs can load `projects.<Name>.<package>` through
# custom_imports when this script is run as `python tools/<script>.py` (dist_train.sh also
# puts it on PYTHONPATH)
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmengine.config import DictAction

import crosspt.engine  # noqa: F401  (safe checkpoint loader, hooks)
from crosspt.engine import build_runner, setup_launcher
from crosspt.fileio.download import resolve_checkpoint
from crosspt.engine.preflight import add_dataloader_check, check_hooks
from crosspt.utils import load_tool_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a crosspt model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint',
                        help='checkpoint file, or http(s):// / file:// URL (cached, '
                        'sha256-checked)')
    parser.add_argument('--work-dir', help='directory for logs and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. test_dataloader.batch_size=4')
    parser.add_argument('--tta', action='store_true',
                        help="voting test-time augmentation (config keys 'tta_model', "
                             "'tta_pipeline')")
    parser.add_argument('--partial-load', action='store_true',
                        help='load a checkpoint that does not fit the model exactly (only '
                        'the matching tensors; config: load_strict = False)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_tta(cfg, config_path: str) -> None:
    """Swap in ``tta_pipeline`` and wrap ``model`` in ``tta_model`` (in place)."""
    missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
    if missing:
        raise KeyError(f'--tta needs {missing} in {config_path}; the benchmark configs '
                       f'under configs/tap/benchmarks/ define them')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.model = dict(**cfg.tta_model, module=cfg.model)


def main() -> None:
    args = parse_args()
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir)
    cfg.load_from = resolve_checkpoint(args.checkpoint)
    if args.partial_load:
        cfg.load_strict = False
    if args.tta:
        enable_tta(cfg, args.config)
    setup_launcher(cfg, args.launcher)
    check_hooks(cfg)
    runner = build_runner(cfg)
    add_dataloader_check(runner)  # an empty test loader is refused, not scored
    metrics = runner.test()
    runner.logger.info(f'test metrics: {metrics}')


if __name__ == '__main__':
    main()
