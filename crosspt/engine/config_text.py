"""A Config whose formatted text is computed once per distinct content.

mmengine's ``Config.pretty_text`` runs yapf over the whole config on every call, and a
Runner calls it for the config log, the config dump in the work dir and the ``meta`` of
every checkpoint (about 1 s each for an mmdet3d scene config on one CPU core).
:class:`FormattedTextConfig` keeps the formatted text of the unformatted text it was
made from, so repeated calls on an unchanged config cost one unformatted pass; a changed
config (a hook writing a key) is formatted again.  The text is identical to mmengine's.
"""
from collections import OrderedDict

from mmengine.config import Config

#: unformatted text -> yapf-formatted text, the newest few
_FORMATTED: 'OrderedDict[str, str]' = OrderedDict()
_CACHE_SIZE = 8


class FormattedTextConfig(Config):
    """``Config`` with a memoised :attr:`pretty_text` (same text as mmengine's)."""

    @property
    def pretty_text(self) -> str:
        if not self._format_python_code:
            return super().pretty_text
        super(Config, self).__setattr__('_format_python_code', False)
        try:
            plain = super().pretty_text
        finally:
            super(Config, self).__setattr__('_format_python_code', True)
        if plain not in _FORMATTED:
            _FORMATTED[plain] = super().pretty_text
            while len(_FORMATTED) > _CACHE_SIZE:
                _FORMATTED.popitem(last=False)
        _FORMATTED.move_to_end(plain)
        return _FORMATTED[plain]


def with_text_cache(cfg: Config) -> FormattedTextConfig:
    """A shallow copy of ``cfg`` (same dict, file name and text) as a
    :class:`FormattedTextConfig`."""
    cached = FormattedTextConfig.__new__(FormattedTextConfig)
    cached.__dict__.update(cfg.__dict__)
    return cached
