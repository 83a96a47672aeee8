"""Ray-casting renderer of the synthetic scenes (conventions of
:mod:`crosspt.synthetic.cameras`).

Pixel (v, u) looks along the ray through image point (u, v) (pixel centres at integer
coordinates, so ``cx = (W - 1) / 2``), i.e. exactly the inverse of
:func:`crosspt.ops.backprojection.backproject_depth`. :func:`render_frame` casts one ray
per pixel against every primitive (exact ray-box slab and ray-cylinder formulas,
vectorised with numpy, rays culled per primitive by the projected bounding box; with the
camera inside the room the floor and wall slabs are intersected in one analytic pass)
and returns

- depth (H_d, W_d) uint16 millimetres of camera-frame z (not ray length), rounded to the
  nearest millimetre; 0 where nothing is hit or the depth exceeds ``max_depth`` (10 m);
- semantic (NYU40 id, 0 = none) and instance (0 = none) images at depth resolution;
- colour (H_c, W_c, 3) uint8 with the colour intrinsics, shaded by
  :mod:`crosspt.synthetic.shading`; pixels that see nothing get a constant light grey.
"""
import math
from typing import Dict, Optional, Tuple

import numpy as np

from .cameras import DEFAULT_DEPTH_SIZE, check_size
from .exact_math import affine, rigid_inverse
from .scene_model import FLOOR, WALL, Primitive, Scene
from .shading import primitive_table, shade, surface_albedo, surface_normals, to_uint8

DEFAULT_MAX_DEPTH = 10.0
BACKGROUND_RGB = (0.92, 0.92, 0.90)

__all__ = ['DEFAULT_MAX_DEPTH', 'render_frame']


def _pixel_rays(intrinsic: np.ndarray, size: Tuple[int, int], pose: np.ndarray
                ) -> Tuple[np.ndarray, np.ndarray]:
    """Ray origin (3,) and world directions (3, H, W) with camera-frame z = 1 (so the ray
    parameter is the depth)."""
    h, w = size
    k = np.asarray(intrinsic, np.float64)
    if k.shape not in ((3, 3), (4, 4)) or k[0, 0] <= 0 or k[1, 1] <= 0:
        raise ValueError(f'intrinsics must be 3x3 or 4x4 with positive focal lengths, got '
                         f'{k.tolist()}')
    bx, by = (k[0, 3], k[1, 3]) if k.shape == (4, 4) else (0.0, 0.0)
    u = (np.arange(w, dtype=np.float64) - k[0, 2]) / k[0, 0]
    v = (np.arange(h, dtype=np.float64) - k[1, 2]) / k[1, 1]
    rot = pose[:3, :3]
    dirs = (rot[:, 0, None, None] * u[None, None, :] + rot[:, 1, None, None] * v[None, :, None]
            + rot[:, 2, None, None])
    origin = pose[:3, 3] + rot[:, 0] * bx + rot[:, 1] * by
    return origin, np.ascontiguousarray(dirs)


_BOX_EDGES = tuple((i, i ^ bit) for i in range(8) for bit in (1, 2, 4) if i < i ^ bit)
_NEAR = 1e-3


def _screen_rect(prim: Primitive, world_to_cam: np.ndarray, intrinsic: np.ndarray,
                 size: Tuple[int, int]) -> Optional[Tuple[int, int, int, int]]:
    """Conservative pixel rectangle (v0, v1, u0, u1) (end-exclusive) that can see the
    primitive's bounding box: the projection of the part of the box in front of the
    plane z_cam = 1 mm (corners in front plus the box edges' crossings of that plane);
    None when nothing of it is in front or in view."""
    h, w = size
    corners = np.array([[x, y, z] for x in (prim.lo[0], prim.hi[0])
                        for y in (prim.lo[1], prim.hi[1]) for z in (prim.lo[2], prim.hi[2])])
    cam = affine(corners, world_to_cam)
    z = cam[:, 2]
    front = z > _NEAR
    if not front.any():
        return None
    points = [cam[front]]
    if not front.all():
        for i, j in _BOX_EDGES:
            if front[i] != front[j]:
                s = (_NEAR - z[i]) / (z[j] - z[i])
                points.append((cam[i] + s * (cam[j] - cam[i]))[None])
    pts = np.concatenate(points)
    k = intrinsic
    bx, by = (k[0, 3], k[1, 3]) if k.shape == (4, 4) else (0.0, 0.0)
    u = (pts[:, 0] - bx) / np.maximum(pts[:, 2], _NEAR) * k[0, 0] + k[0, 2]
    v = (pts[:, 1] - by) / np.maximum(pts[:, 2], _NEAR) * k[1, 1] + k[1, 2]
    u0 = max(int(math.floor(max(u.min(), -1.0))) - 2, 0)
    u1 = min(int(math.ceil(min(u.max(), w + 1.0))) + 3, w)
    v0 = max(int(math.floor(max(v.min(), -1.0))) - 2, 0)
    v1 = min(int(math.ceil(min(v.max(), h + 1.0))) + 3, h)
    if u0 >= u1 or v0 >= v1:
        return None
    return v0, v1, u0, u1


def _hit_box(o: np.ndarray, d: np.ndarray, inv: np.ndarray, lo: np.ndarray, hi: np.ndarray
             ) -> Tuple[np.ndarray, np.ndarray]:
    """Slab test of rays ``o + t d`` (d, inv = 1 / d: (3, ...)) against the box.

    Returns the entry distance (inf when missed) and the entry face code (0..5 =
    -x, +x, -y, +y, -z, +z; meaningful where hit).
    """
    near = np.full(d.shape[1:], -np.inf)
    far = np.full(d.shape[1:], np.inf)
    entry = []
    for a in range(3):
        t1 = (lo[a] - o[a]) * inv[a]
        t2 = (hi[a] - o[a]) * inv[a]
        entry.append(np.minimum(t1, t2))
        np.maximum(near, entry[a], out=near)
        np.minimum(far, np.maximum(t1, t2), out=far)
    t = np.where((near <= far) & (near > 0), near, np.inf)
    axis = np.where(entry[0] == near, 0, np.where(entry[1] == near, 1, 2))
    negative = np.where(axis == 0, d[0] < 0, np.where(axis == 1, d[1] < 0, d[2] < 0))
    return t, (2 * axis + negative).astype(np.int8)


def _hit_cylinder(o: np.ndarray, d: np.ndarray, prim: Primitive
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """Entry distance of rays into the vertical capped cylinder (inf when missed) and the
    face code (4 = bottom cap, 5 = top cap, 6 = side)."""
    c, r = prim.centre, prim.radius
    z0, z1 = prim.lo[2], prim.hi[2]
    px, py = o[0] - c[0], o[1] - c[1]
    a = d[0] ** 2 + d[1] ** 2
    b = 2 * (px * d[0] + py * d[1])
    cc = px * px + py * py - r * r
    disc = b * b - 4 * a * cc
    with np.errstate(divide='ignore', invalid='ignore'):
        t_side = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)
    z = o[2] + t_side * d[2]
    side = (disc >= 0) & (a > 0) & (t_side > 0) & (z >= z0) & (z <= z1)
    best = np.where(side, t_side, np.inf)
    face = np.full(best.shape, 6, np.int8)
    for zc, code, facing in ((z1, 5, o[2] > z1), (z0, 4, o[2] < z0)):
        if not facing:
            continue
        with np.errstate(divide='ignore', invalid='ignore'):
            t_cap = (zc - o[2]) / d[2]
        x, y = px + t_cap * d[0], py + t_cap * d[1]
        cap = (t_cap > 0) & (x * x + y * y <= r * r) & (t_cap < best)
        best = np.where(cap, t_cap, best)
        face[cap] = code
    return best, face


def _hit_room(o: np.ndarray, d: np.ndarray, inv: np.ndarray, size: Tuple[float, float, float]
              ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where rays from ``o`` inside the room leave the open-topped box
    ``[0, Lx] x [0, Ly] x [0, inf)``: through the floor (primitive 0) or a wall below its
    top (primitives 1..4 = west, east, south, north); above the walls nothing is hit.
    Same geometry as casting against the floor/wall slabs, in one pass.

    Returns distance (inf = miss), primitive index (-1 = miss) and face code.
    """
    lx, ly, h = size
    with np.errstate(invalid='ignore'):
        tx = np.where(d[0] > 0, (lx - o[0]) * inv[0], np.where(d[0] < 0, -o[0] * inv[0], np.inf))
        ty = np.where(d[1] > 0, (ly - o[1]) * inv[1], np.where(d[1] < 0, -o[1] * inv[1], np.inf))
        tz = np.where(d[2] < 0, -o[2] * inv[2], np.inf)
    t = np.minimum(np.minimum(tx, ty), tz)
    prim = np.where(tz == t, 0, np.where(tx == t, np.where(d[0] < 0, 1, 2),
                                         np.where(d[1] < 0, 3, 4))).astype(np.int32)
    face = np.array([5, 1, 0, 3, 2], np.int8)[prim]
    miss = ~np.isfinite(t) | ((prim > 0) & (o[2] + t * d[2] > h))
    return np.where(miss, np.inf, t), np.where(miss, -1, prim), face


def _room_is_standard(scene: Scene) -> bool:
    """True when primitives 0..4 are the floor and west/east/south/north walls of
    :func:`generate_scene`, so :func:`_hit_room` may replace them."""
    lx, ly, _ = scene.size
    if len(scene.primitives) < 5:
        return False
    expected = [(FLOOR, 2, 0.0), (WALL, 0, 0.0), (WALL, 0, lx), (WALL, 1, 0.0), (WALL, 1, ly)]
    for prim, (label, axis, plane) in zip(scene.primitives[:5], expected):
        if prim.label != label or prim.kind != 'box':
            return False
        inner = prim.hi[axis] if plane == 0.0 else prim.lo[axis]
        if inner != plane:
            return False
    return True


def _cast(scene: Scene, pose: np.ndarray, intrinsic: np.ndarray, size: Tuple[int, int]
          ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Closest hit per pixel: depth t (H, W) (inf = miss), primitive index (H, W) int32
    (-1 = miss), face code (H, W) int8, ray origin (3,) and directions (3, H, W)."""
    origin, dirs = _pixel_rays(intrinsic, size, pose)
    with np.errstate(divide='ignore'):
        inv = 1.0 / dirs
    lx, ly, h = scene.size
    first = 0
    if _room_is_standard(scene) and 0 < origin[0] < lx and 0 < origin[1] < ly \
            and 0 < origin[2] < h:
        t_best, prim_best, face_best = _hit_room(origin, dirs, inv, scene.size)
        first = 5
    else:
        t_best = np.full(size, np.inf)
        prim_best = np.full(size, -1, np.int32)
        face_best = np.zeros(size, np.int8)
    world_to_cam = rigid_inverse(pose)
    k = np.asarray(intrinsic, np.float64)
    for index in range(first, len(scene.primitives)):
        prim = scene.primitives[index]
        rect = _screen_rect(prim, world_to_cam, k, size)
        if rect is None:
            continue
        v0, v1, u0, u1 = rect
        d = dirs[:, v0:v1, u0:u1]
        if prim.kind == 'box':
            t, face = _hit_box(origin, d, inv[:, v0:v1, u0:u1], prim.lo, prim.hi)
        else:
            t, face = _hit_cylinder(origin, d, prim)
        tb = t_best[v0:v1, u0:u1]
        closer = t < tb
        tb[closer] = t[closer]
        prim_best[v0:v1, u0:u1][closer] = index
        face_best[v0:v1, u0:u1][closer] = face[closer]
    return t_best, prim_best, face_best, origin, dirs


def render_frame(scene: Scene, pose: np.ndarray, intrinsic_depth: np.ndarray,
                 depth_size: Tuple[int, int] = DEFAULT_DEPTH_SIZE,
                 intrinsic_color: Optional[np.ndarray] = None,
                 color_size: Optional[Tuple[int, int]] = None,
                 max_depth: float = DEFAULT_MAX_DEPTH) -> Dict[str, np.ndarray]:
    """Ray-cast one RGB-D frame of ``scene`` (conventions in the module docstring).

    Args:
        scene: from :func:`generate_scene`.
        pose: 4x4 rigid camera-to-world (finite; rotation and translation only, else
            ValueError from :func:`crosspt.synthetic.exact_math.rigid_inverse`).
        intrinsic_depth: 3x3/4x4 depth intrinsics; ``depth_size`` (H_d, W_d).
        intrinsic_color, color_size: colour intrinsics and (H_c, W_c); both None = no
            colour image.
        max_depth: metres; hits whose depth in millimetres exceeds ``1000 * max_depth``
            count as no hit.
    Returns:
        ``depth`` (H_d, W_d) uint16 mm, ``semantic`` (H_d, W_d) uint16 NYU40 ids,
        ``instance`` (H_d, W_d) uint16 ids (0 = no hit for all three) and, when asked,
        ``color`` (H_c, W_c, 3) uint8.
    """
    pose = np.asarray(pose, np.float64)
    if pose.shape != (4, 4) or not np.isfinite(pose).all():
        raise ValueError(f'render_frame({scene.name}): pose must be a finite 4x4 '
                         f'camera-to-world matrix, got shape {pose.shape}')
    if not max_depth > 0 or max_depth * 1000 > 65535:
        raise ValueError(f'render_frame: max_depth must be in (0, 65.535] m, got {max_depth}')
    if (intrinsic_color is None) != (color_size is None):
        raise ValueError('render_frame: give both intrinsic_color and color_size, or neither')
    depth_size = check_size('depth_size', depth_size)
    table = primitive_table(scene)
    t, prim, _, _, _ = _cast(scene, pose, intrinsic_depth, depth_size)
    mm = np.rint(np.where(np.isfinite(t), t, 0.0) * 1000.0)
    valid = np.isfinite(t) & (mm >= 1) & (mm <= max_depth * 1000.0)
    out = {'depth': np.where(valid, mm, 0).astype(np.uint16),
           'semantic': np.where(valid, table['label'][prim], 0).astype(np.uint16),
           'instance': np.where(valid, table['instance'][prim], 0).astype(np.uint16)}
    if color_size is not None:
        color_size = check_size('color_size', color_size)
        t, prim, face, origin, dirs = _cast(scene, pose, intrinsic_color, color_size)
        rgb = np.empty(color_size + (3,))
        rgb[...] = BACKGROUND_RGB
        hit = np.isfinite(t) & (t <= max_depth)
        points = origin + (dirs[:, hit] * t[hit]).T
        ids, faces = prim[hit], face[hit]
        normals = surface_normals(points, ids, faces, table)
        rgb[hit] = shade(surface_albedo(points, faces, ids, table), normals)
        out['color'] = to_uint8(rgb)
    return out
