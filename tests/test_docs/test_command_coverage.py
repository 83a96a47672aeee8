"""Every command of the documentation runs in a test (issue 17, item 8), mechanically.

The table is tests/test_docs/docs_command_coverage.py (+ docs_command_coverage_more.py);
its docstring says what counts as a command and what an entry holds. Checked here:

- every command of the pages has an entry, and every entry is still a command of a page;
- each entry names an existing test function (read with ``ast``), says how the test runs
  the command, and is bound to it: the test file names the command's config (or, for a
  command without one, its tool, or the page it is read from);
- a ``via`` config is a direct ``_base_`` relative of the page's config;
- every command runs in a test: no entry is without one;
- the collector sees every ``python tools/...`` / ``bash tools/...`` command that
  test_docs_examples.documented_commands() finds.
"""
import ast
import os.path as osp
import re
import shlex
from pathlib import Path
from typing import Dict, List, Optional, Set

import docs_command_coverage
import docs_command_coverage_more
import test_docs_examples
from docs_command_coverage import Entry

REPO = Path(__file__).resolve().parents[2]
HOWS = ('verbatim', 'overrides', 'stand-in')
NOT_COMMANDS = re.compile(r'(cd|export)(\s|$)')     # shell state, not a command
REPO_FILE = re.compile(r'^(configs|projects|docs|demo|tools)/[\w./-]+\.(py|sh)$')
#: tools whose first argument is a sub-command the binding check also asks for
SUBCOMMAND_TOOLS = ('tools/create_data.py', )
DOC_PAGES = test_docs_examples.doc_pages      # docs/*.md and docs/methods/*.md


def pages() -> List[Path]:
    """The documentation pages whose shell blocks hold commands."""
    readmes = ([REPO / 'README.md'] + sorted(REPO.glob('configs/*/README.md'))
               + sorted(REPO.glob('projects/*/README.md')))
    return DOC_PAGES() + readmes


def strip_comment(line: str) -> str:
    """``line`` without its trailing ``# comment`` (a ``#`` outside quotes that starts
    the line or follows a blank)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in '\'"':
            quote = char
        elif char == '#' and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def normalise(line: str) -> str:
    """The key of a command line: comment dropped, whitespace collapsed."""
    return ' '.join(strip_comment(line).split())


def block_commands(text: str) -> List[str]:
    """Keys of the command lines of a page's ```bash / ```shell / ```sh blocks."""
    keys = []
    for block in re.findall(r'```(?:bash|shell|sh)\n(.*?)```', text, re.S):
        for line in block.replace('\\\n', ' ').splitlines():
            key = normalise(line)
            if key and not NOT_COMMANDS.match(key):
                keys.append(key)
    return keys


def collect() -> Dict[str, List[str]]:
    """Command key -> repository-relative paths of the pages that show it."""
    found: Dict[str, List[str]] = {}
    for page in pages():
        rel = str(page.relative_to(REPO))
        for key in block_commands(page.read_text(encoding='utf-8')):
            if rel not in found.setdefault(key, []):
                found[key].append(rel)
    return found


def table() -> Dict[str, Entry]:
    """COVERAGE of both data modules (a command in one of them only)."""
    first, more = docs_command_coverage.COVERAGE, docs_command_coverage_more.COVERAGE
    shared = sorted(set(first) & set(more))
    assert not shared, f'commands in both coverage modules: {shared}'
    return {**first, **more}


def test_the_collector_rules_on_a_hand_written_page():
    page = ('text\n```bash\ncd /work  # go there\nexport A=1\n# a comment\n\n'
            "python tools/x.py a.py \\\n    --opt  1   # note\n"
            "python -c \"print('a # b')\"  # real comment\n"
            'A=1 bash tools/y.sh 2\n```\n```python\npython tools/z.py\n```\n'
            '```sh\nfor F in 0 1; do echo $F; done\n```\n')
    assert block_commands(page) == ['python tools/x.py a.py --opt 1',
                                    "python -c \"print('a # b')\"",
                                    'A=1 bash tools/y.sh 2',
                                    'for F in 0 1; do echo $F; done']


def test_every_documented_command_has_an_entry():
    entries = table()
    missing = [f'{", ".join(found)}: {key}' for key, found in collect().items()
               if key not in entries]
    assert not missing, (
        'documented commands without an entry in tests/test_docs/docs_command_coverage*.py '
        '(add the test that runs each, and its entry):\n'
        + '\n'.join(missing))


def test_every_entry_is_still_documented():
    documented = collect()
    stale = [key for key in table() if key not in documented]
    assert not stale, 'entries whose command no page shows any more:\n' + '\n'.join(stale)


def test_entries_are_well_formed():
    problems = []
    for key, entry in table().items():
        if not entry.test:
            problems.append(f'{key}: names no test (every documented command runs in one)')
            continue
        if entry.how not in HOWS:
            problems.append(f'{key}: how {entry.how!r} is not one of {HOWS}')
        if entry.how != 'verbatim' and not entry.note.strip():
            problems.append(f'{key}: a {entry.how} entry needs a note of what differs')
    assert not problems, '\n'.join(problems)


def function_names(path: Path) -> Dict[str, ast.FunctionDef]:
    """Top-level test functions of a test file (and ``Class::method`` of its classes)."""
    names = {}
    for node in ast.parse(path.read_text(encoding='utf-8')).body:
        if isinstance(node, ast.FunctionDef):
            names[node.name] = node
        elif isinstance(node, ast.ClassDef):
            names.update({f'{node.name}::{item.name}': item for item in node.body
                          if isinstance(item, ast.FunctionDef)})
    return names


def is_parametrised(function: ast.FunctionDef) -> bool:
    """Whether a ``pytest.mark.parametrize`` decorates the function."""
    return any('parametrize' in ast.unparse(d) for d in function.decorator_list)


def test_every_named_test_exists():
    problems = []
    for key, entry in table().items():
        if entry.test is None:
            continue
        path, _, name = entry.test.partition('::')
        match = re.fullmatch(r'([\w:]+)(\[[^\]]+\])?', name)
        file = REPO / path
        if not (path.startswith('tests/') and Path(path).name.startswith('test_')
                and file.is_file() and match):
            problems.append(f'{key}: {entry.test} is not tests/.../test_*.py::function')
            continue
        function = function_names(file).get(match.group(1))
        if function is None:
            problems.append(f'{key}: {path} defines no {match.group(1)}')
        elif match.group(2) and not is_parametrised(function):
            problems.append(f'{key}: {entry.test}: {match.group(1)} is not parametrised')
    assert not problems, '\n'.join(problems)


def repo_files(command: str) -> List[str]:
    """The repository files (configs, tools, demos) a command names."""
    return [token for token in shlex.split(command)
            if REPO_FILE.match(token) and (REPO / token).is_file()]


def page_token(page: str) -> str:
    """How a test names a page: docs pages by file name, READMEs by relative path."""
    return Path(page).name if page.startswith('docs/') else page


def required_tokens(command: str, entry: Entry, found_on: List[str]) -> List[Set[str]]:
    """What the test file must contain, as groups of alternatives (one of each group):
    the basename of each config (the ``via`` config instead, when given); without a
    config, the tool's name (and a sub-command); without a tool, a page's name."""
    files = repo_files(command)
    configs = [f for f in files if not f.startswith(('tools/', 'demo/'))]
    if entry.via:
        configs = [entry.via]
    if configs:
        return [{Path(c).name} for c in configs]
    if files:
        tool = files[0]
        groups = [{Path(tool).stem}]
        argv = shlex.split(command)
        rest = argv[argv.index(tool) + 1:]
        if tool in SUBCOMMAND_TOOLS and rest and not rest[0].startswith('-'):
            groups.append({rest[0]})
        return groups
    return [{page_token(p) for p in found_on}]


def names(source: str, token: str, param: Optional[str]) -> bool:
    """Whether a test file's source names ``token``; a parametrised test may build it
    from its parameter (``f'configs/tap/{backbone}_synthetic.py'``)."""
    if token in source:
        return True
    pieces = token.split(param) if param and param in token else []
    return bool(pieces) and param in source and all(p in source for p in pieces if p)


def test_each_test_file_names_what_it_runs():
    """A wrong mapping fails: the named test file must mention the command's config,
    tool or page."""
    documented, problems, sources = collect(), [], {}
    for key, entry in table().items():
        if entry.test is None or key not in documented:
            continue
        path = entry.test.split('::')[0]
        param = re.search(r'\[(.+)\]$', entry.test)
        if path not in sources:
            sources[path] = (REPO / path).read_text(encoding='utf-8')
        for group in required_tokens(key, entry, documented[key]):
            if not any(names(sources[path], token, param and param.group(1))
                       for token in group):
                problems.append(f'{key}: {path} names none of {sorted(group)}')
    assert not problems, '\n'.join(problems)


def direct_bases(config: str) -> List[str]:
    """Repository-relative paths of a config's top-level ``_base_`` files (ast)."""
    path = REPO / config
    for node in ast.parse(path.read_text(encoding='utf-8')).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
            return [osp.relpath(osp.normpath(path.parent / n), REPO) for n in names]
    return []


def related_config(command: str) -> Optional[str]:
    """The page's config that a ``via`` config stands for (a direct _base_ relative)."""
    for config in repo_files(command):
        if config.startswith(('configs/', 'projects/', 'docs/')):
            return config
    return None


def test_via_configs_are_direct_base_relatives():
    problems = []
    for key, entry in table().items():
        if not entry.via:
            continue
        config = related_config(key)
        if config is None or not (REPO / entry.via).is_file():
            problems.append(f'{key}: via {entry.via} needs a config on both sides')
        elif config not in direct_bases(entry.via) and entry.via not in direct_bases(config):
            problems.append(f'{key}: {entry.via} is not a direct _base_ relative of {config}')
        if Path(entry.via).name not in entry.note:
            problems.append(f'{key}: the note must say that {entry.via} runs instead')
    assert not problems, '\n'.join(problems)


def lexed(line: str) -> List[str]:
    """Tokens as test_docs_examples.documented_commands() splits a line."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def test_the_collector_sees_every_tools_command(monkeypatch):
    monkeypatch.setattr(test_docs_examples, 'doc_pages', pages)
    tools_commands = test_docs_examples.documented_commands()
    assert len(tools_commands) >= 100, len(tools_commands)
    by_page: Dict[str, List[List[str]]] = {}
    for key, found_on in collect().items():
        for page in found_on:
            by_page.setdefault(Path(page).name, []).append(lexed(key))
    unseen = []
    for page, tool, argv in tools_commands:
        wanted = [tool] + argv
        if not any(wanted == tokens[i:i + len(wanted)] for tokens in by_page.get(page, [])
                   for i in range(len(tokens))):
            unseen.append(f'{page}: {" ".join(wanted)}')
    assert not unseen, 'commands the coverage collector missed:\n' + '\n'.join(unseen)
