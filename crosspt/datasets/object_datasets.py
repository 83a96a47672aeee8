"""Shared machinery of the downstream object datasets (downstream.md §3).

The concrete datasets live in ``scanobjectnn.py``, ``modelnet40.py``, ``shapenetpart.py``
and ``modelnet_fewshot.py``; this module holds what they share:

* :class:`BaseObjectDataset`: pipeline built from crosspt TRANSFORMS, ``auto_generate``
  (synthetic data on first use, rank 0 first), errors that name the path and say how to
  get the data.
* HDF5 reading with validation (:func:`read_h5_cloud_file`): missing/truncated file,
  missing key, wrong shape, lengths that differ, non-integer or out-of-range labels and
  non-finite points all raise with the file (and row) named.
* A pickle cache of presampled clouds (:func:`cached_pickle`) with a file lock, a
  staleness check and atomic writes.

Data-info contract shared by every object dataset (one dict per sample):
``sample_idx`` (int), ``source`` (str: ``'<file>'`` or ``'<file>[row <i>]'``) and
``cloud`` ((N, 3) or (N, 6) float32: xyz[, normals]; loaded lazily for the text-file
datasets), plus ``label`` (int) for classification or ``category`` (int) and
``part_labels`` ((N,) int64) for part segmentation.
"""
import os
import pickle
from abc import ABCMeta, abstractmethod
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from crosspt.fileio.atomic import file_lock

from crosspt.datasets.auto_generate import generate_once
from crosspt.registry import TRANSFORMS

SYNTHETIC_INFO = 'synthetic_info.json'
GENERATE_HINT = ('`python tools/create_data.py {command} --out-dir <data_root>` writes a small '
                 'synthetic stand-in in exactly this layout (or give the dataset '
                 '`auto_generate=dict(...)`)')


def log(message: str) -> None:
    """Log through mmengine's current logger."""
    print_log(message, logger='current')


def first_nonfinite_row(array: np.ndarray) -> Optional[int]:
    """Index along axis 0 of the first entry holding NaN/inf, or None."""
    bad = ~np.isfinite(array.reshape(len(array), -1)).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def check_labels(labels: np.ndarray, num_classes: int, source: str, owner: str) -> np.ndarray:
    """Integer-valued labels in ``[0, num_classes)`` as int64; errors name source and row."""
    labels = np.asarray(labels)
    if labels.dtype.kind == 'f':
        if not np.isfinite(labels).all() or (labels != np.round(labels)).any():
            row = int(np.argmax(~np.isfinite(labels) | (labels != np.round(labels))))
            raise ValueError(f'{owner}: {source}: label of row {row} is {float(labels[row])}, '
                             f'expected an integer class id')
    elif labels.dtype.kind not in 'iu':
        raise ValueError(f'{owner}: {source}: labels must be integers, got dtype {labels.dtype}')
    labels = labels.astype(np.int64)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f'{owner}: {source}: row {row} has label {int(labels[row])} outside '
                         f'the class range [0, {num_classes})')
    return labels


def read_h5_cloud_file(path: str, num_classes: int, owner: str,
                       extra_keys: Sequence[str] = ()) -> Tuple[np.ndarray, np.ndarray, dict]:
    """Read and validate ``data`` (N, P, 3) float and ``label`` (N,) or (N, 1) int.

    Returns ``(data float32 (N, P, 3), labels int64 (N,), {key: array} for extra_keys
    present in the file)``.  Raises FileNotFoundError (missing file) or ValueError naming
    the file (unreadable/truncated file, missing key, wrong shape or dtype, length
    mismatch, NaN/inf point, label out of range).
    """
    import h5py

    if not os.path.isfile(path):
        raise FileNotFoundError(f'{owner}: HDF5 file not found: {path}')
    try:
        with h5py.File(path, 'r') as f:
            missing = [key for key in ('data', 'label') if key not in f]
            if missing:
                raise ValueError(f'{owner}: {path} has no key(s) {missing} (keys present: '
                                 f'{sorted(f.keys())}); expected `data` (N, P, 3) float32 '
                                 f'and `label` (N,) int')
            data = np.asarray(f['data'][()])
            labels = np.asarray(f['label'][()])
            extra = {key: np.asarray(f[key][()]) for key in extra_keys if key in f}
    except ValueError:
        raise
    except (OSError, KeyError, RuntimeError, TypeError) as exc:
        raise ValueError(f'{owner}: cannot read HDF5 file {path} (truncated or corrupt?): '
                         f'{type(exc).__name__}: {exc}') from exc
    if data.ndim != 3 or data.shape[2] != 3 or data.shape[1] == 0:
        raise ValueError(f'{owner}: `data` of {path} must be (N, P, 3) with P > 0, got shape '
                         f'{data.shape}')
    if data.dtype.kind != 'f':
        raise ValueError(f'{owner}: `data` of {path} must be floating point, got {data.dtype}')
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f'{owner}: `label` of {path} must be (N,) or (N, 1), got shape '
                         f'{labels.shape}')
    if len(labels) != len(data):
        raise ValueError(f'{owner}: {path} has {len(data)} clouds in `data` but {len(labels)} '
                         f'entries in `label` (truncated or mismatched file)')
    row = first_nonfinite_row(data)
    if row is not None:
        raise ValueError(f'{owner}: {path}: cloud of row {row} contains NaN or inf')
    labels = check_labels(labels, num_classes, path, owner)
    return np.ascontiguousarray(data, dtype=np.float32), labels, extra


def cached_pickle(cache_path: str, build: Callable[[], object],
                  validate: Callable[[object], Optional[str]], owner: str,
                  rebuild_stale: bool = True) -> object:
    """Load ``cache_path`` if ``validate(obj)`` returns None, else (re)build and write it.

    ``validate`` returns a reason string for a stale cache.  A stale cache is rebuilt
    when ``rebuild_stale`` is True, otherwise ValueError names the file and the reason.
    Building happens under a lock on ``cache_path + '.lock'`` and the file is written
    to a temporary name and renamed, so readers never see half a cache.
    """
    def load() -> Tuple[Optional[object], Optional[str]]:
        if not os.path.isfile(cache_path):
            return None, None
        try:
            with open(cache_path, 'rb') as f:
                obj = pickle.load(f)
        except Exception as exc:  # unpickling raises many types for a corrupt file
            return None, f'unreadable ({type(exc).__name__}: {exc})'
        reason = validate(obj)
        return (obj, None) if reason is None else (None, reason)

    obj, reason = load()
    if obj is not None:
        log(f'{owner}: reusing presampled cache {cache_path}')
        return obj
    os.makedirs(os.path.dirname(cache_path) or '.', exist_ok=True)
    with file_lock(cache_path + '.lock'):
        obj, reason = load()  # another process may have written it meanwhile
        if obj is not None:
            return obj
        if reason is not None:
            if not rebuild_stale:
                raise ValueError(f'{owner}: cache {cache_path} is stale: {reason}; delete it or '
                                 f'pass rebuild_stale_cache=True')
            log(f'{owner}: cache {cache_path} is stale ({reason}); rebuilding it')
        else:
            log(f'{owner}: building presampled cache {cache_path} (once)')
        obj = build()
        problem = validate(obj)
        if problem is not None:  # a bug in build(), never expected
            raise RuntimeError(f'{owner}: freshly built cache {cache_path} is invalid: {problem}')
        tmp = f'{cache_path}.tmp-{os.getpid()}'
        with open(tmp, 'wb') as f:
            pickle.dump(obj, f, protocol=4)
        os.replace(tmp, cache_path)
    return obj


def cache_location(default_dir: str, cache_dir: Optional[str], name: str,
                   owner: str) -> Optional[str]:
    """``cache_dir/name`` when given, else ``default_dir/name`` if that folder is writable;
    None (with a logged warning) when neither can be written."""
    if cache_dir is not None:
        return os.path.join(os.fspath(cache_dir), name)
    if os.access(default_dir, os.W_OK):
        return os.path.join(default_dir, name)
    log(f'{owner}: {default_dir} is read-only and no cache_dir is set: presampled clouds '
        f'are computed in memory for this run only (pass cache_dir=... to keep them)')
    return None


def find_data_dir(data_root: str, marker: str, subdirs: Sequence[str]) -> Optional[str]:
    """First of ``data_root/<s>`` (``s`` in ``subdirs``, '' = data_root) holding ``marker``."""
    for sub in subdirs:
        candidate = os.path.join(data_root, sub) if sub else data_root
        if os.path.exists(os.path.join(candidate, marker)):
            return candidate
    return None


class BaseObjectDataset(BaseDataset, metaclass=ABCMeta):
    """Common constructor and ``auto_generate`` logic of the object datasets.

    Subclasses set ``GENERATOR`` (function name in ``crosspt.datasets.synthetic_objects``),
    ``CREATE_COMMAND`` (the ``tools/create_data.py`` subcommand), ``DATA_HELP`` (where
    the real data comes from), ``SPLITS`` and implement ``_data_present`` and
    ``load_data_list``.
    """

    GENERATOR: str = ''
    CREATE_COMMAND: str = ''
    DATA_HELP: str = ''
    SPLITS: Tuple[str, ...] = ('train', 'test')

    def __init__(self, data_root: str, split: str = 'train',
                 pipeline: Sequence[Union[dict, Callable]] = (), test_mode: bool = False,
                 auto_generate: Optional[dict] = None, **kwargs) -> None:
        name = type(self).__name__
        if split not in self.SPLITS:
            raise ValueError(f'{name}: split must be one of {list(self.SPLITS)}, got {split!r}')
        if auto_generate is not None and not isinstance(auto_generate, dict):
            raise ValueError(f'{name}: auto_generate must be a dict of {self.GENERATOR} '
                             f'arguments or None, got {auto_generate!r}')
        if not data_root:
            raise ValueError(f'{name}: data_root must be a non-empty path')
        self.split = split
        self.auto_generate = None if auto_generate is None else dict(auto_generate)
        built = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        super().__init__(data_root=os.fspath(data_root), pipeline=built, test_mode=test_mode,
                         **kwargs)

    # -------------------------------------------------------------- auto_generate
    @abstractmethod
    def _data_present(self) -> bool:
        """True when the files this split reads exist."""

    def _needs_generation(self) -> bool:
        return not self._data_present() or \
            os.path.isfile(os.path.join(self.data_root, SYNTHETIC_INFO))

    def _maybe_generate(self) -> None:
        """Run the synthetic generator when ``auto_generate`` is set and it is needed
        (:func:`crosspt.datasets.auto_generate.generate_once`)."""
        if self.auto_generate is not None:
            generate_once(self._generate, self._needs_generation)

    def _generate(self) -> None:
        from crosspt.datasets import synthetic_objects

        getattr(synthetic_objects, self.GENERATOR)(self.data_root, **self.auto_generate)

    # -------------------------------------------------------------- errors
    def missing(self, path: str, what: str) -> FileNotFoundError:
        hint = GENERATE_HINT.format(command=self.CREATE_COMMAND)
        return FileNotFoundError(f'{type(self).__name__}(split={self.split!r}): {what}: {path}. '
                                 f'{self.DATA_HELP} For a demo, {hint}.')

    def set_classes(self, classes: Sequence[str]) -> None:
        """Store the class names in ``metainfo['classes']``."""
        self._metainfo['classes'] = tuple(classes)

    def __repr__(self) -> str:
        head = f'{type(self).__name__}(data_root={self.data_root!r}, split={self.split!r}'
        size = f', num_samples={len(self)}' if self._fully_initialized else ''
        return f'{head}{size})'


def read_name_list(path: str, owner: str) -> List[str]:
    """Non-empty stripped lines of a text file; duplicates raise ValueError."""
    with open(path) as f:
        names = [line.strip() for line in f if line.strip()]
    if not names:
        raise ValueError(f'{owner}: {path} is empty')
    seen: Dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f'{owner}: {path}: line {i + 1} repeats {name!r} '
                             f'(first on line {seen[name] + 1})')
        seen[name] = i
    return names
