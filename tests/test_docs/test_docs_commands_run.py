"""Documented commands that no other test runs, run here from the pages' own text.

- docs/installation.md's "Verify" block (``python -c`` checks) and the ``python -c`` of
  docs/mmdet3d_integration.md print the installed versions (read independently with
  importlib.metadata) and list the stock mmdet3d config the worked example inherits.
- docs/pretraining.md's ``tensorboard --inspect --logdir work_dirs/pointmlp_synthetic``
  lists the scalars of an events file written by mmengine's TensorboardVisBackend (what
  ``--tensorboard`` adds).
- docs/data_preparation.md's ``create_data.py synthetic-modelnet40`` and
  ``synthetic-shapenetpart`` commands, at their documented defaults, write what the page
  says they write.
- The ```bash commands of README.md, configs/*/README.md and projects/*/README.md pass
  the same tool / argument-parser check as the docs/ pages' commands
  (test_docs_examples.py::test_documented_commands_name_existing_tools_and_parse).
"""
import ast
import importlib.metadata as metadata
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import test_docs_examples
from tool_runner import call_script  # on the path test_docs_examples sets

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / 'docs'

#: run in ONE interpreter (the imports cost most of the time): each documented
#: ``python -c`` code, its stdout or its exception
RUN_SNIPPETS = r'''
import contextlib, io, json, sys
results = []
for code in json.load(open(sys.argv[1])):
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, '<docs>', 'exec'), {'__name__': '__main__'})
        results.append(dict(out=out.getvalue().strip(), error=None))
    except Exception as exc:
        results.append(dict(out=out.getvalue().strip(), error=type(exc).__name__))
print('@@RESULTS@@' + json.dumps(results))
'''


def bash_commands(page: str, prefix: str) -> list:
    """argv of every line of ``page``'s ```bash blocks that starts with ``prefix``
    (leading indentation and trailing ``# comments`` dropped)."""
    text = (DOCS / page).read_text()
    lines = [line.strip() for block in re.findall(r'```bash\n(.*?)```', text, re.S)
             for line in block.splitlines()]
    return [shlex.split(line, comments=True) for line in lines if line.startswith(prefix)]


def env_one_thread() -> dict:
    return dict(os.environ, OMP_NUM_THREADS='1')


def test_python_c_checks_print_the_installed_versions():
    install = bash_commands('installation.md', 'python -c ')
    listing = bash_commands('mmdet3d_integration.md', 'python -c ')
    assert len(install) == 4 and len(listing) == 1, (install, listing)
    codes = [argv[2] for argv in install + listing]
    proc = call_script(RUN_SNIPPETS, codes)
    assert '@@RESULTS@@' in proc.stdout, proc.stderr[-3000:]
    torch_, crosspt_, mmdet3d_, spconv_, configs = json.loads(
        proc.stdout.split('@@RESULTS@@')[-1])
    import torch
    assert torch_ == dict(out=f'{metadata.version("torch")} CUDA {torch.cuda.is_available()}',
                          error=None)
    assert crosspt_ == dict(out=f'crosspt {metadata.version("crosspt")} '
                                f'mmcv {metadata.version("mmcv")}', error=None)
    assert mmdet3d_ == dict(out=f'mmdet3d {metadata.version("mmdet3d")}', error=None)
    if importlib.util.find_spec('spconv') is None:     # "# optional" on the page
        assert spconv_['error'] in ('ModuleNotFoundError', 'ImportError'), spconv_
    else:
        assert spconv_ == dict(out=f'spconv {metadata.version("spconv")}', error=None)
    # the listing holds the stock file the worked example inherits
    example = (DOCS / 'examples' / 'mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py')
    base = re.search(r'mmdet3d::pointnet2/([\w.-]+\.py)', example.read_text()).group(1)
    assert configs['error'] is None and base in ast.literal_eval(configs['out'])


def test_tensorboard_inspect_lists_the_logged_scalars(tmp_path):
    pytest.importorskip('tensorboard')
    if shutil.which('tensorboard') is None:
        pytest.skip('the tensorboard command is not on PATH')
    from mmengine.visualization import TensorboardVisBackend
    (argv, ) = bash_commands('pretraining.md', 'tensorboard ')
    logdir = Path(argv[argv.index('--logdir') + 1])
    backend = TensorboardVisBackend(save_dir=str(tmp_path / logdir / '20260101_000000'
                                                 / 'vis_data'))
    for step, loss in ((1, 0.9), (2, 0.7), (3, 0.6)):
        backend.add_scalars({'loss': loss, 'lr': 1e-3}, step=step)
    backend.close()
    proc = subprocess.run(argv, cwd=tmp_path, env=env_one_thread(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    scalars = proc.stdout.split('These tags are in', 1)[1].split('scalars\n', 1)[1]
    assert re.match(r'\s+loss\n\s+lr\n', scalars), proc.stdout
    assert re.search(r'last_step\s+3\b', proc.stdout) and \
        re.search(r'num_steps\s+3\b', proc.stdout), proc.stdout


def create_data_command(subcommand: str) -> list:
    """The one ``python tools/create_data.py <subcommand> ...`` of docs/data_preparation.md."""
    text = (DOCS / 'data_preparation.md').read_text()
    found = set(re.findall(rf'`(python tools/create_data\.py {subcommand} [^`]*)`', text))
    assert len(found) == 1, found
    return shlex.split(found.pop())


@pytest.fixture
def create_data(monkeypatch, tmp_path):
    """tools/create_data.py imported as a module, run from an empty working folder."""
    spec = importlib.util.spec_from_file_location('_docs_create_data',
                                                  REPO / 'tools' / 'create_data.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.chdir(tmp_path)
    return module


def test_synthetic_modelnet40_command_writes_the_documented_tree(create_data, tmp_path):
    argv = create_data_command('synthetic-modelnet40')
    create_data.main(argv[2:])
    root = tmp_path / argv[argv.index('--out-dir') + 1]
    # the tree of the page: both forms, 8 of the 40 classes, 2,500 rows per text file
    h5 = root / 'modelnet40_ply_hdf5_2048'
    for name in ('ply_data_train0.h5', 'ply_data_test0.h5', 'train_files.txt',
                 'test_files.txt', 'shape_names.txt'):
        assert (h5 / name).is_file(), name
    with h5py.File(h5 / 'ply_data_train0.h5', 'r') as f:
        data, label = f['data'][:], f['label'][:]
    assert data.dtype == np.float32 and data.shape[1:] == (2048, 3)
    assert label.shape == (len(data), 1)
    normal = root / 'modelnet40_normal_resampled'
    names = (normal / 'modelnet40_shape_names.txt').read_text().split()
    assert len(names) == 40 and (h5 / 'shape_names.txt').read_text().split() == names
    folders = sorted(p.name for p in normal.iterdir() if p.is_dir())
    assert len(folders) == 8 and set(folders) <= set(names)
    rows = np.loadtxt(normal / 'airplane' / 'airplane_0001.txt', delimiter=',')
    assert rows.shape == (2500, 6)
    assert (root / 'synthetic_info.json').is_file()


def test_synthetic_shapenetpart_command_writes_the_documented_tree(create_data, tmp_path):
    argv = create_data_command('synthetic-shapenetpart')
    create_data.main(argv[2:])
    root = tmp_path / argv[argv.index('--out-dir') + 1]
    tree = root / 'shapenetcore_partanno_segmentation_benchmark_v0_normal'
    text = (DOCS / 'data_preparation.md').read_text()
    paragraph = text.split(' '.join(argv), 1)[1].split('\n\n', 1)[0]
    synsets = re.findall(r'`(\d{8})`', paragraph)      # the 5 categories the page names
    assert len(synsets) == 5
    listed = [line.split('\t')[1] for line in
              (tree / 'synsetoffset2category.txt').read_text().splitlines()]
    assert listed == synsets
    assert sorted(p.name for p in tree.iterdir() if p.is_dir()) == \
        sorted(synsets + ['train_test_split'])
    for split in ('train', 'val', 'test'):
        entries = json.loads((tree / 'train_test_split' /
                              f'shuffled_{split}_file_list.json').read_text())
        assert entries and all(e.split('/')[1] in synsets for e in entries)
    for synset in synsets:
        shape = next((tree / synset).glob('*.txt'))
        rows = np.loadtxt(shape)
        assert 2000 <= len(rows) <= 2600 and rows.shape[1] == 7     # x y z nx ny nz part
    assert (root / 'synthetic_info.json').is_file()


def test_readme_commands_name_existing_tools_and_parse(monkeypatch):
    """README.md, configs/*/README.md and projects/*/README.md next to the docs/ pages
    (the docs test's own check asserts the docs' tools are among the jobs)."""
    pages = test_docs_examples.doc_pages
    readmes = ([REPO / 'README.md'] + sorted(REPO.glob('configs/*/README.md'))
               + sorted(REPO.glob('projects/*/README.md')))
    monkeypatch.setattr(test_docs_examples, 'doc_pages', lambda: pages() + readmes)
    collected = {page for page, _, _ in test_docs_examples.documented_commands()}
    assert collected >= {'README.md', 'finetuning.md'}, collected
    test_docs_examples.test_documented_commands_name_existing_tools_and_parse()


PUBLISH_RUNNER = r'''
import runpy, sys
for argv in __import__('json').load(open(sys.argv[1])):
    sys.argv = argv
    runpy.run_path(argv[0], run_name='__main__')
'''


def test_publish_commands_of_the_pretraining_page(tmp_path):
    """docs/pretraining.md's three publish_model.py commands, run from a folder holding the
    training checkpoints they name: each writes ``<out>-<sha8>.pth`` with the
    ``backbone.*`` tensors only (prefix kept), equal to the training checkpoint's."""
    import torch
    lines = bash_commands('pretraining.md', 'python tools/model_converters/publish_model.py')
    assert len(lines) == 3, lines
    argvs, expected = [], {}
    for line in lines:
        argv = line[1:]                                 # drop 'python'
        checkpoint, out = tmp_path / argv[1], tmp_path / argv[2]
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        state = {'backbone.conv.weight': torch.randn(4, 3), 'backbone.bn.running_mean':
                 torch.randn(4), 'head.fc.weight': torch.randn(2, 4)}
        torch.save(dict(state_dict=state, meta=dict(epoch=1, iter=360),
                        optimizer=dict(state={}, param_groups=[])), checkpoint)
        expected[out] = {k: v for k, v in state.items() if k.startswith('backbone.')}
        argvs.append([str(REPO / argv[0])] + argv[1:])
    proc = call_script(PUBLISH_RUNNER, argvs, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for out, state in expected.items():
        published = list(out.parent.glob(out.stem + '-*.pth'))
        assert len(published) == 1 and re.fullmatch(out.stem + r'-[0-9a-f]{8}\.pth',
                                                     published[0].name), published
        loaded = torch.load(published[0], weights_only=True)['state_dict']
        assert sorted(loaded) == sorted(state)
        assert all(torch.equal(loaded[k], state[k]) for k in state)
