"""The scene model of the synthetic indoor scenes (docs/methods/ppkt.md, 'ScanNet frames';
docs/methods/benchmarks.md, 'ScanNet semantic segmentation').

- world frame z-up in metres, floor at z = 0; a rectangular room ``[0, Lx] x [0, Ly]``
  (Lx, Ly ~ U(3, 6)) with walls of height H ~ U(2.4, 2.8) and no ceiling (as in ScanNet
  reconstructions). Floor and walls are 0.1 m slabs *outside* the room, so every surface
  is a face of a solid.
- every solid is a :class:`Primitive`: an axis-aligned box or a vertical capped cylinder,
  carrying the instance id, the NYU40 class id, a base colour and a procedural texture
  (stripes / checker / wood / planks / grid as functions of world surface coordinates).
- objects (:class:`SceneObject`) are groups of primitives, built from :class:`Part` lists
  (:mod:`crosspt.synthetic.furniture`) and placed by :mod:`crosspt.synthetic.room_planner`.
- instance ids: 1 = floor, 2..5 = walls, then one id per object; ids are per scene.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

#: NYU40 ids and names of the classes the generator builds (a subset of ScanNet's 20
#: benchmark classes, docs/methods/benchmarks.md, 'Classes and ignore index'; bins are
#: ``otherfurniture`` as in ScanNet).
NYU40_CLASSES: Dict[int, str] = {1: 'wall', 2: 'floor', 3: 'cabinet', 4: 'bed', 5: 'chair',
                                 6: 'sofa', 7: 'table', 8: 'door', 9: 'window',
                                 10: 'bookshelf', 11: 'picture', 14: 'desk',
                                 24: 'refrigerator', 39: 'otherfurniture'}
WALL, FLOOR = 1, 2
#: rng stream tags: ``default_rng([seed, TAG, scene index])``
TAG_SCENE, TAG_TRAJECTORY = 11, 12
TEXTURES = ('plain', 'stripes', 'checker', 'wood', 'planks', 'grid')

__all__ = ['NYU40_CLASSES', 'WALL', 'FLOOR', 'TAG_SCENE', 'TAG_TRAJECTORY', 'TEXTURES',
           'Primitive', 'SceneObject', 'Scene', 'Part', 'scene_name', 'jitter',
           'wood_colour', 'fabric_colour']


@dataclass(eq=False)
class Primitive:
    """One solid. ``kind`` 'box': the axis-aligned box ``[lo, hi]``; 'cylinder': the
    vertical capped cylinder inscribed in ``[lo, hi]`` (axis at the centre of the xy
    rectangle, which is a square of side 2 * radius).

    ``faces`` lists the faces :func:`sample_scene_points` draws from (None = all):
    box faces 0..5 = -x, +x, -y, +y, -z, +z; cylinder faces 4 = bottom cap, 5 = top cap,
    6 = side. Floor and wall slabs keep only their face towards the room. The texture
    (``texture`` in plain / stripes / checker / wood / planks / grid) is a function of
    the face's two world coordinates rotated by ``angle`` and divided by ``period``;
    ``contrast`` scales its darkening, ``phase`` shifts it.
    """
    kind: str
    lo: np.ndarray                 # (3,) float64
    hi: np.ndarray                 # (3,) float64
    instance: int
    label: int                     # NYU40 id
    color: np.ndarray              # (3,) float64 base colour in [0, 1]
    texture: str = 'plain'
    period: float = 0.2
    angle: float = 0.0
    contrast: float = 0.2
    phase: float = 0.0
    faces: Optional[Tuple[int, ...]] = None

    @property
    def radius(self) -> float:
        return 0.5 * float(self.hi[0] - self.lo[0])

    @property
    def centre(self) -> np.ndarray:
        return 0.5 * (self.lo + self.hi)


@dataclass(eq=False)
class SceneObject:
    """An object instance: its primitives (indices into ``Scene.primitives``) and its
    axis-aligned bounding box ``lo``/``hi`` (3,) (union of the primitives' boxes)."""
    instance: int
    label: int
    name: str
    primitives: List[int]
    lo: np.ndarray
    hi: np.ndarray

    @property
    def centre(self) -> np.ndarray:
        """(3,) box centre."""
        return 0.5 * (self.lo + self.hi)

    @property
    def size(self) -> np.ndarray:
        """(3,) box extent (dx, dy, dz)."""
        return self.hi - self.lo


@dataclass(eq=False)
class Scene:
    """A room: ``size`` (Lx, Ly, H) metres, primitives (floor, 4 walls, then objects),
    objects (floor and walls included as objects), and the xy rectangle
    ``camera_region`` (x0, y0, x1, y1) that the camera trajectory stays in."""
    seed: int
    index: int
    name: str
    size: Tuple[float, float, float]
    primitives: List[Primitive] = field(default_factory=list)
    objects: List[SceneObject] = field(default_factory=list)
    camera_region: Tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


def scene_name(index: int) -> str:
    """ScanNet-style scene name ``scene%04d_00``."""
    return f'scene{index:04d}_00'


# Parts are built in an object-local frame: footprint [0, w] x [0, d], z up from the
# floor, the object's back at y = d (the side put against a wall), its front at y = 0.
@dataclass(eq=False)
class Part:
    kind: str
    lo: Tuple[float, float, float]
    hi: Tuple[float, float, float]
    color: np.ndarray
    texture: str = 'plain'
    period: float = 0.2
    angle: float = 0.0
    contrast: float = 0.2


def jitter(rng: np.random.Generator, rgb, amount: float = 0.06) -> np.ndarray:
    return np.clip(np.asarray(rgb, np.float64) + rng.uniform(-amount, amount, 3), 0.05, 0.97)


def wood_colour(rng: np.random.Generator) -> np.ndarray:
    palette = ((0.55, 0.38, 0.22), (0.72, 0.55, 0.36), (0.40, 0.26, 0.16), (0.80, 0.68, 0.50))
    return jitter(rng, palette[rng.integers(len(palette))])


def fabric_colour(rng: np.random.Generator) -> np.ndarray:
    palette = ((0.30, 0.38, 0.60), (0.62, 0.22, 0.20), (0.35, 0.52, 0.35), (0.55, 0.55, 0.52),
               (0.75, 0.62, 0.35), (0.45, 0.30, 0.50))
    return jitter(rng, palette[rng.integers(len(palette))])
