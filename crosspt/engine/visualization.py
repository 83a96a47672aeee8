"""Opt-in TensorBoard logging.

Every crosspt run logs through mmengine's ``Visualizer`` with a ``LocalVisBackend``
(``configs/_base_/default_runtime.py``: ``<work_dir>/<timestamp>/vis_data/scalars.json``
and the hook pictures).  TensorBoard is off by default; :func:`add_tensorboard_backend`
(``tools/train.py --tensorboard``) appends mmengine's ``TensorboardVisBackend`` to the
config's ``visualizer.vis_backends``, which then writes an ``events.out.tfevents.*`` file
next to ``scalars.json`` with the same scalars (loss, lr, validation metrics) and images.
"""
from mmengine.config import Config, ConfigDict

TENSORBOARD_BACKEND = 'TensorboardVisBackend'


def _is_tensorboard(backend: dict) -> bool:
    """Whether a ``vis_backends`` entry is mmengine's TensorBoard backend (any scope)."""
    return str(backend.get('type', '')).split('.')[-1] == TENSORBOARD_BACKEND


def check_tensorboard_installed() -> None:
    """Raise ImportError with the fix when ``torch.utils.tensorboard`` cannot be imported.

    mmengine imports it only when the backend first writes, i.e. after the model and the
    data are built; this check fails before anything runs."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError as exc:
        raise ImportError('TensorBoard logging needs the tensorboard package: '
                          'pip install tensorboard') from exc


def add_tensorboard_backend(cfg: Config) -> Config:
    """Append ``dict(type='TensorboardVisBackend')`` to ``cfg.visualizer.vis_backends``.

    A config without ``visualizer`` gets mmengine's plain ``Visualizer``; a backend list
    that already holds the TensorBoard backend is left as it is.  Returns ``cfg``
    (changed in place)."""
    check_tensorboard_installed()
    visualizer = cfg.get('visualizer') or ConfigDict(type='Visualizer', name='visualizer')
    backends = list(visualizer.get('vis_backends') or [])
    if not all(isinstance(b, dict) for b in backends):
        raise TypeError(f'visualizer.vis_backends must be a list of dicts, got '
                        f'{visualizer.get("vis_backends")!r}')
    if not any(_is_tensorboard(b) for b in backends):
        backends.append(ConfigDict(type=TENSORBOARD_BACKEND))
    visualizer['vis_backends'] = backends
    cfg.visualizer = visualizer
    return cfg
