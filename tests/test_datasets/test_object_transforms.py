"""Object transforms against hand-worked cases and brute-force references."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

import crosspt.datasets  # noqa: F401  (registers the transforms)
from crosspt.datasets.transforms import (FPSSamplePoints, FPSThenRandom, LoadObjectPoints,
                                         PackPartSegInputs, PackPointClsInputs,
                                         RandomDropNormals, RandomJitter, RandomRotateAxis,
                                         RandomSamplePoints, RandomTranslate, ShufflePoints,
                                         TakeFirstPoints)
from crosspt.registry import TRANSFORMS


def brute_fps(points, num):
    """Textbook FPS: start at 0, then the point farthest from the chosen set (first on ties)."""
    chosen = [0]
    dist = np.full(len(points), np.inf)
    for _ in range(num - 1):
        dist = np.minimum(dist, ((points - points[chosen[-1]]) ** 2).sum(1))
        chosen.append(int(np.argmax(dist)))
    return np.array(chosen)


def part_of(points):
    """A label that is a function of the coordinates."""
    return (2 * (points[:, 0] > 0) + (points[:, 2] > 0) + 4 * (points[:, 1] > 0.3)).astype(np.int64)


def labelled_cloud(n=500, seed=0):
    rng = np.random.RandomState(seed)
    points = rng.uniform(-1, 1, (n, 3)).astype(np.float32)
    normals = 2 * points + 1  # normals tied to points to check alignment
    cloud = np.concatenate([points, normals], 1)
    return dict(cloud=cloud, part_labels=part_of(points), source='mem.txt', sample_idx=3,
                label=7, category=4)


def loaded(**kwargs):
    return LoadObjectPoints()(labelled_cloud(**kwargs))


def assert_aligned(results):
    pts = results['points']
    np.testing.assert_array_equal(results['gt_part'], part_of(pts))
    np.testing.assert_allclose(results['normals'], 2 * pts + 1, rtol=0, atol=1e-6)


def test_load_object_points_splits_and_checks():
    results = loaded()
    assert results['points'].shape == (500, 3) and results['points'].dtype == np.float32
    assert results['normals'].shape == (500, 3) and results['gt_part'].dtype == np.int64
    assert_aligned(results)
    no_normals = LoadObjectPoints(with_normals=False)(labelled_cloud())
    assert 'normals' not in no_normals
    xyz_only = dict(cloud=np.zeros((4, 3), np.float32), source='a.h5[row 2]')
    with pytest.raises(ValueError, match=r'with_normals=True.*a\.h5\[row 2\]'):
        LoadObjectPoints(with_normals=True)(xyz_only)
    bad = labelled_cloud()
    bad['cloud'][17, 1] = np.nan
    with pytest.raises(ValueError, match=r'mem\.txt: point row 17 contains NaN'):
        LoadObjectPoints()(bad)
    with pytest.raises(ValueError, match=r'mem\.txt must be \(N, 3\) or \(N, 6\).*\(5, 2\)'):
        LoadObjectPoints()(dict(cloud=np.zeros((5, 2), np.float32), source='mem.txt'))
    with pytest.raises(KeyError, match="LoadObjectPoints.*'cloud'"):
        LoadObjectPoints()(dict(source='x'))


@pytest.mark.parametrize('transform', [
    ShufflePoints(), TakeFirstPoints(100), RandomSamplePoints(800, replace=True),
    RandomSamplePoints(300, replace=False), FPSSamplePoints(64), FPSThenRandom(200, 50)])
def test_sampling_keeps_per_point_keys_aligned(transform):
    np.random.seed(1)
    results = transform(loaded())
    assert_aligned(results)
    assert len(results['points']) == {'ShufflePoints': 500, 'TakeFirstPoints': 100,
                                      'FPSSamplePoints': 64, 'FPSThenRandom': 50}.get(
        type(transform).__name__, getattr(transform, 'num_points', None))


def test_sampling_semantics():
    base = loaded()
    first = TakeFirstPoints(10)(loaded())
    np.testing.assert_array_equal(first['points'], base['points'][:10])
    shuffled = ShufflePoints()(loaded())
    order = np.lexsort(shuffled['points'].T)
    np.testing.assert_array_equal(shuffled['points'][order], base['points'][np.lexsort(
        base['points'].T)])
    fps = FPSSamplePoints(40)(loaded())
    np.testing.assert_array_equal(fps['points'], base['points'][brute_fps(
        base['points'].astype(np.float64), 40)])
    np.random.seed(0)
    two_stage = FPSThenRandom(120, 60)(loaded())
    fps_set = {tuple(p) for p in base['points'][brute_fps(base['points'].astype(np.float64), 120)]}
    picked = [tuple(p) for p in two_stage['points']]
    assert set(picked) <= fps_set and len(set(picked)) == 60
    with pytest.raises(ValueError, match=r'mem\.txt has 500 points, fewer than the 600'):
        TakeFirstPoints(600)(loaded())
    with pytest.raises(ValueError, match='fewer than'):
        RandomSamplePoints(600, replace=False)(loaded())
    assert len(RandomSamplePoints(600)(loaded())['points']) == 600


def test_rotation_about_up_axis_hand_computed():
    results = dict(points=np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.0]], np.float32),
                   normals=np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], np.float32))
    out = RandomRotateAxis(axis=1, angle=(math.pi / 2, math.pi / 2))(results)
    # right-handed 90 deg about y: x' = z, z' = -x
    np.testing.assert_allclose(out['points'], [[3.0, 2.0, -1.0], [0.0, -1.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(out['normals'], [[0.0, 0.0, -1.0], [1.0, 0.0, 0.0]], atol=1e-6)
    z = RandomRotateAxis(axis=2, angle=(math.pi / 2, math.pi / 2))(
        dict(points=np.array([[1.0, 0.0, 5.0]], np.float32)))
    np.testing.assert_allclose(z['points'], [[0.0, 1.0, 5.0]], atol=1e-6)
    np.random.seed(3)
    base = loaded()
    rotated = RandomRotateAxis(axis=1)(loaded())
    assert -math.pi <= rotated['rotation_angle'] <= math.pi
    np.testing.assert_allclose(rotated['points'][:, 1], base['points'][:, 1], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(rotated['points'], axis=1),
                               np.linalg.norm(base['points'], axis=1), rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(rotated['normals'], axis=1),
                               np.linalg.norm(base['normals'], axis=1), rtol=1e-5)
    with pytest.raises(ValueError, match='axis'):
        RandomRotateAxis(axis=3)


def test_translate_jitter_drop_normals():
    np.random.seed(5)
    base = loaded()
    moved = RandomTranslate(0.2)(loaded())
    offset = moved['points'] - base['points']
    assert np.ptp(offset, axis=0).max() < 1e-6 and np.abs(offset[0]).max() <= 0.2
    np.testing.assert_allclose(offset[0], moved['translation'], atol=1e-6)
    jittered = RandomJitter(sigma=0.01, clip=0.005)(loaded())
    delta = jittered['points'] - base['points']
    assert np.abs(delta).max() <= 0.005 + 1e-6 and np.abs(delta).max() > 0.004
    dropped = RandomDropNormals(p=1.0)(loaded())
    assert (dropped['normals'] == 0).all() and dropped['normals_dropped'] is True
    kept = RandomDropNormals(p=0.0)(loaded())
    np.testing.assert_array_equal(kept['normals'], base['normals'])
    np.random.seed(0)
    rate = np.mean([RandomDropNormals(p=0.2)(loaded(n=5))['normals_dropped']
                    for _ in range(400)])
    assert 0.13 < rate < 0.27
    with pytest.raises(KeyError, match="RandomDropNormals.*'normals'"):
        RandomDropNormals()(dict(points=np.zeros((3, 3), np.float32)))


def test_pack_classification_sample():
    results = TRANSFORMS.build(dict(type='ComputeHeight', gravity_dim=1))(loaded())
    packed = PackPointClsInputs(feature_keys=('points', 'height'))(results)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs['points'].dtype == torch.float32 and inputs['points'].shape == (500, 3)
    assert inputs['features'].shape == (500, 4)
    np.testing.assert_allclose(inputs['features'][:, 3].numpy(),
                               results['points'][:, 1] - results['points'][:, 1].min())
    assert isinstance(sample, BaseDataElement) and sample.gt_label == 7
    assert sample.metainfo == dict(sample_idx=3, source='mem.txt')
    with pytest.raises(KeyError, match="PackPointClsInputs.*'height'"):
        PackPointClsInputs()(loaded())


def test_pack_part_segmentation_sample():
    results = TakeFirstPoints(64)(loaded())
    packed = PackPartSegInputs(feature_keys=('points', 'normals'))(results)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs['features'].shape == (64, 6) and inputs['category'].dtype == torch.int64
    assert inputs['category'].dim() == 0 and int(inputs['category']) == 4
    assert sample.category == 4 and sample.gt_part.dtype == torch.int64
    np.testing.assert_array_equal(sample.gt_part.numpy(), part_of(results['points']))
    with pytest.raises(KeyError, match="PackPartSegInputs.*'height'"):
        PackPartSegInputs()(TakeFirstPoints(64)(loaded()))
    with pytest.raises(KeyError, match="PackPartSegInputs.*'gt_part'"):
        PackPartSegInputs(feature_keys=('points',))(dict(points=np.zeros((3, 3), np.float32),
                                                         category=1))


def test_load_object_points_axis_order_turns_y_up_into_tap_frame():
    # a cloud standing along y: x = 1, y = 10, z = 100 (and normals 0.1, 0.2, 0.3)
    cloud = np.array([[1.0, 10.0, 100.0, 0.1, 0.2, 0.3]], np.float32)
    out = LoadObjectPoints(axis_order=(2, 0, 1))(dict(cloud=cloud))
    # TAP's reordering: new (x, y, z) = old (z, x, y), so the old up axis y is now z
    np.testing.assert_array_equal(out['points'], [[100.0, 1.0, 10.0]])
    np.testing.assert_allclose(out['normals'], [[0.3, 0.1, 0.2]])
    same = LoadObjectPoints()(dict(cloud=cloud))
    np.testing.assert_array_equal(same['points'], [[1.0, 10.0, 100.0]])
    with pytest.raises(ValueError, match='axis_order'):
        LoadObjectPoints(axis_order=(0, 0, 1))
