"""Download published checkpoints into a cache, verified against the sha256 prefix in
their name, and load them with ``weights_only`` semantics.

``tools/model_converters/publish_model.py`` names a published file
``<name>-<sha256[:8]>.pth`` (the first hex digits of the sha256 of the whole file).
:func:`download_checkpoint` streams ``http(s)://`` or ``file://`` URLs into
:func:`cache_dir`, refuses truncated or tampered downloads, and serves later calls from
the cache without touching the network.  :func:`load_checkpoint_url` then loads the file
with :func:`crosspt.engine.checkpoint.load_checkpoint_file` (tensors and plain data only).
"""
import hashlib
import http.client
import logging
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import Optional

#: bytes read from the network (and hashed from disk) at a time
CHUNK_SIZE = 1 << 20
#: URL schemes :func:`download_checkpoint` fetches
SCHEMES = ('http', 'https', 'file')

_HEX_PREFIX = re.compile(r'[0-9a-fA-F]{8,64}')
logger = logging.getLogger(__name__)


def hash_prefix_from_name(filename: str) -> Optional[str]:
    """The sha256 prefix (lower case) that ``publish_model.py`` put into ``filename``.

    ``.../tap_pointmlp-1a2b3c4d.pth`` -> ``'1a2b3c4d'``: the text after the last ``-``
    before ``.pth``.  ``None`` unless that text is 8 to 64 hex digits.
    """
    name = os.path.basename(filename)
    if not name.endswith('.pth'):
        return None
    stem = name[:-len('.pth')]
    if '-' not in stem:
        return None
    prefix = stem.rsplit('-', 1)[1]
    return prefix.lower() if _HEX_PREFIX.fullmatch(prefix) else None


def cache_dir() -> str:
    """``$CROSSPT_HOME/checkpoints`` when ``CROSSPT_HOME`` is set, else
    ``~/.cache/crosspt/checkpoints``."""
    home = os.environ.get('CROSSPT_HOME')
    if home:
        return os.path.join(os.path.expanduser(home), 'checkpoints')
    return os.path.join(os.path.expanduser('~'), '.cache', 'crosspt', 'checkpoints')


def file_sha256(path: str) -> str:
    """Hex sha256 of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(CHUNK_SIZE), b''):
            digest.update(chunk)
    return digest.hexdigest()


def url_filename(url: str) -> str:
    """The file name a checkpoint URL is cached under (last path component, unquoted)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in SCHEMES:
        raise ValueError(f'checkpoint URL {url} has scheme {parsed.scheme!r}; crosspt '
                         f'downloads only {", ".join(s + "://" for s in SCHEMES)} URLs')
    name = os.path.basename(urllib.parse.unquote(parsed.path))
    if name in ('', '.', '..'):
        raise ValueError(f'checkpoint URL {url} does not end in a file name')
    return name


def _fetch(url: str, dest: str, expected: str, progress: bool, timeout: float) -> None:
    """Stream ``url`` into a ``.part`` file next to ``dest``, check its length and sha256
    prefix, and rename it to ``dest``; the partial file is removed on any failure."""
    from tqdm import tqdm

    folder, name = os.path.split(dest)
    request = urllib.request.Request(url, headers={'User-Agent': 'crosspt-download'})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get('Content-Length')
        total = int(length) if length is not None and length.strip().isdigit() else None
        # one .part file per caller, so concurrent downloads (e.g. distributed ranks)
        # never write into each other's file; os.replace makes the last one win.
        fd, part = tempfile.mkstemp(prefix=f'{name}.', suffix='.part', dir=folder)
        try:
            digest = hashlib.sha256()
            received = 0
            with os.fdopen(fd, 'wb') as out, tqdm(
                    total=total, unit='B', unit_scale=True, unit_divisor=1024,
                    desc=name, disable=not progress) as bar:
                while True:
                    try:
                        chunk = response.read(CHUNK_SIZE)
                    except (OSError, http.client.HTTPException) as err:
                        raise IOError(
                            f'download of {url} broke off after {received} of '
                            f'{total if total is not None else "?"} bytes: {err!r}') from err
                    if not chunk:
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            if total is not None and received != total:
                raise IOError(f'download of {url} is truncated: received {received} bytes '
                              f'but Content-Length announced {total}')
            actual = digest.hexdigest()
            if not actual.startswith(expected):
                raise ValueError(
                    f'checkpoint {url} is tampered or corrupted: its sha256 is {actual}, '
                    f'which does not start with the expected {expected}; the download was '
                    f'deleted')
            os.replace(part, dest)
        except BaseException:
            try:
                os.remove(part)
            except FileNotFoundError:
                pass
            raise


def download_checkpoint(url: str, cache: Optional[str] = None, progress: bool = True,
                        expected_sha256: Optional[str] = None, timeout: float = 60) -> str:
    """Path of the verified local copy of the checkpoint at ``url``.

    A cached ``<cache>/<name>`` whose sha256 starts with the expected prefix is returned
    without network access.  Otherwise the file is downloaded (tqdm progress bar when
    ``progress``), its byte count checked against Content-Length and its sha256 against
    ``expected_sha256`` (8-64 hex digits) or, when that is None, the prefix in the file
    name (:func:`hash_prefix_from_name`), and only then renamed into the cache.

    Raises:
        ValueError: no hash to verify against, or the download's sha256 does not match.
        OSError: the download failed or is truncated (the message says when the cached
            copy is corrupt as well).
    """
    name = url_filename(url)
    if expected_sha256 is not None:
        expected = expected_sha256.strip().lower()
        if not _HEX_PREFIX.fullmatch(expected):
            raise ValueError(f'expected_sha256 for {url} must be 8 to 64 hex digits, got '
                             f'{expected_sha256!r}')
    else:
        expected = hash_prefix_from_name(name)
        if expected is None:
            raise ValueError(
                f'checkpoint URL {url} cannot be verified: its file name {name!r} carries no '
                f'sha256 prefix ("<name>-<8+ hex digits>.pth"). Publish the file with '
                f'tools/model_converters/publish_model.py, which appends the prefix, or pass '
                f'expected_sha256=<sha256 of the file>')
    folder = os.path.abspath(cache if cache is not None else cache_dir())
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    corrupt = None
    if os.path.isfile(path):
        actual = file_sha256(path)
        if actual.startswith(expected):
            return path
        corrupt = (f'the cached checkpoint {path} is corrupt (sha256 {actual} does not start '
                   f'with {expected})')
        logger.warning('%s; downloading %s again', corrupt, url)
    try:
        _fetch(url, path, expected, progress, timeout)
    except OSError as err:
        if corrupt is not None:
            raise IOError(f'{corrupt} and downloading it again from {url} failed: '
                          f'{err}') from err
        if isinstance(err, urllib.error.URLError):
            detail = err if isinstance(err, urllib.error.HTTPError) else err.reason
            raise IOError(f'could not download checkpoint {url} (no cached copy at '
                          f'{path}): {detail}') from err
        raise
    return path


def load_checkpoint_url(url: str, map_location: Optional[str] = 'cpu', **kwargs) -> dict:
    """Download ``url`` (see :func:`download_checkpoint`, which takes ``kwargs``) and load
    it with ``weights_only=True`` semantics; a file that pickles code is refused."""
    from crosspt.engine.checkpoint import load_checkpoint_file

    path = download_checkpoint(url, **kwargs)
    try:
        return load_checkpoint_file(path, map_location=map_location)
    except RuntimeError as err:
        raise RuntimeError(f'checkpoint {url} (cached as {path}) was refused: {err}') from err
