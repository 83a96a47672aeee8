from .checkpoint import load_checkpoint_file, register_checkpoint_loader, register_url_loader
from .hooks import *  # noqa: F401,F403
from .launch import setup_launcher
from .preflight import DataloaderSizeCheckHook, add_dataloader_check, check_hooks
from .runner import CheckpointMismatchError, CrossptRunner, build_runner

register_checkpoint_loader()
register_url_loader()

__all__ = ['load_checkpoint_file', 'register_checkpoint_loader', 'register_url_loader',
           'setup_launcher', 'DataloaderSizeCheckHook', 'add_dataloader_check', 'check_hooks',
           'CheckpointMismatchError', 'CrossptRunner', 'build_runner']
