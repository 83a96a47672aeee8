"""mmdet3d 1.4.0's own ScanNet datasets and stock pipelines read the synthetic scenes of
crosspt.synthetic.scannet_mmdet3d; the crosspt subclasses add auto-generation, the
limited-label scene fraction and clear errors (projects/crosspt_mmdet3d/.../datasets.py).

Expected values come from the raw files read here with numpy, the class tables of
docs/methods/benchmarks.md written out literally and the alignment M @ [x, y, z, 1]
computed here.
"""
import os
import pickle
import shutil

import numpy as np
import pytest

pytest.importorskip('mmdet3d.datasets')

from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import mmdet3d  # noqa: E402
from mmdet3d.datasets import ScanNetDataset, ScanNetSegDataset  # noqa: E402
from mmdet3d.registry import DATASETS  # noqa: E402
from mmdet3d.structures import DepthInstance3DBoxes  # noqa: E402

from crosspt.synthetic.scannet_mmdet3d import \
    generate_synthetic_scannet_mmdet3d  # noqa: E402
# registers CrossptScanNet{Seg,}Dataset and ValidateScene3D in mmdet3d's registries
from projects.crosspt_mmdet3d.crosspt_mmdet3d import datasets as cdatasets  # noqa: E402
from projects.crosspt_mmdet3d.crosspt_mmdet3d.datasets import kept_scene_indices  # noqa: E402

SMALL = dict(num_scenes=3, num_val_scenes=1, num_points=10000, seed=0)
SEG_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33, 34, 36, 39]
DET_IDS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33, 34, 36, 39]
IDXS = 'seg_info/train_resampled_scene_idxs.npy'
BASE = os.path.join(os.path.dirname(mmdet3d.__file__), '.mim', 'configs', '_base_', 'datasets')
PREFIX = dict(pts='points', pts_instance_mask='instance_mask',
              pts_semantic_mask='semantic_mask')
LOAD = dict(type='LoadPointsFromFile', coord_type='DEPTH', shift_height=False,
            use_color=True, load_dim=6, use_dim=[0, 1, 2, 3, 4, 5])
LOAD_SEG = dict(type='LoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
                with_mask_3d=False, with_seg_3d=True)
LOAD_DET = dict(type='LoadAnnotations3D', with_bbox_3d=True, with_label_3d=True,
                with_mask_3d=True, with_seg_3d=True)
PATCH = dict(type='IndoorPatchPointSample', num_points=8192, block_size=1.5, ignore_index=20,
             use_normalized_coord=False, enlarge_size=0.2, min_unique_num=None)
PACK_SEG = dict(type='Pack3DDetInputs', keys=['points', 'pts_semantic_mask'])
PACK_DET = dict(type='Pack3DDetInputs', keys=['points', 'gt_bboxes_3d', 'gt_labels_3d',
                                              'pts_semantic_mask', 'pts_instance_mask'])


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp('mm3d') / 'scannet'
    generate_synthetic_scannet_mmdet3d(path, **SMALL)
    return str(path) + '/'


def build(cfg: dict):
    """Build a dataset (and its pipeline's transforms) in the mmdet3d scope."""
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        return DATASETS.build(cfg)


def seg_cfg(root, pipeline, type='ScanNetSegDataset', split='train', **kw):
    cfg = dict(type=type, data_root=root, ann_file=f'scannet_infos_{split}.pkl',
               metainfo=dict(classes=ScanNetSegDataset.METAINFO['classes']),
               data_prefix=dict(PREFIX), pipeline=pipeline, test_mode=split != 'train')
    if split == 'train':
        cfg['scene_idxs'] = root + IDXS
    cfg.update(kw)
    return cfg


def det_cfg(root, pipeline, type='ScanNetDataset', **kw):
    cfg = dict(type=type, data_root=root, ann_file='scannet_infos_train.pkl',
               metainfo=dict(classes=ScanNetDataset.METAINFO['classes']),
               data_prefix=dict(PREFIX), pipeline=pipeline, box_type_3d='Depth')
    cfg.update(kw)
    return cfg


def raw(root, name):
    points = np.fromfile(os.path.join(root, 'points', f'{name}.bin'), np.float32)
    semantic = np.fromfile(os.path.join(root, 'semantic_mask', f'{name}.bin'), np.int64)
    instance = np.fromfile(os.path.join(root, 'instance_mask', f'{name}.bin'), np.int64)
    return points.reshape(-1, 6), semantic, instance


def copy_data(root, tmp_path):
    target = tmp_path / 'copy'
    shutil.copytree(root, target)
    return str(target) + '/'


# ----------------------------------------------------------------------------- stock mmdet3d
def test_stock_seg_dataset_reads_full_scenes_with_mapped_labels(root):
    ds = build(seg_cfg(root, [LOAD, LOAD_SEG, dict(type='PointSegClassMapping'), PACK_SEG],
                       split='val'))
    assert len(ds) == 1
    sample = ds[0]
    points, semantic, _ = raw(root, 'scene0003_00')
    np.testing.assert_array_equal(sample['inputs']['points'].numpy(), points)
    labels = sample['data_samples'].gt_pts_seg.pts_semantic_mask
    expected = [SEG_IDS.index(v) if v in SEG_IDS else 20 for v in semantic.tolist()]
    assert np.asarray(labels).tolist() == expected
    assert set(expected) >= {0, 1}                                   # wall, floor


def test_stock_seg_config_trains_on_patches(root):
    """mmdet3d's _base_/datasets/scannet-seg.py train dataset, only the paths changed."""
    cfg = Config.fromfile(os.path.join(BASE, 'scannet-seg.py'))
    dataset = cfg.train_dataloader.dataset.to_dict()
    dataset.update(data_root=root, scene_idxs=root + IDXS)
    ds = build(dataset)
    # 3 scenes x 10000 points -> 1 patch per scene (num_iter = int(30000 / 8192) = 3)
    assert len(ds) == 3
    names = [os.path.basename(ds.get_data_info(i)['lidar_path']) for i in range(3)]
    assert names == ['scene0000_00.bin', 'scene0001_00.bin', 'scene0002_00.bin']
    sample = ds[1]
    points = sample['inputs']['points']
    labels = np.asarray(sample['data_samples'].gt_pts_seg.pts_semantic_mask)
    assert tuple(points.shape) == (8192, 6) and float(points[:, 3:].max()) <= 1.0
    assert labels.min() >= 0 and labels.max() <= 19          # no unannotated points
    # each patch point is a scene point with x, y relative to the patch centre (z kept)
    scene = raw(root, 'scene0001_00')[0]
    patch = points.numpy()
    same = (scene[:, 2] == patch[0, 2]) & \
        (np.abs(scene[:, 3:] / 255 - patch[0, 3:]) < 1e-6).all(1)
    shifts = scene[same, :2] - patch[0, :2]
    assert len(shifts) >= 1

    def matches(shift):
        moved = patch[:50, :3] + np.array([shift[0], shift[1], 0], np.float32)
        return np.abs(moved[:, None, :] - scene[None, :, :3]).max(-1).min(1).max() < 1e-5

    assert any(matches(shift) for shift in shifts)


def test_stock_det_dataset_boxes_and_global_alignment(root):
    pipeline = [dict(LOAD, use_color=False, use_dim=[0, 1, 2]), LOAD_DET,
                dict(type='GlobalAlignment', rotation_axis=2),
                dict(type='PointSegClassMapping'), PACK_DET]
    ds = build(det_cfg(root, pipeline))
    assert len(ds) == 3
    for i in range(3):
        info = ds.get_data_info(i)
        name = os.path.basename(info['lidar_path'])[:-4]
        points, semantic, instance = raw(root, name)
        matrix = np.asarray(info['axis_align_matrix'])
        homogeneous = np.concatenate([points[:, :3], np.ones((len(points), 1))], 1)
        aligned = (homogeneous.astype(np.float64) @ matrix.T)[:, :3]
        sample = ds[i]
        np.testing.assert_allclose(sample['inputs']['points'].numpy(), aligned, atol=1e-5)
        gt = sample['data_samples'].gt_instances_3d
        boxes = gt.bboxes_3d
        assert isinstance(boxes, DepthInstance3DBoxes) and not boxes.with_yaw
        with open(os.path.join(root, 'scannet_infos_train.pkl'), 'rb') as f:
            entry = pickle.load(f)['data_list'][i]
        expected = np.array([inst['bbox_3d'] for inst in entry['instances']])
        np.testing.assert_allclose(boxes.gravity_center.numpy(), expected[:, :3], atol=1e-5)
        np.testing.assert_allclose(boxes.dims.numpy(), expected[:, 3:], atol=1e-5)
        assert (boxes.yaw.numpy() == 0).all()
        # labels: det label of the instance's NYU40 id; every box holds its points
        labels = gt.labels_3d.numpy()
        assert labels.tolist() == [inst['bbox_label_3d'] for inst in entry['instances']]
        ids = [inst for inst in sorted(set(instance.tolist()))
               if semantic[instance == inst][0] in DET_IDS]
        assert len(ids) == len(labels)
        for inst, label, centre, dims in zip(ids, labels, expected[:, :3], expected[:, 3:]):
            assert DET_IDS.index(semantic[instance == inst][0]) == label
            member = aligned[instance == inst]
            np.testing.assert_allclose(member.min(0), centre - dims / 2, atol=1e-5)
            np.testing.assert_allclose(member.max(0), centre + dims / 2, atol=1e-5)
        # det semantic mapping: NYU40 -> 0..17, others (wall, floor) -> 18
        sem = np.asarray(sample['data_samples'].gt_pts_seg.pts_semantic_mask)
        assert sem.tolist() == [DET_IDS.index(v) if v in DET_IDS else 18
                                for v in semantic.tolist()]


def test_stock_det_config_pipelines_run(root):
    """mmdet3d's _base_/datasets/scannet-3d.py train (PointSample 40000, flips,
    rotation) and test (MultiScaleFlipAug3D) pipelines, only the paths changed."""
    cfg = Config.fromfile(os.path.join(BASE, 'scannet-3d.py'))
    train = cfg.train_dataloader.dataset.to_dict()
    train['dataset']['data_root'] = root
    ds = build(train)
    assert len(ds) == 5 * 3                                      # RepeatDataset(times=5)
    sample = ds[0]
    assert tuple(sample['inputs']['points'].shape) == (40000, 4)  # xyz + height
    assert len(sample['data_samples'].gt_instances_3d.labels_3d) > 0
    val = cfg.val_dataloader.dataset.to_dict()
    val['data_root'] = root
    ds = build(val)
    assert len(ds) == 1 and ds.get_data_info(0)['eval_ann_info']['gt_bboxes_3d'].tensor.shape[0]
    assert tuple(ds[0]['inputs']['points'].shape) == (40000, 4)


# ----------------------------------------------------------------------------- subclasses
def test_kept_scene_indices_counts():
    assert len(kept_scene_indices(12, 0.15)) == 2     # ceil(1.8)
    assert len(kept_scene_indices(10, 0.3)) == 3      # 0.3 * 10 = 3.0000000000000004
    assert len(kept_scene_indices(3, 0.01)) == 1      # at least one
    assert kept_scene_indices(4, 1.0) == [0, 1, 2, 3]
    small, large = kept_scene_indices(20, 0.1, 5), kept_scene_indices(20, 0.5, 5)
    assert set(small) < set(large) and len(large) == 10   # nested for one seed
    assert kept_scene_indices(20, 0.5, 5) == large and kept_scene_indices(20, 0.5, 6) != large


def test_seg_subclass_scene_fraction_keeps_scene_repetitions(root, monkeypatch):
    logged = []
    monkeypatch.setattr(cdatasets, 'print_log', lambda msg, **kw: logged.append(msg))
    idxs = np.array([0, 0, 0, 1, 2, 2], np.int64)
    ds = build(seg_cfg(root, [LOAD, LOAD_SEG], type='CrossptScanNetSegDataset',
                       scene_idxs=idxs, scene_fraction=0.5, fraction_seed=3))
    kept = sorted(np.random.default_rng(3).permutation(3)[:2].tolist())   # ceil(1.5) = 2
    names = [f'scene{i:04d}_00' for i in kept]
    got = [os.path.basename(ds.get_data_info(i)['lidar_path'])[:-4] for i in range(len(ds))]
    assert got == [n for k, n in zip(kept, names) for _ in range(int((idxs == k).sum()))]
    assert any(f'CrossptScanNetSegDataset: scene_fraction 0.5 keeps 2 of 3 scenes: '
               f'[{", ".join(names)}]' in m for m in logged), logged
    sample = ds[len(ds) - 1]
    assert sample['lidar_path'].endswith(f'{names[-1]}.bin')
    # the stock file through the subclass, full fraction: identical to stock
    full = build(seg_cfg(root, [LOAD], type='CrossptScanNetSegDataset'))
    assert full.scene_idxs.tolist() == [0, 1, 2] and len(full) == 3


def test_det_subclass_scene_fraction_and_instance_counts(root):
    ds = build(det_cfg(root, [], type='CrossptScanNetDataset', scene_fraction=0.34,
                       fraction_seed=1))
    kept = sorted(np.random.default_rng(1).permutation(3)[:2].tolist())  # ceil(1.02) = 2
    assert [ds.get_data_info(i)['lidar_path'][-16:-4] for i in range(len(ds))] == \
        [f'scene{i:04d}_00' for i in kept]
    with open(os.path.join(root, 'scannet_infos_train.pkl'), 'rb') as f:
        entries = pickle.load(f)['data_list']
    counts = np.zeros(18, int)
    for i in kept:
        for inst in entries[i]['instances']:
            counts[inst['bbox_label_3d']] += 1
    assert ds.num_ins_per_cat == counts.tolist()


@pytest.mark.parametrize('fraction', [0, 1.5, -0.1, True, '0.5'])
def test_scene_fraction_out_of_range(root, fraction):
    for cfg in (seg_cfg(root, [], type='CrossptScanNetSegDataset', scene_fraction=fraction),
                det_cfg(root, [], type='CrossptScanNetDataset', scene_fraction=fraction)):
        with pytest.raises(ValueError, match='scene_fraction'):
            build(cfg)


def test_auto_generate(tmp_path):
    data_root = str(tmp_path / 'auto') + '/'
    params = dict(num_scenes=2, num_val_scenes=1, num_points=9000)
    ds = build(seg_cfg(data_root, [LOAD], type='CrossptScanNetSegDataset',
                       auto_generate=params))
    assert len(ds) == 2 and os.path.isfile(data_root + 'scannet_infos_val.pkl')
    marker = data_root + 'synthetic_info.json'
    mtime = os.stat(marker).st_mtime_ns
    det = build(det_cfg(data_root, [], type='CrossptScanNetDataset', auto_generate=params))
    assert len(det) == 2 and os.stat(marker).st_mtime_ns == mtime      # not regenerated
    with pytest.raises(ValueError, match='auto_generate.*num_frames'):
        build(det_cfg(data_root, [], type='CrossptScanNetDataset',
                      auto_generate=dict(num_frames=3)))
    with pytest.raises(FileNotFoundError, match='ann_file.*synthetic-scannet-mmdet3d'):
        build(det_cfg(str(tmp_path / 'nothing') + '/', [], type='CrossptScanNetDataset'))


def test_missing_scene_idxs(root):
    # stock ScanNetSegDataset refuses too, without naming the key or the file
    with pytest.raises(NotImplementedError, match='re-sampled scene indexes'):
        build(seg_cfg(root, [], scene_idxs=None))
    with pytest.raises(ValueError, match=r"scene_idxs.*seg_info/train_resampled_scene_idxs"):
        build(seg_cfg(root, [], type='CrossptScanNetSegDataset', scene_idxs=None))
    with pytest.raises(FileNotFoundError, match='seg_info/nope.npy'):
        build(seg_cfg(root, [], type='CrossptScanNetSegDataset', scene_idxs='seg_info/nope.npy'))


def test_scene_idxs_relative_to_data_root_or_cwd(root, tmp_path, monkeypatch):
    """The base config's ``scene_idxs=data_root + 'seg_info/...'`` with a relative
    data_root: stock joins data_root twice, the subclass finds the file."""
    shutil.copytree(root, tmp_path / 'data' / 'scannet')
    monkeypatch.chdir(tmp_path)
    cfg = seg_cfg('data/scannet/', [LOAD], scene_idxs='data/scannet/' + IDXS)
    with pytest.raises(FileNotFoundError, match='data/scannet/data/scannet'):
        build(cfg)
    assert len(build(dict(cfg, type='CrossptScanNetSegDataset'))) == 3
    assert len(build(dict(cfg, type='CrossptScanNetSegDataset', scene_idxs=IDXS))) == 3


def test_scene_idxs_out_of_range(root):
    # stock: a bare IndexError for 7, and -1 silently reads the last scene
    with pytest.raises(IndexError):
        build(seg_cfg(root, [], scene_idxs=np.array([0, 7])))
    stock = build(seg_cfg(root, [], scene_idxs=np.array([-1])))
    assert stock.get_data_info(0)['lidar_path'].endswith('scene0002_00.bin')
    for bad in ([0, 7], [-1]):
        with pytest.raises(ValueError, match=r'scene_idxs.*outside 0\.\.2'):
            build(seg_cfg(root, [], type='CrossptScanNetSegDataset', scene_idxs=np.array(bad)))
    with pytest.raises(ValueError, match='scene_idxs.*integer'):
        build(seg_cfg(root, [], type='CrossptScanNetSegDataset',
                      scene_idxs=np.array([0.5, 1.0])))


# ----------------------------------------------------------------------------- ValidateScene3D
def seg_pipeline(validate: bool):
    steps = [LOAD, LOAD_SEG] + ([dict(type='ValidateScene3D')] if validate else [])
    return steps + [dict(type='PointSegClassMapping'), PATCH, PACK_SEG]


def one_scene_seg(root, validate):
    return build(seg_cfg(root, seg_pipeline(validate), type='CrossptScanNetSegDataset',
                         scene_idxs=np.array([0])))


def test_validate_scene_passes_good_scenes(root):
    sample = one_scene_seg(root, True)[0]
    assert tuple(sample['inputs']['points'].shape) == (8192, 6)
    pipeline = [dict(LOAD, use_color=False, use_dim=[0, 1, 2]), LOAD_DET,
                dict(type='ValidateScene3D'), dict(type='GlobalAlignment', rotation_axis=2),
                dict(type='PointSegClassMapping'), dict(type='PointSample', num_points=5000),
                PACK_DET]
    assert len(build(det_cfg(root, pipeline))[0]['inputs']['points']) == 5000


def test_validate_scene_short_semantic_mask(root, tmp_path):
    data = copy_data(root, tmp_path)
    path = data + 'semantic_mask/scene0000_00.bin'
    np.fromfile(path, np.int64)[:-100].tofile(path)
    # stock: IndexError in IndoorPatchPointSample ("boolean index did not match ..."),
    # naming neither file
    with pytest.raises(IndexError):
        one_scene_seg(data, False)[0]
    with pytest.raises(ValueError, match=r'semantic_mask/scene0000_00\.bin.*\(9900,\).*'
                                         r'points/scene0000_00\.bin has 10000 points'):
        one_scene_seg(data, True)[0]


def test_validate_scene_long_instance_mask_det(root, tmp_path):
    data = copy_data(root, tmp_path)
    path = data + 'instance_mask/scene0000_00.bin'
    mask = np.fromfile(path, np.int64)
    np.concatenate([mask[:50], mask]).tofile(path)   # shifted by 50 points
    pipeline = [dict(LOAD, use_color=False, use_dim=[0, 1, 2]), LOAD_DET,
                dict(type='GlobalAlignment', rotation_axis=2),
                dict(type='PointSegClassMapping'), dict(type='PointSample', num_points=5000),
                PACK_DET]
    # stock: PointSample indexes the long mask with point indices -> silently misaligned
    sample = build(det_cfg(data, pipeline, filter_empty_gt=False))[0]
    assert len(sample['data_samples'].gt_pts_seg.pts_instance_mask) == 5000
    pipeline.insert(2, dict(type='ValidateScene3D'))
    with pytest.raises(ValueError, match=r'pts_instance_mask .*instance_mask/scene0000_00\.bin'
                                         r'.*\(10050,\)'):
        build(det_cfg(data, pipeline, filter_empty_gt=False))[0]


def test_validate_scene_empty_points_file(root, tmp_path):
    data = copy_data(root, tmp_path)
    open(data + 'points/scene0000_00.bin', 'wb').close()
    # stock: "zero-size array to reduction operation maximum which has no identity"
    with pytest.raises(ValueError, match='zero-size array'):
        one_scene_seg(data, False)[0]
    with pytest.raises(ValueError, match=r'points/scene0000_00\.bin has 0 points'):
        one_scene_seg(data, True)[0]


def test_validate_scene_nan_point(root, tmp_path):
    data = copy_data(root, tmp_path)
    path = data + 'points/scene0000_00.bin'
    points = np.fromfile(path, np.float32).reshape(-1, 6)
    points[123, 1] = np.nan
    points.tofile(path)
    # stock: the NaN point is silently never inside a patch (comparisons are False)
    assert tuple(one_scene_seg(data, False)[0]['inputs']['points'].shape) == (8192, 6)
    with pytest.raises(ValueError, match=r'points/scene0000_00\.bin has 1 of 10000 points '
                                         r'with non-finite values.*index 123'):
        one_scene_seg(data, True)[0]


def test_validate_scene_semantic_id_out_of_range(root, tmp_path):
    data = copy_data(root, tmp_path)
    path = data + 'semantic_mask/scene0000_00.bin'
    mask = np.fromfile(path, np.int64)
    mask[:5] = -1
    mask.tofile(path)
    with pytest.raises(ValueError, match=r'semantic_mask/scene0000_00\.bin.*5 ids outside '
                                         r"0\.\.41.*\[-1\]"):
        one_scene_seg(data, True)[0]


def test_scene_datasets_pack_their_data_list_without_collecting():
    """The crosspt scene datasets take crosspt.datasets.packing's data-list packing
    (mmengine's format, no full garbage collection after it)."""
    from mmengine.dataset import BaseDataset

    from crosspt.datasets.packing import PackedDataListMixin
    from projects.crosspt_mmdet3d.crosspt_mmdet3d.s3dis import CrossptS3DISSegDataset
    from projects.crosspt_mmdet3d.crosspt_mmdet3d.sunrgbd import CrossptSUNRGBDDataset
    for cls in (cdatasets.CrossptScanNetSegDataset, cdatasets.CrossptScanNetDataset,
                CrossptS3DISSegDataset, CrossptSUNRGBDDataset):
        assert cls.__mro__.index(PackedDataListMixin) < cls.__mro__.index(BaseDataset), cls
        assert cls._serialize_data is PackedDataListMixin._serialize_data, cls
