"""PointContrast's whole-scene segmentation augmentations as mmdet3d transforms
(projects/crosspt_mmdet3d/crosspt_mmdet3d/scene_augment.py).

References are written here independently: the elastic field in SpatioTemporalSegmentation's
form (``scipy.ndimage.convolve`` with 3-tap box kernels, ``RegularGridInterpolator``) on
the noise the transform drew; rotation matrices from explicit cos / sin; colour results
computed by hand or from the formulas with the same NumPy draws.
"""
import math

import numpy as np
import pytest
import torch

pytest.importorskip('mmdet3d.structures')

from mmdet3d.structures.points import DepthPoints  # noqa: E402

from projects.crosspt_mmdet3d.crosspt_mmdet3d import scene_augment  # noqa: E402
from projects.crosspt_mmdet3d.crosspt_mmdet3d.scene_augment import (  # noqa: E402
    ChromaticAutoContrast, ChromaticJitter, ChromaticTranslation, ElasticDistortionPoints,
    RandomRotationXYZ)


def cloud(n: int = 200, seed: int = 0) -> np.ndarray:
    """(n, 6) float32: xyz in a 3 x 2 x 1.5 m box, rgb 0..255."""
    rng = np.random.default_rng(seed)
    xyz = rng.uniform([0, 0, 0], [3, 2, 1.5], (n, 3))
    rgb = rng.uniform(0, 255, (n, 3))
    return np.concatenate([xyz, rgb], 1).astype(np.float32)


def results_of(array: np.ndarray, colour: bool = True) -> dict:
    dims = dict(color=[3, 4, 5]) if colour else None
    return dict(points=DepthPoints(torch.from_numpy(array.copy()), points_dim=array.shape[1],
                                   attribute_dims=dims), lidar_path='room.bin')


def sts_elastic(coords: np.ndarray, noise: np.ndarray, granularity: float,
                magnitude: float) -> np.ndarray:
    """SpatioTemporalSegmentation's ``elastic_distortion`` on given noise (*dims, 3)."""
    from scipy import interpolate, ndimage
    blurs = [np.ones(shape) / 3 for shape in ((3, 1, 1, 1), (1, 3, 1, 1), (1, 1, 3, 1))]
    coords_min = coords.min(0)
    noise_dim = ((coords - coords_min).max(0) // granularity).astype(int) + 3
    assert tuple(noise.shape[:3]) == tuple(noise_dim)
    for _ in range(2):
        for blur in blurs:
            noise = ndimage.convolve(noise, blur, mode='constant', cval=0)
    axes = [np.linspace(lo, hi, d) for lo, hi, d in
            zip(coords_min - granularity, coords_min + granularity * (noise_dim - 2),
                noise_dim)]
    interp = interpolate.RegularGridInterpolator(axes, noise, bounds_error=False,
                                                 fill_value=0)
    return coords + interp(coords) * magnitude


def test_elastic_distortion_matches_the_sts_field(monkeypatch):
    drawn = []
    normal = np.random.normal

    def recording_normal(*args, **kwargs):
        drawn.append(normal(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(np.random, 'normal', recording_normal)
    array = cloud()
    results = results_of(array)
    np.random.seed(3)
    ElasticDistortionPoints(params=((0.5, 0.3),), prob=1.0)(results)
    assert len(drawn) == 1                    # one (3, *cells) noise grid
    expected = sts_elastic(array[:, :3].astype(np.float64), np.moveaxis(drawn[0], 0, -1),
                           0.5, 0.3)
    out = results['points'].tensor.numpy()
    np.testing.assert_allclose(out[:, :3], expected, atol=1e-5)
    np.testing.assert_array_equal(out[:, 3:], array[:, 3:])   # colours untouched
    assert np.abs(out[:, :3] - array[:, :3]).max() > 1e-3     # the cloud moved


def test_elastic_distortion_probability_and_errors():
    array = cloud()
    results = results_of(array)
    ElasticDistortionPoints(prob=0.0)(results)
    np.testing.assert_array_equal(results['points'].tensor.numpy(), array)
    with pytest.raises(ValueError, match='granularity > 0'):
        ElasticDistortionPoints(params=((0.0, 1.0),))
    with pytest.raises(ValueError, match='prob'):
        ElasticDistortionPoints(prob=1.5)
    with pytest.raises(TypeError, match='ElasticDistortionPoints.*LoadPointsFromFile'):
        ElasticDistortionPoints()(dict(points=array))


def rot(axis: int, a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return {0: np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            1: np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            2: np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def test_rotation_about_z_by_hand():
    results = results_of(np.array([[1, 0, 0, 1, 2, 3], [0, 2, 1, 4, 5, 6]], np.float32))
    RandomRotationXYZ(bounds=((0, 0), (0, 0), (math.pi / 6, math.pi / 6)))(results)
    c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
    expected = [[c, s, 0, 1, 2, 3], [-2 * s, 2 * c, 1, 4, 5, 6]]
    np.testing.assert_allclose(results['points'].tensor.numpy(), expected, atol=1e-6)


def test_rotation_draws_three_angles_and_a_random_order():
    bounds = ((-0.3, 0.3), (-0.2, 0.2), (-math.pi, math.pi))
    array = cloud()
    seen = set()
    for seed in range(12):
        np.random.seed(seed)
        angles = [np.random.uniform(lo, hi) for lo, hi in bounds]
        order = np.random.permutation(3)
        expected = rot(order[0], angles[order[0]]) @ rot(order[1], angles[order[1]]) \
            @ rot(order[2], angles[order[2]])
        results = results_of(array)
        np.random.seed(seed)
        RandomRotationXYZ(bounds)(results)
        np.testing.assert_allclose(results['xyz_rotation'], expected, atol=1e-12)
        np.testing.assert_allclose(results['points'].tensor.numpy()[:, :3],
                                   array[:, :3] @ expected.T, atol=1e-5)
        seen.add(tuple(order))
    assert len(seen) > 1          # the order really varies
    with pytest.raises(ValueError, match='three'):
        RandomRotationXYZ(bounds=((0, 1),))


def test_auto_contrast_by_hand():
    array = np.array([[0, 0, 0, 0, 0, 7], [0, 0, 0, 100, 50, 7], [0, 0, 0, 50, 25, 7]],
                     np.float32)
    results = results_of(array)
    ChromaticAutoContrast(prob=1.0, randomize_blend_factor=False, blend_factor=0.5)(results)
    # r: max 100 -> x 2.55, g: max 50 -> x 5.1, b constant (7) stays
    expected = [[0, 0, 7], [0.5 * 100 + 0.5 * 255, 0.5 * 50 + 0.5 * 255, 7],
                [0.5 * 50 + 0.5 * 127.5, 0.5 * 25 + 0.5 * 127.5, 7]]
    np.testing.assert_allclose(results['points'].tensor.numpy()[:, 3:], expected, atol=1e-4)
    results = results_of(array)
    ChromaticAutoContrast(prob=0.0)(results)
    np.testing.assert_array_equal(results['points'].tensor.numpy(), array)


def test_chromatic_translation_offset_and_clip():
    array = cloud()
    array[0, 3:] = 254.0
    results = results_of(array)
    np.random.seed(5)
    assert np.random.rand() < 0.95                 # the probability draw passes
    offset = (np.random.rand(1, 3) - 0.5) * 255 * 2 * 0.1
    np.random.seed(5)
    ChromaticTranslation(ratio=0.1, prob=0.95)(results)
    expected = np.clip(array[:, 3:] + offset, 0, 255)
    out = results['points'].tensor.numpy()
    np.testing.assert_allclose(out[:, 3:], expected, atol=1e-4)
    np.testing.assert_array_equal(out[:, :3], array[:, :3])
    assert np.abs(offset).max() <= 25.5 and out[:, 3:].max() <= 255
    unchanged = results_of(array)
    ChromaticTranslation(ratio=0.0, prob=1.0)(unchanged)
    np.testing.assert_array_equal(unchanged['points'].tensor.numpy(), array)


def test_chromatic_jitter_noise_and_clip():
    array = cloud()
    results = results_of(array)
    np.random.seed(9)
    assert np.random.rand() < 0.95
    noise = np.random.randn(len(array), 3) * 0.05 * 255
    np.random.seed(9)
    ChromaticJitter(std=0.05, prob=0.95)(results)
    np.testing.assert_allclose(results['points'].tensor.numpy()[:, 3:],
                               np.clip(array[:, 3:] + noise, 0, 255), atol=1e-4)


def test_colour_parameters_are_checked():
    with pytest.raises(ValueError, match='ChromaticTranslation: ratio must be >= 0'):
        ChromaticTranslation(ratio=-0.1)
    with pytest.raises(ValueError, match='ChromaticJitter: std must be >= 0'):
        ChromaticJitter(std=-1)
    with pytest.raises(ValueError, match='prob'):
        ChromaticJitter(prob=2)
    assert repr(ChromaticJitter(std=0.005)) == 'ChromaticJitter(std=0.005, prob=0.95)'


@pytest.mark.parametrize('transform', [ChromaticAutoContrast(), ChromaticTranslation(),
                                       ChromaticJitter()])
def test_colour_transforms_need_colour(transform):
    with pytest.raises(ValueError, match=r'room\.bin.*use_color=True'):
        transform(results_of(cloud()[:, :3], colour=False))


def test_registered_in_mmdet3d():
    from mmdet3d.registry import TRANSFORMS
    for name in scene_augment.__all__[:-1]:
        assert TRANSFORMS.get(name) is getattr(scene_augment, name)
