"""Every ``.md`` document a tracked file cites exists in the repository.

Scanned: the files ``git ls-files`` lists with a text suffix (``TEXT_SUFFIXES``).

- A citation is a token ``<path>.md``. In ``.py`` files only prose counts: comments and
  bare string statements (docstrings); string literals that the code uses as data (a file
  name a tool writes, a glob) are not citations. In every other file the whole text counts.
  Tokens inside URLs are skipped.
- A citation resolves when ``<path>`` names a file relative to the citing file's folder or
  to the repository root, inside the repository. The only names allowed not to resolve
  are in ``OUTPUT_NAMES``: files crosspt's tools write into a work dir, each checked to be
  still written by its tool.
- A citation followed by a quoted heading (``docs/methods/tap.md, 'Loss'``) must name a
  heading of that document (or its leading words).
- The project's private notes must not be cited at all: a section sign after one of their
  names (``tap``, ``ppkt``, ``downstream``, ``openmmlab`` followed by ``.md``), a section
  sign before a number, the words "fact sheet(s)" or a path into the private specs folder
  fail anywhere in a scanned file, code included (this file excepted: it spells the
  patterns out).
"""
import ast
import re
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import pytest

REPO = Path(__file__).resolve().parents[2]
TEXT_SUFFIXES = ('.py', '.md', '.yml', '.yaml', '.sh', '.txt', '.cfg', '.toml', '.ini', '.rst')
#: file names that tools write at run time (not documents of the repository) -> the tool
OUTPUT_NAMES: Dict[str, Tuple[str, ...]] = {
    'results.md': ('tools/benchmarks/pretrain_gain.py', 'tools/benchmarks/transfer.py',
                   'tools/benchmarks/scene_transfer.py', 'tools/benchmarks/scene_gain.py'),
}
MD_TOKEN = re.compile(r'(?<![\w./~*-])([\w./~-]*[\w-]\.md)(?![\w-])')
URL = re.compile(r'[a-z][a-z0-9+.-]*://\S+')
HEADING_CITE = re.compile(r'''([\w./~-]*[\w-]\.md)(?:,\s*|\s+\()(['"])(.{1,80}?)\2''', re.S)
PRIVATE = re.compile(r'(?:\b(?:tap|ppkt|downstream|openmmlab)\.md`?\s*§)|(?:§\s*\d)'
                     r'|(?:fact[ -]sheets?)|(?:shared/specs)', re.I)
CONTINUATION = re.compile(r'\s*\n\s*(?:#:?\s*)?')
SELF = Path(__file__).resolve().relative_to(REPO).as_posix()


@lru_cache(maxsize=1)
def repo_files() -> Tuple[Set[str], Set[str]]:
    """(tracked files, tracked + untracked-not-ignored files), repository-relative."""
    def ls(*extra: str) -> Set[str]:
        out = subprocess.run(['git', 'ls-files', '-z', *extra], cwd=REPO, check=True,
                             capture_output=True).stdout.decode()
        return {p for p in out.split('\0') if p}
    tracked = ls()
    return tracked, tracked | ls('--others', '--exclude-standard')


def scanned_files() -> List[str]:
    tracked, _ = repo_files()
    return sorted(p for p in tracked if p.endswith(TEXT_SUFFIXES) and (REPO / p).is_file())


def bare_strings(body: list) -> Iterator[ast.Expr]:
    """Bare string statements (docstrings) of a statement list, recursively."""
    for node in body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            yield node
        for field in ('body', 'orelse', 'finalbody'):
            children = getattr(node, field, None)
            if isinstance(children, list):
                yield from bare_strings(children)
        for child in [*getattr(node, 'handlers', ()), *getattr(node, 'cases', ())]:
            yield from bare_strings(child.body)


def comment_of(line: str) -> Optional[str]:
    """The comment part of one source line (a '#' outside single-line quotes), or None."""
    quote, i = None, 0
    while i < len(line):
        char = line[i]
        if quote:
            if char == '\\':
                i += 1
            elif char == quote:
                quote = None
        elif char in '\'"':
            quote = char
        elif char == '#':
            return line[i:]
        i += 1
    return None


def python_prose(text: str) -> Iterator[Tuple[int, str]]:
    """(first line, text) of every bare string statement (docstrings) and comment block
    (consecutive whole-line comments joined; a trailing comment alone) of a source."""
    in_string: Set[int] = set()
    for node in bare_strings(ast.parse(text).body):
        in_string.update(range(node.lineno, node.end_lineno + 1))
        yield node.lineno, node.value.value
    block: List[str] = []
    start, block_open = 0, False
    for number, line in enumerate(text.splitlines(), 1):
        comment = None if number in in_string or '#' not in line else comment_of(line)
        whole = comment is not None and line.lstrip().startswith('#')
        if block and not (whole and block_open):
            yield start, '\n'.join(block)
            block = []
        if comment is not None:
            if not block:
                start = number
            block.append(comment)
        block_open = whole
    if block:
        yield start, '\n'.join(block)


def prose(path: str, text: str) -> Iterator[Tuple[int, str]]:
    if path.endswith('.py'):
        yield from python_prose(text)
    else:
        yield 1, text


def resolve(citing: str, target: str) -> bool:
    """Whether ``target`` names a repository file from ``citing``'s folder or the root."""
    _, present = repo_files()
    for base in (REPO / citing).parent, REPO:
        candidate = (base / target).resolve()
        try:
            rel = candidate.relative_to(REPO).as_posix()
        except ValueError:
            continue                      # outside the repository
        if rel in present:
            return True
    return False


@lru_cache(maxsize=None)
def headings(target: str) -> Set[str]:
    lines = (REPO / target).read_text(encoding='utf-8').splitlines()
    return {normalise(m.group(1)) for m in map(re.compile(r'#{1,6}\s+(.*)').fullmatch, lines)
            if m}


def names_heading(title: str, titles: Set[str]) -> bool:
    """``title`` is a heading, or its leading words up to a comma, colon or bracket
    (``'The quick-start recipe'`` names ``The quick-start recipe, and what ...``)."""
    return any(h == title or (h.startswith(title) and h[len(title)] in ',:;( ')
               for h in titles)


def normalise(title: str) -> str:
    return ' '.join(CONTINUATION.sub(' ', title).replace('`', '').split())


def target_path(citing: str, target: str) -> str:
    for base in (REPO / citing).parent, REPO:
        candidate = (base / target).resolve()
        if candidate.is_file() and REPO in candidate.parents:
            return candidate.relative_to(REPO).as_posix()
    raise FileNotFoundError(target)


def problems_of(path: str) -> List[str]:
    """Every citation problem of one file, as 'path:line: message'."""
    text = (REPO / path).read_text(encoding='utf-8', errors='replace')
    found = []
    for match in PRIVATE.finditer('' if path == SELF else text):
        line = text.count('\n', 0, match.start()) + 1
        found.append(f'{path}:{line}: cites a private fact sheet ({match.group(0)!r})')
    if '.md' not in text:
        return found
    for first_line, chunk in prose(path, text):
        bare = URL.sub(lambda m: ' ' * len(m.group(0)), chunk)
        for match in MD_TOKEN.finditer(bare):
            target = match.group(1)
            line = first_line + bare.count('\n', 0, match.start())
            if Path(target).name in OUTPUT_NAMES:
                continue
            if not resolve(path, target):
                found.append(f'{path}:{line}: cites {target}, which is not in the repository')
        for match in HEADING_CITE.finditer(bare):
            target, title = match.group(1), normalise(match.group(3))
            if Path(target).name in OUTPUT_NAMES or not resolve(path, target):
                continue
            if not names_heading(title, headings(target_path(path, target))):
                line = first_line + bare.count('\n', 0, match.start())
                found.append(f'{path}:{line}: {target} has no heading {title!r}')
    return found


@lru_cache(maxsize=1)
def all_problems() -> Dict[str, List[str]]:
    result = {}
    for path in scanned_files():
        found = problems_of(path)
        if found:
            result[path] = found
    return result


def test_every_cited_document_exists():
    offending = all_problems()
    assert not offending, '\n'.join(m for f in offending.values() for m in f)


def test_output_names_are_written_by_their_tools():
    for name, tools in OUTPUT_NAMES.items():
        for tool in tools:
            assert f"'{name}'" in (REPO / tool).read_text(encoding='utf-8'), (name, tool)


@pytest.mark.parametrize('text,expected', [
    ('# see tap.md §2.3 steps 1-9\n', ['cites a private fact sheet', 'cites tap.md']),
    ('"""Layout (`ppkt.md` §8.1)."""\n', ['cites a private fact sheet', 'cites ppkt.md']),
    ('x = 1  # from the fact sheets\n', ['cites a private fact sheet']),
    ('# read ../shared/specs/downstream.md\n', ['cites a private fact sheet',
                                                'cites ../shared/specs/downstream.md']),
    ('# docs/methods/tap.md, \'No such heading\'\n', ['has no heading']),
    ('# docs/methods/nope.md\n', ['cites docs/methods/nope.md']),
    ('# docs/methods/tap.md, \'Photo\'\n', ['has no heading']),
    ('# docs/pretraining.md, "The quick-start recipe"\n', []),
    ('# docs/methods/tap.md, \'Photograph\n# module\'\n', []),
    ('"""docs/methods/ppkt.md, \'PPNCE loss\'; https://x.org/a/b/DATASET.md"""\n', []),
    ("open(osp.join(out, 'results.md'))\nGLOB = '*.md'\nname = 'notes.md'\n", []),
    ('# writes results.md next to results.json\n', []),
    ('"""README.md and ../../model_zoo.md"""\n', []),
])
def test_the_checker_on_written_cases(tmp_path, monkeypatch, text, expected):
    """The rules on hand-written snippets placed at tests/test_docs/<name>.py."""
    name = 'tests/test_docs/_citation_case.py'
    real_read = Path.read_text

    def read_text(self, *args, **kwargs):
        return text if self == REPO / name else real_read(self, *args, **kwargs)

    monkeypatch.setattr(Path, 'read_text', read_text)
    found = problems_of(name)
    assert len(found) == len(expected), found
    for message, part in zip(found, expected):
        assert part in message, found
