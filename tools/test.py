"""Evaluate a checkpoint with a config's test dataloader and evaluator.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...]
                                           [--launcher none|pytorch|slurm]
"""
import argparse
import os
import os.path as osp

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
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    setup_launcher(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    runner.logger.info(f'test metrics: {metrics}')


if __name__ == '__main__':
    main()
