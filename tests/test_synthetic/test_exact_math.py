"""The generators' CPU-independent helpers against numpy / hand-worked values."""
import math

import numpy as np
import pytest

from crosspt.synthetic.exact_math import (affine, atan2, convex_overlap_area, matmul,
                                          rigid_inverse, row_dot, row_norm, transform,
                                          vector_norm)


def _rotation(yaw: float, pitch: float) -> np.ndarray:
    cz, sz, cy, sy = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    return rz @ ry


def test_products_equal_numpy_up_to_rounding():
    rng = np.random.default_rng(0)
    p, m, b = rng.normal(size=(50, 3)), rng.normal(size=(4, 3)), rng.normal(size=(3, 5))
    np.testing.assert_allclose(transform(p, m), p @ m.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(matmul(p, b), p @ b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(row_dot(p, m[0]), p @ m[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(row_norm(p), np.sqrt((p * p).sum(1)), rtol=1e-14)
    assert vector_norm([3.0, 4.0]) == 5.0
    with pytest.raises(ValueError, match='transform'):
        transform(p, b)


def test_rigid_inverse_equals_the_matrix_inverse_and_refuses_non_rigid():
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = _rotation(0.7, -0.3), [1.0, -2.0, 0.5]
    np.testing.assert_allclose(rigid_inverse(pose), np.linalg.inv(pose), atol=1e-12)
    pts = np.random.default_rng(1).normal(size=(10, 3))
    np.testing.assert_allclose(affine(affine(pts, pose), rigid_inverse(pose)), pts, atol=1e-12)
    scaled, mirrored = pose.copy(), pose.copy()
    scaled[:3, :3] *= 2.0
    mirrored[:3, 0] *= -1.0
    for bad in (scaled, mirrored):
        with pytest.raises(ValueError, match='not a rigid pose'):
            rigid_inverse(bad)


def test_atan2_and_overlap_area_hand_worked():
    np.testing.assert_array_equal(atan2([1.0, 0.0, -1.0], [0.0, -1.0, 0.0]),
                                  [math.pi / 2, math.pi, -math.pi / 2])
    square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    shifted = [(x + 0.5, y + 0.25) for x, y in square]           # overlap 0.5 x 0.75
    assert convex_overlap_area(square, shifted) == pytest.approx(0.375)
    far = [(x + 2.0, y) for x, y in square]
    assert convex_overlap_area(square, far) == 0.0
    # |x - 0.5| + |y - 0.5| <= 0.75: area 2 * 0.75^2 = 1.125, minus 4 tips of height 0.25
    # and base 0.5 beyond the square's edges
    diamond = [(0.5, -0.25), (1.25, 0.5), (0.5, 1.25), (-0.25, 0.5)]
    assert convex_overlap_area(square, diamond) == pytest.approx(1.125 - 4 * 0.0625)
