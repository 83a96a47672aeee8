"""crosspt core imports with torch + mmengine + mmcv only (no mmdet / mmdet3d), the
synthetic-data package stays apart from the loaders, and crosspt has no import cycles."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

CROSSPT = Path(__file__).resolve().parents[1] / 'crosspt'

CORE_MODULES = ['crosspt', 'crosspt.registry', 'crosspt.ops', 'crosspt.fileio',
                'crosspt.rendering', 'crosspt.models', 'crosspt.datasets',
                'crosspt.datasets.transforms', 'crosspt.evaluation', 'crosspt.engine',
                'crosspt.utils']


def test_core_imports_without_mmdet3d(loaded_after):
    loaded = loaded_after['core']
    assert 'crosspt.engine' in loaded
    assert not [m for m in loaded if m.split('.')[0] in ('mmdet3d', 'mmdet')], loaded


def test_registry_locations_resolve():
    """Every lazy location of every crosspt registry imports."""
    import importlib

    from mmengine.registry import Registry

    import crosspt.registry as registry
    for name in dir(registry):
        reg = getattr(registry, name)
        if isinstance(reg, Registry):
            for location in reg._locations:
                importlib.import_module(location)
    from crosspt.registry import MODELS, TRANSFORMS
    assert MODELS.get('TAP') is not None and TRANSFORMS.get('PackTAPInputs') is not None


#: the crosspt packages crosspt/fileio may import: it sits below engine, models and datasets
FILEIO_ALLOWED = ('crosspt.fileio', 'crosspt.utils', 'crosspt.registry')


def _imported_modules(path, package: str) -> set:
    """Absolute names of the modules ``path`` imports anywhere (function bodies too);
    relative imports are resolved against ``package``."""
    import ast
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split('.')[:len(package.split('.')) - node.level + 1] \
                if node.level else []
            names.add('.'.join(base + ([node.module] if node.module else [])))
    return names


def test_fileio_imports_no_higher_crosspt_package():
    """crosspt/fileio imports only the standard library, third-party packages,
    crosspt.fileio itself, crosspt.utils and crosspt.registry (never crosspt.engine,
    crosspt.models, crosspt.datasets, ...), so checkpoint and data files can be read
    without the layers that use them."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / 'crosspt' / 'fileio'
    found, bad = set(), []
    for path in sorted(root.rglob('*.py')):
        rel = path.relative_to(root.parent.parent).with_suffix('')
        package = '.'.join(rel.parts[:-1])
        for name in _imported_modules(path, package):
            found.add(name)
            if name.split('.')[0] == 'crosspt' and not any(
                    name == a or name.startswith(a + '.') for a in FILEIO_ALLOWED):
                bad.append(f'{path.relative_to(root.parent.parent)} imports {name}')
    # the scan resolves relative imports (checkpoint_file.py: `from .download import`)
    assert 'crosspt.fileio.download' in found and 'torch' in found
    assert not bad, '\n'.join(bad)


#: what each isolation test imports, run in a fresh crosspt state
STATEMENTS = {
    'core': 'import importlib\n' + ''.join(f'importlib.import_module({name!r})\n'
                                          for name in CORE_MODULES),
    'datasets': ('import crosspt.datasets\nfrom crosspt.registry import DATASETS\n'
                 'DATASETS.get("ScanObjectNNDataset")'),
    'functions': ('from crosspt.registry import FUNCTIONS\n'
                  'assert FUNCTIONS.get("generate_synthetic_modelnet40") is not None'),
    'synthetic': 'import crosspt.synthetic',
}
#: one interpreter imports the third-party libraries (nothing of crosspt, mmdet or
#: mmdet3d), then runs each statement in a fork of itself and prints, as one JSON line, the
#: crosspt / mmdet / mmdet3d modules then in ``sys.modules``
CHILD = """
import json, os, sys
import mmcv, mmengine, numpy, torch
for name, statement in json.loads(sys.stdin.read()).items():
    pid = os.fork()
    if pid == 0:
        exec(statement, {})
        roots = ('crosspt', 'mmdet', 'mmdet3d')
        loaded = sorted(m for m in sys.modules if m.split('.')[0] in roots)
        print(json.dumps({name: loaded}), flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status:
        sys.exit(f'{name}: the statement failed')
"""


@pytest.fixture(scope='module')
def loaded_after() -> dict:
    """name -> sorted modules loaded after running ``STATEMENTS[name]`` from a fresh
    crosspt state."""
    proc = subprocess.run([sys.executable, '-c', CHILD], input=json.dumps(STATEMENTS),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith('{'):
            results.update(json.loads(line))
    assert sorted(results) == sorted(STATEMENTS), proc.stdout[-3000:]
    return results


def test_datasets_do_not_import_the_generators(loaded_after):
    """Loaders reach the generators only through ``FUNCTIONS.get`` (issue 16)."""
    loaded = loaded_after['datasets']
    assert 'crosspt.datasets.scanobjectnn' in loaded
    assert not [m for m in loaded if m.startswith('crosspt.synthetic')], loaded


def test_functions_registry_imports_the_generators_lazily(loaded_after):
    loaded = loaded_after['functions']
    assert 'crosspt.synthetic.objects' in loaded


SYNTHETIC_MAY_IMPORT = ('crosspt.fileio', 'crosspt.ops', 'crosspt.rendering',
                        'crosspt.registry', 'crosspt.synthetic', 'crosspt.version')


def test_synthetic_imports_only_fileio_ops_rendering(loaded_after):
    """At run time (everything ``import crosspt.synthetic`` loads) and in the source (every
    import statement of crosspt/synthetic, also those inside functions)."""
    loaded = loaded_after['synthetic']
    assert 'crosspt.synthetic.scannet_frames' in loaded
    bad = [m for m in loaded if m != 'crosspt' and not m.startswith(SYNTHETIC_MAY_IMPORT)]
    assert not bad, f'import crosspt.synthetic loads {bad}'
    for path in sorted((CROSSPT / 'synthetic').glob('*.py')):
        module = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text())):
            for target in _import_targets(node, module, path.name == '__init__.py'):
                assert target.split('.')[0] != 'crosspt' or \
                    target.startswith(SYNTHETIC_MAY_IMPORT), f'{path.name} imports {target}'



def _module_name(path: Path) -> str:
    rel = path.relative_to(CROSSPT.parent).with_suffix('')
    parts = rel.parts[:-1] if rel.name == '__init__' else rel.parts
    return '.'.join(parts)


def _import_targets(node: ast.AST, module: str, is_package: bool) -> list:
    """Absolute names an import node imports: ``import a.b`` -> a.b; ``from a import b``
    -> a.b when a/b is a module or package of crosspt, else a (relative imports resolved
    against ``module``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ''
    if node.level:
        package = module.split('.')
        package = package if is_package else package[:-1]
        package = package[:len(package) - node.level + 1]
        base = '.'.join(package + ([node.module] if node.module else []))
    found = []
    for alias in node.names:
        candidate = f'{base}.{alias.name}'
        path = CROSSPT.parent / candidate.replace('.', '/')
        is_module = path.with_suffix('.py').is_file() or (path / '__init__.py').is_file()
        found.append(candidate if is_module else base)
    return found


def _module_level_imports(tree: ast.Module) -> list:
    """Import nodes executed when the module is imported: top level, class bodies and
    ``if`` / ``try`` / ``with`` blocks, not function bodies (lazy imports) nor
    ``if TYPE_CHECKING:`` blocks."""
    nodes, stack = [], list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            nodes.append(node)
        elif isinstance(node, ast.If) and 'TYPE_CHECKING' in ast.unparse(node.test):
            stack.extend(node.orelse)
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.ClassDef)):
            for field in ('body', 'orelse', 'finalbody', 'handlers'):
                stack.extend(getattr(node, field, []))
        elif isinstance(node, ast.ExceptHandler):
            stack.extend(node.body)
    return nodes


def crosspt_import_graph(root: Path = CROSSPT, lazy: bool = False) -> dict:
    """Import edges between the crosspt modules below ``root``: module-level imports,
    plus those inside functions when ``lazy``. Importing ``a.b.c`` also runs the packages
    ``a.b`` and ``a``; those count as edges too, except the packages that enclose the
    importing module (already being imported when it runs)."""
    graph = {}
    for path in sorted(root.rglob('*.py')):
        module = _module_name(path)
        edges = set()
        tree = ast.parse(path.read_text())
        nodes = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))] \
            if lazy else _module_level_imports(tree)
        for node in nodes:
            for target in _import_targets(node, module, path.name == '__init__.py'):
                parts = target.split('.')
                if parts[0] != 'crosspt':
                    continue
                for k in range(1, len(parts) + 1):
                    name = '.'.join(parts[:k])
                    if name != module and not module.startswith(name + '.'):
                        edges.add(name)
        graph[module] = edges
    return graph


def find_cycle(graph: dict) -> list:
    """One import cycle ``[a, b, ..., a]`` of ``graph``, or [] (iterative DFS)."""
    state = {}
    for start in graph:
        if start in state:
            continue
        path, iters = [start], [iter(sorted(graph[start]))]
        state[start] = 'open'
        while path:
            child = next(iters[-1], None)
            if child is None:
                state[path.pop()] = 'done'
                iters.pop()
            elif state.get(child) == 'open':
                return path[path.index(child):] + [child]
            elif child not in state and child in graph:
                state[child] = 'open'
                path.append(child)
                iters.append(iter(sorted(graph[child])))
    return []


def test_find_cycle_sees_a_cycle_and_only_a_cycle():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b', 'c'}, 'b': {'c'}, 'c': set()}) == []


def test_crosspt_has_no_import_cycles():
    """No cycle among the module-level imports inside crosspt/ (imports inside functions
    are lazy and excluded; see :func:`crosspt_import_graph` for package edges)."""
    graph = crosspt_import_graph()
    assert 'crosspt.synthetic.objects' in graph['crosspt.synthetic']
    cycle = find_cycle(graph)
    assert not cycle, 'import cycle: ' + ' -> '.join(cycle)


def test_no_cycle_even_through_lazy_imports():
    """No cycle even counting the imports inside functions (the loaders once imported the
    generators lazily while the generators imported the loaders' modules; the checkpoint
    loader imported the models lazily while the models' initialiser imported it)."""
    graph = crosspt_import_graph(lazy=True)
    assert 'crosspt.synthetic.objects' in graph['crosspt.synthetic']
    cycle = find_cycle(graph)
    assert not cycle, 'import cycle: ' + ' -> '.join(cycle)
