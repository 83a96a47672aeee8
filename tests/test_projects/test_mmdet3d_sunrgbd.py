"""SUN RGB-D with yawed boxes: the synthetic scans of crosspt.synthetic.sunrgbd_mmdet3d in
mmdet3d 1.4.0's SUN RGB-D format, CrossptSUNRGBDDataset
(projects/crosspt_mmdet3d/crosspt_mmdet3d/sunrgbd.py) and the 3DETR SUN RGB-D twin.

- format: the files, dtypes and info keys mmdet3d's SUNRGBDDataset / LoadPointsFromFile
  read, checked on the raw files; mmdet3d's own stock SUNRGBDDataset and its stock
  sunrgbd-3d.py training pipeline read them;
- every box holds its object's points, checked point by point against a brute-force
  point-in-polygon test on the box corners that mmdet3d's DepthInstance3DBoxes computes;
- the dataset refuses a malicious info pickle without running it, and drops boxes of
  classes outside metainfo.classes;
- 3DETR's NMS sees a yawed box as the axis-aligned box around its corners;
- end to end: the docs' twin command trains 2 iterations and reports mAP_0.25 / mAP_0.50.
"""
import math
import os
import pickle
import re
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip('mmdet3d.datasets')

from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import mmdet3d  # noqa: E402
from mmdet3d.datasets import SUNRGBDDataset  # noqa: E402
from mmdet3d.registry import DATASETS  # noqa: E402
from mmdet3d.structures import DepthInstance3DBoxes  # noqa: E402

from crosspt.fileio.safe_pickle import UnsafePickleError, restricted_pickle_loads  # noqa: E402
from crosspt.models.detectors.threedetr.post_process import aligned_nms_3d  # noqa: E402
from crosspt.synthetic.sunrgbd_mmdet3d import (generate_synthetic_sunrgbd_mmdet3d,  # noqa: E402
                                               sunrgbd_scan)
# registers CrossptSUNRGBDDataset and ValidateScene3D in mmdet3d's registries
from projects.crosspt_mmdet3d.crosspt_mmdet3d import sunrgbd  # noqa: E402,F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'test_tools'))
from tool_runner import REPO, run  # noqa: E402

SMALL = dict(num_scenes=2, num_val_scenes=1, num_points=3000, seed=0)
CLASSES = ('bed', 'table', 'sofa', 'chair', 'toilet', 'desk', 'dresser', 'night_stand',
           'bookshelf', 'bathtub')
STOCK = os.path.join(os.path.dirname(mmdet3d.__file__), '.mim', 'configs', '_base_',
                     'datasets', 'sunrgbd-3d.py')
TWIN = 'projects/crosspt_mmdet3d/configs/tap/3detr_scratch_sunrgbd-det_synthetic.py'
LIDAR_ONLY = dict(use_camera=False, use_lidar=True)


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp('mm3d') / 'sunrgbd'
    generate_synthetic_sunrgbd_mmdet3d(path, **SMALL)
    return str(path) + '/'


def build(cfg: dict):
    """Build a dataset (and its pipeline's transforms) in the mmdet3d scope."""
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        return DATASETS.build(cfg)


def load_infos(root: str, split: str) -> dict:
    path = os.path.join(root, f'sunrgbd_infos_{split}.pkl')
    with open(path, 'rb') as f:
        return restricted_pickle_loads(f.read(), path)


# ----------------------------------------------------------------------------- format
def test_raw_files_have_mmdet3d_sunrgbd_layout(root):
    assert sorted(os.listdir(root)) == ['points', 'sunrgbd_infos_train.pkl',
                                        'sunrgbd_infos_val.pkl', 'synthetic_info.json']
    assert sorted(os.listdir(root + 'points')) == ['000001.bin', '005051.bin', '005052.bin']
    yaws = []
    for split, ids in (('train', [5051, 5052]), ('val', [1])):
        infos = load_infos(root, split)
        assert infos['metainfo'] == {'categories': {c: i for i, c in enumerate(CLASSES)},
                                     'dataset': 'sunrgbd', 'info_version': '1.1'}
        assert tuple(infos['metainfo']['categories']) == SUNRGBDDataset.METAINFO['classes']
        assert [d['sample_idx'] for d in infos['data_list']] == ids
        for info in infos['data_list']:
            assert set(info) == {'sample_idx', 'lidar_points', 'instances'}
            assert info['lidar_points'] == {'num_pts_feats': 6,
                                            'lidar_path': f"{info['sample_idx']:06d}.bin"}
            raw = np.fromfile(root + 'points/' + info['lidar_points']['lidar_path'], '<f4')
            assert raw.size == SMALL['num_points'] * 6
            rgb = raw.reshape(-1, 6)[:, 3:]
            assert rgb.min() >= 0 and rgb.max() <= 1 and rgb.max() > 0.2   # 0..1, not 0..255
            for inst in info['instances']:
                assert set(inst) == {'bbox_3d', 'bbox_label_3d'}
                assert len(inst['bbox_3d']) == 7 and 0 <= inst['bbox_label_3d'] < 10
                assert all(type(v) is float for v in inst['bbox_3d'])
                yaws.append(inst['bbox_3d'][6])
    assert yaws and all(-math.pi <= y < math.pi for y in yaws)
    # yawed: some box is not axis-aligned in the depth frame
    assert any(abs(math.remainder(y, math.pi / 2)) > 0.05 for y in yaws)


def test_stock_dataset_and_pipeline_read_the_scans(root):
    """mmdet3d's own SUNRGBDDataset + stock sunrgbd-3d.py train pipeline (only modality
    changed: the scans have no images); boxes arrive as bottom-centre Depth boxes."""
    stock = Config.fromfile(STOCK)
    infos = load_infos(root, 'train')['data_list']
    dataset = build(dict(type='SUNRGBDDataset', data_root=root,
                         ann_file='sunrgbd_infos_train.pkl', modality=LIDAR_ONLY,
                         pipeline=[], filter_empty_gt=False))
    for i, info in enumerate(infos):
        boxes = dataset.get_data_info(i)['ann_info']['gt_bboxes_3d']
        expected = np.array([inst['bbox_3d'] for inst in info['instances']]).reshape(-1, 7)
        assert boxes.with_yaw and len(boxes) == len(expected)
        np.testing.assert_allclose(boxes.gravity_center.numpy(), expected[:, :3], atol=1e-5)
        np.testing.assert_allclose(boxes.tensor[:, 2].numpy(),
                                   expected[:, 2] - expected[:, 5] / 2, atol=1e-5)
        np.testing.assert_allclose(boxes.tensor[:, 3:].numpy(), expected[:, 3:], atol=1e-5)
    dataset = build(dict(type='SUNRGBDDataset', data_root=root,
                         ann_file='sunrgbd_infos_train.pkl', modality=LIDAR_ONLY,
                         pipeline=stock.train_pipeline, filter_empty_gt=False))
    sample = dataset[1]
    assert tuple(sample['inputs']['points'].shape) == (20000, 4)     # xyz + height
    assert len(sample['data_samples'].gt_instances_3d.bboxes_3d) == len(infos[1]['instances'])


def inside_rotated_box(points: np.ndarray, box: np.ndarray, tol: float = 1e-4) -> np.ndarray:
    """(N,) bool: inside the convex BEV polygon of mmdet3d's own corners of ``box`` (gravity
    centre, 7 values) and within its z interval, by the sign of every edge's cross
    product (an independent reference: no rotation of the points)."""
    corners = DepthInstance3DBoxes(torch.tensor(box[None], dtype=torch.float64),
                                   origin=(0.5, 0.5, 0.5)).corners[0].numpy()   # (8, 3)
    bottom = corners[[0, 3, 7, 4]][:, :2]                   # a face of 4 corners at z min
    z_lo, z_hi = corners[:, 2].min(), corners[:, 2].max()
    centre = bottom.mean(0)
    order = np.argsort(np.arctan2(*(bottom - centre).T[::-1]))
    poly = bottom[order]                                    # counter-clockwise
    inside = (points[:, 2] >= z_lo - tol) & (points[:, 2] <= z_hi + tol)
    for a, b in zip(poly, np.roll(poly, -1, axis=0)):
        edge, rel = b - a, points[:, :2] - a
        length = np.linalg.norm(edge)
        inside &= (edge[0] * rel[:, 1] - edge[1] * rel[:, 0]) / length >= -tol
    return inside


def test_inside_rotated_box_reference():
    box = np.array([1.0, 2.0, 0.5, 2.0, 1.0, 1.0, math.pi / 2])   # 2 m along +y after the turn
    pts = np.array([[1.0, 2.9, 0.5], [1.4, 2.0, 0.5], [1.6, 2.0, 0.5], [1.0, 2.0, 1.1]])
    assert inside_rotated_box(pts, box).tolist() == [True, True, False, False]


@pytest.mark.parametrize('index', [1, 2, 6])
def test_boxes_hold_their_objects_points(index):
    scan = sunrgbd_scan(0, index, 4000)
    assert len(scan['boxes']) >= 1
    for box, inst in zip(scan['boxes'], scan['box_instances']):
        own = scan['xyz'][scan['instance'] == inst].astype(np.float64)
        assert len(own) >= 10
        assert inside_rotated_box(own, box).all(), (index, inst)


# ----------------------------------------------------------------------------- dataset
def test_malicious_info_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / 'ran'

    class Payload:
        def __reduce__(self):
            return os.system, (f'touch {marker}',)

    (tmp_path / 'points').mkdir()
    with open(tmp_path / 'sunrgbd_infos_train.pkl', 'wb') as f:
        pickle.dump({'metainfo': {}, 'data_list': [Payload()]}, f)
    with pytest.raises(UnsafePickleError, match=r'sunrgbd_infos_train\.pkl.*(posix|os)\.system'):
        build(dict(type='CrossptSUNRGBDDataset', data_root=str(tmp_path),
                   ann_file='sunrgbd_infos_train.pkl', pipeline=[]))
    assert not marker.exists()


def test_class_subset_drops_other_boxes_and_auto_generates(tmp_path):
    data = tmp_path / 'gen'
    dataset = build(dict(type='CrossptSUNRGBDDataset', data_root=str(data),
                         ann_file='sunrgbd_infos_train.pkl', pipeline=[],
                         filter_empty_gt=False, auto_generate=SMALL,
                         metainfo=dict(classes=('chair', 'bookshelf'))))
    assert (data / 'synthetic_info.json').is_file()
    infos = load_infos(str(data) + '/', 'train')['data_list']
    for i, info in enumerate(infos):
        labels = dataset.get_data_info(i)['ann_info']['gt_labels_3d'].tolist()
        expected = [('chair', 'bookshelf').index(CLASSES[inst['bbox_label_3d']])
                    for inst in info['instances']
                    if CLASSES[inst['bbox_label_3d']] in ('chair', 'bookshelf')]
        assert labels == expected
    with pytest.raises(KeyError, match="no 'images' entry"):
        build(dict(type='CrossptSUNRGBDDataset', data_root=str(data),
                   ann_file='sunrgbd_infos_train.pkl', pipeline=[],
                   modality=dict(use_camera=True, use_lidar=True)))


def test_nms_compares_yawed_boxes_by_their_enclosing_boxes():
    # a 2 x 0.5 box and the same box turned by 90 degrees overlap in a 0.5 x 0.5 square:
    # IoU 1/7 of their enclosing boxes, kept; the turned box and an axis-aligned 0.5 x 2
    # box are the same region, IoU 1, suppressed (the yaw-blind IoU would say 1 and 1/7)
    boxes = torch.tensor([[0.0, 0.0, 0.5, 2.0, 0.5, 1.0, 0.0],
                          [0.0, 0.0, 0.5, 2.0, 0.5, 1.0, math.pi / 2],
                          [5.0, 0.0, 0.5, 2.0, 0.5, 1.0, math.pi / 2],
                          [5.0, 0.0, 0.5, 0.5, 2.0, 1.0, 0.0]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    assert aligned_nms_3d(boxes, scores, 0.25).tolist() == [0, 1, 2]


# ----------------------------------------------------------------------------- end to end
def docs_command() -> list:
    """The twin's command as docs/finetuning.md writes it."""
    text = (REPO / 'docs' / 'finetuning.md').read_text()
    lines = [line for line in text.splitlines() if line.strip().endswith(TWIN)]
    assert lines, f'docs/finetuning.md has no command ending in {TWIN}'
    return shlex.split(lines[0])


def test_docs_twin_command_trains_and_reports_indoor_metric(tmp_path):
    cmd = docs_command()
    assert cmd == ['python', 'tools/train.py', TWIN]
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    small = dict(num_points=3000)        # the 12 + 4 scans, fewer points
    opts = [f'{loader}.dataset.{key}' for loader in loaders for key in (
        f'data_root={tmp_path}/data/', *(f'auto_generate.{k}={v}' for k, v in small.items()))]
    opts += ['train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
             'val_dataloader.num_workers=0', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'param_scheduler.0.end=2', 'param_scheduler.0.T_max=2',
             'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
             # RandomCuboid (train step 5) at the real 60 % of the stored points, 1,024
             # sampled points (PointSample: train step 6, test step 2)
             'train_dataloader.dataset.pipeline.5.min_points=1800',
             'train_dataloader.dataset.pipeline.6.num_points=1024',
             'val_dataloader.dataset.pipeline.2.num_points=1024',
             'model.encoder.preenc_npoints=128', 'model.encoder.preenc_nsample=16',
             'model.nqueries=32']
    out = run([sys.executable, *cmd[1:], '--work-dir', str(tmp_path / 'work'),
               '--cfg-options', *opts])
    assert 'Iter(train) [2/2]' in out and 'loss_angle_cls' in out, out[-3000:]
    maps = {k: float(v) for k, v in re.findall(r'\b(mAP_0\.(?:25|50)): (\S+)', out)}
    assert set(maps) == {'mAP_0.25', 'mAP_0.50'}, out[-3000:]
    assert 0.0 <= maps['mAP_0.50'] <= maps['mAP_0.25'] <= 1.0
