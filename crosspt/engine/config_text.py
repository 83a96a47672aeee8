"""A Config whose text is laid out without yapf, in milliseconds.

mmengine's ``Config.pretty_text`` runs yapf over the whole config on every call (0.3-1 s
for an mmdet3d scene config on one CPU core), and a Runner calls it for the config log,
the config dump in the work dir and the ``meta`` of every checkpoint.
:class:`CompactTextConfig` takes mmengine's unformatted text (one key per line, a few
milliseconds) and lays it out the way yapf's pep8 style mostly does: a value stays on
one line when it fits in :data:`WIDTH` columns, otherwise its items go one per line,
indented by 4.  The layout only moves line breaks: the text parses to the same Python
syntax tree as mmengine's (tests/test_engine/test_config_text.py checks one config of
every config folder), so ``Config.fromfile`` reads the dump back to the same dict.
"""
import ast
from typing import List, Optional, Tuple

from mmengine.config import Config

#: line width the layout aims at (a single string or number longer than this stays whole)
WIDTH = 79

Items = List[Tuple[str, ast.AST]]


def _parts(node: ast.AST) -> Optional[Tuple[str, Items, str]]:
    """(opening, [(item prefix, item node)], closing) of a splittable value, else None."""
    if isinstance(node, ast.Call):
        items = [('', arg) for arg in node.args]
        items += [(f'{kw.arg}=' if kw.arg else '**', kw.value) for kw in node.keywords]
        return ast.unparse(node.func) + '(', items, ')'
    if isinstance(node, ast.Dict):
        return '{', [(f'{ast.unparse(k)}: ' if k is not None else '**', v)
                     for k, v in zip(node.keys, node.values)], '}'
    brackets = {ast.List: '[]', ast.Tuple: '()', ast.Set: '{}'}.get(type(node))
    if brackets and node.elts:
        return brackets[0], [('', element) for element in node.elts], brackets[1]
    return None


def _layout(node: ast.AST, prefix: str, suffix: str, indent: int) -> List[str]:
    """Lines of ``prefix + value + suffix`` at ``indent`` columns."""
    pad = ' ' * indent
    flat = f'{pad}{prefix}{ast.unparse(node)}{suffix}'
    parts = _parts(node)
    if len(flat) <= WIDTH or parts is None or not parts[1]:
        return [flat]
    opening, items, closing = parts
    lines = [f'{pad}{prefix}{opening}']
    for item_prefix, item in items:
        lines += _layout(item, item_prefix, ',', indent + 4)
    return lines + [f'{pad}{closing}{suffix}']


def compact_text(plain: str) -> str:
    """Re-lay out a config text made of ``name = value`` statements (mmengine's
    unformatted ``pretty_text``); any other statement returns the text unchanged."""
    tree = ast.parse(plain)
    lines: List[str] = []
    for statement in tree.body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            return plain
        lines += _layout(statement.value, f'{statement.targets[0].id} = ', '', 0)
    return '\n'.join(lines) + '\n'


class CompactTextConfig(Config):
    """``Config`` whose :attr:`pretty_text` is :func:`compact_text` of mmengine's
    unformatted text (same syntax tree, no yapf)."""

    @property
    def pretty_text(self) -> str:
        if not self._format_python_code:
            return super().pretty_text
        super(Config, self).__setattr__('_format_python_code', False)
        try:
            plain = super().pretty_text
        finally:
            super(Config, self).__setattr__('_format_python_code', True)
        return compact_text(plain)


def with_compact_text(cfg: Config) -> CompactTextConfig:
    """A shallow copy of ``cfg`` (same dict, file name and text) as a
    :class:`CompactTextConfig`."""
    compact = CompactTextConfig.__new__(CompactTextConfig)
    compact.__dict__.update(cfg.__dict__)
    return compact
