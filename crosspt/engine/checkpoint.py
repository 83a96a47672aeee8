"""Checkpoint loading that keeps torch's ``weights_only`` safety.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch 2.6 that
means ``weights_only=True`` and mmengine's own checkpoints (which hold its message
hub, i.e. ``HistoryBuffer`` objects and numpy arrays/scalars) fail to load.  Instead of
turning the safety off, crosspt replaces mmengine's local-file loader with one that
loads with ``weights_only=True`` and allows exactly those plain-data types.  Arbitrary
pickled code in a tampered file is still refused.
"""
import os
from typing import Any, List

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from crosspt.fileio.download import load_checkpoint_url


#: HistoryBuffer's built-in statistics (mmengine 0.10.7); user-registered ones are added
#: from ``HistoryBuffer._statistics_methods`` at load time.
HISTORY_BUFFER_STATISTICS = frozenset({'min', 'max', 'mean', 'current'})


def _history_buffer_getattr(owner: Any, name: str) -> Any:
    """Stands in for ``builtins.getattr`` while unpickling.

    mmengine pickles ``HistoryBuffer``'s statistics functions (``min``, ``max``, ...) as
    ``getattr(HistoryBuffer, name)``; anything else is refused.
    """
    allowed = HISTORY_BUFFER_STATISTICS | set(HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise RuntimeError(f'checkpoint asks for getattr({owner!r}, {name!r}), which is not an '
                       'mmengine HistoryBuffer statistic; refusing to load it')


def checkpoint_safe_globals() -> List[Any]:
    """Plain-data types mmengine puts into training checkpoints (``ConfigDict``: a dict
    subclass, in ``meta.dataset_meta`` when a config passes ``metainfo``)."""
    allowed: List[Any] = [HistoryBuffer, ConfigDict, np.ndarray, np.dtype,
                          (_history_buffer_getattr, 'builtins.getattr')]
    multiarray = getattr(np, '_core', None) or np.core
    allowed.append(multiarray.multiarray._reconstruct)
    allowed.append(multiarray.multiarray.scalar)
    for name in ('float64', 'float32', 'float16', 'int64', 'int32', 'int16', 'int8',
                 'uint8', 'bool_'):
        scalar_type = getattr(np, name)
        allowed.append(scalar_type)
        allowed.append(type(np.dtype(scalar_type)))
    return allowed


def load_checkpoint_file(filename: str, map_location=None) -> dict:
    """``torch.load`` with ``weights_only=True`` plus the mmengine plain-data allowlist."""
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise RuntimeError(
            f'could not load checkpoint {filename} with weights_only=True: {err}. '
            'crosspt only loads tensors, numbers, strings and mmengine log buffers; a file '
            'that needs anything else is refused.') from err


def register_checkpoint_loader() -> None:
    """Make every mmengine local-file checkpoint load (resume, load_from, Pretrained
    init) go through :func:`load_checkpoint_file`."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file, force=True)


def load_from_safe_url(filename: str, map_location=None) -> dict:
    """mmengine loader for ``http(s)://`` checkpoints: :func:`load_checkpoint_url`
    (cached, sha256-verified download, ``weights_only`` load).  Its name is what mmengine
    logs ("Loads checkpoint by safe_url backend")."""
    return load_checkpoint_url(filename, map_location=map_location)


def register_url_loader() -> None:
    """Make mmengine load ``http://`` / ``https://`` checkpoints (``load_from``,
    ``resume``, ``Pretrained`` init) through :func:`load_checkpoint_url` instead of
    mmengine's unverified ``load_from_http``."""
    CheckpointLoader.register_scheme(prefixes=('http://', 'https://'),
                                     loader=load_from_safe_url, force=True)
