"""Download published checkpoints into a cache, verified against the sha256 prefix in
their name, and load them with ``weights_only`` semantics.

``tools/model_converters/publish_model.py`` names a published file
``<name>-<sha256[:8]>.pth`` (the first hex digits of the sha256 of the whole file).
:func:`download_checkpoint` streams ``http(s)://`` or ``file://`` URLs into
:func:`cache_dir`, refuses truncated or tampered downloads, and serves later calls from
the cache without touching the network.  :func:`crosspt.models.checkpoint_loading.load_checkpoint_url`
then loads the file with :func:`crosspt.fileio.checkpoint_file.load_checkpoint_file`
(tensors and plain data only).

Third-party releases listed in the model index (``Official Weights`` in a metafile, e.g.
TAP's authors' files) are fetched by :func:`fetch_checkpoint` as well: verified against the
metafile's sha256 when it has one, otherwise logged as *unpinned* with the hash of what was
downloaded.  Every download's sha256 is recorded in ``downloads.json`` in its folder.
``$CROSSPT_DOWNLOAD_MIRROR`` (``scheme://host[:port]``) fetches every URL from a mirror
that serves the same paths.

Local files named like published ones are checked as well (:func:`verify_local_hash`):
once per file, the digest remembered by path, size and mtime in
``<crosspt home>/verified_checkpoints.json``; ``CROSSPT_NO_HASH_CHECK=1`` turns that off.
"""
import hashlib
import http.client
import json
import logging
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, Optional, Tuple

#: bytes read from the network (and hashed from disk) at a time
CHUNK_SIZE = 1 << 20
#: URL schemes :func:`download_checkpoint` fetches
SCHEMES = ('http', 'https', 'file')
#: set to 1 to skip the sha256-suffix check of local checkpoint files
NO_HASH_CHECK_ENV = 'CROSSPT_NO_HASH_CHECK'
#: ``scheme://host[:port]`` serving the same paths as the original download hosts
MIRROR_ENV = 'CROSSPT_DOWNLOAD_MIRROR'
#: per-folder record of every download (file name -> url, sha256, size, pinned)
MANIFEST = 'downloads.json'
#: verified digests kept in the json file (the oldest are dropped beyond this)
MAX_REMEMBERED = 512

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


def is_checkpoint_url(name: str) -> bool:
    """Whether ``name`` is a URL that :func:`download_checkpoint` fetches."""
    return str(name).lower().startswith(tuple(s + '://' for s in SCHEMES))


def crosspt_home() -> str:
    """``$CROSSPT_HOME`` when set, else ``~/.cache/crosspt``."""
    home = os.environ.get('CROSSPT_HOME')
    if home:
        return os.path.expanduser(home)
    return os.path.join(os.path.expanduser('~'), '.cache', 'crosspt')


def cache_dir() -> str:
    """``$CROSSPT_HOME/checkpoints`` when ``CROSSPT_HOME`` is set, else
    ``~/.cache/crosspt/checkpoints``."""
    return os.path.join(crosspt_home(), 'checkpoints')


def file_sha256(path: str) -> str:
    """Hex sha256 of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(CHUNK_SIZE), b''):
            digest.update(chunk)
    return digest.hexdigest()


#: in-process memory of verified digests: (abspath, size, mtime_ns) -> sha256
_DIGESTS: Dict[Tuple[str, int, int], str] = {}


def _digest_file() -> str:
    return os.path.join(crosspt_home(), 'verified_checkpoints.json')


def _file_key(path: str) -> Tuple[str, int, int]:
    stat = os.stat(path)
    return os.path.abspath(path), stat.st_size, stat.st_mtime_ns


def _read_digests() -> dict:
    """``{abspath: {size, mtime_ns, sha256}}`` from the json file ({} if unreadable)."""
    try:
        with open(_digest_file(), encoding='utf-8') as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def known_sha256(path: str) -> Optional[str]:
    """The remembered sha256 of ``path`` if its size and mtime are unchanged since."""
    key = _file_key(path)
    if key in _DIGESTS:
        return _DIGESTS[key]
    entry = _read_digests().get(key[0])
    if isinstance(entry, dict) and entry.get('size') == key[1] and \
            entry.get('mtime_ns') == key[2] and isinstance(entry.get('sha256'), str):
        _DIGESTS[key] = entry['sha256']
        return entry['sha256']
    return None


def remember_sha256(path: str, digest: str) -> None:
    """Store ``digest`` for ``path`` at its current size and mtime (in process and in the
    json file; a home that cannot be written only loses the cross-process memory)."""
    key = _file_key(path)
    _DIGESTS[key] = digest
    data = _read_digests()
    data.pop(key[0], None)
    data[key[0]] = dict(size=key[1], mtime_ns=key[2], sha256=digest)
    data = dict(list(data.items())[-MAX_REMEMBERED:])
    target = _digest_file()
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix='verified_checkpoints.', suffix='.tmp',
                                   dir=os.path.dirname(target))
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, target)
    except OSError as err:
        logger.debug('could not record the sha256 of %s in %s: %s', path, target, err)


def verify_local_hash(path: str) -> None:
    """Check a local file named ``<name>-<sha256 prefix>.pth`` against that prefix.

    Names without such a suffix (``epoch_3.pth``) are not checked, nor anything when the
    environment variable ``CROSSPT_NO_HASH_CHECK`` is ``1``.  The file is hashed once;
    later calls reuse the digest while its size and mtime stay the same.

    Raises:
        ValueError: the file's sha256 does not start with the prefix in its name.
    """
    expected = hash_prefix_from_name(path)
    if expected is None or os.environ.get(NO_HASH_CHECK_ENV, '0') not in ('', '0'):
        return
    actual = known_sha256(path)
    if actual is None:
        actual = file_sha256(path)
        remember_sha256(path, actual)
    if not actual.startswith(expected):
        raise ValueError(
            f'checkpoint {path} is corrupt or was modified: its name says sha256 '
            f'{expected}... (the publish_model.py suffix) but its sha256 is {actual}. '
            f'Download or copy it again; if you changed it on purpose, rename it without '
            f'the -{expected} suffix (or set {NO_HASH_CHECK_ENV}=1 to skip this check)')


def mirrored_url(url: str) -> str:
    """``url`` with scheme and host replaced by ``$CROSSPT_DOWNLOAD_MIRROR`` when it is set
    (``file://`` URLs are never mirrored)."""
    mirror = os.environ.get(MIRROR_ENV, '').strip().rstrip('/')
    parsed = urllib.parse.urlparse(url)
    if not mirror or parsed.scheme == 'file':
        return url
    target = urllib.parse.urlparse(mirror)
    if target.scheme not in ('http', 'https') or not target.netloc:
        raise ValueError(f'{MIRROR_ENV}={mirror!r} must be http(s)://host[:port]')
    return urllib.parse.urlunparse(parsed._replace(scheme=target.scheme,
                                                   netloc=target.netloc))


def read_manifest(folder: str) -> dict:
    """``{file name: {url, sha256, size, pinned}}`` of the downloads in ``folder``."""
    try:
        with open(os.path.join(folder, MANIFEST), encoding='utf-8') as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_download(path: str, url: str, digest: str, pinned: bool) -> None:
    """Add ``path``'s download (URL, sha256, size, whether a known hash pinned it) to the
    ``downloads.json`` of its folder (written atomically)."""
    folder, name = os.path.split(os.path.abspath(path))
    data = read_manifest(folder)
    data[name] = dict(url=url, sha256=digest, size=os.path.getsize(path), pinned=pinned)
    fd, tmp = tempfile.mkstemp(prefix=f'{MANIFEST}.', suffix='.tmp', dir=folder)
    with os.fdopen(fd, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(folder, MANIFEST))


def url_filename(url: str) -> str:
    """The file name a checkpoint URL is cached under: the last path component, unquoted
    (for a path ending in ``/``, like ``/f/<id>/``, the last non-empty one)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in SCHEMES:
        raise ValueError(f'checkpoint URL {url} has scheme {parsed.scheme!r}; crosspt '
                         f'downloads only {", ".join(s + "://" for s in SCHEMES)} URLs')
    name = os.path.basename(urllib.parse.unquote(parsed.path).rstrip('/'))
    if name in ('', '.', '..'):
        raise ValueError(f'checkpoint URL {url} does not end in a file name')
    return name


def _fetch(url: str, dest: str, expected: str, progress: bool, timeout: float) -> str:
    """Stream ``url`` (or its mirror) into a ``.part`` file next to ``dest``, check its
    length and sha256 prefix (``''``: any), rename it to ``dest`` and record it in the
    folder's ``downloads.json``; the partial file is removed on any failure.  Returns the
    sha256."""
    from tqdm import tqdm

    folder, name = os.path.split(dest)
    request = urllib.request.Request(mirrored_url(url),
                                     headers={'User-Agent': 'crosspt-download'})
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
            remember_sha256(dest, actual)
            record_download(dest, url, actual, pinned=bool(expected))
            return actual
        except BaseException:
            try:
                os.remove(part)
            except FileNotFoundError:
                pass
            raise


def download_checkpoint(url: str, cache: Optional[str] = None, progress: bool = True,
                        expected_sha256: Optional[str] = None, timeout: float = 60,
                        allow_unpinned: bool = False, filename: Optional[str] = None) -> str:
    """Path of the verified local copy of the checkpoint at ``url``.

    A cached ``<cache>/<name>`` whose sha256 starts with the expected prefix is returned
    without network access.  Otherwise the file is downloaded (tqdm progress bar when
    ``progress``), its byte count checked against Content-Length and its sha256 against
    ``expected_sha256`` (8-64 hex digits) or, when that is None, the prefix in the file
    name (:func:`hash_prefix_from_name`), and only then renamed into the cache.  With
    ``allow_unpinned`` and neither hash, any content is accepted and a warning says the
    file is unpinned and gives its sha256.  ``filename`` overrides the cache file name.

    Raises:
        ValueError: no hash to verify against, or the download's sha256 does not match.
        OSError: the download failed or is truncated (the message says when the cached
            copy is corrupt as well).
    """
    name = filename or url_filename(url)
    if expected_sha256 is not None:
        expected = expected_sha256.strip().lower()
        if not _HEX_PREFIX.fullmatch(expected):
            raise ValueError(f'expected_sha256 for {url} must be 8 to 64 hex digits, got '
                             f'{expected_sha256!r}')
    else:
        expected = hash_prefix_from_name(name)
        if expected is None and allow_unpinned:
            expected = ''
        elif expected is None:
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
        actual = known_sha256(path)
        if actual is None:
            actual = file_sha256(path)
            remember_sha256(path, actual)
        if actual.startswith(expected):
            _warn_unpinned(url, path, actual, expected)
            return path
        corrupt = (f'the cached checkpoint {path} is corrupt (sha256 {actual} does not start '
                   f'with {expected})')
        logger.warning('%s; downloading %s again', corrupt, url)
    try:
        actual = _fetch(url, path, expected, progress, timeout)
    except OSError as err:
        if corrupt is not None:
            raise IOError(f'{corrupt} and downloading it again from {url} failed: '
                          f'{err}') from err
        if isinstance(err, urllib.error.URLError):
            detail = err if isinstance(err, urllib.error.HTTPError) else err.reason
            raise IOError(f'could not download checkpoint {url} (no cached copy at '
                          f'{path}): {detail}') from err
        raise
    _warn_unpinned(url, path, actual, expected)
    return path


def _warn_unpinned(url: str, path: str, digest: str, expected: str) -> None:
    if not expected:
        logger.warning('checkpoint %s is unpinned (no sha256 is recorded for it in the model '
                       'index): using %s, sha256 %s', url, path, digest)


def fetch_checkpoint(url: str, progress: bool = True, cache: Optional[str] = None) -> str:
    """Local path of the checkpoint at ``url``: a file listed in the model index
    (:mod:`crosspt.fileio.model_index`) is cached as ``<model name>.pth`` and checked
    against the index's sha256, or logged as unpinned when the index has none; any other
    URL goes through :func:`download_checkpoint` (a ``-<sha256 prefix>`` name)."""
    from crosspt.fileio.model_index import find_by_url

    entry = find_by_url(url)
    if entry is None or not entry['official']:
        return download_checkpoint(url, cache=cache, progress=progress)
    return download_checkpoint(url, cache=cache, progress=progress,
                               expected_sha256=entry['sha256'],
                               allow_unpinned=entry['sha256'] is None,
                               filename=entry['name'] + '.pth')


def resolve_checkpoint(name: str, progress: bool = True) -> str:
    """Local path of the checkpoint ``name``: a URL (``http(s)://``, ``file://``) is
    fetched through :func:`download_checkpoint` (cache and sha256 check); a local path
    must exist."""
    if is_checkpoint_url(name):
        return fetch_checkpoint(name, progress=progress)
    if not os.path.isfile(name):
        raise FileNotFoundError(f'checkpoint not found: {name} (a local file, or an '
                                f'http(s):// or file:// URL)')
    return name
