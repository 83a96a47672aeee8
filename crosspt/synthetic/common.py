"""What every generator shares: argument checks, registration in
``crosspt.registry.FUNCTIONS`` and the one write-once call.

A generator writes its folder through :func:`generate_dataset`, which runs
:func:`crosspt.fileio.atomic.write_dataset_once` with the ``synthetic_info.json`` header
``{'format_version', 'generator', 'params'}`` (:mod:`crosspt.fileio.synthetic_info`):
idempotent (same header and every manifest file intact: nothing is rewritten), under an
``fcntl`` lock on ``<root>.lock``, built in a temporary sibling folder swapped into place,
and replacing only files of the old manifest.
"""
import os
from typing import Any, Callable, Dict, Optional, Union

import numpy as np

from crosspt.fileio.atomic import write_dataset_once
from crosspt.fileio.synthetic_info import SYNTHETIC_INFO, is_generated, synthetic_header
from crosspt.registry import FUNCTIONS

PathLike = Union[str, os.PathLike]
Writer = Callable[[str, Any], Dict[str, Any]]

__all__ = ['register', 'check_positive', 'generate_dataset']


def register(generator: Callable) -> Callable:
    """Register ``generator`` in ``FUNCTIONS`` under its own name (loaders find it there,
    :class:`crosspt.datasets.auto_generate.AutoGenerateMixin`)."""
    FUNCTIONS.register_module(module=generator)
    return generator


def check_positive(name: str, **values: Any) -> None:
    """ValueError naming ``name`` and the key unless every value is a positive int."""
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f'{name}: {key} must be a positive int, got {value!r}')


def generate_dataset(data_root: PathLike, name: str, generator: str, params: Dict[str, Any],
                     write: Writer, progress: Optional[Dict[str, Any]] = None) -> dict:
    """Run ``write(tmp_dir, bar) -> info fields`` unless ``data_root`` already holds this
    ``generator``'s output for ``params`` (module docstring).

    Returns:
        the ``synthetic_info.json`` dict plus ``data_root`` and ``created``.
    """
    return write_dataset_once(
        data_root, name, SYNTHETIC_INFO,
        is_complete=lambda root: is_generated(root, generator, params), write=write,
        header=synthetic_header(generator, params), progress=progress)
