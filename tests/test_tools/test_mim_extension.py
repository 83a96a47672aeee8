"""The model index shipped with the package (the OpenMMLab ``mim`` convention): a regular
install carries ``crosspt/.mim/`` with ``model-index.yml``, the metafiles it imports, the
configs they name (crosspt's and the mmdet3d project's) and the tools;
crosspt.fileio.model_index reads it there and falls back to the source checkout.

The tests build the tree into a temporary folder with :func:`build_mim_tree`, and build
an sdist and a wheel from a copy of the sources and install it (without dependencies)
into a temporary folder, from which crosspt is imported.  The expected
file list is taken from the checkout with ``pathlib`` globbing, not from the builder.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crosspt.fileio.model_index import index_path, read_models, released_weights
from crosspt.utils.mim_extension import MARKER, build_mim_tree

REPO = Path(__file__).resolve().parents[2]


def expected_files() -> set:
    """``.mim``-relative paths the tree must hold, globbed from the checkout."""
    out = {'.mim/model-index.yml'}
    for top, suffixes in (('configs', ('.py', '.yml', '.md')), ('tools', ('.py', '.sh')),
                          ('projects', ('.py', '.yml', '.md'))):
        for path in (REPO / top).rglob('*'):
            rel = path.relative_to(REPO)
            if path.is_file() and path.suffix in suffixes and '__pycache__' not in rel.parts:
                out.add(f'.mim/{rel.as_posix()}')
    return out


@pytest.fixture(scope='module')
def built(tmp_path_factory) -> Path:
    package = tmp_path_factory.mktemp('site') / 'crosspt'
    package.mkdir()
    written = build_mim_tree(str(REPO), str(package))
    assert set(written) == expected_files()
    return package


def test_tree_mirrors_the_checkout_and_resolves_every_reference(built):
    for rel in expected_files():
        assert (built / rel).read_bytes() == (REPO / rel[len('.mim/'):]).read_bytes(), rel
    assert not list((built / '.mim').rglob('*.pyc'))
    index = yaml.safe_load((built / '.mim/model-index.yml').read_text())
    assert index['Import'] == ['configs/tap/metafile.yml', 'configs/ppkt/metafile.yml']
    # every path a metafile names (as mim resolves it: relative to .mim) is shipped
    for rel in index['Import']:
        meta = yaml.safe_load((built / '.mim' / rel).read_text())
        for collection in meta['Collections']:
            assert (built / '.mim' / collection['README']).is_file()
        for model in meta['Models']:
            assert (built / '.mim' / model['Config']).is_file(), model['Name']
            baseline = (model.get('Results') or [{}])[0].get('Baseline') or {}
            if 'Config' in baseline:
                assert (built / '.mim' / baseline['Config']).is_file(), model['Name']


def test_lookup_prefers_the_installed_index_and_falls_back_to_the_checkout(
        built, tmp_path, monkeypatch):
    monkeypatch.delenv('CROSSPT_MODEL_INDEX', raising=False)
    installed = index_path(str(built))
    assert Path(installed) == built / '.mim/model-index.yml'
    shipped, source = released_weights(installed), released_weights(str(REPO / 'model-index.yml'))
    assert shipped == source and sum(e['official'] for e in shipped.values()) == 12
    assert len(read_models(installed)) == len(read_models(str(REPO / 'model-index.yml')))
    # an editable install: the package folder has no .mim, the checkout root has the index
    editable = tmp_path / 'checkout' / 'crosspt'
    editable.mkdir(parents=True)
    with pytest.raises(FileNotFoundError) as err:
        index_path(str(editable))
    assert str(editable / '.mim' / 'model-index.yml') in str(err.value)
    (tmp_path / 'checkout' / 'model-index.yml').write_text('Import: []\n')
    assert Path(index_path(str(editable))) == tmp_path / 'checkout' / 'model-index.yml'
    # the default is the imported package, i.e. this checkout (editable install)
    assert Path(index_path()) == REPO / 'model-index.yml'


def test_rebuild_replaces_its_own_tree_but_never_a_foreign_one(tmp_path):
    package = tmp_path / 'crosspt'
    package.mkdir()
    build_mim_tree(str(REPO), str(package))
    stale = package / '.mim' / 'configs' / 'removed_since.py'
    stale.write_text('x = 1\n')
    build_mim_tree(str(REPO), str(package))
    assert not stale.exists() and (package / '.mim' / MARKER).is_file()
    foreign = tmp_path / 'other' / 'crosspt'
    (foreign / '.mim').mkdir(parents=True)
    (foreign / '.mim' / 'mine.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match=r'\.mim exists and was not generated'):
        build_mim_tree(str(REPO), str(foreign))
    assert (foreign / '.mim' / 'mine.txt').read_text() == 'keep me'
    with pytest.raises(FileNotFoundError, match='model-index.yml'):
        build_mim_tree(str(tmp_path / 'not_a_checkout'), str(package))


def copy_sources(dest: Path) -> Path:
    """What an sdist is built from, copied, so that building writes nothing here."""
    ignore = shutil.ignore_patterns('__pycache__', '*.egg-info', '*.pyc')
    dest.mkdir()
    for rel in ('setup.py', 'MANIFEST.in', 'README.md', 'model-index.yml'):
        shutil.copy(REPO / rel, dest / rel)
    for rel in ('requirements', 'crosspt', 'configs', 'tools', 'projects'):
        shutil.copytree(REPO / rel, dest / rel, ignore=ignore)
    return dest


def pip(*args: str, cwd: Path) -> None:
    proc = subprocess.run([sys.executable, '-m', 'pip', '--disable-pip-version-check', *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]


def test_sdist_wheel_install_ships_the_index_and_the_installed_package_reads_it(tmp_path):
    """sdist -> wheel -> install (into a folder, no dependencies, no index): the installed
    crosspt carries .mim with every file, and crosspt imported from there reads it."""
    src = copy_sources(tmp_path / 'src')
    proc = subprocess.run([sys.executable, 'setup.py', '-q', 'sdist', '-d', str(tmp_path)],
                          cwd=src, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sdist = next(tmp_path.glob('crosspt-*.tar.gz'))
    pip('wheel', '-q', '--no-deps', '--no-build-isolation', '--no-index', str(sdist),
        '-w', str(tmp_path / 'wheels'), cwd=tmp_path)
    wheel = next((tmp_path / 'wheels').glob('crosspt-*.whl'))
    site = tmp_path / 'site'
    pip('install', '-q', '--no-deps', '--no-index', '--no-compile', '--target', str(site),
        str(wheel), cwd=tmp_path)
    shipped = {p.relative_to(site / 'crosspt').as_posix()
               for p in (site / 'crosspt' / '.mim').rglob('*') if p.is_file()}
    assert shipped == expected_files() | {f'.mim/{MARKER}'}
    assert not (REPO / 'crosspt' / '.mim').exists()
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1')
    env.pop('CROSSPT_MODEL_INDEX', None)
    code = ('import crosspt.fileio.model_index as m; print(m.__file__); '
            'print(m.index_path()); print(len(m.released_weights()))')
    out = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    module, index, count = out.stdout.split()
    assert Path(module).is_relative_to(site)
    assert Path(index) == site / 'crosspt/.mim/model-index.yml'
    assert int(count) == len(released_weights(str(REPO / 'model-index.yml')))
