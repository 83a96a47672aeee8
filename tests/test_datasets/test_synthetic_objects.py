"""Synthetic downstream object sets: exact on-disk formats, determinism, idempotency, CLI."""
import hashlib
import json
import os
import pickle
import re
import sys

import h5py
import numpy as np
import pytest

from crosspt.synthetic.objects import (generate_synthetic_fewshot,
                                       generate_synthetic_modelnet40,
                                       generate_synthetic_scanobjectnn,
                                       generate_synthetic_shapenetpart)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMALL = {
    'scan': dict(num_train_per_class=2, num_test_per_class=1),
    'modelnet': dict(num_train_per_class=3, num_test_per_class=2, normal_rows=300),
    'part': dict(num_train_per_class=2, num_val_per_class=1, num_test_per_class=1,
                 min_points=200, max_points=300),
    'fewshot': dict(ways=(3,), shots=(2,), num_folds=2, num_points=128, num_train_per_class=3,
                    num_test_per_class=2, normal_rows=300),
}
PART_DIR = 'shapenetcore_partanno_segmentation_benchmark_v0_normal'
# ScanObjectNN and ModelNet40 ids written out by hand from the published class lists
SCAN_IDS = {'bin': 1, 'chair': 4, 'display': 6, 'table': 9, 'bed': 10, 'sofa': 13}
MODELNET_IDS = {'airplane': 0, 'bench': 3, 'bottle': 5, 'chair': 8, 'cup': 10, 'lamp': 19,
                'sofa': 30, 'table': 33}
PART_RANGES = {'02691156': ('Airplane', range(0, 4)), '03001627': ('Chair', range(12, 16)),
               '03636649': ('Lamp', range(24, 28)), '03797390': ('Mug', range(36, 38)),
               '04379243': ('Table', range(47, 50))}


def make_all(root, seed=0):
    root = str(root)
    return {
        'scan': generate_synthetic_scanobjectnn(os.path.join(root, 'scan'), seed=seed,
                                                **SMALL['scan']),
        'modelnet': generate_synthetic_modelnet40(os.path.join(root, 'modelnet'), seed=seed,
                                                  **SMALL['modelnet']),
        'part': generate_synthetic_shapenetpart(os.path.join(root, 'part'), seed=seed,
                                                **SMALL['part']),
        'fewshot': generate_synthetic_fewshot(os.path.join(root, 'fewshot'), seed=seed,
                                              **SMALL['fewshot']),
    }


def digests(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            if not n.endswith('.lock'):
                path = os.path.join(d, n)
                with open(path, 'rb') as f:
                    out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


@pytest.fixture(scope='module')
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic_objects')
    make_all(root)
    return str(root)


def test_same_seed_byte_identical_other_seed_differs(sets, tmp_path):
    make_all(tmp_path / 'again', seed=0)
    make_all(tmp_path / 'other', seed=1)
    first, again, other = digests(sets), digests(tmp_path / 'again'), digests(tmp_path / 'other')
    assert len(first) > 50 and first == again
    for name in ('scan/main_split/training_objectdataset_augmentedrot_scale75.h5',
                 'scan/main_split_nobg/test_objectdataset.h5',
                 'modelnet/modelnet40_ply_hdf5_2048/ply_data_train0.h5',
                 'modelnet/modelnet40_normal_resampled/chair/chair_0001.txt',
                 'fewshot/ModelNetFewshot/3way_2shot/0.pkl'):
        assert first[name] != other[name], name
    part_files = {k for k in first if k.startswith('part/') and k.endswith('.txt')}
    assert part_files != {k for k in other if k.startswith('part/') and k.endswith('.txt')}


def test_scanobjectnn_h5_format(sets):
    root = os.path.join(sets, 'scan')
    files = {'pb_t50_rs': 'main_split/{}_objectdataset_augmentedrot_scale75.h5',
             'obj_bg': 'main_split/{}_objectdataset.h5',
             'obj_only': 'main_split_nobg/{}_objectdataset.h5'}
    for split, per_class in (('training', 2), ('test', 1)):
        labels = {}
        for variant, pattern in files.items():
            with h5py.File(os.path.join(root, pattern.format(split)), 'r') as f:
                assert sorted(f.keys()) == ['data', 'label', 'mask']
                data, label, mask = f['data'][()], f['label'][()], f['mask'][()]
            n = 6 * per_class
            assert data.shape == (n, 2048, 3) and data.dtype == np.float32
            assert label.shape == (n,) and label.dtype.kind == 'i'
            assert mask.shape == (n, 2048) and mask.dtype.kind == 'i'
            assert set(np.unique(mask)) <= {0, 1} and np.isfinite(data).all()
            if variant == 'obj_only':
                assert (mask == 1).all()
            else:  # background points present in every cloud, below the object too
                assert (mask == 0).any(axis=1).all()
            labels[variant] = label
        # the same objects in the same row order in all variants; 6 classes x per_class
        assert (labels['pb_t50_rs'] == labels['obj_bg']).all()
        assert (labels['obj_bg'] == labels['obj_only']).all()
        assert sorted(labels['obj_bg'].tolist()) == sorted(list(SCAN_IDS.values()) * per_class)
    with open(os.path.join(root, 'synthetic_info.json')) as f:
        info = json.load(f)
    assert {k: v[1] for k, v in info['class_map'].items()} == {
        'chair': 4, 'table': 9, 'sofa': 13, 'bench': 10, 'mug': 1, 'lamp': 6}


def test_scanobjectnn_objects_are_y_up_and_pb_rotated(sets):
    root = os.path.join(sets, 'scan')
    with h5py.File(os.path.join(root, 'main_split_nobg/training_objectdataset.h5'), 'r') as f:
        only, label = f['data'][()], f['label'][()]
    with h5py.File(os.path.join(root, 'main_split/training_objectdataset.h5'), 'r') as f:
        bg, bg_mask = f['data'][()], f['mask'][()]
    table = int(np.nonzero(label == SCAN_IDS['table'])[0][0])
    # a table's top is its highest part: many points near max y (y is up)
    y = only[table, :, 1]
    assert np.mean(y > y.max() - 0.1) > 0.3
    # the floor patch lies at the bottom of the object (background points' y ~ min y)
    floor = bg[table, bg_mask[table] == 0, 1]
    assert np.median(floor) < np.percentile(bg[table, bg_mask[table] == 1, 1], 5) + 0.02


def test_modelnet40_formats(sets):
    root = os.path.join(sets, 'modelnet')
    h5_dir = os.path.join(root, 'modelnet40_ply_hdf5_2048')
    with open(os.path.join(h5_dir, 'shape_names.txt')) as f:
        names = f.read().split('\n')
    assert len(names) == 41 and names[-1] == '' and names[8] == 'chair' and names[39] == 'xbox'
    with open(os.path.join(h5_dir, 'train_files.txt')) as f:
        assert f.read() == 'data/modelnet40_ply_hdf5_2048/ply_data_train0.h5\n'
    for split, per_class in (('train', 3), ('test', 2)):
        with h5py.File(os.path.join(h5_dir, f'ply_data_{split}0.h5'), 'r') as f:
            assert sorted(f.keys()) == ['data', 'label']
            data, label = f['data'][()], f['label'][()]
        assert data.shape == (8 * per_class, 2048, 3) and data.dtype == np.float32
        assert label.shape == (8 * per_class, 1) and label.dtype.kind in 'iu'
        assert sorted(label[:, 0].tolist()) == sorted(list(MODELNET_IDS.values()) * per_class)
        radius = np.linalg.norm(data - data.mean(1, keepdims=True), axis=2).max(1)
        np.testing.assert_allclose(radius, 1.0, atol=1e-5)
    normal_dir = os.path.join(root, 'modelnet40_normal_resampled')
    with open(os.path.join(normal_dir, 'modelnet40_shape_names.txt')) as f:
        assert f.read().split() == names[:-1]
    with open(os.path.join(normal_dir, 'modelnet40_test.txt')) as f:
        test_ids = f.read().split()
    assert 'chair_0004' in test_ids and 'chair_0005' in test_ids and 'cup_0005' in test_ids
    assert len(test_ids) == 16 and all(re.fullmatch(r'[a-z_]+_\d{4}', i) for i in test_ids)
    with open(os.path.join(normal_dir, 'chair', 'chair_0004.txt')) as f:
        lines = f.read().splitlines()
    assert len(lines) == 300
    for line in lines[:5]:
        fields = line.split(',')
        assert len(fields) == 6 and all(re.fullmatch(r'-?\d+\.\d{6}', v) for v in fields)
    rows = np.array([[float(v) for v in line.split(',')] for line in lines])
    np.testing.assert_allclose(np.linalg.norm(rows[:, 3:], axis=1), 1.0, atol=1e-5)


def test_shapenetpart_format(sets):
    folder = os.path.join(sets, 'part', PART_DIR)
    with open(os.path.join(folder, 'synsetoffset2category.txt')) as f:
        lines = f.read().splitlines()
    assert lines == [f'{name}\t{synset}' for synset, (name, _) in sorted(
        PART_RANGES.items(), key=lambda kv: kv[1][0])]
    seen_parts = {synset: set() for synset in PART_RANGES}
    for split, per_class in (('train', 2), ('val', 1), ('test', 1)):
        with open(os.path.join(folder, 'train_test_split',
                               f'shuffled_{split}_file_list.json')) as f:
            entries = json.load(f)
        assert len(entries) == 5 * per_class
        for entry in entries:
            assert re.fullmatch(r'shape_data/\d{8}/[0-9a-f]{32}', entry), entry
            _, synset, model_id = entry.split('/')
            with open(os.path.join(folder, synset, f'{model_id}.txt')) as f:
                rows = [line.split(' ') for line in f.read().splitlines()]
            assert 200 <= len(rows) <= 300 and all(len(r) == 7 for r in rows)
            values = np.array(rows, dtype=np.float64)
            assert all(re.fullmatch(r'\d+\.000000', r[6]) for r in rows)
            parts = values[:, 6].astype(int)
            assert set(parts) <= set(PART_RANGES[synset][1]), (entry, set(parts))
            seen_parts[synset] |= set(parts)
            np.testing.assert_allclose(np.linalg.norm(values[:, 3:6], axis=1), 1.0, atol=1e-5)
    # every category shows at least two of its parts; the mug has body and handle
    assert all(len(p) >= 2 for p in seen_parts.values()) and seen_parts['03797390'] == {36, 37}


def test_fewshot_pickles(sets):
    folder = os.path.join(sets, 'fewshot', 'ModelNetFewshot', '3way_2shot')
    assert sorted(os.listdir(folder)) == ['0.pkl', '1.pkl']
    normal_dir = os.path.join(sets, 'modelnet', 'modelnet40_normal_resampled')
    for fold in (0, 1):
        with open(os.path.join(folder, f'{fold}.pkl'), 'rb') as f:
            episode = pickle.load(f)
        assert isinstance(episode, dict) and sorted(episode) == ['test', 'train']
        for split, per_label in (('train', 2), ('test', 2)):
            items = episode[split]
            assert len(items) == 3 * per_label
            label_names = {}
            for points, label, name in items:
                assert isinstance(points, np.ndarray) and points.dtype == np.float32
                assert points.shape == (128, 6) and isinstance(label, int)
                assert 0 <= label < 3 and isinstance(name, str)
                cls = name.rsplit('_', 1)[0]
                label_names.setdefault(label, set()).add(cls)
                # the few-shot points are the first rows of the same synthetic ModelNet shape
                rows = np.loadtxt(os.path.join(normal_dir, cls, f'{name}.txt'), delimiter=',')
                np.testing.assert_allclose(points, rows[:128], atol=1e-6)
            assert all(len(v) == 1 for v in label_names.values()) and len(label_names) == 3


def test_idempotent_and_never_replaces_real_data(sets, tmp_path):
    root = os.path.join(sets, 'scan')
    before = {p: os.stat(os.path.join(root, p)).st_mtime_ns for p in digests(root)}
    info = generate_synthetic_scanobjectnn(root, seed=0, **SMALL['scan'])
    assert info['created'] is False
    assert {p: os.stat(os.path.join(root, p)).st_mtime_ns for p in digests(root)} == before
    real = tmp_path / 'real'
    (real / 'main_split').mkdir(parents=True)
    (real / 'main_split' / 'test_objectdataset.h5').write_bytes(b'real data')
    with pytest.raises(ValueError, match='refusing to replace'):
        generate_synthetic_scanobjectnn(real, **SMALL['scan'])
    assert (real / 'main_split' / 'test_objectdataset.h5').read_bytes() == b'real data'
    with pytest.raises(ValueError, match='shot'):
        generate_synthetic_fewshot(tmp_path / 'fs', shots=(5,), num_train_per_class=3)


def test_create_data_cli(tmp_path, capsys):
    sys.path.insert(0, os.path.join(REPO, 'tools'))
    try:
        import create_data
    finally:
        sys.path.pop(0)
    create_data.main(['synthetic-fewshot', '--out-dir', str(tmp_path / 'fs'), '--ways', '2',
                      '--shots', '1', '--num-folds', '1', '--num-points', '64',
                      '--num-train-per-class', '1', '--num-test-per-class', '1',
                      '--normal-rows', '100'])
    assert os.path.isfile(tmp_path / 'fs' / 'ModelNetFewshot' / '2way_1shot' / '0.pkl')
    create_data.main(['synthetic-scanobjectnn', '--out-dir', str(tmp_path / 'so'),
                      '--num-train-per-class', '1', '--num-test-per-class', '1'])
    assert os.path.isfile(tmp_path / 'so' / 'main_split_nobg' / 'test_objectdataset.h5')
    out = capsys.readouterr().out
    assert 'fewshot: wrote' in out and 'scanobjectnn: wrote' in out
    args = create_data.parse_args(['synthetic-objects'])
    assert args.out_dir == 'data/synthetic_objects' and args.shots == [10]
    assert create_data.parse_args(['synthetic-shapenet55']).num_train == 48
