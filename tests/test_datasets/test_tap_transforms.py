"""TAP pre-training transforms: hand-worked numbers and every bad-input error."""
import re

import numpy as np
import pytest
import torch
from PIL import Image

from crosspt.datasets.transforms import (CenterAndNormalize, ComputeHeight, LoadPointsFromPLY,
                                         LoadViewImages, NormalizeToUnitSphere, PackTAPInputs,
                                         RandomPointScaling, RandomSampleViews)
from crosspt.ops import furthest_point_sample_numpy
from crosspt.fileio.ply import write_ply_points
from crosspt.registry import TRANSFORMS
from crosspt.rendering.poses import tap_view_rotations


def _ply(tmp_path, points, name='model_000001.ply'):
    path = tmp_path / name
    write_ply_points(path, np.asarray(points, dtype=np.float32))
    return str(path)


# ---------------------------------------------------------------- LoadPointsFromPLY
def test_load_points_axis_permutation(tmp_path):
    points = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9], [-1, -2, -3]], dtype=np.float32)
    path = _ply(tmp_path, points)
    out = LoadPointsFromPLY(num_points=4, axis_order=(2, 0, 1))({'ply_path': path})
    assert out['points'].dtype == np.float32 and out['points'].shape == (4, 3)
    # new x = old z, new y = old x, new z = old y
    np.testing.assert_array_equal(out['points'][0], [3, 1, 2])
    np.testing.assert_array_equal(out['points'][3], [-3, -1, -2])
    identity = LoadPointsFromPLY(num_points=4, axis_order=(0, 1, 2))({'ply_path': path})
    np.testing.assert_array_equal(identity['points'], points)


def test_load_points_more_points_uses_fps(tmp_path):
    # points on the x axis at 0, 1, 2, 3, 10 (hand-worked FPS from index 0):
    # 0 -> furthest 10 -> 3 (min dist 3 beats 2 and 1)
    xs = [0.0, 1.0, 2.0, 3.0, 10.0]
    path = _ply(tmp_path, [[x, 0.0, 0.0] for x in xs])
    out = LoadPointsFromPLY(num_points=3, axis_order=(0, 1, 2))({'ply_path': path})
    np.testing.assert_array_equal(out['points'][:, 0], [0.0, 10.0, 3.0])
    # a 4th pick ties between x=1 and x=2 (both at distance 1): lowest index wins
    np.testing.assert_array_equal(
        furthest_point_sample_numpy(np.array([[x, 0, 0] for x in xs]), 4), [0, 4, 3, 1])
    with pytest.raises(ValueError, match=re.escape(path) + '.*5 points.*exactly 3'):
        LoadPointsFromPLY(num_points=3, strict_num_points=True)({'ply_path': path})


def test_load_points_too_few_points(tmp_path):
    path = _ply(tmp_path, np.zeros((5, 3)))
    with pytest.raises(ValueError, match=re.escape(path) + '.*5 points.*at least 8'):
        LoadPointsFromPLY(num_points=8)({'ply_path': path})


def test_load_points_bad_files(tmp_path):
    garbage = tmp_path / 'garbage.ply'
    garbage.write_bytes(b'\x00\x01 not a ply file at all \xff' * 10)
    with pytest.raises(ValueError, match=re.escape(str(garbage))):
        LoadPointsFromPLY(num_points=4)({'ply_path': str(garbage)})

    from plyfile import PlyData, PlyElement
    vertex = np.zeros(4, dtype=[('x', 'f4'), ('y', 'f4'), ('z', 'f4')])
    vertex['y'][2] = np.nan
    nan_path = tmp_path / 'nan.ply'
    PlyData([PlyElement.describe(vertex, 'vertex')]).write(str(nan_path))
    with pytest.raises(ValueError, match=re.escape(str(nan_path)) + '.*NaN'):
        LoadPointsFromPLY(num_points=4)({'ply_path': str(nan_path)})

    missing = tmp_path / 'missing.ply'
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        LoadPointsFromPLY(num_points=4)({'ply_path': str(missing)})
    with pytest.raises(KeyError, match="LoadPointsFromPLY.*'ply_path'"):
        LoadPointsFromPLY(num_points=4)({})


def test_load_points_arg_validation():
    with pytest.raises(ValueError, match='axis_order'):
        LoadPointsFromPLY(axis_order=(0, 0, 1))
    with pytest.raises(ValueError, match='num_points'):
        LoadPointsFromPLY(num_points=0)
    assert repr(LoadPointsFromPLY(num_points=7)) == \
        'LoadPointsFromPLY(num_points=7, axis_order=(2, 0, 1), strict_num_points=False)'


# ------------------------------------------------------- normalisation, height, scaling
def test_normalize_to_unit_sphere_hand_worked():
    points = np.array([[0, 0, 0], [2, 0, 0], [1, 3, 0], [1, -3, 0]], dtype=np.float32)
    out = NormalizeToUnitSphere()({'points': points})
    # centroid (1, 0, 0); centred max norm 3
    expected = np.array([[-1, 0, 0], [1, 0, 0], [0, 3, 0], [0, -3, 0]], dtype=np.float32) / 3
    np.testing.assert_allclose(out['points'], expected, atol=1e-7)
    np.testing.assert_array_equal(out['points_norm'], out['points'])
    assert out['points'].dtype == np.float32
    assert out['points_norm'] is not out['points']
    with pytest.raises(ValueError, match='coincide'):
        NormalizeToUnitSphere()({'points': np.ones((4, 3), np.float32), 'ply_path': 'x.ply'})
    with pytest.raises(KeyError, match="'points'"):
        NormalizeToUnitSphere()({})


def test_compute_height():
    points = np.array([[9, 1, 0.5], [9, 2, -0.25], [9, 3, 1.0]], dtype=np.float32)
    out = ComputeHeight(gravity_dim=2)({'points': points})
    assert out['height'].shape == (3, 1) and out['height'].dtype == np.float32
    np.testing.assert_allclose(out['height'][:, 0], [0.75, 0.0, 1.25])
    out = ComputeHeight(gravity_dim=1)({'points': points})
    np.testing.assert_allclose(out['height'][:, 0], [0.0, 1.0, 2.0])
    for bad in (3, -1, 1.5, True):
        with pytest.raises(ValueError, match='gravity_dim'):
            ComputeHeight(gravity_dim=bad)
    assert repr(ComputeHeight(1)) == 'ComputeHeight(gravity_dim=1)'


def test_random_point_scaling():
    np.random.seed(0)
    rng = np.random.RandomState(1)
    points = rng.randn(32, 3).astype(np.float32)
    transform = RandomPointScaling(scale=(0.9, 1.1), anisotropic=True)
    factors = []
    for _ in range(50):
        out = transform({'points': points.copy()})
        factor = out['scale_factor']
        assert np.all(factor >= 0.9) and np.all(factor <= 1.1)
        np.testing.assert_allclose(out['points'], points * factor, rtol=1e-6)
        factors.append(factor)
    factors = np.stack(factors)
    assert np.any(np.abs(factors[:, 0] - factors[:, 1]) > 1e-3)  # per-axis draws
    iso = RandomPointScaling(scale=(0.5, 2.0), anisotropic=False)({'points': points.copy()})
    assert iso['scale_factor'][0] == iso['scale_factor'][1] == iso['scale_factor'][2]
    fixed = RandomPointScaling(scale=(2.0, 2.0))({'points': points.copy()})
    np.testing.assert_allclose(fixed['points'], 2 * points, rtol=1e-6)
    signs = np.stack([RandomPointScaling(scale=(2.0, 2.0), mirror=True)(
        {'points': points.copy()})['scale_factor'] for _ in range(40)])
    assert set(np.unique(signs).tolist()) == {-2.0, 2.0}
    with pytest.raises(ValueError, match='scale'):
        RandomPointScaling(scale=(1.1, 0.9))
    with pytest.raises(ValueError, match='scale'):
        RandomPointScaling(scale=(0.0, 1.0))
    with pytest.raises(ValueError, match='mirror'):
        RandomPointScaling(mirror=(0.5, 2.0, 0.0))
    assert repr(RandomPointScaling()) == \
        'RandomPointScaling(scale=(0.9, 1.1), anisotropic=True, mirror=False)'


def test_center_and_normalize():
    points = np.array([[1, 1, 1], [3, 1, 1]], dtype=np.float32)
    out = CenterAndNormalize()({'points': points})
    np.testing.assert_allclose(out['points'], [[-1, 0, 0], [1, 0, 0]], atol=1e-7)
    rng = np.random.RandomState(0)
    cloud = (rng.randn(100, 3) * [3.0, 0.5, 1.0] + [5.0, -2.0, 7.0]).astype(np.float32)
    out = CenterAndNormalize(gravity_dim=2)({'points': cloud})
    np.testing.assert_allclose(out['points'].mean(axis=0), 0.0, atol=1e-6)
    assert abs(np.linalg.norm(out['points'], axis=1).max() - 1.0) < 1e-6
    np.testing.assert_allclose(out['height_augmented'][:, 0], cloud[:, 2] - cloud[:, 2].min(),
                               rtol=1e-6)
    with pytest.raises(ValueError, match='gravity_dim'):
        CenterAndNormalize(gravity_dim=5)


# ---------------------------------------------------------------------------- views
def test_random_sample_views():
    np.random.seed(3)
    transform = RandomSampleViews(num_views=6, num_views_total=12)
    reference = tap_view_rotations(12)
    seen = set()
    for _ in range(20):
        out = transform({})
        idx = out['view_indices']
        assert idx.dtype == np.int64 and idx.shape == (6,)
        assert len(set(idx.tolist())) == 6 and idx.min() >= 0 and idx.max() <= 11
        assert out['view_rotations'].dtype == np.float64
        assert out['view_rotations'].shape == (6, 3, 3)
        np.testing.assert_array_equal(out['view_rotations'], reference[idx])
        seen.add(tuple(idx.tolist()))
    assert len(seen) > 1
    np.random.seed(5)
    first = transform({})['view_indices']
    np.random.seed(5)
    np.testing.assert_array_equal(transform({})['view_indices'], first)


def test_random_sample_views_deterministic():
    out = RandomSampleViews(6, 12, deterministic=True)({})
    np.testing.assert_array_equal(out['view_indices'], [0, 2, 4, 6, 8, 10])
    np.testing.assert_array_equal(out['view_rotations'], tap_view_rotations(12)[0::2])
    np.testing.assert_array_equal(RandomSampleViews(4, 12, True)({})['view_indices'],
                                  [0, 3, 6, 9])
    with pytest.raises(ValueError, match='num_views'):
        RandomSampleViews(num_views=13, num_views_total=12)
    with pytest.raises(ValueError, match='num_views'):
        RandomSampleViews(num_views=0)
    assert repr(RandomSampleViews()) == \
        'RandomSampleViews(num_views=6, num_views_total=12, deterministic=False)'


def _write_views(tmp_path, size=(6, 5), num=12):
    """PNG-encoded content in .jpg files so pixel values are exact; colour = view index."""
    paths, arrays = [], []
    for v in range(num):
        array = np.zeros((size[0], size[1], 3), dtype=np.uint8)
        array[..., 0] = 10 * v
        array[..., 1] = 100
        array[..., 2] = np.arange(size[1], dtype=np.uint8)[None, :]
        path = tmp_path / f'model_000001_{v + 1:03d}.jpg'
        Image.fromarray(array).save(path, format='PNG')
        paths.append(str(path))
        arrays.append(array)
    return paths, arrays


def test_load_view_images(tmp_path):
    paths, arrays = _write_views(tmp_path)
    out = LoadViewImages(image_size=(6, 5))({'image_paths': paths,
                                             'view_indices': np.array([3, 0, 11])})
    images = out['images']
    assert images.dtype == np.uint8 and images.shape == (3, 3, 6, 5)
    for k, v in enumerate([3, 0, 11]):
        np.testing.assert_array_equal(images[k], arrays[v].transpose(2, 0, 1))
    # grayscale and real JPEG content are converted to RGB
    gray = tmp_path / 'gray.jpg'
    Image.fromarray(np.full((4, 4), 77, np.uint8), mode='L').save(gray, format='JPEG')
    out = LoadViewImages(image_size=4)({'image_paths': [str(gray)], 'view_indices': [0]})
    assert out['images'].shape == (1, 3, 4, 4)
    assert np.abs(out['images'].astype(int) - 77).max() <= 2


def test_load_view_images_area_resize(tmp_path):
    """resize=True: 4x4 -> 2x2 is the mean of each 2x2 block (hand-worked), and a block
    with one drawn pixel stays below pure white (foreground for the loss)."""
    image = np.full((4, 4, 3), 255, np.uint8)
    image[0, 0] = 55                               # one dark pixel in the top-left block
    image[2:, 2:] = 100                            # bottom-right block fully drawn
    path = tmp_path / 'model_000001_001.png'
    Image.fromarray(image).save(path)
    out = LoadViewImages(image_size=2, resize=True)({'image_paths': [str(path)],
                                                     'view_indices': [0]})['images'][0]
    expected = np.array([[(55 + 3 * 255) / 4, 255], [255, 100]])     # 205, 255 / 255, 100
    np.testing.assert_allclose(out.astype(float), np.broadcast_to(expected, (3, 2, 2)), atol=1)
    same = LoadViewImages(image_size=4, resize=True)({'image_paths': [str(path)],
                                                      'view_indices': [0]})['images'][0]
    np.testing.assert_array_equal(same, image.transpose(2, 0, 1))   # same size: untouched


def test_load_view_images_errors(tmp_path):
    paths, _ = _write_views(tmp_path, size=(6, 5))
    with pytest.raises(ValueError, match=re.escape(paths[2]) + '.*6x5.*expected 8x8'):
        LoadViewImages(image_size=8)({'image_paths': paths, 'view_indices': [2]})
    corrupt = tmp_path / 'corrupt_001.jpg'
    corrupt.write_bytes(b'\xff\xd8 this is not really a jpeg ' * 20)
    with pytest.raises(ValueError, match=re.escape(str(corrupt))):
        LoadViewImages(image_size=(6, 5))({'image_paths': [str(corrupt)], 'view_indices': [0]})
    missing = str(tmp_path / 'missing_001.jpg')
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        LoadViewImages(image_size=(6, 5))({'image_paths': [missing], 'view_indices': [0]})
    with pytest.raises(KeyError, match="LoadViewImages.*'view_indices'"):
        LoadViewImages(image_size=(6, 5))({'image_paths': paths})
    with pytest.raises(ValueError, match='view_indices'):
        LoadViewImages(image_size=(6, 5))({'image_paths': paths[:2], 'view_indices': [5]})
    with pytest.raises(ValueError, match='image_size'):
        LoadViewImages(image_size=0)
    assert repr(LoadViewImages()) == 'LoadViewImages(image_size=(224, 224), resize=False)'


# ----------------------------------------------------------------------------- pack
def _packable(num_points=10, num_views=2):
    rng = np.random.RandomState(0)
    return {
        'points': rng.randn(num_points, 3).astype(np.float32),
        'height': rng.rand(num_points, 1).astype(np.float32),
        'view_rotations': tap_view_rotations(12)[:num_views],
        'view_indices': np.arange(num_views, dtype=np.int64),
        'images': rng.randint(0, 256, (num_views, 3, 4, 4)).astype(np.uint8),
        'ply_path': '/data/pointclouds/train/model_000001.ply',
        'sample_idx': 7,
        'subset': 'train',
    }


def test_pack_tap_inputs():
    results = _packable()
    packed = PackTAPInputs(feature_keys=('points', 'height'))(dict(results))
    inputs = packed['inputs']
    assert set(inputs) == {'points', 'features', 'view_rotations', 'images'}
    assert inputs['points'].dtype == torch.float32 and inputs['points'].shape == (10, 3)
    assert inputs['features'].dtype == torch.float32 and inputs['features'].shape == (10, 4)
    assert inputs['view_rotations'].dtype == torch.float64
    assert inputs['view_rotations'].shape == (2, 3, 3)
    assert inputs['images'].dtype == torch.uint8 and inputs['images'].shape == (2, 3, 4, 4)
    np.testing.assert_array_equal(inputs['features'][:, :3].numpy(), results['points'])
    np.testing.assert_array_equal(inputs['features'][:, 3:].numpy(), results['height'])
    np.testing.assert_array_equal(inputs['images'].numpy(), results['images'])
    meta = packed['data_samples'].metainfo
    assert meta['sample_idx'] == 7 and meta['subset'] == 'train'
    assert meta['ply_path'] == results['ply_path'] and meta['view_indices'] == [0, 1]
    only_xyz = PackTAPInputs(feature_keys=('points',))(dict(results))
    assert only_xyz['inputs']['features'].shape == (10, 3)


def test_pack_tap_inputs_errors():
    results = _packable()
    results['points'][4, 1] = np.nan
    with pytest.raises(ValueError, match=re.escape(results['ply_path']) + '.*NaN'):
        PackTAPInputs()(results)
    results = _packable()
    results['points'][0, 0] = np.inf
    with pytest.raises(ValueError, match=re.escape(results['ply_path'])):
        PackTAPInputs()(results)
    results = _packable()
    del results['height']
    with pytest.raises(KeyError, match="PackTAPInputs.*'height'"):
        PackTAPInputs()(results)
    results = _packable()
    del results['images']
    with pytest.raises(KeyError, match="PackTAPInputs.*'images'"):
        PackTAPInputs()(results)
    results = _packable()
    results['height'] = results['height'][:5]
    with pytest.raises(ValueError, match='height'):
        PackTAPInputs()(results)
    with pytest.raises(ValueError, match='feature_keys'):
        PackTAPInputs(feature_keys=())
    assert repr(PackTAPInputs()) == "PackTAPInputs(feature_keys=('points', 'height'))"


def test_transforms_are_registered():
    for name in ('LoadPointsFromPLY', 'NormalizeToUnitSphere', 'ComputeHeight',
                 'RandomPointScaling', 'CenterAndNormalize', 'RandomSampleViews',
                 'LoadViewImages', 'PackTAPInputs'):
        assert TRANSFORMS.get(name) is not None, name
    built = TRANSFORMS.build(dict(type='RandomSampleViews', num_views=3, deterministic=True))
    assert isinstance(built, RandomSampleViews) and built.num_views == 3
