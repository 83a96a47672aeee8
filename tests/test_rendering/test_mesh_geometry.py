"""Mesh geometry helpers of crosspt.rendering.mesh_io: up-axis permutation, surface
sampling with degenerate faces, and rendering of meshes with degenerate faces."""
import numpy as np
import pytest

from crosspt.rendering import render_tap_views, sample_surface_points, to_y_up

# unit cube corners (index = 4x + 2y + z) and its 12 triangles
CORNERS = np.array([[x, y, z] for x in (0., 1.) for y in (0., 1.) for z in (0., 1.)])
CUBE = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                 [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])


def test_to_y_up_hand_worked():
    p = np.array([[1., 2., 3.]])
    assert to_y_up(p, 'y').tolist() == [[1., 2., 3.]]
    assert to_y_up(p, 'z').tolist() == [[2., 3., 1.]]   # (x, y, z) -> (y, z, x): z is up
    assert to_y_up(p, 'x').tolist() == [[3., 1., 2.]]   # (x, y, z) -> (z, x, y): x is up
    for axis in 'xyz':  # a rotation, not a mirror: the handedness is kept
        basis = to_y_up(np.eye(3), axis)
        assert np.linalg.det(basis) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="up_axis must be one of .* got 'w'"):
        to_y_up(p, 'w')


def test_load_points_uses_the_same_up_axis_convention(tmp_path):
    from crosspt.apis import load_points

    cloud = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    np.save(tmp_path / 'c.npy', cloud)
    for axis in 'xyz':
        np.testing.assert_array_equal(load_points(tmp_path / 'c.npy', up_axis=axis),
                                      to_y_up(cloud, axis))


def _on_cube_surface(points: np.ndarray) -> np.ndarray:
    return (np.abs(points) < 1e-6).any(1) | (np.abs(points - 1) < 1e-6).any(1)


def test_sample_surface_points_skips_degenerate_faces():
    """Zero-area faces (a repeated vertex; three collinear points far off the cube) are
    never drawn: every sample lies on the cube, none is NaN."""
    verts = np.concatenate([CORNERS, [[5., 5., 5.], [6., 6., 6.], [7., 7., 7.]]])
    faces = np.concatenate([CUBE, [[0, 0, 7], [8, 9, 10]]])
    points = sample_surface_points(verts, faces, 200, np.random.default_rng(0))
    assert points.shape == (200, 3) and points.dtype == np.float32
    assert np.isfinite(points).all()
    assert _on_cube_surface(points).all()
    # all faces degenerate: an error, not NaN
    with pytest.raises(ValueError, match='zero surface area'):
        sample_surface_points(verts, np.array([[0, 0, 7], [8, 9, 10]]), 10,
                              np.random.default_rng(0))


def test_degenerate_faces_do_not_change_the_views():
    points = sample_surface_points(CORNERS, CUBE, 256, np.random.default_rng(1))
    clean = render_tap_views(CORNERS, CUBE, points, image_size=64)
    with_degenerate = render_tap_views(CORNERS, np.concatenate([CUBE, [[0, 0, 7], [3, 3, 3]]]),
                                       points, image_size=64)
    np.testing.assert_array_equal(with_degenerate, clean)
    # a collinear sliver lying on an edge of the cube: no NaN, same silhouette
    verts = np.concatenate([CORNERS, [[0.5, 0., 0.]]])          # midpoint of edge 0-4
    sliver = render_tap_views(verts, np.concatenate([CUBE, [[0, 8, 4]]]), points,
                              image_size=64)
    np.testing.assert_array_equal(sliver < 255, clean < 255)
