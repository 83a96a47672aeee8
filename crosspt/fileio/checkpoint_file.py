"""Safe loading of a local checkpoint file: ``torch.load`` with ``weights_only=True``.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch 2.6 that
means ``weights_only=True`` and mmengine's own checkpoints (which hold its message
hub, i.e. ``HistoryBuffer`` objects and numpy arrays/scalars) fail to load.  Instead of
turning the safety off, :func:`load_checkpoint_file` loads with ``weights_only=True`` and
allows exactly those plain-data types.  Arbitrary pickled code in a tampered file is still
refused, and a file torch cannot read gets crosspt's own message (what the file is; never
advice to turn the protection off).  :mod:`crosspt.engine.checkpoint` routes mmengine's
loaders through it.
"""
import os
import re
import string
from typing import Any, List

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer

from .download import is_checkpoint_url, verify_local_hash


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


#: the first bytes of a zip archive, the container of ``torch.save`` since torch 1.6
ZIP_MAGIC = b'PK\x03\x04'
_GLOBAL = re.compile(r'GLOBAL ([A-Za-z_][\w.]*)')
#: lines of torch's error text that are advice, not a description of the file
_ADVICE = ('weights_only', 'weights only load failed', 'check the documentation',
           'trusted source', 'safe_globals', 'please file an issue')


def describe_file_start(filename: str, num_bytes: int = 16) -> str:
    """What the first ``num_bytes`` of ``filename`` look like, e.g. ``'a zip archive'``
    or ``"text starting with b'<!DOCTYPE html>'"``."""
    size = os.path.getsize(filename)
    with open(filename, 'rb') as f:
        head = f.read(num_bytes)
    if size == 0:
        return 'an empty file (0 bytes)'
    if head.startswith(ZIP_MAGIC):
        return f'a zip archive of {size} bytes (the container torch.save writes)'
    if head[:1] == b'\x80':
        return f'a pickle stream of {size} bytes, not in the format torch.save writes'
    if all(chr(b) in string.printable for b in head):
        return f'text of {size} bytes starting with {head!r}'
    return f'{size} bytes of an unknown format starting with {head.hex(" ")}'


def torch_error_summary(err: BaseException) -> str:
    """The class and the descriptive part of a ``torch.load`` error, without torch's
    advice (its suggestion to load with the protection off is dropped)."""
    kept = []
    for line in str(err).splitlines():
        if 'WeightsUnpickler error:' in line:
            line = line.split('WeightsUnpickler error:', 1)[1]
        line = line.split(' Please use', 1)[0].split('. This is an internal', 1)[0].strip()
        if line and not any(a in line.lower() for a in _ADVICE):
            kept.append(line)
    detail = ' '.join(kept)
    detail = detail[:200] + ('...' if len(detail) > 200 else '')
    return type(err).__name__ + (f' ({detail})' if detail else '')


def unreadable_checkpoint_message(filename: str, err: BaseException) -> str:
    """crosspt's explanation of why ``torch.load(filename, weights_only=True)`` failed."""
    found = _GLOBAL.search(str(err))
    if found:
        return (f'checkpoint {filename} was refused: it asks to import {found.group(1)}, '
                f'which is not a tensor, number, string or mmengine log buffer. crosspt '
                f'loads checkpoints with torch\'s weights_only protection, so a file that '
                f'could run code while loading is never loaded. Use a checkpoint holding '
                f'only tensors and plain data (tools/model_converters/publish_model.py '
                f'writes one from a training checkpoint).')
    return (f'{filename} is not a PyTorch checkpoint or could not be read: it is '
            f'{describe_file_start(filename)}; torch.load raised '
            f'{torch_error_summary(err)}. Check the path; a file that was downloaded or '
            f'copied may be truncated, so fetch it again.')


def load_checkpoint_file(filename: str, map_location=None) -> dict:
    """``torch.load`` with ``weights_only=True`` plus the mmengine plain-data allowlist.

    A name with a ``-<sha256 prefix>`` suffix is checked against the file first
    (:func:`crosspt.fileio.download.verify_local_hash`).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file's sha256 does not match the suffix of its name.
        RuntimeError: not a checkpoint, unreadable, or it pickles anything but plain data.
    """
    if not os.path.isfile(filename):
        hint = ' (a URL is loaded with load_checkpoint_url)' \
            if is_checkpoint_url(filename) else ''
        raise FileNotFoundError(f'checkpoint file not found: {filename}{hint}')
    verify_local_hash(filename)
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - replaced by a message naming the file
        message = unreadable_checkpoint_message(filename, err)
    # raised outside the except block: torch's own text (with its advice to turn the
    # protection off) is not chained into the traceback
    raise RuntimeError(message)
