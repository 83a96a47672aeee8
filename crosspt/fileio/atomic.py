"""Writing a folder so that readers never see half of it."""
import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Union


@contextmanager
def file_lock(lock_path: str) -> Iterator[None]:
    """Exclusive ``fcntl`` lock on ``lock_path`` (created when missing)."""
    with open(lock_path, 'a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def swap_in_dir(tmp: str, root: str) -> None:
    """Rename the finished folder ``tmp`` to ``root``, replacing an existing ``root``
    (moved aside first, then deleted)."""
    old = None
    if os.path.exists(root):
        old = os.path.join(os.path.dirname(root), f'.{os.path.basename(root)}.old-{os.getpid()}')
        os.rename(root, old)
    os.rename(tmp, root)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def list_files(root: str) -> List[str]:
    """Sorted paths (relative to ``root``) of every file below ``root``."""
    return sorted(os.path.relpath(os.path.join(d, n), root)
                  for d, _, names in os.walk(root) for n in names)


def write_dataset_once(data_root: Union[str, os.PathLike], name: str, info_filename: str,
                       is_complete: Callable[[str], bool],
                       write: Callable[[str, Any], Dict[str, Any]],
                       header: Dict[str, Any],
                       progress: Optional[Dict[str, Any]] = None) -> dict:
    """Write a generated data set into ``data_root`` unless it is already there.

    Under an ``fcntl`` lock on ``<root>.lock``: when ``is_complete(root)`` holds, returns the
    stored ``info_filename`` json; refuses (ValueError naming ``name``) to replace a
    non-empty folder without ``info_filename``; otherwise runs ``write(tmp, bar) -> info
    fields`` in the temporary sibling ``.<basename>.tmp-<pid>`` (``bar``: a tqdm bar made
    with the kwargs ``progress``, or None), writes ``{**header, **fields, 'files': [...]}``
    (``indent=1``) to ``tmp/info_filename`` and swaps ``tmp`` into place.

    Returns the info dict plus ``data_root`` (the absolute root) and ``created``.
    """
    root = os.path.abspath(os.fspath(data_root)).rstrip(os.sep)
    parent = os.path.dirname(root)
    os.makedirs(parent, exist_ok=True)
    info_path = os.path.join(root, info_filename)
    with file_lock(root + '.lock'):
        if is_complete(root):
            with open(info_path) as f:
                return {**json.load(f), 'data_root': root, 'created': False}
        if os.path.exists(root) and os.listdir(root) and not os.path.isfile(info_path):
            raise ValueError(f'{name}: {root} exists, is not empty and holds no '
                             f'{info_filename}; refusing to replace it (real data?)')
        tmp = os.path.join(parent, f'.{os.path.basename(root)}.tmp-{os.getpid()}')
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        bar = None
        try:
            if progress is not None:
                from tqdm import tqdm
                bar = tqdm(**progress)
            fields = write(tmp, bar)
            info = {**header, **fields, 'files': list_files(tmp)}
            with open(os.path.join(tmp, info_filename), 'w') as f:
                json.dump(info, f, indent=1)
            swap_in_dir(tmp, root)
        finally:
            if bar is not None:
                bar.close()
            shutil.rmtree(tmp, ignore_errors=True)
    return {**info, 'data_root': root, 'created': True}
