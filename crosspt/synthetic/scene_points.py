"""Labelled surface point clouds and boxes of the synthetic scenes (ScanNet-style
segmentation / detection, docs/methods/benchmarks.md, 'ScanNet semantic segmentation')."""
import math
from typing import List, Tuple

import numpy as np

from .scene_model import FLOOR, WALL, Primitive, Scene
from .shading import primitive_table, shade, surface_albedo, surface_normals, to_uint8

__all__ = ['sample_scene_points', 'scene_boxes']


def _face_samples(prim: Primitive, face: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n uniform points (n, 3) on one face of a primitive."""
    lo, hi = prim.lo, prim.hi
    if prim.kind == 'cylinder' and face == 6:
        c, r = prim.centre, prim.radius
        a = rng.uniform(0, 2 * math.pi, n)
        return np.stack([c[0] + r * np.cos(a), c[1] + r * np.sin(a),
                         rng.uniform(lo[2], hi[2], n)], 1)
    if prim.kind == 'cylinder':
        c, r = prim.centre, prim.radius
        a, rho = rng.uniform(0, 2 * math.pi, n), r * np.sqrt(rng.uniform(0, 1, n))
        z = hi[2] if face == 5 else lo[2]
        return np.stack([c[0] + rho * np.cos(a), c[1] + rho * np.sin(a), np.full(n, z)], 1)
    axis = face // 2
    pts = rng.uniform(lo, hi, (n, 3))
    pts[:, axis] = hi[axis] if face % 2 else lo[axis]
    return pts


def _face_area(prim: Primitive, face: int) -> float:
    ext = prim.hi - prim.lo
    if prim.kind == 'cylinder':
        r = prim.radius
        return 2 * math.pi * r * ext[2] if face == 6 else math.pi * r * r
    a, b = [ext[i] for i in range(3) if i != face // 2]
    return float(a * b)


def _inside_other(points: np.ndarray, owner: np.ndarray, scene: Scene,
                  tol: float = 1e-6) -> np.ndarray:
    """True where a point lies in or on a primitive other than its own (hidden surface)."""
    hidden = np.zeros(len(points), bool)
    for k, p in enumerate(scene.primitives):
        cand = np.all(points >= p.lo - tol, axis=1) & np.all(points <= p.hi + tol, axis=1)
        cand &= owner != k
        if p.kind == 'cylinder' and cand.any():
            rel = points[cand, :2] - p.centre[:2]
            cand[cand] = (rel ** 2).sum(1) <= (p.radius + tol) ** 2
        hidden |= cand
    return hidden


def sample_scene_points(scene: Scene, num_points: int, rng: np.random.Generator
                        ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Uniform (area-weighted) samples of the scene surfaces that face the room.

    Room slabs contribute only their face towards the room; every other primitive all
    its faces; points that lie in or on another primitive (faces on the floor, against a
    wall, or covered by a touching part) are rejected, so the samples are uniform over
    the visible surface.

    Returns:
        xyz (N, 3) float32 world (z-up), rgb (N, 3) uint8 (texture with the renderer's
        fixed lighting), semantic (N,) int64 NYU40 ids, instance (N,) int64 ids.
    """
    if isinstance(num_points, bool) or not isinstance(num_points, (int, np.integer)) \
            or num_points < 1:
        raise ValueError(f'sample_scene_points: num_points must be a positive int, '
                         f'got {num_points!r}')
    faces: List[Tuple[int, int]] = []
    for k, p in enumerate(scene.primitives):
        all_faces = (4, 5, 6) if p.kind == 'cylinder' else tuple(range(6))
        faces.extend((k, f) for f in (p.faces if p.faces is not None else all_faces))
    area = np.array([_face_area(scene.primitives[k], f) for k, f in faces])
    prob = area / area.sum()
    kept_pts, kept_owner, kept_face, total = [], [], [], 0
    for _ in range(100):
        n = int(1.5 * (num_points - total)) + 64
        counts = rng.multinomial(n, prob)
        pts, owner, face = [], [], []
        for (k, f), c in zip(faces, counts):
            if c:
                pts.append(_face_samples(scene.primitives[k], f, int(c), rng))
                owner.append(np.full(int(c), k))
                face.append(np.full(int(c), f, np.int8))
        pts_a, owner_a, face_a = np.concatenate(pts), np.concatenate(owner), np.concatenate(face)
        order = rng.permutation(len(pts_a))
        pts_a, owner_a, face_a = pts_a[order], owner_a[order], face_a[order]
        keep = ~_inside_other(pts_a, owner_a, scene)
        kept_pts.append(pts_a[keep])
        kept_owner.append(owner_a[keep])
        kept_face.append(face_a[keep])
        total += int(keep.sum())
        if total >= num_points:
            break
    else:
        raise RuntimeError(f'sample_scene_points({scene.name}): could not draw {num_points} '
                           'visible surface points')
    xyz = np.concatenate(kept_pts)[:num_points]
    owner = np.concatenate(kept_owner)[:num_points]
    face = np.concatenate(kept_face)[:num_points]
    table = primitive_table(scene)
    normals = surface_normals(xyz, owner, face, table)
    rgb = to_uint8(shade(surface_albedo(xyz, face, owner, table), normals))
    return (xyz.astype(np.float32), rgb, table['label'][owner].copy(),
            table['instance'][owner].copy())


def scene_boxes(scene: Scene) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Axis-aligned boxes of the object instances (walls and floor excluded).

    Returns:
        boxes (M, 7) float32 ``[cx, cy, cz, dx, dy, dz, yaw = 0]`` (mmdet3d depth-frame
        box convention, centre = geometric centre), labels (M,) int64 NYU40 ids and
        instance ids (M,) int64.
    """
    objs = [o for o in scene.objects if o.label not in (WALL, FLOOR)]
    boxes = np.zeros((len(objs), 7), np.float32)
    for i, o in enumerate(objs):
        boxes[i, :3] = o.centre
        boxes[i, 3:6] = o.size
    return (boxes, np.array([o.label for o in objs], np.int64),
            np.array([o.instance for o in objs], np.int64))
