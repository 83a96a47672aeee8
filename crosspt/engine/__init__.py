from .checkpoint import load_checkpoint_file, register_checkpoint_loader, register_url_loader
from .hooks import *  # noqa: F401,F403
from .launch import setup_launcher

register_checkpoint_loader()
register_url_loader()

__all__ = ['load_checkpoint_file', 'register_checkpoint_loader', 'register_url_loader',
           'setup_launcher']
