"""Restricted unpickling of the plain-data pickle formats crosspt reads.

Some data formats are pickles by their authors' choice: Point-BERT's few-shot episodes
(``ModelNetFewshot/{way}way_{shot}shot/{fold}.pkl``) and presampled ModelNet40
(``modelnet40_{split}_{n}pts_fps.dat``), and mmdet3d's info files
(``scannet_infos_{split}.pkl``).  A plain ``pickle.load`` runs whatever code such a file
names, so crosspt reads them with :class:`RestrictedUnpickler`, whose ``find_class``
resolves only the globals that plain data needs:

* numpy arrays, dtypes and scalars (``_reconstruct``, ``_frombuffer``, ``scalar``,
  ``ndarray``, ``dtype``; numpy 1.x ``numpy.core`` and numpy 2.x ``numpy._core`` names);
* the builtin containers and values ``set``, ``frozenset``, ``bytearray``, ``complex``,
  ``slice`` and ``collections.OrderedDict``;
* ``_codecs.encode`` restricted to latin-1 (how protocol 2 stores ``bytes``).

Every other global is refused with :class:`UnsafePickleError` naming the file and the
global, before anything from the file is called (see docs/data_preparation.md).
"""
import collections
import io
import os
import pickle
from typing import Any, Dict, Tuple, Union

import numpy as np

__all__ = ['UnsafePickleError', 'RestrictedUnpickler', 'restricted_pickle_load',
           'restricted_pickle_loads', 'ALLOWED_GLOBALS']


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle names a global outside :data:`ALLOWED_GLOBALS`."""


def _latin1_encode(text: str, encoding: str = 'latin1') -> bytes:
    """``_codecs.encode`` as protocol 2 uses it for ``bytes``; latin-1 only."""
    if encoding not in ('latin1', 'latin-1') or not isinstance(text, str):
        raise UnsafePickleError(f'_codecs.encode is allowed only for latin-1 text, got '
                                f'encoding {encoding!r}')
    return text.encode('latin1')


def _numpy_globals() -> Dict[Tuple[str, str], Any]:
    """The numpy reconstruction functions under both their 1.x and 2.x module names
    (taken from numpy's own ``__reduce__`` so no deprecated module is imported)."""
    reconstruct = np.zeros(1).__reduce__()[0]
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]
    scalar = np.float64(0).__reduce__()[0]
    allowed: Dict[Tuple[str, str], Any] = {('numpy', 'ndarray'): np.ndarray,
                                           ('numpy', 'dtype'): np.dtype}
    for core in ('numpy.core', 'numpy._core'):
        allowed[f'{core}.multiarray', '_reconstruct'] = reconstruct
        allowed[f'{core}.multiarray', 'scalar'] = scalar
        allowed[f'{core}.numeric', '_frombuffer'] = frombuffer
    return allowed


def _builtin_globals() -> Dict[Tuple[str, str], Any]:
    """Builtin containers/values under the Python 3 and the protocol-2 (Python 2) names."""
    allowed: Dict[Tuple[str, str], Any] = {}
    for module in ('builtins', '__builtin__'):
        for value in (set, frozenset, bytearray, complex, slice):
            allowed[module, value.__name__] = value
    allowed['collections', 'OrderedDict'] = collections.OrderedDict
    allowed['_codecs', 'encode'] = _latin1_encode
    return allowed


#: (module, name) -> object: everything the restricted unpickler resolves
ALLOWED_GLOBALS: Dict[Tuple[str, str], Any] = {**_numpy_globals(), **_builtin_globals()}


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` resolving only :data:`ALLOWED_GLOBALS`.

    Args:
        file: binary file object.
        source: the file's name, used in error messages.
    """

    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        """The allowed object, else raise :class:`UnsafePickleError`."""
        try:
            return ALLOWED_GLOBALS[module, name]
        except KeyError:
            raise UnsafePickleError(
                f'{self.source}: refused to load the global {module}.{name}: crosspt reads '
                f'this pickle with a restricted unpickler that allows only numpy arrays, '
                f'scalars and plain containers (a pickle naming other globals can run code '
                f'when loaded). Re-create the file from trusted data (docs/'
                f'data_preparation.md)') from None

    def persistent_load(self, pid: Any) -> Any:
        """Persistent ids are never plain data."""
        raise UnsafePickleError(f'{self.source}: refused a persistent id in the pickle '
                                f'({pid!r}); crosspt reads only plain data from it')


def _unpickle(file: io.BufferedIOBase, source: str) -> Any:
    """Run :class:`RestrictedUnpickler` on ``file``; corrupt data -> ValueError."""
    try:
        return RestrictedUnpickler(file, source).load()
    except UnsafePickleError:
        raise
    except Exception as exc:  # unpickling raises many types for a corrupt file
        raise ValueError(f'{source}: not a readable pickle (truncated or corrupt?): '
                         f'{type(exc).__name__}: {exc}') from exc


def restricted_pickle_loads(data: bytes, source: str) -> Any:
    """Unpickle ``data`` (read from ``source``) with :class:`RestrictedUnpickler`.

    Raises :class:`UnsafePickleError` for a refused global; ValueError naming ``source``
    for a truncated or corrupt pickle."""
    return _unpickle(io.BytesIO(data), source)


def restricted_pickle_load(path: Union[str, os.PathLike]) -> Any:
    """Read the local pickle file ``path`` with :class:`RestrictedUnpickler` (errors as
    :func:`restricted_pickle_loads`; FileNotFoundError for a missing file)."""
    path = os.fspath(path)
    with open(path, 'rb') as f:
        return _unpickle(f, path)
