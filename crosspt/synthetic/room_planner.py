"""Room planner of the synthetic scenes: :func:`generate_scene` builds the floor and walls
and places the furniture (:mod:`crosspt.synthetic.furniture`).

Door, windows and pictures sit flush on the walls; beds, sofas, desks, cabinets,
bookshelves and refrigerators with their back against a wall; tables (box or round legs)
with chairs around them, chairs at desks, and cylindrical bins (``otherfurniture``).
Objects are rotated by multiples of 90 degrees only, so every box -- and every object's
bounding box -- is axis-aligned (``yaw = 0``). Objects are placed by rejection sampling:
their boxes do not overlap each other, the walls or the 0.8 m clearance in front of the
door (touching a wall or the floor is allowed, and used); objects taller than 1.15 m stay
out of the central region where the camera walks.
"""
import math
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from . import furniture
from .scene_model import (FLOOR, NYU40_CLASSES, TAG_SCENE, WALL, Part, Primitive, Scene,
                          SceneObject, jitter, scene_name, wood_colour)

WALL_THICKNESS = 0.1
CAMERA_MARGIN = 0.9      # the camera stays this far from every wall
LOW_OBJECT_MAX = 1.15    # objects taller than this stay out of the camera region
PLACE_MARGIN = 0.04

__all__ = ['generate_scene', 'WALL_THICKNESS', 'CAMERA_MARGIN']


_LABELS = {name: nyu for nyu, name in NYU40_CLASSES.items()}


def _rotate_xy(x: np.ndarray, y: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """Rotate by k * 90 degrees about z (counter-clockwise)."""
    for _ in range(k % 4):
        x, y = -y, x
    return x, y


def _transform(parts: List[Part], k: int, x0: float, y0: float
               ) -> List[Tuple[str, np.ndarray, np.ndarray, Part]]:
    """Rotate the parts by k * 90 degrees and translate them so that the object's
    footprint starts at (x0, y0); returns (kind, lo, hi, part) in world coordinates."""
    boxes = []
    for p in parts:
        lo, hi = np.array(p.lo, np.float64), np.array(p.hi, np.float64)
        xs, ys = _rotate_xy(np.array([lo[0], hi[0]]), np.array([lo[1], hi[1]]), k)
        boxes.append((np.array([xs.min(), ys.min(), lo[2]]),
                      np.array([xs.max(), ys.max(), hi[2]])))
    min_xy = np.min([b[0][:2] for b in boxes], axis=0)
    out = []
    for (lo, hi), p in zip(boxes, parts):
        shift = np.array([x0 - min_xy[0], y0 - min_xy[1], 0.0])
        out.append((p.kind, lo + shift, hi + shift, p))
    return out


def _footprint(parts: List[Part], k: int) -> Tuple[float, float]:
    placed = _transform(parts, k, 0.0, 0.0)
    return (max(p[2][0] for p in placed), max(p[2][1] for p in placed))


def _bounds(placed) -> Tuple[np.ndarray, np.ndarray]:
    return (np.min([p[1] for p in placed], axis=0), np.max([p[2] for p in placed], axis=0))


def _overlap(lo_a, hi_a, lo_b, hi_b, margin: float = PLACE_MARGIN) -> bool:
    return bool(np.all(lo_a < hi_b + margin) and np.all(lo_b < hi_a + margin))


class _Planner:
    """Rejection-sampling placement of objects in a room (see the module docstring)."""

    def __init__(self, rng: np.random.Generator, lx: float, ly: float, h: float):
        self.rng, self.lx, self.ly, self.h = rng, lx, ly, h
        self.placed: List[Tuple[str, list]] = []
        self.obstacles: List[Tuple[np.ndarray, np.ndarray]] = []
        self.region = (CAMERA_MARGIN, CAMERA_MARGIN, lx - CAMERA_MARGIN, ly - CAMERA_MARGIN)

    def _fits(self, lo: np.ndarray, hi: np.ndarray) -> bool:
        eps = 1e-9
        if (lo[0] < -eps or lo[1] < -eps or hi[0] > self.lx + eps or hi[1] > self.ly + eps
                or hi[2] > self.h - 0.1):
            return False
        x0, y0, x1, y1 = self.region
        if hi[2] > LOW_OBJECT_MAX and lo[0] < x1 and hi[0] > x0 and lo[1] < y1 and hi[1] > y0:
            return False
        return not any(_overlap(lo, hi, a, b) for a, b in self.obstacles)

    def _accept(self, name: str, placed: list, extra=None) -> Tuple[np.ndarray, np.ndarray]:
        lo, hi = _bounds(placed)
        self.placed.append((name, placed))
        self.obstacles.append((lo, hi))
        if extra is not None:
            self.obstacles.append(extra)
        return lo, hi

    def against_wall(self, name: str, parts: List[Part], tries: int = 30,
                     wall: Optional[int] = None, door: bool = False):
        """Back (local +y) against wall 0 = north (+y), 1 = west, 2 = south, 3 = east."""
        for _ in range(tries):
            k = int(self.rng.integers(4)) if wall is None else wall
            fx, fy = _footprint(parts, k)
            if fx > self.lx or fy > self.ly:
                continue
            if k == 0:
                x0, y0 = self.rng.uniform(0, self.lx - fx), self.ly - fy
            elif k == 2:
                x0, y0 = self.rng.uniform(0, self.lx - fx), 0.0
            elif k == 1:
                x0, y0 = 0.0, self.rng.uniform(0, self.ly - fy)
            else:
                x0, y0 = self.lx - fx, self.rng.uniform(0, self.ly - fy)
            placed = _transform(parts, k, x0, y0)
            lo, hi = _bounds(placed)
            if door:  # the thin handle protrudes; reserve the swing area in front too
                outward = np.array([[0, 1], [-1, 0], [0, -1], [1, 0]][k], np.float64)
                clear_lo, clear_hi = lo.copy(), hi.copy()
                clear_hi[2] = max(hi[2], 2.1)
                for a in range(2):
                    if outward[a] > 0:
                        clear_lo[a] -= 0.8
                    elif outward[a] < 0:
                        clear_hi[a] += 0.8
                if self._fits(lo, hi) and self._fits(clear_lo, clear_hi):
                    return self._accept(name, placed, (clear_lo, clear_hi))
                continue
            if self._fits(lo, hi):
                return self._accept(name, placed)
        return None

    def free(self, name: str, parts: List[Part], tries: int = 30):
        for _ in range(tries):
            k = int(self.rng.integers(4))
            fx, fy = _footprint(parts, k)
            m = 0.3
            if fx + 2 * m > self.lx or fy + 2 * m > self.ly:
                continue
            placed = _transform(parts, k, self.rng.uniform(m, self.lx - fx - m),
                                self.rng.uniform(m, self.ly - fy - m))
            lo, hi = _bounds(placed)
            if self._fits(lo, hi):
                return self._accept(name, placed)
        return None

    def beside(self, name: str, parts: List[Part], target: Tuple[np.ndarray, np.ndarray],
               sides: Sequence[int], tries: int = 6):
        """A chair next to side 0 = north, 1 = west, 2 = south, 3 = east of ``target``,
        facing it."""
        t_lo, t_hi = target
        for side in sides:
            # the chair's front is local -y: north of the target it must face -y (k = 0),
            # west +x (k = 1), south +y (k = 2), east -x (k = 3)
            # (rotating local -y by k quarter turns gives -y, +x, +y, -x for k = 0..3)
            k = side
            fx, fy = _footprint(parts, k)
            for _ in range(tries):
                gap = self.rng.uniform(0.05, 0.2)
                if side in (0, 2):
                    lo_x, hi_x = t_lo[0] - fx / 2, t_hi[0] - fx / 2
                    x0 = self.rng.uniform(lo_x, max(lo_x, hi_x))
                    y0 = t_hi[1] + gap if side == 0 else t_lo[1] - gap - fy
                else:
                    lo_y, hi_y = t_lo[1] - fy / 2, t_hi[1] - fy / 2
                    y0 = self.rng.uniform(lo_y, max(lo_y, hi_y))
                    x0 = t_lo[0] - gap - fx if side == 1 else t_hi[0] + gap
                placed = _transform(parts, k, x0, y0)
                lo, hi = _bounds(placed)
                if self._fits(lo, hi):
                    return self._accept(name, placed)
        return None


def _room_primitives(rng: np.random.Generator, lx: float, ly: float, h: float
                     ) -> List[Primitive]:
    t = WALL_THICKNESS
    floor_tex = ('planks', rng.uniform(0.12, 0.2)) if rng.uniform() < 0.6 else \
        ('checker', rng.uniform(0.3, 0.6))
    floor_rgb = wood_colour(rng) if floor_tex[0] == 'planks' else jitter(rng, (0.75, 0.72, 0.68))
    prims = [Primitive('box', np.array([-t, -t, -t]), np.array([lx + t, ly + t, 0.0]), 1, FLOOR,
                       floor_rgb, floor_tex[0], floor_tex[1], float(rng.uniform(0, 0.3)), 0.3,
                       faces=(5,))]
    wall_rgb = jitter(rng, ((0.88, 0.86, 0.8), (0.8, 0.85, 0.88), (0.9, 0.82, 0.75))[
        rng.integers(3)], 0.04)
    wall_tex = ('stripes', float(rng.uniform(0.08, 0.25)), 0.0, float(rng.uniform(0.05, 0.15)))
    slabs = [((-t, 0, 0), (0, ly, h), 1),            # west wall, +x face towards the room
             ((lx, 0, 0), (lx + t, ly, h), 0),       # east wall
             ((-t, -t, 0), (lx + t, 0, h), 3),       # south wall
             ((-t, ly, 0), (lx + t, ly + t, h), 2)]  # north wall
    for i, (lo, hi, face) in enumerate(slabs):
        # the stripe direction runs along the wall (s is the horizontal wall coordinate)
        prims.append(Primitive('box', np.array(lo, np.float64), np.array(hi, np.float64),
                               2 + i, WALL, wall_rgb, wall_tex[0], wall_tex[1], 0.0,
                               wall_tex[3], faces=(face,)))
    return prims


Builder = Callable[[np.random.Generator], Tuple[str, List[Part]]]


def _on_walls(plan: _Planner, name: str, build: Builder, low: int, high: int) -> None:
    """``rng.integers(low, high)`` objects ``build(rng)`` against the walls."""
    for _ in range(int(plan.rng.integers(low, high))):
        plan.against_wall(name, build(plan.rng)[1])


def _maybe_on_wall(plan: _Planner, name: str, build: Builder, probability: float) -> None:
    """One object ``build(rng)`` against a wall with ``probability``."""
    if plan.rng.uniform() < probability:
        plan.against_wall(name, build(plan.rng)[1])


def generate_scene(seed: int, index: int) -> Scene:
    """The room and furniture of scene ``index`` (rng ``default_rng([seed, 11, index])``).

    Returns:
        :class:`Scene` with ``primitives`` (floor, walls, then objects' parts) and
        ``objects`` (floor, 4 walls, then furniture/door/windows/pictures).
    """
    if index < 0:
        raise ValueError(f'generate_scene: index must be >= 0, got {index}')
    rng = np.random.default_rng([int(seed), TAG_SCENE, int(index)])
    lx, ly, h = (float(round(rng.uniform(3.0, 6.0), 3)), float(round(rng.uniform(3.0, 6.0), 3)),
                 float(round(rng.uniform(2.4, 2.8), 3)))
    scene = Scene(int(seed), int(index), scene_name(index), (lx, ly, h))
    scene.primitives = _room_primitives(rng, lx, ly, h)
    scene.objects = [SceneObject(1, FLOOR, 'floor', [0], scene.primitives[0].lo.copy(),
                                 scene.primitives[0].hi.copy())]
    for i in range(4):
        p = scene.primitives[1 + i]
        scene.objects.append(SceneObject(2 + i, WALL, 'wall', [1 + i], p.lo.copy(), p.hi.copy()))
    plan = _Planner(rng, lx, ly, h)
    plan.against_wall('door', furniture.door(rng)[1], door=True, tries=60)
    _on_walls(plan, 'window', lambda r: furniture.window(r, h), 1, 3)
    _on_walls(plan, 'picture', furniture.picture, 0, 3)
    _maybe_on_wall(plan, 'bed', furniture.bed, 0.5)
    _maybe_on_wall(plan, 'sofa', furniture.sofa, 0.5)
    if rng.uniform() < 0.5:
        desk = plan.against_wall('desk', furniture.desk(rng)[1])
        if desk is not None:
            # the desk's free side faces the room centre: try all sides, the wall blocks one
            plan.beside('chair', furniture.chair(rng)[1], desk,
                        [int(s) for s in rng.permutation(4)])
    _on_walls(plan, 'cabinet', furniture.cabinet, 1, 3)
    _on_walls(plan, 'bookshelf', furniture.bookshelf, 0, 3)
    _maybe_on_wall(plan, 'refrigerator', furniture.refrigerator, 0.3)
    if rng.uniform() < 0.75:
        table = plan.free('table', furniture.table(rng)[1])
        if table is not None:
            chair_parts = furniture.chair(rng)[1]
            for side in rng.permutation(4)[:int(rng.integers(2, 5))]:
                plan.beside('chair', chair_parts, table, [int(side)])
    for _ in range(int(rng.integers(1, 3))):
        plan.free('otherfurniture', furniture.waste_bin(rng)[1])
    for name, placed in plan.placed:
        instance = len(scene.objects) + 1
        label = _LABELS[name]
        ids = []
        for kind, lo, hi, part in placed:
            ids.append(len(scene.primitives))
            scene.primitives.append(Primitive(
                kind, lo, hi, instance, label, np.asarray(part.color, np.float64),
                part.texture, float(part.period), float(part.angle), float(part.contrast),
                float(rng.uniform(0, 2 * math.pi))))
        lo, hi = _bounds(placed)
        scene.objects.append(SceneObject(instance, label, name, ids, lo, hi))
    scene.camera_region = plan.region
    return scene
