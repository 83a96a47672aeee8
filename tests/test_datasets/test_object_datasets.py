"""Downstream object datasets on the synthetic sets and on hand-made broken files."""
import json
import os
import pickle
import re
import shutil

import h5py
import numpy as np
import pytest
import torch

import crosspt.datasets  # noqa: F401  (registers datasets and transforms)
from crosspt.datasets import (ModelNet40H5Dataset, ModelNet40NormalDataset,
                              ModelNetFewShotDataset, ScanObjectNNDataset, ShapeNetPartDataset)
from crosspt.synthetic.objects import (generate_synthetic_fewshot,
                                       generate_synthetic_modelnet40,
                                       generate_synthetic_scanobjectnn,
                                       generate_synthetic_shapenetpart)
from crosspt.registry import DATASETS
from point_references import brute_fps

SCAN = dict(num_train_per_class=2, num_test_per_class=1)
MODELNET = dict(num_train_per_class=3, num_test_per_class=2, normal_rows=300)
PART = dict(num_train_per_class=2, num_val_per_class=1, num_test_per_class=1, min_points=200,
            max_points=300)
FEWSHOT = dict(ways=(3,), shots=(2,), num_folds=1, num_points=128, num_train_per_class=3,
               num_test_per_class=2, normal_rows=300)
PART_DIR = 'shapenetcore_partanno_segmentation_benchmark_v0_normal'
PB_TEST = 'main_split/test_objectdataset_augmentedrot_scale75.h5'
# hand-written from the tables of docs/methods/benchmarks.md: ShapeNetPart category index
# (alphabetical) -> parts
PART_INDEX = {'Airplane': (0, range(0, 4)), 'Chair': (4, range(12, 16)),
              'Lamp': (8, range(24, 28)), 'Mug': (11, range(36, 38)),
              'Table': (15, range(47, 50))}
SCAN_NAMES = ['bag', 'bin', 'box', 'cabinet', 'chair', 'desk', 'display', 'door', 'shelf',
              'table', 'bed', 'pillow', 'sink', 'sofa', 'toilet']


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp('objects')
    out = {'scan': str(base / 'scan'), 'modelnet': str(base / 'modelnet'),
           'part': str(base / 'part'), 'fewshot': str(base / 'fewshot')}
    generate_synthetic_scanobjectnn(out['scan'], **SCAN)
    generate_synthetic_modelnet40(out['modelnet'], **MODELNET)
    generate_synthetic_shapenetpart(out['part'], **PART)
    generate_synthetic_fewshot(out['fewshot'], **FEWSHOT)
    return out


def cls_pipeline(n, keys=('points',)):
    return [dict(type='LoadObjectPoints'), dict(type='TakeFirstPoints', num_points=n),
            dict(type='CenterAndNormalize', gravity_dim=1),
            dict(type='PackPointClsInputs', feature_keys=keys)]


def write_h5(path, **arrays):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, 'w') as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=value)


# ----------------------------------------------------------------------------- ScanObjectNN
def test_scanobjectnn_train_pipeline_all_variants(roots):
    pipeline = [dict(type='LoadObjectPoints'), dict(type='ShufflePoints'),
                dict(type='FPSThenRandom', fps_points=300, num_points=256),
                dict(type='RandomPointScaling', scale=(0.9, 1.1)),
                dict(type='CenterAndNormalize', gravity_dim=1),
                dict(type='RandomRotateAxis', axis=1),
                dict(type='PackPointClsInputs', feature_keys=('points', 'height_augmented'))]
    for variant in ('pb_t50_rs', 'obj_bg', 'obj_only', 'objectbg'):
        dataset = DATASETS.build(dict(type='ScanObjectNNDataset', data_root=roots['scan'],
                                      split='train', variant=variant, pipeline=pipeline))
        assert len(dataset) == 12 and list(dataset.metainfo['classes']) == SCAN_NAMES
        sample = dataset[5]
        assert sample['inputs']['points'].shape == (256, 3)
        assert sample['inputs']['features'].shape == (256, 4)
        info = dataset.get_data_info(5)
        assert info['cloud'].shape == (2048, 3) and info['source'].endswith('.h5[row 5]')
        assert sample['data_samples'].gt_label == info['label']
        names = {dataset.metainfo['classes'][dataset.get_data_info(i)['label']]
                 for i in range(len(dataset))}
        assert names == {'chair', 'table', 'sofa', 'bed', 'bin', 'display'}
    with pytest.raises(ValueError, match='variant'):
        ScanObjectNNDataset(roots['scan'], variant='hardest_x')


def test_scanobjectnn_h5_files_parent_quirk(roots, tmp_path):
    shutil.copytree(roots['scan'], tmp_path / 'ScanObjectNN' / 'h5_files')
    dataset = ScanObjectNNDataset(str(tmp_path / 'ScanObjectNN'), split='test', variant='obj_bg')
    assert len(dataset) == 6
    assert dataset.h5_path == str(tmp_path / 'ScanObjectNN' / 'h5_files' / 'main_split' /
                                  'test_objectdataset.h5')


def test_scanobjectnn_test_fps_cache_reused_and_stale(roots, tmp_path):
    root = str(tmp_path / 'scan')
    shutil.copytree(roots['scan'], root)
    dataset = ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=128,
                                  pipeline=cls_pipeline(128, ('points', 'height_augmented')))
    cache = os.path.join(root, 'main_split',
                         'test_objectdataset_augmentedrot_scale75_128_fps_crosspt.npz')
    assert dataset.fps_cache_path == cache and os.path.isfile(cache)
    with h5py.File(os.path.join(root, PB_TEST), 'r') as f:
        data = f['data'][()]
    with np.load(cache, allow_pickle=False) as npz:
        cached = npz['points']
    assert cached.shape == (6, 128, 3) and cached.dtype == np.float32
    for i in (0, 5):
        reference = data[i][brute_fps(data[i].astype(np.float64), 128)]
        np.testing.assert_array_equal(cached[i], reference)
        np.testing.assert_array_equal(dataset.get_data_info(i)['cloud'], cached[i])
    assert dataset[0]['inputs']['features'].shape == (128, 4)
    mtime = os.stat(cache).st_mtime_ns
    ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=128)
    assert os.stat(cache).st_mtime_ns == mtime  # reused, not rewritten
    # stale: the h5 changed (first point of row 2 moved) -> detected
    with h5py.File(os.path.join(root, PB_TEST), 'r+') as f:
        moved = f['data'][()]
        moved[2, 0] += 0.5
        f['data'][...] = moved
    with pytest.raises(ValueError, match=r'_128_fps_crosspt\.npz is stale: source file '
                       r'test_objectdataset_augmentedrot_scale75\.h5 changed'):
        ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=128,
                            rebuild_stale_cache=False)
    rebuilt = ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=128)
    np.testing.assert_array_equal(rebuilt.get_data_info(2)['cloud'][0], moved[2, 0])
    # stale: wrong shape in a crosspt cache -> rebuilt
    with np.load(cache, allow_pickle=False) as npz:
        arrays = dict(npz)
    arrays['points'] = arrays['points'][:3]
    np.savez(cache, **arrays)
    with pytest.raises(ValueError, match=r'holds float32 \(3, 128, 3\), expected .*'
                       r'\(6, 128, 3\)'):
        ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=128,
                            rebuild_stale_cache=False)
    ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=128)
    with np.load(cache, allow_pickle=False) as npz:
        assert npz['points'].shape == (6, 128, 3)
    # cache_dir (for read-only data folders)
    other = ScanObjectNNDataset(root, split='test', test_fps_cache=True, test_fps_points=64,
                                cache_dir=str(tmp_path / 'cache'))
    assert other.fps_cache_path == str(tmp_path / 'cache' /
                                       'test_objectdataset_augmentedrot_scale75_64_fps_crosspt.npz')
    assert os.path.isfile(other.fps_cache_path)
    with pytest.raises(ValueError, match="split='test' only"):
        ScanObjectNNDataset(root, split='train', test_fps_cache=True)


# ----------------------------------------------------------------------------- ModelNet40
def test_modelnet40_h5(roots, tmp_path):
    dataset = ModelNet40H5Dataset(roots['modelnet'], split='test',
                                  pipeline=cls_pipeline(1024, ('points', 'height_augmented')))
    assert len(dataset) == 16 and dataset.metainfo['classes'][33] == 'table'
    sample = dataset[3]
    assert sample['inputs']['features'].shape == (1024, 4)
    labels = [dataset.get_data_info(i)['label'] for i in range(16)]
    assert sorted(labels) == sorted([0, 3, 5, 8, 10, 19, 30, 33] * 2)
    # without the index file the h5 files are globbed in sorted order
    folder = tmp_path / 'modelnet40_ply_hdf5_2048'
    shutil.copytree(os.path.join(roots['modelnet'], 'modelnet40_ply_hdf5_2048'), folder)
    os.remove(folder / 'test_files.txt')
    shutil.copy(folder / 'ply_data_test0.h5', folder / 'ply_data_test1.h5')
    both = ModelNet40H5Dataset(str(tmp_path), split='test')
    assert len(both) == 32 and both.h5_files == [str(folder / 'ply_data_test0.h5'),
                                                 str(folder / 'ply_data_test1.h5')]
    assert both.get_data_info(20)['source'] == f'{folder / "ply_data_test1.h5"}[row 4]'


def test_modelnet40_normal_lazy_and_fps_cache(roots, tmp_path):
    root = str(tmp_path / 'mn')
    shutil.copytree(roots['modelnet'], root)
    folder = os.path.join(root, 'modelnet40_normal_resampled')
    dataset = ModelNet40NormalDataset(root, split='train', use_normals=True,
                                      pipeline=cls_pipeline(256, ('points', 'normals')))
    assert len(dataset) == 24
    for i in (0, 23):
        info = dataset.get_data_info(i)
        assert dataset.metainfo['classes'][info['label']] == info['shape_id'].rsplit('_', 1)[0]
        assert info['cloud'].shape == (300, 6)
    assert dataset[0]['inputs']['features'].shape == (256, 6)
    xyz = ModelNet40NormalDataset(root, split='test')
    assert xyz.get_data_info(0)['cloud'].shape == (300, 3)
    # lazy: a corrupt file does not break construction, only reading that sample
    victim = dataset.get_data_info(4)['source']
    with open(victim, 'w') as f:
        f.write('1,2,3\n4,5,6\n')
    lazy = ModelNet40NormalDataset(root, split='train')
    with pytest.raises(ValueError, match=re.escape(victim) + r'.*6 values.*\(2, 3\)'):
        lazy[4]
    shutil.copy(os.path.join(roots['modelnet'], os.path.relpath(victim, root)), victim)
    cached = ModelNet40NormalDataset(root, split='test', fps_cache_points=64)
    path = os.path.join(folder, 'modelnet40_test_64pts_fps_crosspt.npz')
    assert cached.fps_cache_path == path
    with np.load(path, allow_pickle=False) as npz:
        points, labels = npz['points'], npz['labels']
    assert points.shape == (16, 64, 6) and labels.shape == (16,)
    rows = np.loadtxt(cached.get_data_info(0)['source'], delimiter=',')
    np.testing.assert_allclose(points[0], rows[brute_fps(rows[:, :3], 64)], atol=1e-6)
    assert cached.get_data_info(0)['cloud'].shape == (64, 3)
    mtime = os.stat(path).st_mtime_ns
    ModelNet40NormalDataset(root, split='test', fps_cache_points=64)
    assert os.stat(path).st_mtime_ns == mtime


# ----------------------------------------------------------------------------- ShapeNetPart
def test_shapenetpart_pipeline_and_parts(roots):
    pipeline = [dict(type='LoadObjectPoints'),
                dict(type='RandomSamplePoints', num_points=512),
                dict(type='RandomPointScaling', scale=(0.8, 1.2)),
                dict(type='CenterAndNormalize', gravity_dim=1),
                dict(type='RandomJitter'), dict(type='RandomDropNormals', p=0.2),
                dict(type='PackPartSegInputs',
                     feature_keys=('points', 'normals', 'height_augmented'))]
    dataset = DATASETS.build(dict(type='ShapeNetPartDataset', data_root=roots['part'],
                                  split='trainval', pipeline=pipeline))
    assert len(dataset) == 15
    assert len(ShapeNetPartDataset(roots['part'], split='train')) == 10
    seen = set()
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        index, parts = PART_INDEX[info['category_name']]
        assert info['category'] == index and dataset.metainfo['classes'][index] == \
            info['category_name']
        sample = dataset[i]
        inputs, data_sample = sample['inputs'], sample['data_samples']
        assert inputs['points'].shape == (512, 3) and inputs['features'].shape == (512, 7)
        assert int(inputs['category']) == index == data_sample.category
        assert data_sample.gt_part.shape == (512,) and data_sample.gt_part.dtype == torch.int64
        assert set(data_sample.gt_part.tolist()) <= set(parts)
        seen.add(info['category_name'])
    assert seen == set(PART_INDEX)


def test_shapenetpart_test_fps_cache(roots, tmp_path):
    root = str(tmp_path / 'part')
    shutil.copytree(roots['part'], root)
    dataset = ShapeNetPartDataset(root, split='test', test_fps_cache=True, test_fps_points=256)
    path = os.path.join(root, PART_DIR, 'processed', 'test_256_fps_crosspt.npz')
    assert dataset.fps_cache_path == path and len(dataset) == 5
    info = dataset.get_data_info(2)
    rows = np.loadtxt(info['source'])
    idx = brute_fps(rows[:, :3], 256)
    np.testing.assert_allclose(info['cloud'], rows[idx, :6], atol=1e-6)
    np.testing.assert_array_equal(info['part_labels'], rows[idx, 6].astype(int))
    mtime = os.stat(path).st_mtime_ns
    ShapeNetPartDataset(root, split='test', test_fps_cache=True, test_fps_points=256)
    assert os.stat(path).st_mtime_ns == mtime
    with open(info['source'], 'a') as f:  # a shape file changed -> the cache is stale
        f.write(' '.join(['0.000000'] * 6 + [f'{float(info["part_labels"][0]):.6f}']) + '\n')
    with pytest.raises(ValueError, match='stale: source file .* changed'):
        ShapeNetPartDataset(root, split='test', test_fps_cache=True, test_fps_points=256,
                            rebuild_stale_cache=False)
    # a shape with fewer points than asked keeps all of them, repeated in FPS order
    small = ShapeNetPartDataset(root, split='test', test_fps_cache=True, test_fps_points=400,
                                cache_dir=str(tmp_path / 'c'))
    cloud = small.get_data_info(0)['cloud']
    n = len(np.loadtxt(small.get_data_info(0)['source']))
    assert cloud.shape == (400, 6) and len(np.unique(cloud, axis=0)) == n


def test_shapenetpart_part_label_outside_category(roots, tmp_path):
    root = str(tmp_path / 'part')
    shutil.copytree(roots['part'], root)
    dataset = ShapeNetPartDataset(root, split='val')
    info = dataset.get_data_info(0)
    rows = np.loadtxt(info['source'])
    rows[7, 6] = 5.0  # a Bag part id
    np.savetxt(info['source'], rows, fmt='%.6f')
    with pytest.raises(ValueError, match=re.escape(info['source']) +
                       r': row 7 has part label 5\.0, outside its category'):
        dataset[0]


# ----------------------------------------------------------------------------- few-shot
def test_modelnet_fewshot(roots, tmp_path):
    pipeline = [dict(type='LoadObjectPoints'), dict(type='TakeFirstPoints', num_points=64),
                dict(type='PackPointClsInputs', feature_keys=('points',))]
    train = ModelNetFewShotDataset(roots['fewshot'], way=3, shot=2, fold=0, split='train',
                                   pipeline=pipeline)
    test = ModelNetFewShotDataset(os.path.join(roots['fewshot'], 'ModelNetFewshot'), way=3,
                                  shot=2, fold=0, split='test')
    assert len(train) == 6 and len(test) == 6 and train.metainfo['classes'] == \
        test.metainfo['classes']
    for i in range(6):
        info = train.get_data_info(i)
        assert train.metainfo['classes'][info['label']] == info['name'].rsplit('_', 1)[0]
        assert info['source'].endswith(f'0.pkl[train {i}]')
    assert train[0]['inputs']['points'].shape == (64, 3)
    # strict validation of the [UNVERIFIED] layout
    path = os.path.join(roots['fewshot'], 'ModelNetFewshot', '3way_2shot', '0.pkl')
    with open(path, 'rb') as f:
        episode = pickle.load(f)
    bad_root = tmp_path / 'ModelNetFewshot' / '3way_2shot'
    bad_root.mkdir(parents=True)

    def write(ep):
        with open(bad_root / '0.pkl', 'wb') as f:
            pickle.dump(ep, f)
        return str(bad_root / '0.pkl')

    points, _, name = episode['train'][1]
    bad = write({'train': episode['train'][:1] + [(points, 3, name)] + episode['train'][2:],
                 'test': episode['test']})
    with pytest.raises(ValueError, match=re.escape(bad) + r'\[train 1\]: label 3 must be an '
                       r'int in \[0, 3\)'):
        ModelNetFewShotDataset(str(tmp_path), way=3, shot=2, fold=0)
    write({'train': episode['train'][:-1], 'test': episode['test']})
    with pytest.raises(ValueError, match='exactly shot=2 items per label'):
        ModelNetFewShotDataset(str(tmp_path), way=3, shot=2, fold=0)
    write({'train': episode['train'], 'test': episode['test'], 'extra': []})
    with pytest.raises(ValueError, match="exactly the list entries 'train' and 'test'"):
        ModelNetFewShotDataset(str(tmp_path), way=3, shot=2, fold=0)
    write({'train': [(points[:, :2], 0, name)] + episode['train'][1:], 'test': episode['test']})
    with pytest.raises(ValueError, match=r'\[train 0\]: points must be a float array'):
        ModelNetFewShotDataset(str(tmp_path), way=3, shot=2, fold=0)


# ----------------------------------------------------------------------------- bad input
def test_missing_files_name_path_and_generator(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / 'nowhere'))):
        ScanObjectNNDataset(str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match=r'main_split/training_objectdataset_augmented'
                       r'rot_scale75\.h5.*h5_files.*synthetic-scanobjectnn'):
        ScanObjectNNDataset(str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r'ply_data_train\*\.h5.*synthetic-modelnet40'):
        ModelNet40H5Dataset(str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r'modelnet40_shape_names\.txt.*'
                       r'synthetic-modelnet40'):
        ModelNet40NormalDataset(str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r'synsetoffset2category\.txt.*'
                       r'synthetic-shapenetpart'):
        ShapeNetPartDataset(str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r'5way_10shot/3\.pkl.*synthetic-fewshot'):
        ModelNetFewShotDataset(str(tmp_path), way=5, shot=10, fold=3)


def test_missing_listed_shape_file(roots, tmp_path):
    root = tmp_path / 'mn'
    shutil.copytree(roots['modelnet'], root)
    victim = root / 'modelnet40_normal_resampled' / 'lamp' / 'lamp_0002.txt'
    os.remove(victim)
    with pytest.raises(FileNotFoundError, match=re.escape(str(victim))):
        ModelNet40NormalDataset(str(root), split='train')


def scan_file(tmp_path, **arrays):
    path = str(tmp_path / 'main_split' / 'training_objectdataset.h5')
    write_h5(path, **arrays)
    return path


def test_bad_h5_files(tmp_path, roots):
    rng = np.random.RandomState(0)
    data = rng.randn(4, 64, 3).astype(np.float32)
    label = np.array([0, 3, 14, 2])

    def load():
        return ScanObjectNNDataset(str(tmp_path), variant='obj_bg')

    path = scan_file(tmp_path, data=data, label=label)
    assert len(load()) == 4
    scan_file(tmp_path, data=data, label=np.array([[0], [15], [1], [2]]))
    with pytest.raises(ValueError, match=re.escape(path) + r': row 1 has label 15 outside the '
                       r'class range \[0, 15\)'):
        load()
    scan_file(tmp_path, data=data[..., :2], label=label)
    with pytest.raises(ValueError, match=re.escape(path) + r'.*\(4, 64, 2\)'):
        load()
    scan_file(tmp_path, data=data, label=label[:3])
    with pytest.raises(ValueError, match=re.escape(path) + r' has 4 clouds in `data` but 3'):
        load()
    scan_file(tmp_path, data=data)
    with pytest.raises(ValueError, match=re.escape(path) + r" has no key\(s\) \['label'\]"):
        load()
    nan = data.copy()
    nan[2, 10, 1] = np.nan
    scan_file(tmp_path, data=nan, label=label)
    with pytest.raises(ValueError, match=re.escape(path) + r': cloud of row 2 contains NaN'):
        load()
    # a real-sized file cut in half
    src = os.path.join(roots['scan'], 'main_split', 'training_objectdataset.h5')
    with open(src, 'rb') as f:
        blob = f.read()
    with open(path, 'wb') as f:
        f.write(blob[:len(blob) // 2])
    with pytest.raises(ValueError, match=re.escape(path) + r' \(truncated or corrupt\?\)'):
        load()
    with open(path, 'wb') as f:
        f.write(b'not an hdf5 file at all')
    with pytest.raises(ValueError, match=re.escape(path)):
        load()


def test_modelnet40_h5_label_range_and_index(tmp_path):
    folder = tmp_path / 'modelnet40_ply_hdf5_2048'
    write_h5(str(folder / 'ply_data_train0.h5'), data=np.zeros((2, 8, 3), np.float32),
             label=np.array([[39], [40]], np.uint8))
    with pytest.raises(ValueError, match=r'row 1 has label 40 outside the class range \[0, 40\)'):
        ModelNet40H5Dataset(str(tmp_path))
    write_h5(str(folder / 'ply_data_train0.h5'), data=np.zeros((2, 8, 3), np.float32),
             label=np.array([[3], [12]], np.uint8))
    assert len(ModelNet40H5Dataset(str(tmp_path))) == 2
    (folder / 'shape_names.txt').write_text('\n'.join(f'c{i}' for i in range(10)) + '\n')
    with pytest.raises(ValueError, match=r'row 1 has label 12 outside the class range \[0, 10\)'):
        ModelNet40H5Dataset(str(tmp_path))
    (folder / 'shape_names.txt').write_text('\n'.join(f'c{i}' for i in range(13)) + '\n')
    assert ModelNet40H5Dataset(str(tmp_path)).metainfo['classes'][12] == 'c12'
    (folder / 'train_files.txt').write_text('data/modelnet40_ply_hdf5_2048/ply_data_train7.h5\n')
    with pytest.raises(FileNotFoundError,
                       match=r'train_files\.txt does not exist: .*ply_data_train7\.h5'):
        ModelNet40H5Dataset(str(tmp_path))


def test_auto_generate_first_use_and_idempotent(tmp_path):
    root = str(tmp_path / 'auto')
    dataset = ScanObjectNNDataset(root, split='test', variant='obj_only', auto_generate=SCAN)
    assert len(dataset) == 6
    info_path = os.path.join(root, 'synthetic_info.json')
    with open(info_path) as f:
        assert json.load(f)['params'] == {'seed': 0, **SCAN}
    stamps = {n: os.stat(os.path.join(d, n)).st_mtime_ns
              for d, _, names in os.walk(root) for n in names}
    ScanObjectNNDataset(root, split='train', auto_generate=SCAN)
    assert {n: os.stat(os.path.join(d, n)).st_mtime_ns
            for d, _, names in os.walk(root) for n in names} == stamps
    # real data (no synthetic_info.json) is used as is and never touched
    real = tmp_path / 'real'
    write_h5(str(real / 'main_split' / 'test_objectdataset.h5'),
             data=np.zeros((1, 8, 3), np.float32), label=np.array([2]))
    assert len(ScanObjectNNDataset(str(real), split='test', variant='obj_bg',
                                   auto_generate=SCAN)) == 1
    assert not (real / 'synthetic_info.json').exists()
    h5 = ModelNet40H5Dataset(str(tmp_path / 'mn'), split='test', auto_generate=MODELNET)
    normal = ModelNet40NormalDataset(str(tmp_path / 'mn'), split='test', auto_generate=MODELNET)
    assert len(h5) == len(normal) == 16
    part = ShapeNetPartDataset(str(tmp_path / 'part'), split='test', auto_generate=PART)
    assert len(part) == 5
    fewshot = ModelNetFewShotDataset(str(tmp_path / 'fs'), way=2, shot=1, fold=0, split='test',
                                     auto_generate=dict(num_folds=1, num_points=32,
                                                        num_train_per_class=1,
                                                        num_test_per_class=1, normal_rows=64))
    assert len(fewshot) == 2 and fewshot.get_data_info(0)['cloud'].shape == (32, 3)
