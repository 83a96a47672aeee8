"""Train a crosspt model from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--partial-load]
                                 [--auto-scale-lr] [--tensorboard]
                                 [--cfg-options k=v ...] [--launcher none|pytorch|slurm]
Distributed: ``bash tools/dist_train.sh CONFIG NUM_PROCS [args]`` (torchrun; CPU uses gloo).
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

from mmengine.config import Config, DictAction

import crosspt.engine  # noqa: F401  (safe checkpoint loader, hooks)
from crosspt.engine import build_runner, setup_launcher
from crosspt.engine.preflight import add_dataloader_check, check_hooks
from crosspt.engine.visualization import add_tensorboard_backend
from crosspt.utils import load_tool_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a crosspt model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CKPT, or from the latest checkpoint in the work dir '
                        'when given without a path (restores optimizer, scheduler, iteration '
                        'and every RNG state: exact on CPU with randomness.deterministic=True)')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (CUDA)')
    parser.add_argument('--partial-load', action='store_true',
                        help='let load_from / --resume load a checkpoint that does not fit '
                        'the model exactly (only the matching tensors; config: '
                        'load_strict = False); by default any mismatch is an error')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help="scale the lr by (GPUs x batch_size) / the config's "
                        'auto_scale_lr.base_batch_size (linear scaling rule)')
    parser.add_argument('--tensorboard', action='store_true',
                        help='also log to TensorBoard (events file next to scalars.json in '
                        '<work_dir>/<timestamp>/vis_data; needs pip install tensorboard)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def add_rng_state_hook(cfg: Config) -> None:
    """Checkpoints carry every RNG state, so --resume is exact (crosspt.engine.hooks.
    RNGStateHook); a config that lists the hook itself keeps its own settings."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(isinstance(h, dict) and str(h.get('type', '')).split('.')[-1] == 'RNGStateHook'
               for h in hooks):
        hooks.append(dict(type='crosspt.RNGStateHook'))  # any default_scope
    cfg.custom_hooks = hooks


def build_cfg(args: argparse.Namespace) -> Config:
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir)
    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise RuntimeError('--amp needs CUDA: mmengine AmpOptimWrapper does not run on CPU')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise KeyError(f'--auto-scale-lr: {args.config} has no auto_scale_lr.base_batch_size')
        cfg.auto_scale_lr.enable = True
    if args.tensorboard:
        add_tensorboard_backend(cfg)
    if args.partial_load:
        cfg.load_strict = False
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume checkpoint not found: {args.resume}')
        cfg.resume, cfg.load_from = True, args.resume
    add_rng_state_hook(cfg)
    setup_launcher(cfg, args.launcher)
    return cfg


def main() -> None:
    cfg = build_cfg(parse_args())
    check_hooks(cfg)  # hook arguments, before anything is built
    runner = build_runner(cfg)
    add_dataloader_check(runner)  # no batch -> refused before the first iteration
    runner.train()


if __name__ == '__main__':
    main()
