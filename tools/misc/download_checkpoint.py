"""Download a released checkpoint by its model-index name (what ``mim download`` does for
OpenMMLab packages).

    python tools/misc/download_checkpoint.py NAME [--dest DIR]
    python tools/misc/download_checkpoint.py --list

NAME is a ``Name`` from a metafile that ``model-index.yml`` imports (``--list`` prints
those with weights).  The file goes to DIR (default: the crosspt cache,
``$CROSSPT_HOME/checkpoints``) as ``<NAME>.pth`` for third-party releases (their URLs
carry no file name) or under its published ``<name>-<sha256 prefix>.pth`` name; it is
checked against the metafile's sha256, or reported as unpinned with its sha256 when the
metafile has none, and recorded in DIR/downloads.json.  Official TAP files are stored as
released; every crosspt entry point converts them when loading.

Why not ``mim download crosspt``: installing openmim 0.3.9 into this stack would
downgrade shared packages (setuptools 69.5 -> 60.2, requests, rich, tqdm, packaging,
urllib3, pinned by its openxlab dependency), so crosspt ships this tool, which reads the
same OpenMMLab-style index.  The index is found as crosspt.fileio.model_index describes:
``crosspt/.mim/model-index.yml`` in a regular install (the layout mim reads, written by
setup.py), ``model-index.yml`` of the checkout in an editable one.
"""
import argparse
import logging
import os.path as osp
import sys
from typing import List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from crosspt.fileio.download import download_checkpoint, file_sha256  # noqa: E402
from crosspt.fileio.model_index import released_weights  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('name', nargs='?', help='model name from the model index')
    parser.add_argument('--dest', default=None,
                        help='directory to put the file in (default: the crosspt cache)')
    parser.add_argument('--list', action='store_true', help='list the downloadable names')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    if not args.list and not args.name:
        parser.error('give a NAME (or --list)')
    return args


def download(name: str, dest: Optional[str] = None, progress: bool = True) -> str:
    """Path of the downloaded (or already cached) file of model ``name``.

    Raises:
        KeyError: ``name`` has no weights in the model index (the message lists the
            names that have).
    """
    entries = released_weights()
    if name not in entries:
        raise KeyError(f'{name!r} has no downloadable weights in the model index; names '
                       f'with weights: {", ".join(sorted(entries)) or "none"}')
    entry = entries[name]
    if entry['official']:
        return download_checkpoint(entry['url'], cache=dest, progress=progress,
                                   expected_sha256=entry['sha256'],
                                   allow_unpinned=entry['sha256'] is None,
                                   filename=f'{name}.pth')
    return download_checkpoint(entry['url'], cache=dest, progress=progress)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s: %(message)s')
    if args.list:
        for name, entry in sorted(released_weights().items()):
            pin = entry['sha256'] or 'unpinned'
            print(f'{name}\t{entry["url"]}\t{pin}\t{entry["config"]}')
        return 0
    try:
        path = download(args.name, args.dest, progress=not args.no_progress)
    except (KeyError, ValueError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'{path}\nsha256 {file_sha256(path)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
