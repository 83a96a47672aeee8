"""PPKT frame transforms: every 2D/3D augmentation keeps each pixel <-> point pair valid.

The image encodes each pixel's own position (R = 4 * row, G = 3 * col), so after a flip
or a resized crop ``img[pair_pixel]`` must still decode to the loaded pixel of the pair's
point; 3D transforms are checked to be the same affine map for every point."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from crosspt.datasets.transforms.rgbd_transforms import (
    ElasticDistortion3D, PackPPKTInputs, RandomHorizontalFlip2D, RandomResizedCrop2D,
    RandomRotation3D, RandomScale3D, SampleVoxels, VoxelizePairs)
from crosspt.registry import TRANSFORMS

H, W = 60, 80


def make_results(h=H, w=W):
    """A frame with holes (pixels where (r + c) % 7 == 0 have no depth): the image encodes
    each pixel's position; points lie on a wavy surface 2 m away (hand-made, no camera)."""
    rows, cols = np.mgrid[0:h, 0:w]
    img = np.stack([4 * rows, 3 * cols, np.full_like(rows, 9)], -1).astype(np.uint8)
    valid = (rows + cols) % 7 != 0
    pixels = np.stack([rows[valid], cols[valid]], 1).astype(np.int64)
    x = pixels[:, 1] * 0.01 - 0.4
    y = pixels[:, 0] * 0.01 - 0.3
    z = 2.0 + 0.1 * np.sin(3 * x) * np.cos(2 * y)
    points = np.stack([x, y, z], 1).astype(np.float32)
    return dict(img=img, points=points, pixels=pixels, point_rgb=img[pixels[:, 0], pixels[:, 1]],
                pair_point=np.arange(len(points), dtype=np.int64), pair_pixel=pixels.copy(),
                img_path='frame.png', scene='scene0000_00', frame=0)


def decode(img, pair_pixel):
    """(row, col) encoded by the image at the pair pixels (float)."""
    rgb = img[pair_pixel[:, 0], pair_pixel[:, 1]].astype(np.float64)
    return np.stack([rgb[:, 0] / 4, rgb[:, 1] / 3], 1)


def affine_fit(src, dst):
    """Least-squares (4, 3) affine map src -> dst and the max residual."""
    homog = np.concatenate([src, np.ones((len(src), 1))], 1).astype(np.float64)
    coef = np.linalg.lstsq(homog, dst.astype(np.float64), rcond=None)[0]
    return coef, np.abs(homog @ coef - dst).max()


# ------------------------------------------------------------------------------- 2D
def test_flip_keeps_pairs_by_colour():
    res = RandomHorizontalFlip2D(prob=1.0)(make_results())
    assert res['flip'] is True
    np.testing.assert_array_equal(decode(res['img'], res['pair_pixel']),
                                  res['pixels'][res['pair_point']])
    np.testing.assert_array_equal(res['pair_pixel'][:, 1], W - 1 - res['pixels'][:, 1])
    same = RandomHorizontalFlip2D(prob=0.0)(make_results())
    assert same['flip'] is False
    np.testing.assert_array_equal(same['pair_pixel'], same['pixels'])
    twice = RandomHorizontalFlip2D(prob=1.0)(RandomHorizontalFlip2D(prob=1.0)(make_results()))
    np.testing.assert_array_equal(twice['img'], make_results()['img'])


def test_resized_crop_full_image_fallback_hand_worked():
    """No crop can keep every pair -> fall back to the whole 60x80 image resized to 30x50:
    (r, c) -> (floor((r + .5) * 30 / 60), floor((c + .5) * 50 / 80))."""
    crop = RandomResizedCrop2D(size=(30, 50), min_pairs=10 ** 9, min_fraction=1.0)
    res = crop(make_results())
    assert res['crop_box'] == (0, 0, H, W) and res['img'].shape == (30, 50, 3)
    lookup = {tuple(p): tuple(q) for p, q in zip(res['pixels'][res['pair_point']],
                                                  res['pair_pixel'])}
    assert len(lookup) == len(res['pixels'])                    # every pair kept
    assert lookup[(0, 1)] == (0, 0) and lookup[(59, 79)] == (29, 49)
    assert lookup[(1, 2)] == (0, 1)                              # 2.5 * .625 = 1.5625
    assert lookup[(3, 13)] == (1, 8)                             # 13.5 * .625 = 8.4375


@pytest.mark.parametrize('size', [(30, 50), (120, 200)])         # down- and up-sampling
def test_resized_crop_keeps_pairs_by_colour(size):
    np.random.seed(0)
    crop = RandomResizedCrop2D(size=size, min_pairs=100)
    flip = RandomHorizontalFlip2D(prob=0.5)
    for trial in range(12):
        res = make_results()
        res = flip(crop(res)) if trial % 2 else crop(flip(res))
        top, left, h, w = res['crop_box']
        assert res['img'].shape == (*size, 3)
        pp = res['pair_pixel']
        assert pp.min() >= 0 and (pp[:, 0] < size[0]).all() and (pp[:, 1] < size[1]).all()
        # loaded pixels in the coordinates the crop saw (flipped when the flip came first)
        seen = res['pixels'].copy()
        if trial % 2 == 0 and res['flip']:
            seen[:, 1] = W - 1 - seen[:, 1]
        inside = ((seen[:, 0] >= top) & (seen[:, 0] < top + h)
                  & (seen[:, 1] >= left) & (seen[:, 1] < left + w))
        # exactly the pairs whose pixel was inside the box survive
        np.testing.assert_array_equal(np.sort(res['pair_point']), np.nonzero(inside)[0])
        assert len(pp) > 100
        # the output pixel's colour decodes to the original pixel: within half an output
        # pixel in source pixels (0.5 * h / H_out, at least 0.5), + 0.25 colour
        # quantisation, + up to half a source pixel of filter border effects
        err = np.abs(decode(res['img'], pp) - res['pixels'][res['pair_point']])
        assert err[:, 0].max() <= 0.5 * max(1.0, h / size[0]) + 0.75
        assert err[:, 1].max() <= 0.5 * max(1.0, w / size[1]) + 0.75
        assert err.mean() < 0.6                                    # ~0.25 * scale on average


def test_resized_crop_rejects_crops_with_too_few_pairs():
    """min_pairs above the pair count and min_fraction 0.75: an accepted crop keeps > 75%."""
    np.random.seed(3)
    crop = RandomResizedCrop2D(size=(30, 50), scale=(0.3, 1.0), min_pairs=10 ** 6,
                               min_fraction=0.75, max_tries=10)
    for _ in range(10):
        res = crop(make_results())
        total = len(make_results()['pair_point'])
        assert len(res['pair_point']) / total > 0.75 or res['crop_box'] == (0, 0, H, W)


# ------------------------------------------------------------------------------- 3D
def test_scale_and_z_rotation_are_one_affine_map_of_every_point():
    np.random.seed(1)
    before = make_results()
    res = RandomScale3D(scale=(0.9, 1.1))(make_results())
    coef, residual = affine_fit(before['points'], res['points'])
    assert residual < 1e-5
    factor = coef[0, 0]
    assert 0.9 <= factor <= 1.1
    np.testing.assert_allclose(coef[:3], factor * np.eye(3), atol=1e-5)
    np.testing.assert_allclose(coef[3], 0, atol=1e-5)

    res = RandomRotation3D(axis='z')(make_results())
    coef, residual = affine_fit(before['points'], res['points'])
    rot = coef[:3].T
    assert residual < 1e-5
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-5)
    np.testing.assert_allclose(rot[2], [0, 0, 1], atol=1e-5)      # z is kept
    assert np.linalg.det(rot) == pytest.approx(1.0, abs=1e-5)
    # pairs are untouched by 3D transforms
    np.testing.assert_array_equal(res['pair_point'], before['pair_point'])
    np.testing.assert_array_equal(res['pair_pixel'], before['pair_pixel'])


def test_rotation_angle_range_and_random_axis():
    np.random.seed(2)
    before = make_results()['points']
    for _ in range(5):
        res = RandomRotation3D(axis='x', angle=(0.5, 0.6))(make_results())
        rot = affine_fit(before, res['points'])[0][:3].T
        np.testing.assert_allclose(rot[0], [1, 0, 0], atol=1e-5)
        assert 0.5 - 1e-4 <= math.atan2(rot[2, 1], rot[1, 1]) <= 0.6 + 1e-4
        res = RandomRotation3D(axis='random')(make_results())
        rot = affine_fit(before, res['points'])[0][:3].T
        np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-5)
        assert np.linalg.det(rot) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match='axis'):
        RandomRotation3D(axis='w')


def test_elastic_distortion_is_smooth_and_scales_with_magnitude():
    base = make_results()
    assert np.array_equal(ElasticDistortion3D(prob=0.0)(make_results())['points'],
                          base['points'])
    np.random.seed(5)
    zero = ElasticDistortion3D(params=((0.2, 0.0),), prob=1.0)(make_results())
    np.testing.assert_allclose(zero['points'], base['points'], atol=1e-6)
    np.random.seed(5)
    one = ElasticDistortion3D(params=((0.2, 0.4),), prob=1.0)(make_results())
    np.random.seed(5)
    two = ElasticDistortion3D(params=((0.2, 0.8),), prob=1.0)(make_results())
    d1 = one['points'] - base['points']
    d2 = two['points'] - base['points']
    np.testing.assert_allclose(d2, 2 * d1, atol=1e-5)            # displacement * magnitude
    assert 0.02 * 0.4 < d1.std() < 0.3 * 0.4                     # ~0.1 * magnitude
    # smooth: neighbouring pixels (1 cm apart) move almost alike, far points differently
    right = {tuple(p): i for i, p in enumerate(base['pixels'])}
    pairs = [(i, right[(r, c + 1)]) for i, (r, c) in enumerate(base['pixels'])
             if (r, c + 1) in right]
    near = np.array([np.abs(d1[a] - d1[b]).max() for a, b in pairs])
    assert near.max() < 0.1 * np.abs(d1).max()
    # a non-affine map (an affine fit leaves a residual) and the pairs are untouched
    assert affine_fit(base['points'], one['points'])[1] > 1e-3
    np.testing.assert_array_equal(one['pair_point'], base['pair_point'])


# --------------------------------------------------------------------------- voxels
def test_voxelize_pairs_hand_made():
    """Voxels of 1 m: points 0, 1, 2 share voxel (0, 0, 0); point 3 is alone in (2, 0, -1)."""
    res = dict(points=np.array([[0.1, 0.1, 0.1], [0.5, 0.5, 0.5], [0.9, 0.2, 0.3],
                                [2.5, 0.5, -0.5]], np.float32),
               point_rgb=np.array([[10, 20, 30], [40, 50, 60], [70, 80, 90], [255, 0, 51]],
                                  np.uint8),
               pair_point=np.array([0, 1, 3], np.int64),            # point 2 lost its pixel
               pair_pixel=np.array([[0, 0], [0, 1], [5, 5]], np.int64))
    out = VoxelizePairs(voxel_size=1.0, random_keep=False, feat_mode='rgb')(dict(res))
    np.testing.assert_array_equal(out['coords'], [[0, 0, 0], [2, 0, -1]])
    np.testing.assert_array_equal(out['voxel_point'], [0, 3])       # first point kept
    np.testing.assert_array_equal(out['pair_voxel'], [0, 1])        # pair of point 1 dropped
    np.testing.assert_array_equal(out['pair_pixel'], [[0, 0], [5, 5]])
    np.testing.assert_allclose(out['feats'], [[10 / 255, 20 / 255, 30 / 255],
                                              [1.0, 0.0, 0.2]], atol=1e-7)
    np.testing.assert_array_equal(out['voxel_points'], res['points'][[0, 3]])
    every = VoxelizePairs(voxel_size=1.0, one_pixel_per_voxel=False)(dict(res))
    np.testing.assert_array_equal(every['pair_voxel'], [0, 0, 1])   # option (a)
    np.testing.assert_array_equal(every['feats'], np.ones((2, 3)))


@pytest.mark.parametrize('one_pixel', [True, False])
def test_pairs_survive_the_whole_augmentation_chain(one_pixel):
    np.random.seed(11)
    chain = [RandomResizedCrop2D(size=(30, 50), min_pairs=100),
             RandomHorizontalFlip2D(prob=1.0), RandomScale3D(), RandomRotation3D(),
             ElasticDistortion3D(prob=1.0),
             VoxelizePairs(voxel_size=0.025, one_pixel_per_voxel=one_pixel, feat_mode='rgb')]
    res = make_results()
    for t in chain:
        res = t(res)
    coords, pv, pp, pt = res['coords'], res['pair_voxel'], res['pair_pixel'], res['pair_point']
    assert len(pv) == len(pp) == len(pt) > 0
    assert len(np.unique(coords, axis=0)) == len(coords)
    # each pair's voxel holds the pair's (augmented) point; its pixel shows the point's
    # original pixel (crop + flip tolerance as above: 60/30, 80/50 source px per output px)
    np.testing.assert_array_equal(np.floor(res['points'][pt] / 0.025).astype(np.int64),
                                  coords[pv])
    err = np.abs(decode(res['img'], pp) - res['pixels'][pt])
    assert err.max() <= 0.5 * 2.0 + 0.75
    # feats are the colour of each kept point's loaded pixel (before crop/flip)
    kept_pix = res['pixels'][res['voxel_point']]
    np.testing.assert_allclose(res['feats'] * 255,
                               np.stack([4 * kept_pix[:, 0], 3 * kept_pix[:, 1],
                                         np.full(len(kept_pix), 9)], 1), atol=1e-3)
    if one_pixel:
        assert len(np.unique(pv)) == len(pv)                     # <= 1 pixel per voxel
        np.testing.assert_array_equal(res['voxel_point'][pv], pt)
    else:
        assert len(np.unique(pv)) < len(pv)                      # several pixels share one


def test_sample_voxels_subset_and_padding():
    np.random.seed(4)
    res = VoxelizePairs(voxel_size=0.05)(make_results())
    total, pairs = len(res['coords']), len(res['pair_voxel'])
    sub = SampleVoxels(max_voxels=total // 3)({k: np.copy(v) if isinstance(v, np.ndarray)
                                               else v for k, v in res.items()})
    assert len(sub['coords']) == len(sub['feats']) == len(sub['voxel_points']) == total // 3
    assert 0 < len(sub['pair_voxel']) < pairs
    np.testing.assert_array_equal(
        np.floor(sub['points'][sub['pair_point']] / 0.05).astype(np.int64),
        sub['coords'][sub['pair_voxel']])
    np.testing.assert_array_equal(sub['voxel_point'][sub['pair_voxel']], sub['pair_point'])
    # points of dropped voxels map to -1, the others to a voxel holding them
    mapped = sub['point_voxel'] >= 0
    assert mapped.sum() < len(sub['points'])
    np.testing.assert_array_equal(
        np.floor(sub['points'][mapped] / 0.05).astype(np.int64),
        sub['coords'][sub['point_voxel'][mapped]])

    pad = SampleVoxels(num_points=total + 50)(dict(res))
    assert len(pad['coords']) == len(pad['voxel_points']) == total + 50
    np.testing.assert_array_equal(pad['coords'][:total], res['coords'])
    np.testing.assert_array_equal(pad['pair_voxel'], res['pair_voxel'])
    same = SampleVoxels(max_voxels=total)(dict(res))
    assert len(same['coords']) == total
    with pytest.raises(ValueError, match='exactly one'):
        SampleVoxels()


def test_pack_ppkt_inputs_format():
    np.random.seed(6)
    res = make_results()
    for t in (RandomResizedCrop2D(size=(30, 50), min_pairs=100),
              VoxelizePairs(voxel_size=0.025)):
        res = t(res)
    packed = PackPPKTInputs()(res)
    inputs, sample = packed['inputs'], packed['data_samples']
    v = len(res['coords'])
    assert inputs['img'].dtype == torch.uint8 and inputs['img'].shape == (3, 30, 50)
    assert inputs['coords'].dtype == torch.int64 and inputs['coords'].shape == (v, 3)
    assert inputs['points'].dtype == torch.float32 and inputs['points'].shape == (v, 3)
    assert inputs['feats'].dtype == torch.float32 and inputs['feats'].shape == (v, 3)
    assert isinstance(sample, BaseDataElement)
    pairs = sample.pairs
    assert pairs.dtype == torch.int64 and pairs.shape == (len(res['pair_voxel']), 3)
    assert int(pairs[:, 0].max()) < v and int(pairs[:, 1].max()) < 30
    np.testing.assert_array_equal(inputs['img'].permute(1, 2, 0).numpy(), res['img'])
    assert sample.metainfo == dict(scene='scene0000_00', frame=0, img_path='frame.png',
                                   img_shape=(30, 50))
    res['pair_voxel'] = res['pair_voxel'] + v
    with pytest.raises(ValueError, match='frame.png'):
        PackPPKTInputs()(res)


def test_registered_and_missing_key_errors():
    for name in ('LoadRGBDFrame', 'RandomHorizontalFlip2D', 'RandomResizedCrop2D',
                 'RandomScale3D', 'RandomRotation3D', 'ElasticDistortion3D', 'VoxelizePairs',
                 'SampleVoxels', 'PackPPKTInputs'):
        assert TRANSFORMS.get(name) is not None, name
    with pytest.raises(KeyError, match="'pair_pixel'.*RandomHorizontalFlip2D|"
                                       "RandomHorizontalFlip2D.*'pair_pixel'"):
        RandomHorizontalFlip2D()({'img': np.zeros((2, 2, 3), np.uint8),
                                  'pair_point': np.zeros(0, np.int64)})
    with pytest.raises(ValueError, match='size'):
        RandomResizedCrop2D(size=10)
