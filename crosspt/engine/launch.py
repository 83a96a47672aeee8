"""Launcher set-up shared by tools/train.py and tools/test.py.

On CUDA machines mmengine's own ``init_dist`` is used unchanged (NCCL).  On a CPU-only
torch, mmengine's pytorch/slurm launchers call ``torch.cuda.set_device`` and fail, so
crosspt initialises a ``gloo`` process group itself before the Runner is built (the
Runner then skips ``init_dist``) and wraps the model in DDP with ``device_ids=None``.
"""
import os
import subprocess

import torch
import torch.distributed as dist
from mmengine.config import Config


def _export_slurm_env(default_port: int = 29500) -> None:
    """Derive torch's env:// variables from SLURM's, as srun sets no MASTER_* itself."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        first = subprocess.check_output(['scontrol', 'show', 'hostname', nodes], text=True)
        os.environ['MASTER_ADDR'] = first.split()[0]
    os.environ.setdefault('MASTER_PORT', str(default_port))


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Set ``cfg.launcher`` and, on CPU, start a gloo process group for it."""
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher == 'slurm':
        _export_slurm_env()
    elif launcher != 'pytorch':
        raise ValueError(f"--launcher {launcher!r} is not supported on a CPU-only torch; use "
                         "'pytorch' (torchrun, tools/dist_train.sh) or 'slurm'")
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if k not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher {launcher} needs the environment variables {missing}; '
                           'start with tools/dist_train.sh (torchrun) or srun')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
