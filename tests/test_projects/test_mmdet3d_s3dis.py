"""S3DIS in mmdet3d's format: the embedded rooms of crosspt.synthetic.s3dis_mmdet3d are
read by mmdet3d 1.4.0's own S3DISSegDataset, and CrossptS3DISSegDataset
(projects/crosspt_mmdet3d/crosspt_mmdet3d/s3dis.py) keeps Area 5 out of training, loads
the info pickles without running code and checks scene_idxs; the embedded twin config
trains and reports SegMetric's mIoU on Area 5 (the docs command, shortened).

Expected values come from the raw files read here with numpy and the class list of
mmdet3d's S3DIS dataset written out literally.
"""
import os
import pickle
import re
import shlex
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip('mmdet3d.datasets')

from mmengine.registry import DefaultScope  # noqa: E402
from mmdet3d.datasets import S3DISSegDataset  # noqa: E402
from mmdet3d.registry import DATASETS  # noqa: E402

from crosspt.synthetic.s3dis_mmdet3d import generate_synthetic_s3dis_mmdet3d  # noqa: E402
import projects.crosspt_mmdet3d.crosspt_mmdet3d  # noqa: E402,F401  (registers)

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests' / 'test_tools'))
from tool_runner import WEIGHTS_ONLY, run  # noqa: E402
CLASSES = ('ceiling', 'floor', 'wall', 'beam', 'column', 'window', 'door', 'table', 'chair',
           'sofa', 'bookcase', 'board', 'clutter')
FURNITURE = {'table': 0, 'chair': 1, 'sofa': 2, 'bookcase': 3, 'board': 4}
SMALL = dict(num_areas=6, rooms_per_area=2, num_points=3000, num_points_per_sample=1000,
             seed=0)
TRAIN_AREAS = (1, 2, 3, 4, 6)
PREFIX = dict(pts='points', pts_instance_mask='instance_mask',
              pts_semantic_mask='semantic_mask')
LOAD = [dict(type='LoadPointsFromFile', coord_type='DEPTH', shift_height=False,
             use_color=True, load_dim=6, use_dim=[0, 1, 2, 3, 4, 5]),
        dict(type='LoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
             with_mask_3d=False, with_seg_3d=True),
        dict(type='PointSegClassMapping')]
TWIN = 'projects/crosspt_mmdet3d/configs/ppkt/srunet34_scratch_s3dis-seg_synthetic.py'


@pytest.fixture(scope='module')
def rooms(tmp_path_factory):
    root = tmp_path_factory.mktemp('s3dis') / 'data'
    generate_synthetic_s3dis_mmdet3d(root, **SMALL)
    return root


def build(cfg: dict):
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        return DATASETS.build(cfg)


def dataset_cfg(root, dataset_type='CrossptS3DISSegDataset', areas=TRAIN_AREAS, **kwargs):
    cfg = dict(type=dataset_type, data_root=f'{root}/', metainfo=dict(classes=CLASSES),
               data_prefix=PREFIX, pipeline=LOAD,
               ann_files=[f's3dis_infos_Area_{a}.pkl' for a in areas])
    cfg.update(kwargs)
    return cfg


def raw(root, folder: str, name: str, dtype, width: int = 1) -> np.ndarray:
    data = np.fromfile(os.path.join(root, folder, name), dtype=dtype)
    return data.reshape(-1, width) if width > 1 else data


def test_files_and_infos_have_mmdet3d_keys_and_dtypes(rooms):
    names = sorted(os.listdir(rooms / 'points'))
    assert len(names) == 12 and names[0] == 'Area_1_conferenceRoom_1.bin'
    seen = set()
    for area in range(1, 7):
        with open(rooms / f's3dis_infos_Area_{area}.pkl', 'rb') as f:
            infos = pickle.load(f)   # our own generator's file
        assert infos['metainfo'] == {'categories': FURNITURE, 'dataset': 's3dis',
                                     'info_version': '1.1'}
        for k, info in enumerate(infos['data_list']):
            assert set(info) == {'sample_idx', 'lidar_points', 'pts_semantic_mask_path',
                                 'pts_instance_mask_path', 'instances'}
            assert info['sample_idx'] == k
            name = info['lidar_points']['lidar_path']
            assert name.startswith(f'Area_{area}_') and info['lidar_points'] == \
                {'num_pts_feats': 6, 'lidar_path': name}
            points = raw(rooms, 'points', name, '<f4', 6)
            semantic = raw(rooms, 'semantic_mask', name, '<i8')
            instance = raw(rooms, 'instance_mask', name, '<i8')
            assert points.shape == (3000, 6) and semantic.shape == instance.shape == (3000,)
            np.testing.assert_array_equal(points[:, :3].min(0), 0)   # room min at 0
            assert points[:, 3:].min() >= 0 and points[:, 3:].max() <= 255
            assert semantic.min() >= 0 and semantic.max() <= 12 and instance.min() >= 1
            seen.update(semantic.tolist())
            # boxes: min/max of each furniture instance's points, ascending instance id
            expected = []
            for inst in np.unique(instance):
                member = instance == inst
                cls = CLASSES[int(semantic[member][0])]
                if cls in FURNITURE:
                    lo, hi = points[member, :3].min(0), points[member, :3].max(0)
                    expected.append(((lo + hi) / 2, hi - lo, FURNITURE[cls]))
            assert len(info['instances']) == len(expected)
            for got, (centre, size, label) in zip(info['instances'], expected):
                np.testing.assert_allclose(got['bbox_3d'], np.r_[centre, size], atol=1e-5)
                assert got['bbox_label_3d'] == label
    assert seen == set(range(13))       # every S3DIS class occurs in the twin


def test_ceiling_beam_and_column_geometry(rooms):
    points = raw(rooms, 'points', 'Area_5_office_1.bin', '<f4', 6)
    semantic = raw(rooms, 'semantic_mask', 'Area_5_office_1.bin', '<i8')
    top = points[:, 2].max()
    np.testing.assert_allclose(points[semantic == 0, 2], top, atol=1e-5)   # ceiling on top
    assert points[semantic == 3, 2].min() > top - 0.41                       # beam hangs
    column = points[semantic == 4]
    assert np.ptp(column[:, 2]) > 0.9 * top                                  # floor to top


def test_stock_s3dis_dataset_reads_the_rooms(rooms):
    cfg = dataset_cfg(rooms, 'S3DISSegDataset', scene_idxs=[
        f'seg_info/Area_{a}_resampled_scene_idxs.npy' for a in TRAIN_AREAS])
    dataset = build(cfg)
    assert type(dataset) is S3DISSegDataset
    sample = dataset[0]       # the results of LOAD (no packing)
    name = os.path.basename(sample['lidar_path'])
    assert name.startswith('Area_1_')
    np.testing.assert_array_equal(sample['points'].tensor.numpy(),
                                  raw(rooms, 'points', name, '<f4', 6))
    np.testing.assert_array_equal(sample['pts_semantic_mask'],
                                  raw(rooms, 'semantic_mask', name, '<i8'))
    weights = np.load(rooms / 'seg_info' / 'Area_1_label_weight.npy')
    assert weights.dtype == np.float32 and weights.shape == (13,)


def test_area_5_is_held_out_and_every_scene_takes_each_room_once(rooms):
    resampled = build(dataset_cfg(rooms, scene_idxs=[
        f'seg_info/Area_{a}_resampled_scene_idxs.npy' for a in TRAIN_AREAS]))
    repeats = sum(len(np.load(rooms / 'seg_info' / f'Area_{a}_resampled_scene_idxs.npy'))
                  for a in TRAIN_AREAS)
    paths = [os.path.basename(d['lidar_points']['lidar_path']) for d in resampled.data_list]
    assert len(paths) == repeats and not any(p.startswith('Area_5_') for p in paths)
    whole = build(dataset_cfg(rooms, scene_idxs='every_scene'))
    paths = sorted(os.path.basename(d['lidar_points']['lidar_path']) for d in whole.data_list)
    assert paths == sorted(p for p in os.listdir(rooms / 'points')
                           if not p.startswith('Area_5_'))
    test = build(dataset_cfg(rooms, areas=(5,), test_mode=True))
    assert sorted(os.path.basename(d['lidar_points']['lidar_path'])
                  for d in test.data_list) == ['Area_5_conferenceRoom_1.bin',
                                               'Area_5_office_1.bin']


def test_scene_idxs_errors_name_the_fix(rooms):
    with pytest.raises(ValueError, match="scene_idxs.*Area_<a>_resampled.*'every_scene'"):
        build(dataset_cfg(rooms))
    with pytest.raises(ValueError, match='scene_idxs has 2 entries but ann_files has 5'):
        build(dataset_cfg(rooms, scene_idxs=['a.npy', 'b.npy']))
    with pytest.raises(FileNotFoundError, match='seg_info/nope.npy'):
        build(dataset_cfg(rooms, scene_idxs='seg_info/nope.npy'))


def test_planted_info_pickle_is_refused(rooms, tmp_path):
    root = tmp_path / 'copy'
    shutil.copytree(rooms, root)
    marker = tmp_path / 'ran'

    class Planted:
        def __reduce__(self):
            return exec, (f'open({str(marker)!r}, "w").write("ran")',)

    (root / 's3dis_infos_Area_2.pkl').write_bytes(pickle.dumps({'x': Planted()}))
    with pytest.raises(pickle.UnpicklingError, match=r's3dis_infos_Area_2\.pkl.*builtins'):
        build(dataset_cfg(root, scene_idxs='every_scene'))
    assert not marker.exists()


def docs_command() -> list:
    """The twin's training command as docs/finetuning.md shows it."""
    text = (REPO / 'docs' / 'finetuning.md').read_text()
    lines = [line for line in text.splitlines()
             if line.startswith('python tools/train.py') and line.endswith(TWIN)]
    assert len(lines) == 1, lines
    return shlex.split(lines[0])


@pytest.mark.slow
def test_twin_trains_and_reports_area5_miou(tmp_path):
    """docs/finetuning.md's command for 2 iterations on 6 areas x 1 room of 4,096 points
    (one 4096-point sample per area under mmdet3d's resampling rule)."""
    small = dict(num_areas=6, rooms_per_area=1, num_points=4096)
    root = tmp_path / 'rooms'
    options = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
               'param_scheduler.0.T_max=2', 'param_scheduler.0.end=2',
               'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
               WEIGHTS_ONLY]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.dataset.data_root={root}/', f'{loader}.num_workers=0']
        options += [f'{loader}.dataset.auto_generate.{k}={v}' for k, v in small.items()]
    command = docs_command()
    command[0] = sys.executable
    out = run(command + ['--work-dir', str(tmp_path / 'work'), '--cfg-options', *options])
    assert 'Iter(train) [2/2]' in out
    miou = re.findall(r'\bmiou: (\S+)', out)
    assert miou and 0.0 <= float(miou[-1]) <= 1.0, out[-3000:]
    table = re.search(r'\| classes \| (.*) \| miou', out)
    assert table and [c.strip() for c in table.group(1).split('|')] == list(CLASSES)
