"""No file crosspt reads can run code (issue 13, fault 5).

Presampled caches are ``.npz`` files read with ``allow_pickle=False`` and checked against
the size and mtime of the files they were built from; a pickle planted at an old cache
name is ignored and left alone.  The pickle formats (few-shot episodes, Point-BERT's
ModelNet40 ``.dat``, mmdet3d infos) go through the restricted unpickler, which refuses a
planted pickle with an error naming the file and the global, before running anything.
Every planted pickle here would write a marker file when unpickled.
"""
import ast
import codecs
import os
import pickle
import re
import shutil

import h5py
import numpy as np
import pytest

from crosspt.datasets import (ModelNet40NormalDataset, ModelNetFewShotDataset,
                              ScanObjectNNDataset, ShapeNetPartDataset)
from crosspt.datasets import object_datasets
from crosspt.synthetic.objects import (generate_synthetic_fewshot,
                                       generate_synthetic_modelnet40,
                                       generate_synthetic_scanobjectnn,
                                       generate_synthetic_shapenetpart)
from point_references import brute_fps

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PB_TEST = 'main_split/test_objectdataset_augmentedrot_scale75.h5'
PART_DIR = 'shapenetcore_partanno_segmentation_benchmark_v0_normal'
MN_DIR = 'modelnet40_normal_resampled'


class Planted:
    """Unpickling this runs ``exec``, which writes ``marker``."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f'open({self.marker!r}, "w").write("ran")',)


class Rot13:
    """Unpickles as ``_codecs.encode('ab', 'rot13')``."""

    def __reduce__(self):
        return codecs.encode, ('ab', 'rot13')


def plant(path, marker) -> bytes:
    """Write a malicious pickle to ``path``; returns its bytes."""
    data = pickle.dumps({'payload': Planted(marker)}, protocol=4)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    return data


def refused(make, marker, pattern: str) -> Exception:
    """Run ``make()``: the planted pickle must not have run (marker absent) and ``make``
    must raise an UnpicklingError matching ``pattern``; returns the error."""
    try:
        make()
    except Exception as exc:  # noqa: BLE001  (checked below)
        error = exc
    else:
        error = None
    assert not marker.exists(), 'the planted pickle ran'
    assert isinstance(error, pickle.UnpicklingError), f'expected a refusal, got {error!r}'
    assert re.search(pattern, str(error)), str(error)
    return error


def read_bytes(path) -> bytes:
    with open(path, 'rb') as f:
        return f.read()


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp('safe')
    out = {k: str(base / k) for k in ('scan', 'modelnet', 'part', 'fewshot')}
    generate_synthetic_scanobjectnn(out['scan'], num_train_per_class=1, num_test_per_class=1)
    generate_synthetic_modelnet40(out['modelnet'], num_train_per_class=1,
                                  num_test_per_class=1, normal_rows=120)
    generate_synthetic_shapenetpart(out['part'], num_train_per_class=1, num_val_per_class=1,
                                    num_test_per_class=1, min_points=150, max_points=200)
    generate_synthetic_fewshot(out['fewshot'], ways=(3,), shots=(2,), num_folds=1,
                               num_points=64, num_train_per_class=3, num_test_per_class=2,
                               normal_rows=120)
    return out


@pytest.fixture
def copy_of(roots, tmp_path):
    def copy(name: str) -> str:
        shutil.copytree(roots[name], tmp_path / name)
        return str(tmp_path / name)
    return copy


@pytest.fixture
def logs(monkeypatch):
    messages = []
    monkeypatch.setattr(object_datasets, 'log', messages.append)
    return messages


# ----------------------------------------------------------------------------- unpickler
def test_restricted_unpickler_reads_plain_data_of_every_protocol():
    from crosspt.fileio.safe_pickle import restricted_pickle_loads

    obj = {'f32': np.arange(6, dtype=np.float32).reshape(2, 3), 'i8': np.int64(-3),
           'f8': np.float64(2.5), 'labels': [np.array([7], np.int32)], 'set': {1, 2},
           'frozen': frozenset({3}), 'bytes': b'\x00\xff', 'text': 'airplane_0001',
           'tuple': (1, None, True), 'rec': np.zeros(2, dtype=[('x', 'f4'), ('y', 'i8')])}
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = restricted_pickle_loads(pickle.dumps(obj, protocol=protocol), 'x.pkl')
        assert set(back) == set(obj)
        for key, value in obj.items():
            if isinstance(value, np.ndarray):
                assert back[key].dtype == value.dtype
                np.testing.assert_array_equal(back[key], value)
            else:
                assert back[key] == value and type(back[key]) is type(value), (protocol, key)


def test_restricted_unpickler_reads_numpy1_module_names():
    """Real Point-BERT files were written by numpy 1.x (``numpy.core.multiarray``)."""
    from crosspt.fileio.safe_pickle import restricted_pickle_loads

    data = pickle.dumps([np.ones((4, 6), np.float32), np.int64(5)], protocol=2)
    old = data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    assert old != data
    points, label = restricted_pickle_loads(old, 'old.dat')
    np.testing.assert_array_equal(points, np.ones((4, 6), np.float32))
    assert label == 5


def test_restricted_unpickler_refuses_code(tmp_path):
    from crosspt.fileio.safe_pickle import (UnsafePickleError, restricted_pickle_load,
                                            restricted_pickle_loads)

    marker = tmp_path / 'ran'
    path = tmp_path / 'evil.pkl'
    plant(str(path), marker)
    error = refused(lambda: restricted_pickle_load(path), marker,
                    re.escape(str(path)) + r': refused to load the global builtins\.exec')
    assert isinstance(error, UnsafePickleError)
    # protocol 2 stores bytes with _codecs.encode: allowed for latin-1 only
    with pytest.raises(UnsafePickleError, match='latin-1'):
        restricted_pickle_loads(pickle.dumps(Rot13(), protocol=2), 'codec.pkl')
    with pytest.raises(ValueError, match=r'trunc\.pkl: not a readable pickle'):
        restricted_pickle_loads(pickle.dumps([1, 2, 3])[:-3], 'trunc.pkl')


def test_restricted_unpickler_reads_crosspt_generator_outputs(roots, tmp_path):
    """The few-shot episodes (protocol 4) and mmdet3d infos (protocol 2) crosspt writes."""
    from crosspt.synthetic.scannet_mmdet3d import write_scannet_infos
    from crosspt.fileio.safe_pickle import restricted_pickle_load

    episode = os.path.join(roots['fewshot'], 'ModelNetFewshot', '3way_2shot', '0.pkl')
    infos = [{'lidar_points': {'lidar_path': 'a.bin', 'num_pts_feats': 6},
              'instances': [{'bbox_3d': [0.0] * 6, 'bbox_label_3d': 3}],
              'axis_align_matrix': np.eye(4).tolist(), 'sample_idx': 'scene0000_00',
              'weights': np.float32(0.5)}]
    info_path = write_scannet_infos(str(tmp_path), 'train', infos)
    for path in (episode, info_path):
        with open(path, 'rb') as f:
            reference = pickle.load(f)  # trusted: written just now by crosspt
        assert repr(restricted_pickle_load(path)) == repr(reference)


# ----------------------------------------------------------------------------- ScanObjectNN
def test_scanobjectnn_planted_old_cache_is_ignored_and_left_alone(copy_of, tmp_path, logs):
    root = copy_of('scan')
    marker = tmp_path / 'ran'
    old = os.path.join(root, 'main_split', 'test_objectdataset_augmentedrot_scale75_64_fps.pkl')
    planted = plant(old, marker)
    dataset = ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=64)
    assert not marker.exists()
    assert read_bytes(old) == planted
    assert dataset.fps_cache_path == old[:-len('.pkl')] + '_crosspt.npz'
    assert any(old in m and 'ignoring' in m for m in logs)
    with h5py.File(os.path.join(root, PB_TEST), 'r') as f:
        data = f['data'][()]
    with np.load(dataset.fps_cache_path, allow_pickle=False) as npz:
        points = npz['points']
    for i in (0, len(data) - 1):
        np.testing.assert_array_equal(points[i], data[i][brute_fps(data[i].astype(float), 64)])
        np.testing.assert_array_equal(dataset.get_data_info(i)['cloud'], points[i])


def test_scanobjectnn_cache_rebuilt_when_the_h5_changes(copy_of):
    root = copy_of('scan')
    h5_path = os.path.join(root, PB_TEST)
    first = ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=64)
    cache = first.fps_cache_path
    # every point but each cloud's first moves: FPS starts there, so only the record of
    # the h5 (size, mtime) can tell that the cache no longer fits
    with h5py.File(h5_path, 'r+') as f:
        data = f['data'][()]
        data[:, 1:] = data[:, 1:] * np.float32(1.5) + np.float32(0.25)
        f['data'][...] = data
    with pytest.raises(ValueError, match=re.escape(cache) + r' is stale: source file '
                       r'test_objectdataset_augmentedrot_scale75\.h5 changed'):
        ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=64,
                            rebuild_stale_cache=False)
    rebuilt = ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=64)
    for i in range(len(data)):
        expected = data[i][brute_fps(data[i].astype(float), 64)]
        np.testing.assert_array_equal(rebuilt.get_data_info(i)['cloud'], expected)
    # a crosspt cache of another build (here: a shape that does not fit) is rebuilt too
    with np.load(cache, allow_pickle=False) as npz:
        arrays = dict(npz)
    arrays['points'] = arrays['points'][:1]
    np.savez(cache, **arrays)
    with pytest.raises(ValueError, match=r'stale: holds float32 \(1, 64, 3\)'):
        ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=64,
                            rebuild_stale_cache=False)


@pytest.mark.parametrize('content', ['pickle', 'object_npz', 'plain_npz'])
def test_scanobjectnn_foreign_file_at_cache_name_is_refused(copy_of, tmp_path, content):
    root = copy_of('scan')
    marker = tmp_path / 'ran'
    path = os.path.join(root, 'main_split',
                        'test_objectdataset_augmentedrot_scale75_64_fps_crosspt.npz')
    if content == 'pickle':
        plant(path, marker)
    elif content == 'object_npz':  # np.savez pickles object arrays
        np.savez(path, points=np.array([Planted(marker)], dtype=object))
    else:
        np.savez(path, points=np.zeros((15, 64, 3), np.float32))
    before = read_bytes(path)
    with pytest.raises(ValueError, match=re.escape(path) + r' is not a presampled cache '
                       r'written by crosspt.*move or delete it'):
        ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=64)
    assert not marker.exists()
    assert read_bytes(path) == before


# ----------------------------------------------------------------------------- ModelNet40
def test_modelnet40_planted_pointbert_dat_is_refused(copy_of, tmp_path):
    root = copy_of('modelnet')
    marker = tmp_path / 'ran'
    dat = os.path.join(root, MN_DIR, 'modelnet40_test_32pts_fps.dat')
    planted = plant(dat, marker)
    refused(lambda: ModelNet40NormalDataset(root, split='test', fps_cache_points=32), marker,
            re.escape(dat) + r': refused to load the global builtins\.exec')
    assert read_bytes(dat) == planted


def test_modelnet40_real_pointbert_dat_is_read_and_left_alone(copy_of):
    """Point-BERT's format (protocol 2 by numpy 1.x, labels (1,) int32) is used as is."""
    root = copy_of('modelnet')
    lazy = ModelNet40NormalDataset(root, split='test', use_normals=True)
    rng = np.random.default_rng(0)
    points = [rng.normal(size=(32, 6)).astype(np.float32) for _ in range(len(lazy))]
    labels = [np.array([lazy.get_data_info(i)['label']], np.int32) for i in range(len(lazy))]
    data = pickle.dumps([points, labels], protocol=2)
    dat = os.path.join(root, MN_DIR, 'modelnet40_test_32pts_fps.dat')
    with open(dat, 'wb') as f:
        f.write(data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray'))
    before = read_bytes(dat)
    dataset = ModelNet40NormalDataset(root, split='test', fps_cache_points=32, use_normals=True)
    assert dataset.fps_cache_path == dat and read_bytes(dat) == before
    for i in range(len(dataset)):
        np.testing.assert_array_equal(dataset.get_data_info(i)['cloud'], points[i])
    assert not os.path.exists(os.path.join(root, MN_DIR, 'modelnet40_test_32pts_fps_crosspt.npz'))


def test_modelnet40_cache_rebuilt_when_a_point_file_changes(copy_of):
    root = copy_of('modelnet')
    dataset = ModelNet40NormalDataset(root, split='test', fps_cache_points=32)
    source = dataset.get_data_info(1)['source']
    with open(source) as f:
        lines = f.readlines()
    assert lines[0] != lines[7]
    lines[0], lines[7] = lines[7], lines[0]  # same size, another FPS start
    with open(source, 'w') as f:
        f.writelines(lines)
    with pytest.raises(ValueError, match=r'is stale: source file .*' +
                       re.escape(os.path.basename(source)) + ' changed'):
        ModelNet40NormalDataset(root, split='test', fps_cache_points=32,
                                rebuild_stale_cache=False)
    rebuilt = ModelNet40NormalDataset(root, split='test', fps_cache_points=32)
    rows = np.loadtxt(source, delimiter=',')
    np.testing.assert_allclose(rebuilt.get_data_info(1)['cloud'],
                               rows[brute_fps(rows[:, :3], 32), :3], atol=1e-6)


# ----------------------------------------------------------------------------- ShapeNetPart
def test_shapenetpart_planted_old_cache_is_ignored_and_left_alone(copy_of, tmp_path, logs):
    root = copy_of('part')
    marker = tmp_path / 'ran'
    old = os.path.join(root, PART_DIR, 'processed', 'test_128_fps_crosspt.pkl')
    planted = plant(old, marker)
    dataset = ShapeNetPartDataset(root, split='test', test_fps_cache=True, test_fps_points=128)
    assert not marker.exists() and read_bytes(old) == planted
    assert dataset.fps_cache_path == old[:-len('.pkl')] + '.npz'
    assert any(old in m and 'ignoring' in m for m in logs)


def test_shapenetpart_cache_rebuilt_when_a_shape_file_changes(copy_of):
    root = copy_of('part')
    dataset = ShapeNetPartDataset(root, split='test', test_fps_cache=True, test_fps_points=128)
    source = dataset.get_data_info(0)['source']
    with open(source) as f:
        lines = f.readlines()
    assert lines[0] != lines[9]
    lines[0], lines[9] = lines[9], lines[0]  # same size, another FPS start
    with open(source, 'w') as f:
        f.writelines(lines)
    rebuilt = ShapeNetPartDataset(root, split='test', test_fps_cache=True, test_fps_points=128)
    rows = np.loadtxt(source)
    idx = brute_fps(rows[:, :3], 128)
    np.testing.assert_allclose(rebuilt.get_data_info(0)['cloud'], rows[idx, :6], atol=1e-6)
    np.testing.assert_array_equal(rebuilt.get_data_info(0)['part_labels'], rows[idx, 6])


# ----------------------------------------------------------------------------- few-shot
def test_fewshot_planted_episode_is_refused(tmp_path):
    marker = tmp_path / 'ran'
    path = str(tmp_path / 'ModelNetFewshot' / '3way_2shot' / '0.pkl')
    plant(path, marker)
    refused(lambda: ModelNetFewShotDataset(str(tmp_path), way=3, shot=2, fold=0), marker,
            r'ModelNetFewShotDataset: ' + re.escape(path) +
            r': refused to load the global builtins\.exec')


# ----------------------------------------------------------------------------- mmdet3d infos
def test_mmdet3d_planted_info_pickle_is_refused(tmp_path):
    pytest.importorskip('mmdet3d.datasets')
    from mmengine.registry import DefaultScope
    from mmdet3d.registry import DATASETS

    import projects.crosspt_mmdet3d.crosspt_mmdet3d.datasets  # noqa: F401  (registers)

    marker = tmp_path / 'ran'
    root = tmp_path / 'scannet'
    path = str(root / 'scannet_infos_val.pkl')
    plant(path, marker)
    for cfg in (dict(type='CrossptScanNetDataset', box_type_3d='Depth'),
                dict(type='CrossptScanNetSegDataset', test_mode=True,
                     metainfo=dict(classes=('wall', 'floor')))):
        cfg.update(data_root=str(root) + '/', ann_file='scannet_infos_val.pkl', pipeline=[])
        with DefaultScope.overwrite_default_scope('mmdet3d'):
            refused(lambda: DATASETS.build(cfg), marker,
                    re.escape(path) + r': refused to load the global builtins\.exec')


# ----------------------------------------------------------------------------- static check
LOADERS = {('pickle', 'load'), ('pickle', 'loads'), ('pickle', 'Unpickler'),
           ('_pickle', 'load'), ('_pickle', 'loads'), ('dill', 'load'), ('dill', 'loads'),
           ('cloudpickle', 'load'), ('cloudpickle', 'loads'), ('joblib', 'load'),
           ('marshal', 'load'), ('marshal', 'loads'), ('shelve', 'open'),
           ('pandas', 'read_pickle'), ('yaml', 'load'), ('yaml', 'unsafe_load'),
           ('yaml', 'full_load'), ('mmengine', 'load'), ('mmengine.fileio', 'load')}
SAFE_MODULE = os.path.join('crosspt', 'fileio', 'safe_pickle.py')


def unsafe_calls(source: str) -> list:
    """(line, text) of every code-running load in ``source``: calls of LOADERS (through
    any import alias), bare ``eval``/``exec``, ``allow_pickle=True``,
    ``weights_only=False`` and ``torch.load`` without ``weights_only=True``.
    ``model.eval()`` is an attribute call and never matches."""
    tree = ast.parse(source)
    modules, names = {}, {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module, alias.name)
                modules.setdefault(alias.asname or alias.name, f'{node.module}.{alias.name}')
    found = []
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            target = (modules.get(node.value.id, node.value.id), node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            target = names.get(node.id)
        if target in LOADERS:
            found.append((node.lineno, '.'.join(target)))
        if not isinstance(node, ast.Call):
            continue
        keywords = {k.arg: getattr(k.value, 'value', k.value) for k in node.keywords}
        if isinstance(node.func, ast.Name) and node.func.id in ('eval', 'exec'):
            found.append((node.lineno, f'{node.func.id}(...)'))
        if keywords.get('allow_pickle') is True or keywords.get('weights_only') is False:
            found.append((node.lineno, ast.get_source_segment(source, node)))
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == 'load' and \
                isinstance(func.value, ast.Name) and \
                modules.get(func.value.id, func.value.id) == 'torch' and \
                keywords.get('weights_only') is not True:
            found.append((node.lineno, ast.get_source_segment(source, node)))
    return found


def test_unsafe_call_finder_on_examples():
    bad = ('import pickle as pk\npk.load(f)\n', 'from pickle import loads\nloads(b)\n',
           'import numpy as np\nnp.load(p, allow_pickle=True)\n', 'import torch\ntorch.load(p)\n',
           'import torch\ntorch.load(p, weights_only=False)\n', 'import yaml\nyaml.load(f)\n',
           'eval(open(p).read())\n', 'from mmengine.fileio import load\nload(p)\n',
           'import mmengine\nmmengine.load(p)\n', 'import pickle\npickle.Unpickler(f).load()\n')
    good = ('model.eval()\nself.eval()\n', 'import torch\ntorch.load(p, weights_only=True)\n',
            'import numpy as np\nnp.load(p)\nnp.load(p, allow_pickle=False)\n',
            'import yaml\nyaml.safe_load(f)\n', 'import json\njson.load(f)\n',
            'import pickle\npickle.dump(x, f)\n', '"""calls pickle.load(f)"""\n')
    assert all(unsafe_calls(text) for text in bad)
    assert not any(unsafe_calls(text) for text in good)


def test_no_code_running_loads_in_the_package():
    found = []
    for top in ('crosspt', 'tools', 'projects'):
        for folder, _, files in os.walk(os.path.join(REPO, top)):
            for name in sorted(files):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, REPO)
                if not name.endswith('.py') or rel == SAFE_MODULE:
                    continue
                with open(path, encoding='utf-8') as f:
                    found += [f'{rel}:{line}: {text}' for line, text in unsafe_calls(f.read())]
    assert not found, 'code-running loads (use crosspt.fileio.safe_pickle, np.load with ' \
        'allow_pickle=False, torch.load(weights_only=True), yaml.safe_load):\n' + \
        '\n'.join(found)
