"""Check, without installing anything, that this interpreter has everything
tools/install.sh installs; tools/install.sh runs it first and skips pip when it passes.

    python tools/misc/check_install.py [--with-spconv]

Exit 0 when complete; otherwise exit 1 after one ``missing: <what> (<why>)`` line per gap:
- torch imports;
- every line of requirements/runtime.txt and requirements/tests.txt is installed at an
  allowed version (installed-distribution metadata);
- mmcv 2.1.0 with its compiled ops, mmdet 3.3.0, and mmdet3d's models, datasets,
  structures and evaluation import;
- with ``--with-spconv``, ``spconv.pytorch`` imports;
- ``import crosspt`` from any directory gives this checkout, and crosspt's distribution
  metadata is installed (tools/install.sh's editable install; a re-cloned checkout at the
  path of an earlier editable install imports, but has lost its ``crosspt.egg-info``).
Only the standard library is needed to run it (``packaging`` is itself checked).
"""
import argparse
import importlib
import importlib.metadata as metadata
import sys
from pathlib import Path
from typing import List, Optional

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = ('requirements/runtime.txt', 'requirements/tests.txt')


def requirement_lines(path: Path) -> List[str]:
    """Non-empty, non-comment lines of a requirements file."""
    lines = (line.split('#', 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def check_requirement(line: str) -> Optional[str]:
    """None when ``line`` (a PEP 508 requirement) is installed at an allowed version,
    else why not (needs ``packaging``)."""
    from packaging.requirements import Requirement
    req = Requirement(line)
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        return 'not installed'
    if req.specifier and not req.specifier.contains(version, prereleases=True):
        return f'{version} installed, {req.specifier} required'
    return None


def check_imports(modules: str, version: Optional[str] = None) -> Optional[str]:
    """None when every comma-separated module imports (and the first one's
    ``__version__`` equals ``version`` when given), else the error."""
    names = [m.strip() for m in modules.split(',')]
    try:
        loaded = [importlib.import_module(name) for name in names]
    except Exception as exc:  # any import-time failure means: not usable
        return f'{type(exc).__name__}: {exc}'
    found = getattr(loaded[0], '__version__', None)
    if version is not None and found != version:
        return f'{found} installed, {version} required'
    return None


def check_crosspt() -> Optional[str]:
    """None when ``import crosspt`` resolves to this checkout from any directory."""
    error = check_imports('crosspt')
    if error:
        return error
    module = Path(sys.modules['crosspt'].__file__).resolve()
    if REPO not in module.parents:
        return f'imports from {module.parent}, not from this checkout {REPO}'
    try:
        metadata.version('crosspt')
    except metadata.PackageNotFoundError:
        return 'imports, but has no installed metadata (pip install -e . writes it)'
    return None


def run_checks(with_spconv: bool) -> List[str]:
    """The ``missing: ...`` lines (empty when everything is installed).  Run as a file,
    this script has its own folder, not the working directory, first on ``sys.path``."""
    checks: List[tuple] = [('torch', lambda: check_imports('torch'))]
    if check_imports('packaging.requirements'):  # installed with matplotlib, mmengine, ...
        checks.append(('packaging (to read requirements/*.txt)',
                       lambda: check_imports('packaging.requirements')))
    else:
        for name in REQUIREMENTS:
            for line in requirement_lines(REPO / name):
                checks.append((f'{line} ({name})', lambda line=line: check_requirement(line)))
    checks += [
        ('mmcv 2.1.0 with ops', lambda: check_imports('mmcv, mmcv.ops', '2.1.0')),
        ('mmdet 3.3.0', lambda: check_imports('mmdet', '3.3.0')),
        ('mmdet3d', lambda: check_imports(
            'mmdet3d, mmdet3d.models, mmdet3d.datasets, mmdet3d.structures, '
            'mmdet3d.evaluation')),
    ]
    if with_spconv:
        checks.append(('spconv (CROSSPT_WITH_SPCONV=1)', lambda: check_imports('spconv.pytorch')))
    checks.append(('crosspt', check_crosspt))
    missing = []
    for what, check in checks:
        why = check()
        if why:
            missing.append(f'missing: {what} ({why})')
    return missing


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--with-spconv', action='store_true',
                        help='also require the optional spconv backend')
    args = parser.parse_args(argv)
    missing = run_checks(args.with_spconv)
    for line in missing:
        print(f'[crosspt-install] {line}')
    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main())
