"""CPU-independent float64 linear algebra for the synthetic generators.

numpy's ``@`` / ``dot`` / ``matmul`` / ``linalg`` go through OpenBLAS / LAPACK, whose kernels
are chosen per CPU and round differently (FMA or not, other summation orders), and numpy's
SIMD ``arctan2`` / ``exp`` / ``log`` loops also depend on the CPU (AVX-512, AVX2). The
generators' output bytes must not, so they use these helpers instead: each result is built
from numpy's elementwise multiplies and adds (IEEE-exact per element, never fused) in a
fixed order, left to right over the summed index, or from ``math`` on Python floats.
"""
import math
from typing import List, Sequence, Tuple

import numpy as np

__all__ = ['transform', 'affine', 'matmul', 'row_dot', 'vector_norm', 'row_norm',
           'rigid_inverse', 'atan2', 'convex_overlap_area']

#: tolerance of :func:`rigid_inverse` on ``R^T R = I`` (float32-exact poses are ~1e-7 off)
RIGID_ATOL = 1e-5


def transform(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``points @ matrix.T``: points (N, k), matrix (m, k) -> (N, m) float64, with
    ``out[:, i] = p[:, 0] * M[i, 0] + p[:, 1] * M[i, 1] + ...`` summed left to right."""
    p = np.asarray(points, np.float64)
    m = np.asarray(matrix, np.float64)
    if p.ndim != 2 or m.ndim != 2 or p.shape[1] != m.shape[1] or m.shape[1] == 0:
        raise ValueError(f'transform: need points (N, k) and matrix (m, k), got {p.shape} '
                         f'and {m.shape}')
    out = p[:, 0:1] * m[:, 0]
    for j in range(1, m.shape[1]):
        out = out + p[:, j:j + 1] * m[:, j]
    return out


def affine(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """``R p + t`` of points (N, 3) for a (3, 4) or (4, 4) ``pose = [R | t]`` -> (N, 3)."""
    pose = np.asarray(pose, np.float64)
    if pose.shape not in ((3, 4), (4, 4)):
        raise ValueError(f'affine: pose must be (3, 4) or (4, 4), got {pose.shape}')
    return transform(points, pose[:3, :3]) + pose[:3, 3]


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b``: a (n, k), b (k, m) -> (n, m) float64 (sums left to right over k)."""
    return transform(a, np.asarray(b, np.float64).T)


def row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product: a (N, k), b (N, k) or (k,) -> (N,) float64, summed left to
    right over k."""
    a = np.asarray(a, np.float64)
    b = np.broadcast_to(np.asarray(b, np.float64), a.shape)
    if a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f'row_dot: a must be (N, k) with k >= 1, got {a.shape}')
    out = a[:, 0] * b[:, 0]
    for j in range(1, a.shape[1]):
        out = out + a[:, j] * b[:, j]
    return out


def vector_norm(v: Sequence[float]) -> float:
    """Euclidean length of a (k,) vector: ``sqrt(v0*v0 + v1*v1 + ...)`` as a Python float."""
    total = 0.0
    for x in np.asarray(v, np.float64).reshape(-1).tolist():
        total = total + x * x
    return math.sqrt(total)


def row_norm(x: np.ndarray) -> np.ndarray:
    """Euclidean length of every row of x (N, k) -> (N,) float64."""
    return np.sqrt(row_dot(x, x))


def rigid_inverse(pose: np.ndarray, atol: float = RIGID_ATOL) -> np.ndarray:
    """Inverse ``[[R^T, -R^T t], [0, 1]]`` of a rigid 4x4 pose ``[[R, t], [0, 1]]``.

    Raises:
        ValueError: the last row is not (0, 0, 0, 1), ``R^T R`` differs from the identity by
            more than ``atol``, or ``det R <= 0`` (a reflection).
    """
    pose = np.asarray(pose, np.float64)
    if pose.shape != (4, 4) or not np.isfinite(pose).all():
        raise ValueError(f'rigid_inverse: pose must be a finite 4x4 matrix, got {pose.shape}')
    rot = pose[:3, :3]
    if not np.array_equal(pose[3], [0.0, 0.0, 0.0, 1.0]) or \
            np.abs(matmul(rot.T, rot) - np.eye(3)).max() > atol or \
            row_dot(np.cross(rot[:, 0], rot[:, 1])[None], rot[:, 2])[0] <= 0:
        raise ValueError(f'rigid_inverse: not a rigid pose (rotation and translation): '
                         f'{pose.tolist()}')
    out = np.eye(4)
    out[:3, :3] = rot.T
    out[:3, 3] = -transform(pose[None, :3, 3], rot.T)[0]
    return out


def atan2(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Elementwise ``math.atan2`` of equal-shape float arrays -> float64 array (numpy's
    ``arctan2`` picks an AVX-512 (SVML) loop on CPUs that have it)."""
    y, x = np.broadcast_arrays(np.asarray(y, np.float64), np.asarray(x, np.float64))
    flat = [math.atan2(a, b) for a, b in zip(y.reshape(-1).tolist(), x.reshape(-1).tolist())]
    return np.array(flat, np.float64).reshape(y.shape)


# ----------------------------------------------------------------------------- polygons
Point = Tuple[float, float]


def _clip(polygon: List[Point], a: Point, b: Point) -> List[Point]:
    """The part of ``polygon`` left of (or on) the directed line a -> b (Sutherland-Hodgman)."""
    def side(p: Point) -> float:
        return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])

    out: List[Point] = []
    for i, p in enumerate(polygon):
        q = polygon[(i + 1) % len(polygon)]
        sp, sq = side(p), side(q)
        if sp >= 0:
            out.append(p)
        if (sp >= 0) != (sq >= 0):
            t = sp / (sp - sq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def convex_overlap_area(a: Sequence[Point], b: Sequence[Point]) -> float:
    """Area of the intersection of two convex polygons given as counter-clockwise (x, y)
    vertex lists, on Python floats (``b`` clips ``a`` edge by edge; shoelace area)."""
    poly = [(float(x), float(y)) for x, y in a]
    for i in range(len(b)):
        if len(poly) < 3:
            return 0.0
        poly = _clip(poly, tuple(map(float, b[i])), tuple(map(float, b[(i + 1) % len(b)])))
    if len(poly) < 3:
        return 0.0
    twice = 0.0
    for i, p in enumerate(poly):
        q = poly[(i + 1) % len(poly)]
        twice = twice + (p[0] * q[1] - p[1] * q[0])
    return abs(twice) / 2
