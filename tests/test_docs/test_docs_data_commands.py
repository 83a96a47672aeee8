"""Documented commands of docs/data_preparation.md, docs/extending.md and
docs/installation.md, run from the pages' own text (issue 17, item 8; the table:
docs_command_coverage.py).

- ``create_data.py synthetic-shapenet55`` with the page's ``--num-train 2 --num-val 1
  --num-test 1`` writes the tree the page draws; ``synthetic-objects`` (small per-class
  counts) writes the four sub-folders that the ``configs/_base_/datasets/synthetic_*.py``
  data_roots name.
- ``synthetic-scenes ... --write-sens`` and the ``scannet_sens.py`` line after it, with
  every 2nd frame kept instead of every 25th, in a tmp folder: the frames extracted from
  the ``.sens`` are byte-identical to the ones the generator wrote directly. The
  ``--scenes scene0000_00 scene0000_01`` line, as written, on three copies of that
  ``.sens``: only the two named scenes are written.
- ``render_views.py MESH_DIR data/MyShapes ... --workers 2`` (the process pool) on
  test_render_views.py's five meshes: the split of the page's rule, and a mesh converted
  again in this process gives the same files.
- docs/extending.md end to end: TAP pre-training of the example backbone (2 iterations), the
  page's publish_model.py line on its checkpoint, fine-tuning with CROSSPT_PRETRAINED set
  to the published file (the log line the page quotes).
- docs/installation.md's two pip lines, as tools/install.sh runs them: ``PYTHON`` is a stand-in
  interpreter that reports pkg_resources and mmcv missing and records its pip calls;
  nothing is installed.
"""
import filecmp
import importlib.util
import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from mmengine.config import Config

from test_command_coverage import block_commands
from test_docs_commands_run import create_data  # noqa: F401  (a fixture)

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / 'docs'
sys.path.insert(0, str(REPO / 'tests' / 'test_tools'))
from tool_runner import run  # noqa: E402
from test_render_views import STEMS, write_meshes  # noqa: E402

CACHE = REPO / 'data' / 'test_cache'
SPLITS = ('train', 'val', 'test')

pytestmark = pytest.mark.slow


def page_command(page: str, prefix: str, contains: str = '') -> list:
    """argv of the one line of ``page``'s bash blocks starting with ``prefix`` (and holding
    ``contains``)."""
    lines = block_commands((DOCS / page).read_text(encoding='utf-8'))
    found = [line for line in lines if line.startswith(prefix) and contains in line]
    assert len(found) == 1, (page, prefix, found)
    return shlex.split(found[0])


def run_in(folder: Path, argv: list, env: Optional[dict] = None) -> str:
    """A documented ``python tools/...`` argv run from ``folder`` (the tool by its absolute
    path); fails with the output's tail unless it exits 0."""
    assert argv[0] == 'python', argv
    return run([sys.executable, str(REPO / argv[1]), *argv[2:]], env=env, cwd=folder)


# ----------------------------------------------------------------------------- create_data
def test_synthetic_shapenet55_command_writes_the_tree_of_the_page(  # noqa: F811
        create_data, tmp_path):
    argv = page_command('data_preparation.md', 'python tools/create_data.py synthetic-shapenet55')
    text = (DOCS / 'data_preparation.md').read_text()
    counts = re.search(r'With `(--num-train \d+ --num-val \d+ --num-test \d+)`\s+it writes:\n\n'
                       r'```\n(.*?)```', text, re.S)
    assert create_data.cli(argv[2:] + shlex.split(counts.group(1)) + ['--no-progress']) == 0
    root = tmp_path / argv[argv.index('--out-dir') + 1]
    clouds = dict(re.findall(r'pointclouds/(\w+)/(.+?)\n', counts.group(2)))
    for split in SPLITS:
        names = sorted(re.findall(r'model_\d+\.ply', clouds[split]))
        assert sorted(p.name for p in (root / 'pointclouds' / split).iterdir()) == names
        stems = [name[:-len('.ply')] for name in names]
        assert sorted(p.name for p in (root / 'meshes' / split).iterdir()) == \
            [f'{stem}.off' for stem in stems]
        views = sorted(p.name for p in (root / 'shapenet55v1' / split).iterdir())
        assert views == [f'{stem}_{v:03d}.jpg' for stem in stems for v in range(1, 13)]
    assert json.loads((root / 'synthetic_info.json').read_text())['params']['num_train'] == 2


def test_synthetic_objects_command_writes_the_data_roots_of_the_configs(  # noqa: F811
        create_data, tmp_path):
    argv = page_command('data_preparation.md', 'python tools/create_data.py synthetic-objects')
    small = ['--num-train-per-class', '1', '--num-test-per-class', '1', '--ways', '2',
             '--shots', '1', '--num-folds', '1']
    assert create_data.cli(argv[2:] + small) == 0
    out_dir = argv[argv.index('--out-dir') + 1]
    roots = {Config.fromfile(path).data_root for path in
             (REPO / 'configs/_base_/datasets').glob('synthetic_*.py')}
    assert {str(Path(r).parent) for r in roots} == {out_dir}
    written = {p.name for p in (tmp_path / out_dir).iterdir() if p.is_dir()}
    assert written == {Path(r).name for r in roots} == \
        {'scanobjectnn', 'modelnet40', 'shapenetpart', 'modelnet_fewshot'}
    root = tmp_path / out_dir
    for path in ('scanobjectnn/main_split/test_objectdataset_augmentedrot_scale75.h5',
                 'scanobjectnn/main_split_nobg/training_objectdataset.h5',
                 'modelnet40/modelnet40_ply_hdf5_2048/ply_data_train0.h5',
                 'shapenetpart/shapenetcore_partanno_segmentation_benchmark_v0_normal/'
                 'synsetoffset2category.txt', 'modelnet_fewshot/ModelNetFewshot/2way_1shot/0.pkl'):
        assert (root / path).is_file(), path
    assert all((root / name / 'synthetic_info.json').is_file() for name in written)


# ----------------------------------------------------------------------------- .sens
@pytest.fixture(scope='module')
def sens_pair(tmp_path_factory):
    """The page's ``--write-sens`` command and the converter line after it, from an empty
    folder, with every 2nd frame kept instead of every 25th (``--frame-step 2`` and
    ``--frame-skip 2``): 1 room x 2 frames, and the .sens holds all 4 frames instead of 50
    (each is rendered; 7.7 s -> 1 s)."""
    folder = tmp_path_factory.mktemp('sens_pair')
    write = page_command('data_preparation.md', 'python tools/create_data.py synthetic-scenes',
                         '--write-sens')
    convert = page_command('data_preparation.md', 'python tools/dataset_converters/scannet_sens.py',
                           write[write.index('--out') + 1])
    assert convert[convert.index('--frame-skip') + 1] == '25' and '--frame-step' not in write
    write = write + ['--frame-step', '2']
    convert[convert.index('--frame-skip') + 1] = '2'
    outputs = [run_in(folder, write), run_in(folder, convert)]
    return folder, write, convert, outputs


def test_frames_extracted_from_the_written_sens_equal_the_written_frames(sens_pair):
    folder, write, convert, (_, converted) = sens_pair
    scans, frames = folder / convert[2], folder / convert[3]
    assert scans == folder / write[write.index('--out') + 1]
    assert (scans / 'scene0000_00' / 'scene0000_00.sens').is_file()
    assert sorted(p.name for p in frames.iterdir()) == ['scene0000_00']
    step = int(convert[convert.index('--frame-skip') + 1])
    names = {sub: sorted(p.name for p in (frames / 'scene0000_00' / sub).iterdir())
             for sub in ('color', 'depth', 'pose', 'intrinsic')}
    assert names['color'] == ['0.jpg', f'{step}.jpg'] and names['depth'] == ['0.png', f'{step}.png']
    for sub, files in names.items():
        match, mismatch, errors = filecmp.cmpfiles(scans / 'scene0000_00' / sub,
                                                   frames / 'scene0000_00' / sub, files,
                                                   shallow=False)
        assert (mismatch, errors) == ([], []) and match == files, sub
    # the deliberately broken pose of scene0000_00 (the page's tree)
    assert (frames / 'scene0000_00' / 'pose' / f'{step}.txt').read_text() == \
        '-inf -inf -inf -inf\n' * 4
    kept = int(write[write.index('--frames-per-scene') + 1])     # the .sens: every frame
    assert f'{kept * step} frames in file, {kept} written' in converted
    assert '1 written with non-finite pose' in converted


def test_converter_scenes_option_writes_only_the_named_scenes(sens_pair, tmp_path):
    folder, _, _, _ = sens_pair
    argv = page_command('data_preparation.md', 'python tools/dataset_converters/scannet_sens.py',
                        '--scenes')
    scenes = argv[argv.index('--scenes') + 1:]
    scans = tmp_path / argv[2]
    sens = folder / 'data/synthetic_scans_sens/scene0000_00/scene0000_00.sens'
    for name in scenes + ['scene0001_00']:                      # one scene not named
        (scans / name).mkdir(parents=True)
        os.symlink(sens, scans / name / f'{name}.sens')
    output = run_in(tmp_path, argv)
    out = tmp_path / argv[3]
    assert sorted(p.name for p in out.iterdir()) == sorted(scenes) == \
        ['scene0000_00', 'scene0000_01']
    for name in scenes:              # default --frame-skip 25 of the .sens's 4 frames
        assert sorted(p.name for p in (out / name / 'color').iterdir()) == ['0.jpg']
        assert f'{name}: 4 frames in file, 1 written' in output
    assert 'scene0001_00' not in output


# ----------------------------------------------------------------------------- render_views
def test_render_views_with_two_workers(tmp_path):
    argv = page_command('data_preparation.md', 'python tools/dataset_converters/render_views.py')
    assert argv[2] == 'MESH_DIR' and argv[argv.index('--workers') + 1] == '2'
    write_meshes(tmp_path / 'meshes')
    output = run_in(tmp_path, [*argv[:2], str(tmp_path / 'meshes'), *argv[3:]])
    root = tmp_path / argv[3]
    # the page's rule: a permutation seeded with --seed 0; round(5 x 0.1) = 0 -> at least 1
    order = np.random.default_rng(0).permutation(len(STEMS))
    expected = {stem: 'train' for stem in STEMS}
    expected[STEMS[order[0]]], expected[STEMS[order[1]]] = 'val', 'test'
    for stem, split in expected.items():
        assert (root / 'pointclouds' / split / f'{stem}.ply').is_file(), (stem, split)
        assert len(list((root / 'shapenet55v1' / split).glob(f'{stem}_*.jpg'))) == 12
    assert 'train: wrote 3 model(s)' in output and 'val: wrote 1' in output
    # a worker's files = the same mesh converted in this process
    spec = importlib.util.spec_from_file_location('_render_views', REPO / argv[1])
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = tool.parse_args([str(tmp_path / 'meshes'), str(tmp_path / 'again'), *argv[4:]])
    tool.convert_one(tool.Job(str(tmp_path / 'meshes' / 'box.obj'), str(tmp_path / 'again'),
                              expected['box'], args.num_points, args.image_size, args.seed,
                              args.up_axis))
    for sub, name in (('pointclouds', 'box.ply'), ('shapenet55v1', 'box_001.jpg'),
                      ('shapenet55v1', 'box_012.jpg')):
        assert filecmp.cmp(root / sub / expected['box'] / name,
                           tmp_path / 'again' / sub / expected['box'] / name, shallow=False)


# ------------------------------------------------------------------------ docs/extending.md
def loader_options(data_root: Path, batch: int, **auto_generate) -> list:
    """--cfg-options putting the three loaders of a config on ``data_root``: no worker
    processes, ``batch`` (the generator parameters of the cached set, if given)."""
    keys = [f'dataset.data_root={data_root}', f'batch_size={batch}', 'num_workers=0',
            'persistent_workers=False']
    keys += [f'dataset.auto_generate.{k}={v}' for k, v in auto_generate.items()]
    return [f'{loader}.{key}' for loader in ('train_dataloader', 'val_dataloader',
                                              'test_dataloader') for key in keys]


def test_extension_example_pretrains_publishes_and_fine_tunes(tmp_path):
    """The page's three lines in order: tap_tiny-pointnet_synthetic.py (one iteration on
    one cached object: a 224-px TAP step costs seconds; one validation object),
    publish_model.py on its checkpoint, then
    tiny-pointnet_ft_modelnet40_synthetic.py with CROSSPT_PRETRAINED = the published file
    (8 cached clouds, 2 iterations, 2 validation clouds)."""
    train = page_command('extending.md', 'python tools/train.py')
    publish = page_command('extending.md', 'python tools/model_converters/publish_model.py')
    finetune = page_command('extending.md', 'CROSSPT_PRETRAINED=')
    work = tmp_path / 'tap_tiny'
    assert train[3:] == ['--work-dir', 'work_dirs/tap_tiny']
    run([sys.executable, *train[1:3], '--work-dir', work, '--cfg-options',
         *loader_options(CACHE / 'synthetic_shapenet55_small', 1, num_train=12, num_val=4,
                         num_test=4),
         'train_dataloader.dataset.indices=1', 'val_dataloader.dataset.indices=1',
         'train_cfg.max_epochs=1', 'custom_hooks.0.max_objects=1',
         'train_cfg.val_interval=100', 'default_hooks.logger.interval=1',
         'default_hooks.checkpoint.interval=1', 'custom_hooks.0.interval=100',
         'randomness.seed=0'])
    # the page publishes epoch_20.pth of the 20-epoch run; this run has one epoch
    assert publish[2] == 'work_dirs/tap_tiny/epoch_20.pth'
    output = run([sys.executable, publish[1], work / 'epoch_1.pth',
                  publish[3].replace('work_dirs/tap_tiny', str(work))])
    published = list(work.glob('backbone-*.pth'))
    assert len(published) == 1 and re.fullmatch(r'backbone-[0-9a-f]{8}\.pth',
                                                published[0].name), output
    variable, value = finetune[0].split('=', 1)
    assert variable == 'CROSSPT_PRETRAINED' and value.startswith('work_dirs/tap_tiny/backbone-')
    output = run([sys.executable, *finetune[2:4], '--work-dir', tmp_path / 'ft',
                  '--cfg-options',
                  *loader_options(CACHE / 'synthetic_objects' / 'modelnet40', 4),
                  'train_dataloader.dataset.indices=8', 'val_dataloader.dataset.indices=2',
                  'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
                  'randomness.seed=0'], env={variable: str(published[0])})
    assert '-> TinyPointNet: loaded 8/8 tensors; missing 0; unexpected 0' in output
    assert re.search(r'Epoch\(val\).*cls/oa: \d', output), output[-3000:]


# ----------------------------------------------------------------------------- installation
#: ``PYTHON`` for tools/install.sh: an interpreter in which pkg_resources and mmcv are
#: missing (everything else answers), without CUDA; records every ``-m pip`` call (the
#: variables the mmcv build reads, then the arguments) instead of running pip
STAND_IN = r'''#!/usr/bin/env bash
case "$1" in
  -m) printf '%s\t' "MMCV_WITH_OPS=${MMCV_WITH_OPS-}" "FORCE_CUDA=${FORCE_CUDA-}" \
        "MAX_JOBS=${MAX_JOBS-}" "$@" >> "$STAND_IN_LOG"; echo >> "$STAND_IN_LOG" ;;
  --version) echo 'Python 3.11 (stand-in)' ;;
  tools/misc/check_install.py)      # incomplete before installing, complete after
    [ -e "$STAND_IN_LOG.checked" ] && exit 0; touch "$STAND_IN_LOG.checked"; exit 1 ;;
  -c) case "$2" in
        *pkg_resources*|*mmcv*) exit 1 ;;
        *cuda.is_available*) echo 0 ;;
        *) echo stand-in ;;
      esac ;;
  *) exit 3 ;;
esac
'''


def test_install_script_runs_the_pip_lines_of_the_page(tmp_path):
    """tools/install.sh on an environment without pkg_resources and mmcv runs the page's
    two lines (plus pip's quiet / no-version-check options); nothing is installed."""
    setuptools = page_command('installation.md', 'python -m pip install "setuptools')
    mmcv = page_command('installation.md', 'MMCV_WITH_OPS=')
    python = tmp_path / 'python'
    python.write_text(STAND_IN)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / 'pip.log'
    env = {k: v for k, v in os.environ.items() if k not in ('MMCV_WITH_OPS', 'FORCE_CUDA',
                                                            'MAX_JOBS')}
    proc = subprocess.run(['bash', 'tools/install.sh'], cwd=REPO, capture_output=True,
                          text=True, timeout=120,
                          env=dict(env, PYTHON=str(python), STAND_IN_LOG=str(log)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = []
    for line in log.read_text().splitlines():
        fields = line.rstrip('\t').split('\t')
        quiet = [a for a in fields[3:] if a not in ('--disable-pip-version-check', '-q')]
        calls.append((fields[:3], ['python', *quiet]))
    unset = ['MMCV_WITH_OPS=', 'FORCE_CUDA=', 'MAX_JOBS=']
    assert (unset, setuptools) in calls
    assert (mmcv[:3], mmcv[3:]) in calls
    assert mmcv[:3] == ['MMCV_WITH_OPS=1', 'FORCE_CUDA=0', 'MAX_JOBS=2']
    order = [argv for _, argv in calls]
    assert order.index(setuptools) < order.index(mmcv[3:])     # setuptools first
