"""Writing a folder so that readers never see half of it."""
import fcntl
import os
import shutil
from contextlib import contextmanager
from typing import Iterator


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
