"""The marker of generated (synthetic) data: ``<root>/synthetic_info.json``.

Every embedded generator (:mod:`crosspt.synthetic`) records in it a header (format
version, generator id, parameters) and the manifest of the files it wrote
(:func:`crosspt.fileio.atomic.write_dataset_once`). Loaders read only whether the marker
exists; generators also check that it matches their header (:func:`is_generated`).
"""
import os
from typing import Any, Dict, Optional, Union

from .atomic import info_matches

SYNTHETIC_INFO = 'synthetic_info.json'
#: ``format_version`` every generator writes today
FORMAT_VERSION = 1

__all__ = ['SYNTHETIC_INFO', 'FORMAT_VERSION', 'is_synthetic', 'synthetic_header',
           'is_generated']


def is_synthetic(root: Union[str, os.PathLike]) -> bool:
    """True when ``root`` holds a ``synthetic_info.json`` (generated, not real, data)."""
    return os.path.isfile(os.path.join(os.fspath(root), SYNTHETIC_INFO))


def synthetic_header(generator: str, params: Optional[Dict[str, Any]] = None,
                     format_version: int = FORMAT_VERSION) -> Dict[str, Any]:
    """``{'format_version', 'generator', 'params'}`` (``params`` left out when None), in
    the order the info json stores them."""
    header: Dict[str, Any] = {'format_version': format_version, 'generator': generator}
    if params is not None:
        header['params'] = params
    return header


def is_generated(root: Union[str, os.PathLike], generator: str,
                 params: Optional[Dict[str, Any]] = None,
                 format_version: int = FORMAT_VERSION) -> bool:
    """True when ``root``'s marker records ``generator`` (and ``params``, if given) and
    every file of its manifest is present with its recorded size."""
    return info_matches(os.fspath(root), SYNTHETIC_INFO,
                        synthetic_header(generator, params, format_version))
