"""Shared machinery of the downstream object datasets (formats: docs/methods/benchmarks.md).

The concrete datasets live in ``scanobjectnn.py``, ``modelnet40.py``, ``shapenetpart.py``
and ``modelnet_fewshot.py``; this module holds what they share:

* :class:`BaseObjectDataset`: pipeline built from crosspt TRANSFORMS, ``auto_generate``
  (synthetic data on first use, rank 0 first: :class:`AutoGenerateMixin`), errors that
  name the path and say how to get the data.
* HDF5 reading with validation (:func:`read_h5_cloud_file`): missing/truncated file,
  missing key, wrong shape, lengths that differ, non-integer or out-of-range labels and
  non-finite points all raise with the file (and row) named.
* An ``.npz`` cache of presampled clouds (:func:`cached_arrays`): plain arrays read with
  ``allow_pickle=False`` (a cache file cannot run code), a JSON record of the build
  parameters and of the size and mtime of every source file (any change makes it stale),
  a file lock and atomic writes.  Files crosspt did not write are never overwritten.

Data-info contract shared by every object dataset (one dict per sample):
``sample_idx`` (int), ``source`` (str: ``'<file>'`` or ``'<file>[row <i>]'``) and
``cloud`` ((N, 3) or (N, 6) float32: xyz[, normals]; loaded lazily for the text-file
datasets), plus ``label`` (int) for classification or ``category`` (int) and
``part_labels`` ((N,) int64) for part segmentation.
"""
import json
import os
from abc import ABCMeta, abstractmethod
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from crosspt.fileio.atomic import file_lock

from .auto_generate import AutoGenerateMixin
from .packing import PackedDataListMixin
from .transforms.builder import build_transforms

#: ``format`` of the JSON record in every presampled ``.npz`` cache
CACHE_FORMAT = 'crosspt-presampled-cache-v1'
#: name of the ``.npz`` entry holding that JSON record (a 0-d unicode array)
CACHE_META = '__crosspt_cache__'
ArrayCheck = Callable[[Dict[str, np.ndarray]], Optional[str]]
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


def source_fingerprint(paths: Sequence[str], root: str) -> List[list]:
    """``[[path relative to root, size in bytes, mtime in ns], ...]`` of ``paths``: what a
    cache records of the files it was built from (any change makes it stale)."""
    out = []
    for path in paths:
        stat = os.stat(path)
        out.append([os.path.relpath(path, root), int(stat.st_size), int(stat.st_mtime_ns)])
    return out


def _stale_reason(meta: dict, key: dict) -> Optional[str]:
    """Why a cache recorded with ``meta['key']`` does not fit ``key`` (None: it fits)."""
    old = meta.get('key')
    if not isinstance(old, dict) or not isinstance(old.get('sources'), list) or \
            not all(isinstance(s, list) and len(s) == 3 for s in old['sources']):
        return 'its record of parameters and source files is malformed'
    if old.get('params') != key['params']:
        return f'it was built with {old.get("params")}, this run asks for {key["params"]}'
    old_sources, sources = old['sources'], key['sources']
    if [s[0] for s in old_sources] != [s[0] for s in sources]:
        return (f'its source file list ({len(old_sources)} files) differs from the current '
                f'one ({len(sources)} files)')
    for before, now in zip(old_sources, sources):
        if before != now:
            return (f'source file {now[0]} changed since the cache was written (size, mtime '
                    f'{before[1:]} -> {now[1:]})')
    return None


def _read_array_cache(path: str, owner: str) -> Tuple[dict, Dict[str, np.ndarray]]:
    """``(meta, arrays)`` of a crosspt ``.npz`` cache, read with ``allow_pickle=False``.

    A file that is not such a cache raises ValueError: crosspt never overwrites it."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if CACHE_META not in npz.files:
                raise ValueError(f'it has no {CACHE_META!r} entry')
            meta = json.loads(str(npz[CACHE_META][()]))
            if not isinstance(meta, dict) or meta.get('format') != CACHE_FORMAT:
                raise ValueError(f'its format is not {CACHE_FORMAT!r}')
            arrays = {name: npz[name] for name in npz.files if name != CACHE_META}
    except Exception as exc:  # zip, npy, json and pickle-refusal errors alike
        raise ValueError(
            f'{owner}: {path} is not a presampled cache written by crosspt ({exc}); crosspt '
            f'does not overwrite files it did not write: move or delete it, or pass '
            f'cache_dir=... to cache elsewhere') from None
    return meta, arrays


def _write_array_cache(path: str, arrays: Dict[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` + the JSON ``meta`` as an ``.npz`` atomically (temporary name, then
    rename), so readers never see half a cache."""
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'wb') as f:
        np.savez(f, **arrays, **{CACHE_META: np.array(json.dumps(meta))})
    os.replace(tmp, path)


def cached_arrays(cache_path: str, build: Callable[[], Dict[str, np.ndarray]], key: dict,
                  owner: str, validate: Optional[ArrayCheck] = None,
                  rebuild_stale: bool = True, legacy: Sequence[str] = ()
                  ) -> Dict[str, np.ndarray]:
    """Arrays from the ``.npz`` cache ``cache_path`` if it fits, else built and written.

    The cache holds plain arrays (never pickles) and a JSON record of ``key``:
    ``{'params': build parameters, 'sources': source_fingerprint(...)}``.  It is stale
    when that record differs from ``key`` or ``validate(arrays)`` returns a reason; a
    stale cache is rebuilt when ``rebuild_stale``, else ValueError names the file and the
    reason.  A file at ``cache_path`` that crosspt did not write raises ValueError and is
    left alone, and so are the old-format files ``legacy`` (only logged as ignored).
    Building happens under a lock on ``cache_path + '.lock'``.
    """
    key = json.loads(json.dumps(key))  # tuples -> lists, as the stored record
    for path in legacy:
        if os.path.isfile(path):
            log(f'{owner}: ignoring {path}: crosspt no longer reads pickle caches (they can '
                f'run code) and leaves that file alone; its cache is now {cache_path}')

    def load() -> Tuple[Optional[Dict[str, np.ndarray]], Optional[str]]:
        if not os.path.isfile(cache_path):
            return None, None
        meta, arrays = _read_array_cache(cache_path, owner)
        reason = _stale_reason(meta, key) or (validate(arrays) if validate else None)
        return (arrays, None) if reason is None else (None, reason)

    arrays, reason = load()
    if arrays is not None:
        log(f'{owner}: reusing presampled cache {cache_path}')
        return arrays
    os.makedirs(os.path.dirname(cache_path) or '.', exist_ok=True)
    with file_lock(cache_path + '.lock'):
        arrays, reason = load()  # another process may have written it meanwhile
        if arrays is not None:
            return arrays
        if reason is not None:
            if not rebuild_stale:
                raise ValueError(f'{owner}: cache {cache_path} is stale: {reason}; delete it or '
                                 f'pass rebuild_stale_cache=True')
            log(f'{owner}: cache {cache_path} is stale ({reason}); rebuilding it')
        else:
            log(f'{owner}: building presampled cache {cache_path} (once)')
        arrays = build()
        problem = validate(arrays) if validate else None
        objects = [name for name, a in arrays.items() if a.dtype.hasobject]
        if problem is not None or objects:  # a bug in build(), never expected
            raise RuntimeError(f'{owner}: freshly built cache {cache_path} is invalid: '
                               f'{problem or f"object arrays {objects}"}')
        _write_array_cache(cache_path, arrays, dict(format=CACHE_FORMAT, owner=owner, key=key))
    return arrays


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


class BaseObjectDataset(PackedDataListMixin, AutoGenerateMixin, BaseDataset, metaclass=ABCMeta):
    """Common constructor and ``auto_generate`` logic of the object datasets.

    Subclasses set ``GENERATOR`` (registry name of a generator of
    :mod:`crosspt.synthetic.objects`, :class:`AutoGenerateMixin`),
    ``CREATE_COMMAND`` (the ``tools/create_data.py`` subcommand), ``DATA_HELP`` (where
    the real data comes from), ``SPLITS`` and implement ``_data_present`` and
    ``load_data_list``.
    """

    CREATE_COMMAND: str = ''
    DATA_HELP: str = ''
    SPLITS: Tuple[str, ...] = ('train', 'test')

    def __init__(self, data_root: str, split: str = 'train',
                 pipeline: Sequence[Union[dict, Callable]] = (), test_mode: bool = False,
                 auto_generate: Optional[dict] = None, **kwargs) -> None:
        name = type(self).__name__
        if split not in self.SPLITS:
            raise ValueError(f'{name}: split must be one of {list(self.SPLITS)}, got {split!r}')
        self._init_auto_generate(auto_generate)
        if not data_root:
            raise ValueError(f'{name}: data_root must be a non-empty path')
        self.split = split
        super().__init__(data_root=os.fspath(data_root), pipeline=build_transforms(pipeline),
                         test_mode=test_mode, **kwargs)

    # -------------------------------------------------------------- auto_generate
    @abstractmethod
    def _data_present(self) -> bool:
        """True when the files this split reads exist."""

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
