"""Writing a folder so that readers never see half of it, and replacing only what was
written.

Data-ownership rule (docs/data_preparation.md, "Embedded synthetic data"): a generated
folder records every file it wrote in its info json (``'files'``; ``'manifest'``:
relative path -> size and sha256; ``'folders'``). Regeneration may only replace those
files; a folder holding anything else (a file or an empty folder not in the manifest, or
a manifest file whose content changed) is refused with :class:`DataOwnershipError`
listing them, and nothing outside the manifest is ever deleted (no ``rmtree`` over a
tree that may hold other files).
"""
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from typing import (Any, Callable, Collection, Dict, Iterator, List, Optional, Set, Tuple,
                    Union)

SHOW_FILES = 10  # files named in an ownership error; the rest are counted
Manifest = Dict[str, Dict[str, Any]]


class DataOwnershipError(ValueError):
    """A folder holds files that generated data may not replace."""


@contextmanager
def file_lock(lock_path: str) -> Iterator[None]:
    """Exclusive ``fcntl`` lock on ``lock_path`` (created when missing)."""
    with open(lock_path, 'a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def list_files(root: str) -> List[str]:
    """Sorted paths (relative to ``root``) of every non-folder entry below ``root``:
    files, and symbolic links (also those to folders, which are not followed)."""
    found = []
    for folder, dirs, names in os.walk(root):
        found += [os.path.join(folder, n) for n in names]
        found += [os.path.join(folder, d) for d in dirs if os.path.islink(os.path.join(folder, d))]
    return sorted(os.path.relpath(path, root) for path in found)


def sha256_file(path: str) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def build_manifest(root: str) -> Manifest:
    """``{relative path: {'size': bytes, 'sha256': hex}}`` of every file below ``root``."""
    return {rel: {'size': os.path.getsize(os.path.join(root, rel)),
                  'sha256': sha256_file(os.path.join(root, rel))} for rel in list_files(root)}


def describe_files(paths: Collection[str], show: int = SHOW_FILES) -> str:
    """``'a, b, c'`` or ``'a, b, ... and 7 more (9 in all)'``."""
    paths = sorted(paths)
    text = ', '.join(paths[:show])
    return text if len(paths) <= show else \
        f'{text} ... and {len(paths) - show} more ({len(paths)} in all)'


def read_info(root: str, info_filename: str) -> Optional[dict]:
    """The json dict ``root/info_filename``, or None when missing or unreadable."""
    try:
        with open(os.path.join(root, info_filename)) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def manifest_intact(root: str, info: dict) -> bool:
    """Every file of the info's manifest is present with its recorded size (infos
    written before manifests existed: every ``'files'`` entry is present)."""
    manifest = info.get('manifest')
    if not isinstance(manifest, dict):
        return all(os.path.isfile(os.path.join(root, rel)) for rel in info.get('files', []))

    def intact(rel: str, record: Any) -> bool:
        path = os.path.join(root, rel)
        return isinstance(record, dict) and os.path.isfile(path) and \
            not os.path.islink(path) and os.path.getsize(path) == record.get('size')

    return all(intact(rel, record) for rel, record in manifest.items())


def info_matches(root: str, info_filename: str, header: Dict[str, Any]) -> bool:
    """True when ``root/info_filename`` records every ``header`` item and its files are
    intact (:func:`manifest_intact`)."""
    info = read_info(root, info_filename)
    return info is not None and all(info.get(k) == v for k, v in header.items()) and \
        manifest_intact(root, info)


def ancestors(paths: Collection[str]) -> Set[str]:
    """Every folder (relative path) that holds one of the relative ``paths``."""
    found = set()
    for rel in paths:
        folder = os.path.dirname(rel)
        while folder and folder not in found:
            found.add(folder)
            folder = os.path.dirname(folder)
    return found


def list_folders(root: str) -> List[str]:
    """Sorted relative paths of every real folder below ``root`` (links not followed)."""
    return sorted(os.path.relpath(os.path.join(folder, d), root)
                  for folder, dirs, _ in os.walk(root) for d in dirs
                  if not os.path.islink(os.path.join(folder, d)))


def unowned_entries(root: str, manifest: Manifest, folders: Collection[str],
                    info_filename: str, verify: bool = True) -> Tuple[List[str], List[str]]:
    """(entries below ``root`` that are not the generator's: files outside ``manifest``
    and ``info_filename``, and empty folders outside ``folders`` shown as ``'name/'``;
    manifest files whose size or sha256 differ from the record, when ``verify``)."""
    foreign, changed = [], []
    for rel in list_files(root):
        path = os.path.join(root, rel)
        record = None if os.path.islink(path) else manifest.get(rel)
        if rel == info_filename and not os.path.islink(path):
            continue
        if record is None:
            foreign.append(rel)
        elif verify and os.path.getsize(path) != record.get('size') or \
                sha256_file(path) != record.get('sha256'):
            changed.append(rel)
    owned_folders = set(folders) | ancestors(manifest)
    foreign += [f'{rel}/' for rel in list_folders(root) if rel not in owned_folders
                and not os.listdir(os.path.join(root, rel))]
    return sorted(foreign), changed


def _how_to_proceed(root: str) -> str:
    return (f'Generated data only ever replaces files it wrote itself: move the files you '
            f'want to keep out of {root}, or choose another data_root (--out-dir), then run '
            f'again.')


def _check_is_folder(root: str, name: str) -> None:
    """DataOwnershipError unless ``root`` is missing or a real folder (not a file or a
    symbolic link, which regeneration would move away)."""
    if os.path.islink(root) or (os.path.lexists(root) and not os.path.isdir(root)):
        kind = 'a symbolic link' if os.path.islink(root) else 'not a folder'
        raise DataOwnershipError(f'{name}: {root} is {kind}; refusing to replace it. Point '
                                 f'data_root (--out-dir) at a real folder.')


def check_replaceable(root: str, info_filename: str, name: str) -> Tuple[Manifest, List[str]]:
    """(manifest, folders) of the generated data ``root`` may lose (empty when ``root`` is
    missing or empty), else DataOwnershipError naming every file that is not provably the
    generator's and saying what to do."""
    _check_is_folder(root, name)
    if not os.path.isdir(root) or not os.listdir(root):
        return {}, []
    info = read_info(root, info_filename)
    if info is None:
        present, _ = unowned_entries(root, {}, (), '')
        raise DataOwnershipError(
            f'{name}: {root} exists, is not empty and holds no readable {info_filename}; '
            f'refusing to replace it (real data?). It holds {describe_files(present)}. '
            + _how_to_proceed(root))
    if not isinstance(info.get('manifest'), dict):
        raise DataOwnershipError(
            f'{name}: {root}/{info_filename} was written by an older crosspt that recorded no '
            f'file sizes and hashes, so generated files cannot be told from yours; refusing to '
            f'replace {root}. Keep what you need, delete the folder yourself, or choose '
            f'another data_root (--out-dir).')
    folders = info.get('folders') if isinstance(info.get('folders'), list) else []
    folders = [f for f in folders if isinstance(f, str)]
    foreign, changed = unowned_entries(root, info['manifest'], folders, info_filename)
    if foreign or changed:
        parts = [f'{len(foreign)} file(s) the generator did not write (not in the manifest '
                 f'of {info_filename}): {describe_files(foreign)}'] if foreign else []
        parts += [f'{len(changed)} generated file(s) whose content changed since they were '
                  f'written: {describe_files(changed)}'] if changed else []
        raise DataOwnershipError(f'{name}: refusing to replace {root}: it holds '
                                 + '; and '.join(parts) + '. ' + _how_to_proceed(root))
    return info['manifest'], folders


def remove_owned(root: str, files: Collection[str], folders: Collection[str] = ()) -> List[str]:
    """Delete the ``files`` (paths relative to ``root``), then those of ``folders`` and of
    the files' folders that are left empty, then ``root`` if empty. Nothing else is
    deleted. Returns the entries still there (:func:`list_files` plus empty folders)."""
    for rel in files:
        path = os.path.join(root, rel)
        if os.path.isfile(path) and not os.path.islink(path):
            os.remove(path)
    for rel in sorted(set(folders) | ancestors(files), key=len, reverse=True) + ['']:
        path = os.path.join(root, rel)
        if os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path):
            os.rmdir(path)
    return unowned_entries(root, {}, (), '')[0] if os.path.isdir(root) else []


def swap_in_dir(tmp: str, root: str, files: Collection[str] = (),
                folders: Collection[str] = ()) -> None:
    """Rename the finished folder ``tmp`` to ``root``. An existing ``root`` may hold only
    the ``files`` and ``folders`` (relative paths; the files' folders count too), else
    DataOwnershipError names the other entries and nothing moves. It is renamed aside and
    only those files and folders are deleted (never a whole tree)."""
    if not os.path.lexists(root):
        os.rename(tmp, root)
        return
    _check_is_folder(root, 'swap_in_dir')
    foreign, _ = unowned_entries(root, dict.fromkeys(files, {}), folders, '', verify=False)
    if foreign:
        raise DataOwnershipError(f'{root} exists and holds {len(foreign)} file(s) this write '
                                 f'did not make: {describe_files(foreign)}; refusing to '
                                 f'replace it. ' + _how_to_proceed(root))
    parent, base = os.path.split(root)
    old = tempfile.mkdtemp(prefix=f'.{base}.old-', dir=parent)
    os.rename(root, os.path.join(old, base))
    os.rename(tmp, root)
    left = remove_owned(old, [os.path.join(base, rel) for rel in files],
                        [base] + [os.path.join(base, rel) for rel in folders])
    if left:  # appeared after the check above: kept, never deleted
        warnings.warn(f'{root} was replaced; {len(left)} file(s) that appeared in it while '
                      f'it was written were kept in {old}: {describe_files(left)}')


def write_dataset_once(data_root: Union[str, os.PathLike], name: str, info_filename: str,
                       is_complete: Callable[[str], bool],
                       write: Callable[[str, Any], Dict[str, Any]],
                       header: Dict[str, Any],
                       progress: Optional[Dict[str, Any]] = None) -> dict:
    """Write a generated data set into ``data_root`` unless it is already there.

    Under an ``fcntl`` lock on ``<root>.lock``: when ``is_complete(root)`` holds, returns the
    stored ``info_filename`` json. Otherwise checks that ``root`` holds only files of its
    manifest (:func:`check_replaceable`, DataOwnershipError naming any other file), runs
    ``write(tmp, bar) -> info fields`` in a fresh temporary sibling ``.<basename>.tmp-*``
    (``bar``: a tqdm bar made with the kwargs ``progress``, or None), writes ``{**header,
    **fields, 'files': [...], 'manifest': {path: {size, sha256}}, 'folders': [...]}``
    (``indent=1``) to ``tmp/info_filename`` and swaps ``tmp`` into place, deleting only the
    old manifest's files and folders.

    Returns the info dict plus ``data_root`` (the absolute root) and ``created``.
    """
    root = os.path.abspath(os.fspath(data_root)).rstrip(os.sep)
    parent = os.path.dirname(root)
    os.makedirs(parent, exist_ok=True)
    with file_lock(root + '.lock'):
        if is_complete(root):
            return {**read_info(root, info_filename), 'data_root': root, 'created': False}
        old_files, old_folders = check_replaceable(root, info_filename, name)
        tmp = tempfile.mkdtemp(prefix=f'.{os.path.basename(root)}.tmp-', dir=parent)
        bar = None
        try:  # tmp is this call's own fresh folder: only write() puts files in it
            if progress is not None:
                from tqdm import tqdm
                bar = tqdm(**progress)
            fields = write(tmp, bar)
            manifest = build_manifest(tmp)
            info = {**header, **fields, 'files': sorted(manifest), 'manifest': manifest,
                    'folders': list_folders(tmp)}
            with open(os.path.join(tmp, info_filename), 'w') as f:
                json.dump(info, f, indent=1)
            swap_in_dir(tmp, root, [*old_files, info_filename], old_folders)
        finally:
            if bar is not None:
                bar.close()
            shutil.rmtree(tmp, ignore_errors=True)
    return {**info, 'data_root': root, 'created': True}
