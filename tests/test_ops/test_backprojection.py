"""Back-projection of RGB-D frames (docs/methods/ppkt.md, 'Back-projection'): hand-worked
pixels, a known scene
surface, the round trip to pixels, world poses, voxel pairing, and bad input."""
import numpy as np
import pytest

from crosspt.ops.backprojection import backproject_depth, project_points, voxel_pairs

K = np.array([[577.8, 0, 319.5, 0], [0, 577.8, 239.5, 0], [0, 0, 1, 0], [0, 0, 0, 1]])


def test_hand_worked_pixels():
    depth = np.zeros((480, 640), np.uint16)
    depth[239, 319] = 2000                       # 0.5 px from the principal point
    depth[0, 0] = 1000
    points, pixels = backproject_depth(depth, K)
    assert pixels.tolist() == [[0, 0], [239, 319]]            # invalid (0) pixels dropped
    np.testing.assert_allclose(points[0], [-319.5 / 577.8, -239.5 / 577.8, 1.0], rtol=1e-6)
    np.testing.assert_allclose(points[1], [-0.5 * 2 / 577.8, -0.5 * 2 / 577.8, 2.0], rtol=1e-5)


def test_points_lie_on_the_known_surface_and_project_back():
    """A tilted plane n.p = 1 seen by the camera: depth from ray casting, rounded to mm.
    Tolerance: 1 mm rounding of z -> |n.p - 1| <= 0.5 mm * |n| / z-scale, below 1e-3."""
    h, w = 48, 64
    k = np.array([[60.0, 0, 31.5], [0, 60.0, 23.5], [0, 0, 1]])
    normal = np.array([0.1, -0.2, 0.5])
    v, u = np.mgrid[0:h, 0:w]
    rays = np.stack([(u - 31.5) / 60.0, (v - 23.5) / 60.0, np.ones_like(u, float)], -1)
    z = 1.0 / (rays @ normal)                    # depth along the optical axis
    depth = np.round(z * 1000).astype(np.uint16)
    points, pixels = backproject_depth(depth, k)
    assert len(points) == h * w
    assert np.abs(points @ normal - 1.0).max() < 1e-3
    rowcol, zz = project_points(points, k)
    np.testing.assert_allclose(rowcol, pixels, atol=1e-3)
    np.testing.assert_allclose(zz, depth[pixels[:, 0], pixels[:, 1]] / 1000.0, atol=1e-6)


def test_world_pose_moves_points_and_round_trips():
    depth = np.full((4, 5), 1500, np.uint16)
    angle = np.deg2rad(30)
    pose = np.eye(4)
    pose[:3, :3] = [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                    [0, 0, 1]]
    pose[:3, 3] = [1.0, -2.0, 0.5]
    cam, pixels = backproject_depth(depth, K)
    world, _ = backproject_depth(depth, K, pose=pose)
    np.testing.assert_allclose(world, cam @ pose[:3, :3].T + pose[:3, 3], rtol=1e-6)
    rowcol, _ = project_points(world, K, pose=pose)
    np.testing.assert_allclose(rowcol, pixels, atol=1e-3)


def test_voxel_pairing_keeps_one_pixel_per_voxel():
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 0.1, size=(500, 3))
    voxels, kept, inverse = voxel_pairs(points, 0.025, rng=np.random.default_rng(1))
    assert len(np.unique(kept)) == len(voxels) == len(np.unique(inverse))
    # brute force: every point lies in its voxel, every kept point in the voxel it keeps
    np.testing.assert_array_equal(np.floor(points / 0.025).astype(int), voxels[inverse])
    np.testing.assert_array_equal(inverse[kept], np.arange(len(voxels)))
    first = voxel_pairs(points, 0.025)[1]
    assert all(kept_i == np.flatnonzero(inverse == j)[0] for j, kept_i in enumerate(first))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match='pose contains'):
        backproject_depth(np.ones((2, 2), np.uint16), K, pose=np.full((4, 4), -np.inf))
    with pytest.raises(ValueError, match='intrinsic must be'):
        backproject_depth(np.ones((2, 2), np.uint16), np.eye(2))
    with pytest.raises(ValueError, match=r'depth must be \(H, W\)'):
        backproject_depth(np.ones((2, 2, 1), np.uint16), K)
    with pytest.raises(ValueError, match='finite'):
        voxel_pairs(np.array([[0.0, np.nan, 0.0]]))
