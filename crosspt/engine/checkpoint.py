"""mmengine's checkpoint loaders routed through crosspt's safe loading.

Local files load with :func:`crosspt.fileio.checkpoint_file.load_checkpoint_file`
(``weights_only=True`` plus mmengine's plain-data types); official TAP checkpoints are
converted to crosspt names on the way; ``http(s)://`` and ``file://`` URLs are downloaded
with a sha256 check and then loaded the same way (both in
:mod:`crosspt.models.checkpoint_loading`, re-exported here).
"""
from mmengine.runner.checkpoint import CheckpointLoader

from crosspt.fileio.checkpoint_file import (checkpoint_safe_globals, describe_file_start,
                                            load_checkpoint_file, torch_error_summary,
                                            unreadable_checkpoint_message)
from crosspt.models.checkpoint_loading import (CONVERTED_SUFFIX, converted_cache_path,
                                               load_checkpoint_any, load_checkpoint_url,
                                               load_converted)

__all__ = ['load_checkpoint_file', 'checkpoint_safe_globals', 'describe_file_start',
           'torch_error_summary', 'unreadable_checkpoint_message', 'load_converted',
           'load_checkpoint_url', 'load_checkpoint_any', 'converted_cache_path',
           'register_checkpoint_loader', 'register_url_loader', 'CONVERTED_SUFFIX']


def register_checkpoint_loader() -> None:
    """Make every mmengine local-file checkpoint load (resume, load_from, Pretrained
    init) go through :func:`load_converted` (safe load; official TAP files converted)."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_converted, force=True)


def load_from_safe_url(filename: str, map_location=None) -> dict:
    """mmengine loader for ``http(s)://`` checkpoints: :func:`load_checkpoint_url`
    (cached, sha256-verified download, ``weights_only`` load).  Its name is what mmengine
    logs ("Loads checkpoint by safe_url backend")."""
    return load_checkpoint_url(filename, map_location=map_location)


def register_url_loader() -> None:
    """Make mmengine load ``http://`` / ``https://`` / ``file://`` checkpoints
    (``load_from``, ``resume``, ``Pretrained`` init) through :func:`load_checkpoint_url`
    instead of mmengine's unverified ``load_from_http``."""
    CheckpointLoader.register_scheme(prefixes=('http://', 'https://', 'file://'),
                                     loader=load_from_safe_url, force=True)
