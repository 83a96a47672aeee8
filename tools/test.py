"""Evaluate a checkpoint with a config's test dataloader and evaluator.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...]
                                           [--tta] [--launcher none|pytorch|slurm]

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
from mmengine.runner import Runner

import crosspt.engine  # noqa: F401  (safe checkpoint loader, hooks)
from crosspt.engine import setup_launcher
from crosspt.utils import load_tool_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a crosspt model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for logs and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. test_dataloader.batch_size=4')
    parser.add_argument('--tta', action='store_true',
                        help="voting test-time augmentation (config keys 'tta_model', "
                             "'tta_pipeline')")
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
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    if args.tta:
        enable_tta(cfg, args.config)
    setup_launcher(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    runner.logger.info(f'test metrics: {metrics}')


if __name__ == '__main__':
    main()
