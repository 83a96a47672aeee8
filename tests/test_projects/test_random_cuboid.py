"""RandomCuboid (projects/crosspt_mmdet3d/crosspt_mmdet3d/transforms.py), 3DETR's random
cuboid crop, against

- a hand-built grid scene whose every accepted crop is known in closed form;
- the released algorithm restated here on plain NumPy arrays (draw order ``rand(3)`` then
  ``choice(N)``, aspect test on the xy / xz / yz ratios, points kept inside the cuboid
  with the bounds included, boxes kept whose centre lies within the kept points' min /
  max, at least one box kept, 100 trials, the whole scene as the fallback), seeded the
  same way: identical crops;
- the 3DETR configs, whose train pipelines crop the aligned scene before sampling it.
"""
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip('mmdet3d.structures')

from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from mmdet3d.registry import DATASETS, TRANSFORMS  # noqa: E402
from mmdet3d.structures import DepthInstance3DBoxes, DepthPoints  # noqa: E402

from projects.crosspt_mmdet3d.crosspt_mmdet3d.transforms import (  # noqa: E402
    RandomCuboid, passes_aspect)

REPO = Path(__file__).resolve().parents[2]
GRID = np.array(list(itertools.product(range(10), repeat=3)), dtype=np.float32)  # (1000, 3)


def scene(xyz: np.ndarray, centers: np.ndarray, sizes: float = 0.5) -> dict:
    """mmdet3d-style results: points, boxes (gravity centres ``centers``), labels and
    per-point masks (instance mask = point index, semantic mask = index mod 7)."""
    boxes = np.concatenate([centers, np.full_like(centers, sizes)], axis=1)
    n = len(xyz)
    return dict(points=DepthPoints(torch.from_numpy(xyz.copy()), points_dim=3),
                gt_bboxes_3d=DepthInstance3DBoxes(torch.from_numpy(boxes).float(),
                                                  box_dim=6, with_yaw=False,
                                                  origin=(0.5, 0.5, 0.5)),
                gt_labels_3d=np.arange(len(centers), dtype=np.int64),
                pts_instance_mask=np.arange(n, dtype=np.int64),
                pts_semantic_mask=np.arange(n, dtype=np.int64) % 7)


def test_aspect_rule():
    assert passes_aspect(np.array([0.5, 1.0, 0.5]), 0.8)        # xz ratio 1
    assert not passes_aspect(np.array([0.5, 1.0, 0.7]), 0.8)    # 0.5, 0.71, 0.7
    assert passes_aspect(np.array([0.8, 1.0, 0.5]), 0.8)        # xy ratio 0.8 exactly


@pytest.mark.parametrize('seed', range(8))
def test_hand_built_grid(seed):
    """10 x 10 x 10 grid (extent 9), crop factors fixed at 0.5: half-size 2.25, so a crop
    centred on grid point c keeps the 5 x 5 x 5 block c - 2 .. c + 2, and min_points 125
    accepts only c in 2..7 on every axis; a box is kept iff its centre is in the block."""
    centers = np.array([[4, 4, 4], [6.5, 6.5, 6.5], [1, 8, 4], [4.5, 2.0, 9.0]], np.float32)
    results = scene(GRID, centers)
    np.random.seed(seed)
    out = RandomCuboid(min_points=125, min_crop=0.5, max_crop=0.5).transform(results)
    low, high = out['random_cuboid']['min'], out['random_cuboid']['max']
    np.testing.assert_allclose(high - low, 4.5)                 # 0.5 x extent 9
    c = (low + high) / 2
    assert np.all(c == np.round(c)) and np.all((c >= 2) & (c <= 7)), c
    block = np.all(np.abs(GRID - c) <= 2, axis=1)               # exactly 125 points
    assert block.sum() == 125
    kept = out['points'].tensor.numpy()
    np.testing.assert_array_equal(kept, GRID[block])
    np.testing.assert_array_equal(out['pts_instance_mask'], np.flatnonzero(block))
    np.testing.assert_array_equal(out['pts_semantic_mask'], np.flatnonzero(block) % 7)
    keep = np.all(np.abs(centers - c) <= 2, axis=1)
    assert keep.any()
    np.testing.assert_array_equal(out['gt_labels_3d'], np.flatnonzero(keep))
    np.testing.assert_allclose(out['gt_bboxes_3d'].gravity_center.numpy(), centers[keep])


def test_no_crop_possible_leaves_the_scene_whole():
    results = scene(GRID, np.array([[4, 4, 4]], np.float32))
    np.random.seed(0)
    out = RandomCuboid(min_points=1001).transform(results)      # more than the scene has
    assert out['random_cuboid'] is None
    np.testing.assert_array_equal(out['points'].tensor.numpy(), GRID)
    assert len(out['gt_bboxes_3d']) == 1 and len(out['pts_instance_mask']) == 1000


def test_scene_without_boxes_is_cropped():
    results = scene(GRID, np.zeros((0, 3), np.float32))
    np.random.seed(3)
    out = RandomCuboid(min_points=100).transform(results)
    assert out['random_cuboid'] is not None
    assert 100 <= len(out['points']) < 1000 and len(out['gt_bboxes_3d']) == 0


def release_random_cuboid(point_cloud, target_boxes, per_point_labels, min_points,
                          aspect=0.8, min_crop=0.5, max_crop=1.0):
    """The released RandomCuboid on plain arrays (box rows = cx, cy, cz, dx, dy, dz)."""
    range_xyz = point_cloud[:, :3].max(axis=0) - point_cloud[:, :3].min(axis=0)
    for _ in range(100):
        crop_range = min_crop + np.random.rand(3) * (max_crop - min_crop)
        ratios = [min(crop_range[i], crop_range[j]) / max(crop_range[i], crop_range[j])
                  for i, j in ((0, 1), (0, 2), (1, 2))]
        if max(ratios) < aspect:
            continue
        sample_center = point_cloud[np.random.choice(len(point_cloud)), :3]
        new_range = range_xyz * crop_range / 2.0
        upper = np.sum(point_cloud[:, :3] <= sample_center + new_range, 1) == 3
        lower = np.sum(point_cloud[:, :3] >= sample_center - new_range, 1) == 3
        idx = upper & lower
        if np.sum(idx) < min_points:
            continue
        new_pc = point_cloud[idx]
        new_boxes = target_boxes
        if len(target_boxes):
            c = target_boxes[:, :3]
            keep = np.logical_and(np.all(c >= new_pc[:, :3].min(0), axis=1),
                                  np.all(c <= new_pc[:, :3].max(0), axis=1))
            if keep.sum() == 0:
                continue
            new_boxes = target_boxes[keep]
        return new_pc, new_boxes, [x[idx] for x in per_point_labels]
    return point_cloud, target_boxes, per_point_labels


@pytest.mark.parametrize('seed', range(12))
def test_identical_to_the_released_algorithm(seed):
    """A random room (8 x 6 x 3 m, 4000 points) with 2 boxes, min_points 1600: with these
    seeds every scene is cropped after trials rejected for too few points (up to 46 per
    scene) and, in some scenes, trials rejected for losing both boxes."""
    rng = np.random.default_rng(100 + seed)
    xyz = (rng.random((4000, 3)) * np.array([8, 6, 3])).astype(np.float32)
    centers = (rng.random((2, 3)) * np.array([8, 6, 3])).astype(np.float32)
    results = scene(xyz, centers)
    # the reference sees exactly what the transform sees (float32 gravity centres)
    ref_centers = results['gt_bboxes_3d'].gravity_center.numpy()
    ref_boxes = np.concatenate([ref_centers, np.full_like(ref_centers, 0.5)], axis=1)
    labels = np.arange(len(xyz)), np.arange(len(xyz)) % 7
    np.random.seed(seed)
    ref_pc, ref_kept, ref_labels = release_random_cuboid(xyz, ref_boxes, list(labels),
                                                         min_points=1600)
    np.random.seed(seed)
    out = RandomCuboid(min_points=1600).transform(results)
    assert out['random_cuboid'] is not None and 1600 <= len(ref_pc) < len(xyz)
    np.testing.assert_array_equal(out['points'].tensor.numpy(), ref_pc)
    np.testing.assert_array_equal(out['gt_bboxes_3d'].gravity_center.numpy(),
                                  ref_kept[:, :3])
    np.testing.assert_array_equal(out['pts_instance_mask'], ref_labels[0])
    np.testing.assert_array_equal(out['pts_semantic_mask'], ref_labels[1])
    # the labels follow their boxes
    kept_ids = [int(np.flatnonzero((ref_centers == c).all(1))[0]) for c in ref_kept[:, :3]]
    np.testing.assert_array_equal(out['gt_labels_3d'], kept_ids)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='min_crop'):
        RandomCuboid(min_crop=0.8, max_crop=0.5)
    with pytest.raises(ValueError, match='aspect'):
        RandomCuboid(aspect=1.5)
    with pytest.raises(TypeError, match='LoadPointsFromFile'):
        RandomCuboid().transform(dict(points=np.zeros((5, 3))))


CONFIGS = ['projects/crosspt_mmdet3d/configs/tap/3detr_scratch_scannet-det.py',
           'projects/crosspt_mmdet3d/configs/tap/3detr_ft_scannet-det.py',
           'projects/crosspt_mmdet3d/configs/tap/3detr-m_scratch_scannet-det.py',
           'projects/crosspt_mmdet3d/configs/tap/3detr_scratch_scannet-det_synthetic.py',
           'projects/crosspt_mmdet3d/configs/tap/3detr_ft_scannet-det_synthetic.py']


@pytest.mark.parametrize('config', CONFIGS)
def test_3detr_configs_crop_the_aligned_scene_before_sampling(config):
    cfg = Config.fromfile(str(REPO / config))
    train = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    i = train.index('RandomCuboid')
    assert train[i - 1] == 'GlobalAlignment' and train[i + 1] == 'PointSample'
    crop = dict(cfg.train_dataloader.dataset.pipeline[i])
    # release values; the embedded rooms hold fewer points per cuboid (config comment)
    min_points = 15000 if 'synthetic' in config else 30000
    assert crop == dict(type='RandomCuboid', min_points=min_points, aspect=0.8,
                        min_crop=0.5, max_crop=1.0)
    assert 'RandomCuboid' not in [t['type'] for t in cfg.test_dataloader.dataset.pipeline]


def test_synthetic_config_pipeline_crops_a_stored_scene(tmp_path):
    """The embedded 3DETR config's train pipeline up to the crop, on a generated scene of
    50,000 points: a crop is taken and the kept boxes' centres lie in the kept points."""
    cfg = Config.fromfile(str(REPO / CONFIGS[3]))
    dataset = cfg.train_dataloader.dataset
    pipeline = list(dataset.pipeline)
    dataset.pipeline = pipeline[:[t['type'] for t in pipeline].index('RandomCuboid') + 1]
    dataset.data_root = str(tmp_path / 'scannet') + '/'
    dataset.auto_generate = dict(num_scenes=2, num_val_scenes=1, num_points=50000, seed=0)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        built = DATASETS.build(dataset)
    assert TRANSFORMS.get('RandomCuboid') is RandomCuboid
    np.random.seed(0)
    out = built[0]
    assert out['random_cuboid'] is not None
    xyz = out['points'].coord.numpy()
    assert 15000 <= len(xyz) < 50000
    assert len(out['pts_instance_mask']) == len(out['pts_semantic_mask']) == len(xyz)
    assert np.all(xyz >= out['random_cuboid']['min'] - 1e-6)
    assert np.all(xyz <= out['random_cuboid']['max'] + 1e-6)
    centers = out['gt_bboxes_3d'].gravity_center.numpy()
    assert len(centers) == len(out['gt_labels_3d']) >= 1
    assert np.all(centers >= xyz.min(0) - 1e-6) and np.all(centers <= xyz.max(0) + 1e-6)
