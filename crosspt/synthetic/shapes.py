"""Procedural object meshes: primitives (box, cylinder, cone, sphere, torus) and eight
categories built from them with random proportions, Y-up like MVCNN's meshes.

Used by the TAP ShapeNet55 stand-in (:mod:`crosspt.synthetic.shapenet55`) and the
downstream object stand-ins (:mod:`crosspt.synthetic.objects`).
"""
import copy
import math
from typing import Callable, Dict, List, Tuple

import numpy as np

from crosspt.rendering.mesh_io import sample_triangles

from .exact_math import row_norm, transform

Mesh = Tuple[np.ndarray, np.ndarray]

SYNTHETIC_CATEGORIES = ('table', 'chair', 'lamp', 'mug', 'airplane', 'bottle', 'sofa', 'bench')

__all__ = ['Mesh', 'SYNTHETIC_CATEGORIES', 'BUILDERS', 'box', 'cylinder', 'cone', 'sphere',
           'torus', 'merge', 'make_object', 'sample_object']


# ----------------------------------------------------------------------------- primitives
def _axis_frame(axis: str) -> np.ndarray:
    """Rotation taking the local +y (primitive axis) to the named world axis."""
    if axis == 'y':
        return np.eye(3)
    if axis == 'x':
        return np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    if axis == 'z':
        return np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
    raise KeyError(f'axis must be x, y or z, got {axis!r}')


def _place(vertices: np.ndarray, center, axis: str = 'y') -> np.ndarray:
    return transform(vertices, _axis_frame(axis)) + np.asarray(center, dtype=np.float64)


def box(center, size) -> Mesh:
    """Axis-aligned box: 8 vertices, 12 triangles."""
    corners = np.array([[x, y, z] for x in (-.5, .5) for y in (-.5, .5) for z in (-.5, .5)])
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return corners * np.asarray(size, dtype=np.float64) + np.asarray(center), faces


def _ring_faces(rings: int, seg: int) -> np.ndarray:
    """Quads between consecutive rings of ``seg`` vertices, as triangles."""
    i, j = np.meshgrid(np.arange(rings - 1), np.arange(seg), indexing='ij')
    a = i * seg + j
    b = i * seg + (j + 1) % seg
    c = a + seg
    d = b + seg
    return np.concatenate([np.stack([a, b, d], -1), np.stack([a, d, c], -1)]).reshape(-1, 3)


def _lathe(radii: np.ndarray, heights: np.ndarray, center, axis: str, seg: int) -> Mesh:
    """Surface of revolution about local y, closed with centre vertices at both ends."""
    ang = np.linspace(0, 2 * np.pi, seg, endpoint=False)
    ring = np.stack([np.cos(ang), np.zeros(seg), np.sin(ang)], -1)
    verts = (ring[None] * radii[:, None, None]).reshape(-1, 3)
    verts[:, 1] = np.repeat(heights, seg)
    faces = [_ring_faces(len(radii), seg)]
    n = len(verts)
    caps = np.array([[0.0, heights[0], 0.0], [0.0, heights[-1], 0.0]])
    j = np.arange(seg)
    faces.append(np.stack([np.full(seg, n), (j + 1) % seg, j], -1))
    last = (len(radii) - 1) * seg
    faces.append(np.stack([np.full(seg, n + 1), last + j, last + (j + 1) % seg], -1))
    verts = np.concatenate([verts, caps])
    return _place(verts, center, axis), np.concatenate(faces)


def cylinder(center, radius: float, height: float, axis: str = 'y', seg: int = 24) -> Mesh:
    """Closed cylinder centred at ``center`` along ``axis``."""
    return _lathe(np.array([radius, radius]), np.array([-height / 2, height / 2]), center,
                  axis, seg)


def cone(base_center, radius: float, height: float, axis: str = 'y', seg: int = 24,
         top_radius: float = 0.0) -> Mesh:
    """Closed (truncated) cone from ``base_center`` along +axis."""
    return _lathe(np.array([radius, max(top_radius, 1e-4)]), np.array([0.0, height]),
                  base_center, axis, seg)


def sphere(center, radius: float, n_lat: int = 12, n_lon: int = 20) -> Mesh:
    """UV sphere."""
    lat = np.linspace(0, np.pi, n_lat + 1)[1:-1]
    return _lathe(radius * np.sin(lat), -radius * np.cos(lat), center, 'y', n_lon)


def torus(center, major: float, minor: float, axis: str = 'y', seg: int = 24,
          tube_seg: int = 10) -> Mesh:
    """Torus around ``axis``."""
    u = np.linspace(0, 2 * np.pi, seg, endpoint=False)
    v = np.linspace(0, 2 * np.pi, tube_seg, endpoint=False)
    uu, vv = np.meshgrid(u, v, indexing='ij')
    rad = major + minor * np.cos(vv)
    verts = np.stack([rad * np.cos(uu), minor * np.sin(vv), rad * np.sin(uu)], -1).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(seg), np.arange(tube_seg), indexing='ij')
    a = i * tube_seg + j
    b = i * tube_seg + (j + 1) % tube_seg
    c = ((i + 1) % seg) * tube_seg + j
    d = ((i + 1) % seg) * tube_seg + (j + 1) % tube_seg
    faces = np.concatenate([np.stack([a, b, d], -1), np.stack([a, d, c], -1)]).reshape(-1, 3)
    return _place(verts, center, axis), faces


def merge(*meshes: Mesh) -> Mesh:
    """Concatenate meshes into one (vertices (V, 3), faces (F, 3))."""
    verts, faces, offset = [], [], 0
    for v, f in meshes:
        verts.append(np.asarray(v, dtype=np.float64))
        faces.append(np.asarray(f, dtype=np.int64) + offset)
        offset += len(v)
    return np.concatenate(verts), np.concatenate(faces)


# ----------------------------------------------------------------------------- categories
def _table(rng: np.random.Generator) -> List[Mesh]:
    w, d, h = rng.uniform(1.0, 1.6), rng.uniform(0.6, 1.0), rng.uniform(0.6, 0.9)
    top, leg = rng.uniform(0.04, 0.08), rng.uniform(0.05, 0.09)
    parts = [box([0, h - top / 2, 0], [w, top, d])]
    for sx in (-1, 1):
        for sz in (-1, 1):
            parts.append(box([sx * (w / 2 - leg), (h - top) / 2, sz * (d / 2 - leg)],
                             [leg, h - top, leg]))
    dw = rng.uniform(0.25, 0.4) * w   # drawer on one side only
    parts.append(box([w / 2 - leg - dw / 2, h - top - 0.08, 0], [dw, 0.16, d * 0.8]))
    return parts


def _chair(rng: np.random.Generator) -> List[Mesh]:
    w, d, h = rng.uniform(0.45, 0.6), rng.uniform(0.45, 0.6), rng.uniform(0.4, 0.5)
    back, leg, seat = rng.uniform(0.45, 0.7), rng.uniform(0.035, 0.06), 0.06
    parts = [box([0, h, 0], [w, seat, d]),
             box([0, h + seat / 2 + back / 2, -d / 2 + 0.03], [w, back, 0.06])]
    for sx in (-1, 1):
        for sz in (-1, 1):
            parts.append(box([sx * (w / 2 - leg), (h - seat / 2) / 2, sz * (d / 2 - leg)],
                             [leg, h - seat / 2, leg]))
    if rng.uniform() < 0.7:  # a single armrest
        parts.append(box([w / 2 - 0.03, h + 0.2, 0.0], [0.05, 0.04, d * 0.9]))
        parts.append(box([w / 2 - 0.03, h + 0.1, d * 0.4], [0.04, 0.2, 0.04]))
    return parts


def _lamp(rng: np.random.Generator) -> List[Mesh]:
    base_r, pole_h = rng.uniform(0.18, 0.3), rng.uniform(0.8, 1.3)
    arm = rng.uniform(0.3, 0.55)
    pole_r = rng.uniform(0.025, 0.04)
    shade_r, shade_h = rng.uniform(0.12, 0.2), rng.uniform(0.15, 0.25)
    return [cylinder([0, 0.03, 0], base_r, 0.06),
            cylinder([0, pole_h / 2, 0], pole_r, pole_h),
            cylinder([arm / 2, pole_h, 0], pole_r * 0.8, arm, axis='x'),
            cone([arm, pole_h - shade_h + 0.02, 0], shade_r, shade_h, top_radius=shade_r * 0.3),
            sphere([0, pole_h, 0], pole_r * 1.6, 6, 10)]


def _mug(rng: np.random.Generator) -> List[Mesh]:
    r, h = rng.uniform(0.3, 0.45), rng.uniform(0.6, 1.0)
    handle = rng.uniform(0.18, 0.26) * h / 0.8
    return [cylinder([0, h / 2, 0], r, h, seg=32),
            torus([r, h * 0.55, 0], handle, rng.uniform(0.035, 0.06), axis='z'),
            cylinder([0, h + 0.01, 0], r * 0.9, 0.02, seg=32)]


def _airplane(rng: np.random.Generator) -> List[Mesh]:
    length, fr = rng.uniform(1.6, 2.2), rng.uniform(0.09, 0.14)
    span, chord = rng.uniform(1.4, 2.0), rng.uniform(0.25, 0.4)
    wing_x = rng.uniform(-0.1, 0.15)
    return [cylinder([0, 0, 0], fr, length, axis='x', seg=16),
            cone([length / 2, 0, 0], fr, rng.uniform(0.2, 0.35), axis='x', seg=16),
            box([wing_x, -fr * 0.3, 0], [chord, 0.04, span]),
            box([-length / 2 + 0.12, fr + 0.15, 0], [0.22, 0.3, 0.03]),
            box([-length / 2 + 0.1, 0.02, 0], [0.15, 0.03, span * 0.35]),
            cylinder([wing_x + 0.05, -fr * 0.3 - 0.07, span * 0.25], 0.05, 0.25, axis='x',
                     seg=12)]


def _bottle(rng: np.random.Generator) -> List[Mesh]:
    r, body = rng.uniform(0.18, 0.28), rng.uniform(0.6, 0.9)
    shoulder, neck_r, neck = rng.uniform(0.12, 0.2), rng.uniform(0.06, 0.09), rng.uniform(0.15, 0.3)
    return [cylinder([0, body / 2, 0], r, body, seg=28),
            cone([0, body, 0], r, shoulder, seg=28, top_radius=neck_r),
            cylinder([0, body + shoulder + neck / 2, 0], neck_r, neck, seg=20),
            cylinder([0, body + shoulder + neck + 0.03, 0], neck_r * 1.2, 0.06, seg=20),
            torus([r + 0.04, body * 0.6, 0], body * 0.18, 0.03, axis='z')]


def _sofa(rng: np.random.Generator) -> List[Mesh]:
    w, d, h = rng.uniform(1.6, 2.2), rng.uniform(0.7, 0.9), rng.uniform(0.35, 0.45)
    back_h, arm_w = rng.uniform(0.35, 0.5), rng.uniform(0.12, 0.2)
    parts = [box([0, h / 2, 0], [w, h, d]),
             box([0, h + back_h / 2, -d / 2 + 0.1], [w, back_h, 0.2]),
             box([-w / 2 + arm_w / 2, h + 0.12, 0], [arm_w, 0.24, d])]
    chaise = rng.uniform(0.5, 0.8)  # L-shaped chaise on the right side
    parts.append(box([w / 2 - 0.35, h / 2, d / 2 + chaise / 2], [0.7, h, chaise]))
    return parts


def _bench(rng: np.random.Generator) -> List[Mesh]:
    w, d, h = rng.uniform(1.2, 1.8), rng.uniform(0.3, 0.45), rng.uniform(0.4, 0.5)
    parts = [box([0, h, 0], [w, 0.05, d])]
    for sx in (-1, 1):
        parts.append(box([sx * (w / 2 - 0.1), h / 2, 0], [0.06, h, d * 0.9]))
    back = rng.uniform(0.25, 0.4)
    parts.append(box([0, h + back / 2 + 0.1, -d / 2], [w, back, 0.04]))
    parts.append(box([-w / 2 + 0.1, h + 0.05, -d / 2], [0.05, 0.2, 0.05]))
    parts.append(box([w * 0.3, h + 0.04, 0.05], [0.25, 0.04, 0.2]))  # a board on the seat
    return parts


BUILDERS: Dict[str, Callable[[np.random.Generator], List[Mesh]]] = {
    'table': _table, 'chair': _chair, 'lamp': _lamp, 'mug': _mug, 'airplane': _airplane,
    'bottle': _bottle, 'sofa': _sofa, 'bench': _bench}


def make_object(category: str, rng: np.random.Generator) -> Mesh:
    """Random Y-up mesh of one category, centred on its bounding box, longest side 1.

    Returns:
        vertices (V, 3) float64 and faces (F, 3) int64.
    """
    if category not in BUILDERS:
        raise KeyError(f'unknown synthetic category {category!r}; expected one of '
                       f'{SYNTHETIC_CATEGORIES}')
    vertices, faces = merge(*BUILDERS[category](rng))
    yaw = rng.uniform(-0.25, 0.25)  # small random turn about the up axis
    c, s = math.cos(yaw), math.sin(yaw)
    vertices = transform(vertices, np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]))
    low, high = vertices.min(0), vertices.max(0)
    vertices = (vertices - (low + high) / 2) / (high - low).max()
    return vertices, faces




def sample_object(category: str, rng: np.random.Generator, num_points: int
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fresh ``make_object(category, rng)`` mesh sampled at ``num_points`` surface points.

    Returns:
        points (M, 3) float64, normals (M, 3) float64 unit, primitive (M,) int64 index
        of the builder primitive each point lies on.
    """
    primitives = BUILDERS[category](copy.deepcopy(rng))  # make_object draws these first
    vertices, faces = make_object(category, rng)
    face_counts = [len(f) for _, f in primitives]
    if sum(face_counts) != len(faces):
        raise RuntimeError(f'sample_object: primitive faces of {category!r} do not add up')
    face_prim = np.repeat(np.arange(len(primitives)), face_counts)
    vert_prim = np.repeat(np.arange(len(primitives)), [len(v) for v, _ in primitives])
    centres = np.stack([vertices[vert_prim == p].mean(0) for p in range(len(primitives))])
    tri = vertices[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = 0.5 * row_norm(cross)
    face, points = sample_triangles(tri, area, num_points, rng)
    normals = cross[face] / (2 * area[face])[:, None]
    prim = face_prim[face]
    outward = np.sign(((points - centres[prim]) * normals).sum(1))
    normals *= np.where(outward == 0, 1.0, outward)[:, None]
    return points, normals, prim
