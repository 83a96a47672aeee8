"""Surface colour of the synthetic scenes: albedo = base colour modulated by the
primitive's procedural texture, Lambertian shading with two fixed directional lights plus
ambient (walls of different orientation differ in brightness). Shared by the renderer
(:mod:`crosspt.synthetic.scene_renderer`) and the point sampler
(:mod:`crosspt.synthetic.scene_points`).
"""
import math
from typing import Dict

import numpy as np

from .exact_math import atan2, row_dot, row_norm, vector_norm
from .scene_model import TEXTURES, Scene

# two directional lights (unit vector towards the light, strength) and ambient, chosen so
# that the four wall orientations get clearly different brightness (+x 0.35, -y 0.43,
# +y 0.51, -x 0.59; floor 0.84)
_LIGHTS = tuple((np.array(v) / vector_norm(v), w) for v, w in
                (((0.111, 0.467, 0.877), 0.45), ((-0.829, -0.371, 0.418), 0.35)))
_AMBIENT = 0.3

__all__ = ['primitive_table', 'surface_normals', 'surface_albedo', 'shade', 'to_uint8']


def primitive_table(scene: Scene) -> Dict[str, np.ndarray]:
    prims = scene.primitives
    return {
        'lo': np.array([p.lo for p in prims]), 'hi': np.array([p.hi for p in prims]),
        'instance': np.array([p.instance for p in prims], np.int64),
        'label': np.array([p.label for p in prims], np.int64),
        'color': np.array([p.color for p in prims]),
        'texture': np.array([TEXTURES.index(p.texture) for p in prims]),
        'cos': np.cos([p.angle for p in prims]), 'sin': np.sin([p.angle for p in prims]),
        'inv_period': 1.0 / np.array([p.period for p in prims]),
        'contrast': np.array([p.contrast for p in prims]),
        'phase': np.array([p.phase for p in prims]),
    }


_FACE_NORMALS = np.array([[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1],
                          [0, 0, 0]], np.float64)


def surface_normals(points: np.ndarray, prim: np.ndarray, face: np.ndarray,
             table: Dict[str, np.ndarray]) -> np.ndarray:
    """Outward unit normals (N, 3) of surface points (N, 3) on face ``face`` (N,) of
    primitive ``prim`` (N,) (face codes as in :class:`Primitive`)."""
    normals = _FACE_NORMALS[face]
    side = face == 6
    if side.any():
        centre = 0.5 * (table['lo'][prim[side], :2] + table['hi'][prim[side], :2])
        radial = points[side, :2] - centre
        normals[side, :2] = radial / np.maximum(row_norm(radial), 1e-12)[:, None]
    return normals


def surface_albedo(points: np.ndarray, face: np.ndarray, prim: np.ndarray,
            table: Dict[str, np.ndarray]) -> np.ndarray:
    """Textured base colour (N, 3) in [0, 1] of surface points (N, 3) on faces ``face``
    of primitives ``prim``; the texture is a function of the two world coordinates
    spanning the face (arc length and z on cylinder sides), rotated by the primitive's
    ``angle`` and divided by its ``period``."""
    axis = face // 2
    s = np.where(axis == 0, points[:, 1], points[:, 0])
    t = np.where(axis == 2, points[:, 1], points[:, 2])
    cyl_side = face == 6
    if cyl_side.any():
        ids = prim[cyl_side]
        c = 0.5 * (table['lo'][ids, :2] + table['hi'][ids, :2])
        r = 0.5 * (table['hi'][ids, 0] - table['lo'][ids, 0])
        rel = points[cyl_side, :2] - c
        s[cyl_side] = r * atan2(rel[:, 1], rel[:, 0])
    kind = table['texture'][prim]
    pattern = np.zeros(len(points))
    two_pi = 2 * math.pi
    for name in TEXTURES[1:]:
        sel = np.flatnonzero(kind == TEXTURES.index(name))
        if not len(sel):
            continue
        ids = prim[sel]
        ca, sa, scale = table['cos'][ids], table['sin'][ids], table['inv_period'][ids]
        a = (s[sel] * ca + t[sel] * sa) * scale
        b = (t[sel] * ca - s[sel] * sa) * scale
        phase = table['phase'][ids]
        if name == 'stripes':
            value = 0.5 + 0.5 * np.sin(two_pi * a + phase)
        elif name == 'checker':
            value = (np.floor(a) + np.floor(b)) % 2
        elif name == 'wood':
            value = (0.5 + 0.5 * np.sin(two_pi * (a + 0.2 * np.sin(two_pi * b / 8 + phase)))) ** 2
        elif name == 'planks':
            board = np.floor(b)
            grain = 0.5 + 0.5 * np.sin(two_pi * (a / 3 + 0.37 * board) + phase)
            value = np.where(b - board < 0.06, 1.0, 0.4 * grain)
        else:  # grid
            value = ((a - np.floor(a) < 0.08) | (b - np.floor(b) < 0.08)).astype(np.float64)
        pattern[sel] = value
    return table['color'][prim] * (1.0 - table['contrast'][prim] * pattern)[:, None]


def shade(albedo: np.ndarray, normals: np.ndarray) -> np.ndarray:
    light = np.full(len(normals), _AMBIENT)
    for direction, strength in _LIGHTS:
        light += strength * np.maximum(row_dot(normals, direction), 0.0)
    return np.clip(albedo * light[:, None], 0.0, 1.0)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
