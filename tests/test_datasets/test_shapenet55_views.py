"""ShapeNet55ViewsDataset on a tiny hand-built data root (no synthetic generator)."""
import os
import re

import numpy as np
import pytest
import torch
from PIL import Image

import crosspt.datasets  # noqa: F401  (registers datasets and transforms)
from crosspt.datasets import ShapeNet55ViewsDataset
from crosspt.fileio.ply import write_ply_points
from crosspt.registry import DATASETS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# file ids per subset, written out of order to check sorting
SUBSETS = {'train': [5, 2, 9], 'val': [7, 1], 'test': [4, 3]}


def make_root(root, subsets=SUBSETS, num_points=32, image_size=8, views=12):
    """Write ``pointclouds/{subset}/model_XXXXXX.ply`` + 12 views each; return root str."""
    rng = np.random.RandomState(0)
    for subset, ids in subsets.items():
        os.makedirs(os.path.join(root, 'pointclouds', subset), exist_ok=True)
        os.makedirs(os.path.join(root, 'shapenet55v1', subset), exist_ok=True)
        for i in ids:
            write_ply_points(os.path.join(root, 'pointclouds', subset, f'model_{i:06d}.ply'),
                             rng.randn(num_points, 3))
            for v in range(1, views + 1):
                color = (20 * v, i, 255)
                Image.new('RGB', (image_size, image_size), color).save(
                    os.path.join(root, 'shapenet55v1', subset, f'model_{i:06d}_{v:03d}.jpg'))
    return str(root)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_root(tmp_path_factory.mktemp('shapenet55'))


def _names(dataset):
    return [(info['subset'], os.path.basename(info['ply_path']))
            for info in (dataset.get_data_info(i) for i in range(len(dataset)))]


def test_split_quirk_and_sorted_order(data_root):
    train = ShapeNet55ViewsDataset(data_root, split='train')
    assert _names(train) == [('train', 'model_000002.ply'), ('train', 'model_000005.ply'),
                             ('train', 'model_000009.ply'), ('val', 'model_000001.ply'),
                             ('val', 'model_000007.ply')]
    expected_test = [('test', 'model_000003.ply'), ('test', 'model_000004.ply')]
    assert _names(ShapeNet55ViewsDataset(data_root, split='val')) == expected_test
    assert _names(ShapeNet55ViewsDataset(data_root, split='test', test_mode=True)) == \
        expected_test
    assert train.metainfo['dataset_name'] == 'ShapeNet55 (TAP views)'
    with pytest.raises(ValueError, match='split'):
        ShapeNet55ViewsDataset(data_root, split='trainval')


def test_data_info_paths(data_root):
    dataset = ShapeNet55ViewsDataset(data_root, split='train')
    info = dataset.get_data_info(3)
    assert set(info) >= {'ply_path', 'image_paths', 'sample_idx', 'subset'}
    assert info['sample_idx'] == 3 and info['subset'] == 'val'
    assert info['ply_path'] == os.path.join(data_root, 'pointclouds', 'val', 'model_000001.ply')
    assert info['image_paths'] == [
        os.path.join(data_root, 'shapenet55v1', 'val', f'model_000001_{v:03d}.jpg')
        for v in range(1, 13)]
    # the TAP string-replacement rule gives the same paths
    for v, path in enumerate(info['image_paths']):
        assert path == info['ply_path'].replace('pointclouds', 'shapenet55v1').replace(
            '.ply', f'_{v + 1:03d}.jpg')


def test_missing_data_root(tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match=re.escape(missing)) as info:
        ShapeNet55ViewsDataset(missing, split='train')
    assert 'create_data.py synthetic-shapenet55' in str(info.value)
    assert 'TAP README' in str(info.value)
    lazy = ShapeNet55ViewsDataset(missing, split='train', lazy_init=True)
    with pytest.raises(FileNotFoundError):
        lazy.full_init()


def test_missing_subset_and_empty_subset(tmp_path):
    root = make_root(tmp_path / 'a', subsets={'train': [1]})
    val_dir = os.path.join(root, 'pointclouds', 'val')
    with pytest.raises(FileNotFoundError, match=re.escape(val_dir)):
        ShapeNet55ViewsDataset(root, split='train')
    os.makedirs(val_dir)
    with pytest.raises(FileNotFoundError, match=re.escape(os.path.join(root, 'shapenet55v1',
                                                                       'val'))):
        ShapeNet55ViewsDataset(root, split='train')
    os.makedirs(os.path.join(root, 'shapenet55v1', 'val'))
    with pytest.raises(FileNotFoundError, match=re.escape(val_dir) + '|no .ply') as info:
        ShapeNet55ViewsDataset(root, split='train')
    assert 'no .ply' in str(info.value) and val_dir in str(info.value)


def test_missing_view_image(tmp_path):
    root = make_root(tmp_path / 'b', subsets={'test': [1, 2]})
    gone = os.path.join(root, 'shapenet55v1', 'test', 'model_000002_011.jpg')
    os.remove(gone)
    with pytest.raises(FileNotFoundError, match=re.escape(gone)):
        ShapeNet55ViewsDataset(root, split='test')


def test_auto_generate_calls_generator_only_when_missing(tmp_path, monkeypatch):
    calls = []

    def fake_generate(root, **kwargs):
        calls.append((root, kwargs))
        make_root(root, subsets={'train': [1], 'val': [2], 'test': [3]})

    from crosspt.registry import FUNCTIONS
    assert FUNCTIONS.get('generate_synthetic_shapenet55') is not None  # registers the real one
    # the loader finds its generator by registry name only: replace the registered one
    monkeypatch.setitem(FUNCTIONS._module_dict, 'generate_synthetic_shapenet55', fake_generate)
    root = str(tmp_path / 'gen')
    dataset = ShapeNet55ViewsDataset(root, split='train', auto_generate=dict(seed=4))
    assert calls == [(root, {'seed': 4})]
    assert len(dataset) == 2
    ShapeNet55ViewsDataset(root, split='test', auto_generate=dict(seed=4))
    assert len(calls) == 1  # real (non-synthetic) data present: generator not called
    open(os.path.join(root, 'synthetic_info.json'), 'w').close()
    ShapeNet55ViewsDataset(root, split='test', auto_generate=dict(seed=4))
    assert len(calls) == 2  # synthetic data: the (idempotent) generator checks its params
    with pytest.raises(ValueError, match='auto_generate'):
        ShapeNet55ViewsDataset(root, auto_generate=[1])


def test_pipeline_end_to_end_small(data_root):
    pipeline = [
        dict(type='LoadPointsFromPLY', num_points=32),
        dict(type='NormalizeToUnitSphere'),
        dict(type='ComputeHeight', gravity_dim=2),
        dict(type='CenterAndNormalize', gravity_dim=2),
        dict(type='RandomSampleViews', num_views=6, deterministic=True),
        dict(type='LoadViewImages', image_size=8),
        dict(type='PackTAPInputs'),
    ]
    dataset = ShapeNet55ViewsDataset(data_root, split='test', pipeline=pipeline,
                                     test_mode=True)
    sample = dataset[1]
    meta = sample['data_samples'].metainfo
    assert meta['view_indices'] == [0, 2, 4, 6, 8, 10] and meta['subset'] == 'test'
    assert meta['sample_idx'] == 1 and meta['ply_path'].endswith('model_000004.ply')
    images = sample['inputs']['images'].numpy()
    # view k (file _{k+1:03d}) was drawn in colour (20 * (k + 1), id, 255); JPEG is lossy
    for slot, view in enumerate(meta['view_indices']):
        assert abs(int(np.median(images[slot, 0])) - 20 * (view + 1)) <= 3
        assert abs(int(np.median(images[slot, 1])) - 4) <= 3


def test_build_from_config_and_collate(tmp_path):
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate

    root = make_root(tmp_path / 'cfg', subsets={'train': [1], 'val': [2], 'test': [3]},
                     num_points=1024, image_size=224)
    cfg = Config.fromfile(os.path.join(REPO, 'configs', '_base_', 'datasets',
                                       'shapenet55_views.py'))
    dataset_cfg = cfg.train_dataloader.dataset.copy()
    dataset_cfg.data_root = root
    dataset = DATASETS.build(dataset_cfg)
    assert isinstance(dataset, ShapeNet55ViewsDataset) and len(dataset) == 2
    np.random.seed(0)
    samples = [dataset[0], dataset[1]]
    inputs = samples[0]['inputs']
    assert inputs['points'].shape == (1024, 3) and inputs['points'].dtype == torch.float32
    assert inputs['features'].shape == (1024, 4) and inputs['features'].dtype == torch.float32
    assert inputs['view_rotations'].shape == (6, 3, 3)
    assert inputs['view_rotations'].dtype == torch.float64
    assert inputs['images'].shape == (6, 3, 224, 224) and inputs['images'].dtype == torch.uint8
    assert abs(float(inputs['points'].norm(dim=1).max()) - 1.0) < 1e-5
    batch = pseudo_collate(samples)
    for key in ('points', 'features', 'view_rotations', 'images'):
        assert isinstance(batch['inputs'][key], list) and len(batch['inputs'][key]) == 2
    assert len(batch['data_samples']) == 2

    val_cfg = cfg.val_dataloader.dataset.copy()
    val_cfg.data_root = root
    val = DATASETS.build(val_cfg)
    assert len(val) == 1 and val.get_data_info(0)['subset'] == 'test'
    assert val[0]['data_samples'].metainfo['view_indices'] == [0, 2, 4, 6, 8, 10]
