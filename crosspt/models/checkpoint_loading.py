"""Checkpoint loading that knows crosspt's models: safe local loads and verified URL
downloads (:mod:`crosspt.fileio`), with official TAP (openpoints) checkpoints converted to
crosspt names on the way (:mod:`crosspt.models.tap.checkpoint_convert`).

``crosspt.models.weight_init`` (the ``Pretrained`` initialiser), ``crosspt.apis`` and
``crosspt.engine.checkpoint`` (mmengine's loaders) all load through here.
"""
import os
from typing import Dict, List, Optional

import torch

from crosspt.fileio.checkpoint_file import load_checkpoint_file
from crosspt.fileio.download import (download_checkpoint, fetch_checkpoint, file_sha256,
                                     is_checkpoint_url, known_sha256, read_manifest,
                                     remember_sha256)

__all__ = ['CONVERTED_SUFFIX', 'converted_cache_path', 'load_converted',
           'load_checkpoint_url', 'load_checkpoint_any', 'CheckpointMismatchError',
           'compare_state_dicts', 'mismatched_keys', 'format_key_report']

#: how many keys of each kind an error or warning lists
SHOWN_KEYS = 10


#: suffix of the converted copy cached next to a downloaded official checkpoint
CONVERTED_SUFFIX = '.crosspt.pth'


def _source_sha256(filename: str) -> str:
    digest = known_sha256(filename)
    if digest is None:
        digest = file_sha256(filename)
        remember_sha256(filename, digest)
    return digest


def converted_cache_path(filename: str) -> Optional[str]:
    """Where the converted copy of ``filename`` is cached: next to it when it is a
    download (listed in its folder's ``downloads.json``), else None (converted in
    memory only)."""
    folder, name = os.path.split(os.path.abspath(filename))
    if name not in read_manifest(folder):
        return None
    return os.path.join(folder, (name[:-4] if name.endswith('.pth') else name)
                        + CONVERTED_SUFFIX)


def load_converted(filename: str, map_location=None, source: Optional[str] = None) -> dict:
    """:func:`load_checkpoint_file`, with an official TAP (openpoints) checkpoint converted
    to crosspt names (layout and backbone detected from its keys; the report is logged).

    A downloaded file's conversion is cached next to it as ``<name>.crosspt.pth`` and
    reused while the sha256 of the download it came from is unchanged.

    Raises:
        KeyError / ValueError: the file looks official but does not convert (the message
            names it and every offending key).
    """
    from mmengine.logging import print_log

    checkpoint = load_checkpoint_file(filename, map_location=map_location)
    import crosspt.models  # noqa: F401  (registers the modules the converter builds)
    from .tap.checkpoint_convert import (convert_tap_checkpoint,
                                                       format_report,
                                                       is_official_tap_checkpoint)
    if not is_official_tap_checkpoint(checkpoint):
        return checkpoint
    source = source or filename
    digest = _source_sha256(filename)
    cached = converted_cache_path(filename)
    if cached is not None and os.path.isfile(cached):
        converted = load_checkpoint_file(cached, map_location=map_location)
        if converted.get('meta', {}).get('source_sha256') == digest:
            print_log(f'{source}: official TAP checkpoint, using its conversion {cached}',
                      logger='current')
            return converted
    try:
        converted = convert_tap_checkpoint(checkpoint, source=source)
    except (KeyError, ValueError) as err:
        raise type(err)(f'{filename} looks like an official TAP checkpoint but does not '
                        f'convert: {err}') from None
    converted['meta']['source_sha256'] = digest
    print_log(f'converted official TAP checkpoint {source} (sha256 {digest}):\n'
              + format_report(converted['meta']), logger='current')
    if cached is not None:
        tmp = f'{cached}.{os.getpid()}.tmp'
        torch.save(converted, tmp)
        os.replace(tmp, cached)
    return converted


def load_checkpoint_url(url: str, map_location: Optional[str] = 'cpu', **kwargs) -> dict:
    """Download ``url`` (:func:`fetch_checkpoint`, or :func:`download_checkpoint` with
    ``kwargs``) and load it with ``weights_only=True`` semantics (a file that pickles code
    is refused); an official TAP file is converted to crosspt names
    (:func:`load_converted`)."""
    path = download_checkpoint(url, **kwargs) if kwargs else fetch_checkpoint(url)
    try:
        return load_converted(path, map_location=map_location, source=url)
    except RuntimeError as err:
        raise RuntimeError(f'checkpoint {url} (cached as {path}) was refused: {err}') from err


def load_checkpoint_any(name: str, map_location=None) -> dict:
    """A local file or an ``http(s)://`` / ``file://`` URL, loaded safely; official TAP
    checkpoints come back converted (:func:`load_converted`)."""
    if is_checkpoint_url(name):
        return load_checkpoint_url(str(name), map_location=map_location)
    return load_converted(str(name), map_location=map_location)


# ----------------------------------------------------------------------- key reports


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's tensors do not fit the model (strict loading)."""


def compare_state_dicts(own: Dict, state: Dict) -> Dict[str, List[str]]:
    """Key report of loading ``state`` into a model whose state_dict is ``own``.

    Returns ``dict(missing, unexpected, mismatched)``: model keys absent from the
    checkpoint (BatchNorm ``num_batches_tracked`` counters excepted, as in mmengine),
    checkpoint keys the model lacks, and ``'key: checkpoint (..) vs model (..)'`` for
    keys whose shapes differ; each list sorted.
    """
    missing = sorted(k for k in own if k not in state and
                     not k.endswith('num_batches_tracked'))
    unexpected = sorted(k for k in state if k not in own)
    mismatched = sorted(
        f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
        for k in mismatched_keys(own, state))
    return dict(missing=missing, unexpected=unexpected, mismatched=mismatched)


def mismatched_keys(own: Dict, state: Dict) -> List[str]:
    """Keys in both state dicts whose tensors have different shapes."""
    return [k for k in state if k in own and hasattr(state[k], 'shape') and
            hasattr(own[k], 'shape') and tuple(state[k].shape) != tuple(own[k].shape)]


def format_key_report(report: Dict[str, List[str]]) -> str:
    """Counts and the first :data:`SHOWN_KEYS` keys of each kind, one kind a line."""
    titles = dict(missing='missing in the checkpoint', unexpected='unexpected (not in the '
                  'model)', mismatched='shape mismatch')
    lines = []
    for kind, title in titles.items():
        keys = report[kind]
        if keys:
            more = f' (first {SHOWN_KEYS})' if len(keys) > SHOWN_KEYS else ''
            lines.append(f'  {title}: {len(keys)}{more}: ' + ', '.join(keys[:SHOWN_KEYS]))
    return '\n'.join(lines)
