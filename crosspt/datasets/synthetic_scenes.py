"""Deterministic synthetic indoor scenes: RGB-D frames in the extracted ScanNet layout
(PPKT pre-training, docs/methods/ppkt.md, 'ScanNet frames') and labelled surface point
clouds with axis-aligned boxes (ScanNet-style segmentation / detection,
docs/methods/benchmarks.md, 'ScanNet semantic segmentation').

Scene model (``generate_scene(seed, index)``, reproducible from the two numbers):

- world frame z-up in metres, floor at z = 0; a rectangular room ``[0, Lx] x [0, Ly]``
  (Lx, Ly ~ U(3, 6)) with walls of height H ~ U(2.4, 2.8) and no ceiling (as in ScanNet
  reconstructions). Floor and walls are 0.1 m slabs *outside* the room, so every surface
  is a face of a solid.
- every solid is a :class:`Primitive`: an axis-aligned box or a vertical capped cylinder,
  carrying the instance id, the NYU40 class id, a base colour and a procedural texture
  (stripes / checker / wood / planks / grid as functions of world surface coordinates).
- objects (:class:`SceneObject`) are groups of primitives: door, windows and pictures
  flush on the walls; beds, sofas, desks, cabinets, bookshelves and refrigerators with
  their back against a wall; tables (box or round legs) with chairs around them, chairs
  at desks, and cylindrical bins (``otherfurniture``). Objects are rotated by multiples
  of 90 degrees only, so every box -- and every object's bounding box -- is axis-aligned
  (``yaw = 0``). Objects are placed by rejection sampling: their boxes do not overlap
  each other, the walls or the 0.8 m clearance in front of the door (touching a wall or
  the floor is allowed, and used); objects taller than 1.15 m stay out of the central
  region where the camera walks.
- instance ids: 1 = floor, 2..5 = walls, then one id per object; ids are per scene.

Cameras and renderer (ScanNet conventions): camera x right, y down, z forward; a pose
is the 4x4 camera-to-world matrix. Pixel (v, u) looks along the ray through image point
(u, v) (pixel centres at integer coordinates, so ``cx = (W - 1) / 2``), i.e. exactly the
inverse of :func:`crosspt.ops.backprojection.backproject_depth`. :func:`render_frame`
casts one ray per pixel against every primitive (exact ray-box slab and ray-cylinder
formulas, vectorised with numpy, rays culled per primitive by the projected bounding
box; with the camera inside the room the floor and wall slabs are intersected in one
analytic pass) and returns

- depth (H_d, W_d) uint16 millimetres of camera-frame z (not ray length), rounded to the
  nearest millimetre; 0 where nothing is hit or the depth exceeds ``max_depth`` (10 m);
- semantic (NYU40 id, 0 = none) and instance (0 = none) images at depth resolution;
- colour (H_c, W_c, 3) uint8 with the colour intrinsics: albedo = base colour modulated
  by the texture, Lambertian shading with two fixed directional lights plus ambient
  (walls of different orientation differ in brightness);
  pixels that see nothing get a constant light grey.

Default intrinsics (:func:`default_intrinsics`): depth 240x320 with ScanNet's depth
intrinsics (577.8 / 319.5 / 239.5 for 640x480) scaled to the image size, fx = fy = 288.9,
cx = 159.5, cy = 119.5. The colour intrinsics are the depth intrinsics scaled by
``W_c / W_d`` and ``H_c / H_d`` (648/320 and 484/240 by default, about ScanNet's
1296x968 halved) with the half-pixel rule ``c' = (c + 0.5) * s - 0.5``: fx_c = 585.02,
fy_c = 582.62, cx_c = 323.5, cy_c = 241.5. Colour and depth therefore see exactly the
same field of view, and resizing the colour image to the depth size (PIL bilinear, as
``crosspt.fileio.scannet_layout.read_color`` does) gives pixel-aligned RGB-D, which is
ScanNet's documented recipe (resize colour, use ``intrinsic_depth``). The slightly
non-square colour pixels (fx_c != fy_c) are what that resize implies; the real ScanNet
colour intrinsics (about 1170.2 / 647.75 / 483.75 at 1296x968) are not reproduced.

Layout written by :func:`generate_synthetic_scannet_frames` (extracted ScanNet layout,
``crosspt.fileio.scannet_layout``)::

    <root>/scene%04d_00/color/<i>.jpg           (H_c, W_c) RGB JPEG, quality 95
    <root>/scene%04d_00/depth/<i>.png           16-bit PNG, millimetres, 0 = no depth
    <root>/scene%04d_00/pose/<i>.txt            4x4 camera-to-world (one frame all -inf)
    <root>/scene%04d_00/intrinsic/{intrinsic,extrinsic}_{color,depth}.txt  (extrinsics = I)
    <root>/scene%04d_00/label-filt/<i>.png      16-bit NYU40 ids at depth resolution
    <root>/scene%04d_00/instance-filt/<i>.png   16-bit instance ids at depth resolution
    <root>/scene%04d_00/scene%04d_00.sens       only with write_sens=True (every frame)
    <root>/synthetic_info.json

``i`` = 0, 25, 50, ... (``frame_step``): the camera trajectory has
``frames_per_scene * frame_step`` frames and every ``frame_step``-th is kept, as
PointContrast/PPKT keep every 25th ScanNet frame. Real ScanNet ``label-filt`` PNGs hold
ScanNet raw category ids (mapped to NYU40 through ``scannetv2-labels.combined.tsv``);
the synthetic set stores NYU40 ids directly, at depth resolution (the resolution of the
real label images is not checked here [UNVERIFIED]; ``read_label`` resizes with nearest
neighbour anyway). Matrices are written by ``format_matrix``: the shortest decimal of
each float32 value, which is also what the renderer used. With ``invalid_pose=True`` scene 0 has one
frame (the middle kept frame) whose pose file is all ``-inf`` -- real ScanNet marks
frames without tracking this way (docs/methods/ppkt.md, 'Invalid frames'); its colour,
depth and labels are still
rendered from the true pose and written.

Generation is idempotent (same parameters and all files present: nothing is rewritten),
runs under an ``fcntl`` lock on ``<root>.lock``, builds in a temporary sibling folder
swapped into place, replaces only files of the ``synthetic_info.json`` manifest (a folder
holding any other file is refused: :func:`crosspt.fileio.atomic.write_dataset_once`), and
is byte-identical for the same parameters.
"""
import io
import math
import os
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from crosspt.fileio.atomic import info_matches, write_dataset_once
from crosspt.fileio.scannet_layout import (INTRINSIC_FILES, write_color, write_depth,
                                           write_label, write_matrix)

PathLike = Union[str, os.PathLike]
FORMAT_VERSION = 1
SYNTHETIC_INFO = 'synthetic_info.json'

#: NYU40 ids and names of the classes the generator builds (a subset of ScanNet's 20
#: benchmark classes, docs/methods/benchmarks.md, 'Classes and ignore index'; bins are
#: ``otherfurniture`` as in ScanNet).
NYU40_CLASSES: Dict[int, str] = {1: 'wall', 2: 'floor', 3: 'cabinet', 4: 'bed', 5: 'chair',
                                 6: 'sofa', 7: 'table', 8: 'door', 9: 'window',
                                 10: 'bookshelf', 11: 'picture', 14: 'desk',
                                 24: 'refrigerator', 39: 'otherfurniture'}
#: NYU40 ids of ScanNet's 20 benchmark classes, in train-id order
#: (docs/methods/benchmarks.md, 'Classes and ignore index')
SCANNET20_NYU40_IDS: Tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24,
                                        28, 33, 34, 36, 39)
WALL, FLOOR = 1, 2

#: ScanNet depth intrinsics at 640x480 (docs/methods/ppkt.md, 'Colour and depth alignment')
SCANNET_DEPTH_FOCAL = 577.8
SCANNET_DEPTH_SIZE = (480, 640)
DEFAULT_DEPTH_SIZE = (240, 320)
DEFAULT_COLOR_SIZE = (484, 648)
DEFAULT_MAX_DEPTH = 10.0
BACKGROUND_RGB = (0.92, 0.92, 0.90)

WALL_THICKNESS = 0.1
CAMERA_MARGIN = 0.9      # the camera stays this far from every wall
LOW_OBJECT_MAX = 1.15    # objects taller than this stay out of the camera region
CAMERA_HEIGHT = 1.5
PLACE_MARGIN = 0.04
TAG_SCENE, TAG_TRAJECTORY = 11, 12
# two directional lights (unit vector towards the light, strength) and ambient, chosen so
# that the four wall orientations get clearly different brightness (+x 0.35, -y 0.43,
# +y 0.51, -x 0.59; floor 0.84)
_LIGHTS = tuple((np.array(v) / np.linalg.norm(v), w) for v, w in
                (((0.111, 0.467, 0.877), 0.45), ((-0.829, -0.371, 0.418), 0.35)))
_AMBIENT = 0.3
_TEXTURES = ('plain', 'stripes', 'checker', 'wood', 'planks', 'grid')

__all__ = ['NYU40_CLASSES', 'SCANNET20_NYU40_IDS', 'Primitive', 'SceneObject', 'Scene',
           'generate_scene', 'default_intrinsics', 'color_intrinsics_for', 'camera_trajectory',
           'render_frame', 'sample_scene_points', 'scene_boxes', 'scene_name',
           'write_scene_sens', 'generate_synthetic_scannet_frames']


# ----------------------------------------------------------------------------- scene model
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
class _Part:
    kind: str
    lo: Tuple[float, float, float]
    hi: Tuple[float, float, float]
    color: np.ndarray
    texture: str = 'plain'
    period: float = 0.2
    angle: float = 0.0
    contrast: float = 0.2


def _jitter(rng: np.random.Generator, rgb, amount: float = 0.06) -> np.ndarray:
    return np.clip(np.asarray(rgb, np.float64) + rng.uniform(-amount, amount, 3), 0.05, 0.97)


def _wood(rng: np.random.Generator) -> np.ndarray:
    palette = ((0.55, 0.38, 0.22), (0.72, 0.55, 0.36), (0.40, 0.26, 0.16), (0.80, 0.68, 0.50))
    return _jitter(rng, palette[rng.integers(len(palette))])


def _fabric(rng: np.random.Generator) -> np.ndarray:
    palette = ((0.30, 0.38, 0.60), (0.62, 0.22, 0.20), (0.35, 0.52, 0.35), (0.55, 0.55, 0.52),
               (0.75, 0.62, 0.35), (0.45, 0.30, 0.50))
    return _jitter(rng, palette[rng.integers(len(palette))])


def _table(rng: np.random.Generator) -> Tuple[str, List[_Part]]:
    w, d = rng.uniform(0.9, 1.6), rng.uniform(0.6, 1.0)
    h, top = rng.uniform(0.70, 0.78), 0.04
    wood = _wood(rng)
    parts = [_Part('box', (0, 0, h - top), (w, d, h), wood, 'wood', rng.uniform(0.05, 0.1),
                   0.0, 0.3)]
    legs = _jitter(rng, wood * 0.8, 0.03)
    inset, s = 0.04, 0.05
    round_legs = rng.uniform() < 0.5
    for x in (inset, w - inset - s):
        for y in (inset, d - inset - s):
            parts.append(_Part('cylinder' if round_legs else 'box', (x, y, 0),
                               (x + s, y + s, h - top), legs, 'plain', contrast=0.0))
    return 'table', parts


def _chair(rng: np.random.Generator) -> Tuple[str, List[_Part]]:
    w = rng.uniform(0.42, 0.5)
    d = w + rng.uniform(-0.02, 0.04)
    seat_h, seat_t, back_t = rng.uniform(0.42, 0.48), 0.04, 0.04
    back_h = rng.uniform(0.85, 1.0)
    frame = _wood(rng) if rng.uniform() < 0.6 else _jitter(rng, (0.2, 0.2, 0.22))
    cushion = _fabric(rng)
    s = 0.04
    parts = [_Part('box', (0, 0, seat_h - seat_t), (w, d, seat_h), cushion, 'checker',
                   rng.uniform(0.03, 0.06), 0.0, 0.2),
             _Part('box', (0, d - back_t, seat_h), (w, d, back_h), frame, 'wood',
                   rng.uniform(0.04, 0.08), math.pi / 2, 0.25)]
    for x in (0.0, w - s):
        for y in (0.0, d - s):
            parts.append(_Part('box', (x, y, 0), (x + s, y + s, seat_h - seat_t), frame))
    return 'chair', parts


def _bed(rng: np.random.Generator) -> Tuple[str, List[_Part]]:
    w, d = rng.uniform(0.95, 1.6), rng.uniform(1.95, 2.1)
    frame_h, mat_h = rng.uniform(0.25, 0.32), rng.uniform(0.18, 0.24)
    head_t, head_h = 0.06, rng.uniform(0.85, 1.1)
    wood, sheet = _wood(rng), _fabric(rng)
    inset = 0.03
    pillow_d = 0.35
    parts = [_Part('box', (0, 0, 0), (w, d - head_t, frame_h), wood, 'wood', 0.08, 0.0, 0.3),
             _Part('box', (0, d - head_t, 0), (w, d, head_h), _jitter(rng, wood * 0.9), 'wood',
                   0.06, math.pi / 2, 0.3),
             _Part('box', (inset, inset, frame_h), (w - inset, d - head_t, frame_h + mat_h),
                   sheet, 'stripes', rng.uniform(0.08, 0.2), rng.choice([0.0, math.pi / 2]),
                   0.25),
             _Part('box', (0.1, d - head_t - pillow_d - 0.03, frame_h + mat_h),
                   (w - 0.1, d - head_t - 0.03, frame_h + mat_h + 0.12),
                   _jitter(rng, (0.9, 0.9, 0.88), 0.04), 'plain', contrast=0.0)]
    return 'bed', parts


def _sofa(rng: np.random.Generator) -> Tuple[str, List[_Part]]:
    w, d = rng.uniform(1.4, 2.2), rng.uniform(0.8, 0.95)
    seat_h, back_t, back_h = rng.uniform(0.40, 0.46), 0.2, rng.uniform(0.8, 0.9)
    arm_w, arm_h = 0.15, seat_h + rng.uniform(0.15, 0.22)
    cloth = _fabric(rng)
    tex = ('checker', rng.uniform(0.05, 0.1), 0.0, 0.15)
    parts = [_Part('box', (arm_w, 0, 0), (w - arm_w, d - back_t, seat_h), cloth, *tex),
             _Part('box', (0, d - back_t, 0), (w, d, back_h), _jitter(rng, cloth * 0.9, 0.02),
                   *tex),
             _Part('box', (0, 0, 0), (arm_w, d - back_t, arm_h), cloth, *tex),
             _Part('box', (w - arm_w, 0, 0), (w, d - back_t, arm_h), cloth, *tex)]
    return 'sofa', parts


def _cabinet(rng: np.random.Generator) -> Tuple[str, List[_Part]]:
    w, d = rng.uniform(0.6, 1.2), rng.uniform(0.4, 0.6)
    h = rng.uniform(0.8, 1.0) if rng.uniform() < 0.6 else rng.uniform(1.7, 2.0)
    body = _wood(rng) if rng.uniform() < 0.5 else _jitter(rng, (0.85, 0.85, 0.82))
    front = _jitter(rng, body * 0.92, 0.02)
    gap, t = 0.01, 0.015
    parts = [_Part('box', (0, t, 0), (w, d, h), body, 'wood', 0.07, math.pi / 2, 0.2)]
    half = w / 2
    for x0, x1 in ((0.0, half - gap / 2), (half + gap / 2, w)):
        parts.append(_Part('box', (x0 + 0.02, 0, 0.05), (x1 - 0.02, t, h - 0.05), front,
                           'wood', 0.06, math.pi / 2, 0.25))
    return 'cabinet', parts


def _bookshelf(rng: np.random.Generator) -> Tuple[str, List[_Part]]:
    w, d, h = rng.uniform(0.6, 1.2), rng.uniform(0.28, 0.4), rng.uniform(1.5, 2.0)
    t = 0.025
    wood = _wood(rng)
    tex = ('wood', 0.05, 0.0, 0.3)
    parts = [_Part('box', (0, 0, 0), (t, d, h), wood, 'wood', 0.05, math.pi / 2, 0.3),
             _Part('box', (w - t, 0, 0), (w, d, h), wood, 'wood', 0.05, math.pi / 2, 0.3),
             _Part('box', (t, d - t, 0), (w - t, d, h), _jitter(rng, wood * 0.85, 0.02), *tex),
             _Part('box', (t, 0, 0), (w - t, d - t, 0.08), wood, *tex),
             _Part('box', (t, 0, h - t), (w - t, d - t, h), wood, *tex)]
    shelves = int(rng.integers(2, 5))
    for k in range(1, shelves + 1):
        z = 0.08 + (h - t - 0.08) * k / (shelves + 1)
        parts.append(_Part('box', (t, 0, z - t / 2), (w - t, d - t, z + t / 2), wood, *tex))
    return 'bookshelf', parts


def _desk(rng: np.random.Generator) -> Tuple[str, List[_Part]]:
    w, d, h = rng.uniform(1.0, 1.6), rng.uniform(0.55, 0.75), rng.uniform(0.72, 0.76)
    top, side = 0.03, 0.03
    wood = _wood(rng)
    legs = _jitter(rng, wood * 0.85, 0.02)
    ped_w = rng.uniform(0.35, 0.45)
    parts = [_Part('box', (0, 0, h - top), (w, d, h), wood, 'wood', 0.08, 0.0, 0.3),
             _Part('box', (0, 0.02, 0), (side, d, h - top), legs, 'wood', 0.06,
                   math.pi / 2, 0.2),
             _Part('box', (w - ped_w, 0.02, 0), (w, d, h - top), legs, 'stripes',
                   (h - top) / 3, math.pi / 2, 0.25)]
    return 'desk', parts


def _refrigerator(rng: np.random.Generator) -> Tuple[str, List[_Part]]:
    w, d, h = rng.uniform(0.6, 0.75), rng.uniform(0.6, 0.68), rng.uniform(1.7, 1.9)
    white = _jitter(rng, (0.9, 0.9, 0.92), 0.04)
    split = h * rng.uniform(0.6, 0.7)
    return 'refrigerator', [
        _Part('box', (0, 0.02, 0), (w, d, h), white, 'plain', contrast=0.0),
        _Part('box', (0.01, 0, 0.01), (w - 0.01, 0.02, split - 0.01), white, 'stripes', 0.3,
              0.0, 0.05),
        _Part('box', (0.01, 0, split + 0.01), (w - 0.01, 0.02, h - 0.01), white, 'stripes',
              0.3, 0.0, 0.05)]


def _bin(rng: np.random.Generator) -> Tuple[str, List[_Part]]:
    r, h = rng.uniform(0.12, 0.18), rng.uniform(0.3, 0.45)
    return 'otherfurniture', [_Part('cylinder', (0, 0, 0), (2 * r, 2 * r, h),
                                    _jitter(rng, (0.3, 0.45, 0.35), 0.15), 'stripes',
                                    rng.uniform(0.04, 0.08), 0.0, 0.3)]


def _door(rng: np.random.Generator) -> Tuple[str, List[_Part]]:
    w, h, t = rng.uniform(0.8, 0.95), rng.uniform(2.0, 2.1), 0.04
    wood = _wood(rng)
    return 'door', [_Part('box', (0, 0, 0), (w, t, h), wood, 'wood', 0.09, 0.0, 0.3),
                    _Part('box', (w - 0.12, -0.05, 1.0), (w - 0.06, 0, 1.04),
                          _jitter(rng, (0.75, 0.75, 0.7), 0.05))]


def _window(rng: np.random.Generator, wall_height: float) -> Tuple[str, List[_Part]]:
    w = rng.uniform(0.8, 1.6)
    z0 = rng.uniform(0.8, 1.0)
    z1 = min(z0 + rng.uniform(1.0, 1.3), wall_height - 0.2)
    return 'window', [_Part('box', (0, 0, z0), (w, 0.05, z1),
                            _jitter(rng, (0.62, 0.78, 0.9), 0.05), 'grid',
                            rng.uniform(0.3, 0.5), 0.0, 0.6)]


def _picture(rng: np.random.Generator) -> Tuple[str, List[_Part]]:
    w, h = rng.uniform(0.4, 1.0), rng.uniform(0.3, 0.7)
    zc = rng.uniform(1.4, 1.7)
    return 'picture', [_Part('box', (0, 0, zc - h / 2), (w, 0.02, zc + h / 2),
                             _jitter(rng, rng.uniform(0.2, 0.85, 3), 0.0), 'stripes',
                             rng.uniform(0.05, 0.15), rng.uniform(0, math.pi), 0.5)]


_LABELS = {name: nyu for nyu, name in NYU40_CLASSES.items()}


def _rotate_xy(x: np.ndarray, y: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """Rotate by k * 90 degrees about z (counter-clockwise)."""
    for _ in range(k % 4):
        x, y = -y, x
    return x, y


def _transform(parts: List[_Part], k: int, x0: float, y0: float
               ) -> List[Tuple[str, np.ndarray, np.ndarray, _Part]]:
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


def _footprint(parts: List[_Part], k: int) -> Tuple[float, float]:
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

    def against_wall(self, name: str, parts: List[_Part], tries: int = 30,
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

    def free(self, name: str, parts: List[_Part], tries: int = 30):
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

    def beside(self, name: str, parts: List[_Part], target: Tuple[np.ndarray, np.ndarray],
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
    floor_rgb = _wood(rng) if floor_tex[0] == 'planks' else _jitter(rng, (0.75, 0.72, 0.68))
    prims = [Primitive('box', np.array([-t, -t, -t]), np.array([lx + t, ly + t, 0.0]), 1, FLOOR,
                       floor_rgb, floor_tex[0], floor_tex[1], float(rng.uniform(0, 0.3)), 0.3,
                       faces=(5,))]
    wall_rgb = _jitter(rng, ((0.88, 0.86, 0.8), (0.8, 0.85, 0.88), (0.9, 0.82, 0.75))[
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
    plan.against_wall('door', _door(rng)[1], door=True, tries=60)
    for _ in range(int(rng.integers(1, 3))):
        plan.against_wall('window', _window(rng, h)[1])
    for _ in range(int(rng.integers(0, 3))):
        plan.against_wall('picture', _picture(rng)[1])
    if rng.uniform() < 0.5:
        plan.against_wall('bed', _bed(rng)[1])
    if rng.uniform() < 0.5:
        plan.against_wall('sofa', _sofa(rng)[1])
    if rng.uniform() < 0.5:
        desk = plan.against_wall('desk', _desk(rng)[1])
        if desk is not None:
            # the desk's free side faces the room centre: try all sides, the wall blocks one
            plan.beside('chair', _chair(rng)[1], desk, [int(s) for s in rng.permutation(4)])
    for _ in range(int(rng.integers(1, 3))):
        plan.against_wall('cabinet', _cabinet(rng)[1])
    for _ in range(int(rng.integers(0, 3))):
        plan.against_wall('bookshelf', _bookshelf(rng)[1])
    if rng.uniform() < 0.3:
        plan.against_wall('refrigerator', _refrigerator(rng)[1])
    if rng.uniform() < 0.75:
        table = plan.free('table', _table(rng)[1])
        if table is not None:
            chair_parts = _chair(rng)[1]
            for side in rng.permutation(4)[:int(rng.integers(2, 5))]:
                plan.beside('chair', chair_parts, table, [int(side)])
    for _ in range(int(rng.integers(1, 3))):
        plan.free('otherfurniture', _bin(rng)[1])
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


# ----------------------------------------------------------------------------- cameras
def default_intrinsics(depth_size: Tuple[int, int] = DEFAULT_DEPTH_SIZE,
                       color_size: Tuple[int, int] = DEFAULT_COLOR_SIZE
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """(intrinsic_depth, intrinsic_color), 4x4 float64 holding float32-exact values:
    ScanNet's 640x480 depth intrinsics scaled to ``depth_size`` (H, W), and the colour
    intrinsics derived from them for ``color_size`` (see :func:`color_intrinsics_for`)."""
    h, w = _size('depth_size', depth_size)
    k = np.eye(4)
    k[0, 0] = SCANNET_DEPTH_FOCAL * w / SCANNET_DEPTH_SIZE[1]
    k[1, 1] = SCANNET_DEPTH_FOCAL * h / SCANNET_DEPTH_SIZE[0]
    k[0, 2], k[1, 2] = (w - 1) / 2, (h - 1) / 2
    k = k.astype(np.float32).astype(np.float64)
    return k, color_intrinsics_for(k, depth_size, color_size)


def color_intrinsics_for(intrinsic_depth: np.ndarray, depth_size: Tuple[int, int],
                         color_size: Tuple[int, int]) -> np.ndarray:
    """Colour intrinsics with the same field of view as ``intrinsic_depth``: focal
    lengths scaled by ``W_c / W_d`` and ``H_c / H_d``, principal point by
    ``c' = (c + 0.5) * s - 0.5`` (pixel centres at integer coordinates). 4x4, float32-exact."""
    hd, wd = _size('depth_size', depth_size)
    hc, wc = _size('color_size', color_size)
    k = np.asarray(intrinsic_depth, np.float64)
    if k.shape != (4, 4):
        raise ValueError(f'color_intrinsics_for: intrinsic_depth must be 4x4, got {k.shape}')
    sx, sy = wc / wd, hc / hd
    out = np.eye(4)
    out[0, 0], out[1, 1] = k[0, 0] * sx, k[1, 1] * sy
    out[0, 2], out[1, 2] = (k[0, 2] + 0.5) * sx - 0.5, (k[1, 2] + 0.5) * sy - 0.5
    return out.astype(np.float32).astype(np.float64)


def _size(name: str, size) -> Tuple[int, int]:
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be (H, W), got {size!r}') from None
    if h < 2 or w < 2:
        raise ValueError(f'{name} must be at least 2x2, got {size!r}')
    return h, w


def _look(position: np.ndarray, yaw: float, pitch: float, roll: float) -> np.ndarray:
    forward = np.array([math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw),
                        math.sin(pitch)])
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    right, down = (math.cos(roll) * right + math.sin(roll) * down,
                   -math.sin(roll) * right + math.cos(roll) * down)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, position
    return pose


def camera_trajectory(scene: Scene, num_frames: int,
                      rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """A smooth closed loop of camera poses inside ``scene.camera_region``.

    The camera walks once around an ellipse (radii 90 % of the region's half sizes,
    gently modulated) at 1.5 +- 0.1 m, looking across the room through the centre with a
    yaw swing of +-0.35 rad, pitch -0.3 +- 0.12 rad (slightly down) and roll +-0.04 rad.

    Args:
        scene: the room.
        num_frames: F >= 1 frames (frame k at phase 2 pi k / F).
        rng: random phases/direction; default ``default_rng([scene.seed, 12, scene.index])``.
    Returns:
        (F, 4, 4) float64 camera-to-world poses whose entries are float32-exact (what the
        pose text files and ``.sens`` store).
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) \
            or num_frames < 1:
        raise ValueError(f'camera_trajectory: num_frames must be a positive int, '
                         f'got {num_frames!r}')
    if rng is None:
        rng = np.random.default_rng([scene.seed, TAG_TRAJECTORY, scene.index])
    x0, y0, x1, y1 = scene.camera_region
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    rx, ry = 0.9 * (x1 - x0) / 2 / 1.1, 0.9 * (y1 - y0) / 2 / 1.1
    theta0 = rng.uniform(0, 2 * math.pi)
    direction = 1.0 if rng.uniform() < 0.5 else -1.0
    ph = rng.uniform(0, 2 * math.pi, 6)
    poses = np.empty((num_frames, 4, 4))
    for k in range(num_frames):
        a = theta0 + direction * 2 * math.pi * k / num_frames
        wobble = 1.0 + 0.1 * math.sin(2 * a + ph[0])
        pos = np.array([centre[0] + rx * wobble * math.cos(a),
                        centre[1] + ry * wobble * math.sin(a),
                        CAMERA_HEIGHT + 0.1 * math.sin(3 * a + ph[1])])
        yaw = a + math.pi + 0.35 * math.sin(2 * a + ph[2])
        pitch = -0.3 + 0.12 * math.sin(a + ph[3])
        roll = 0.04 * math.sin(3 * a + ph[4])
        poses[k] = _look(pos, yaw, pitch, roll)
    poses = poses.astype(np.float32).astype(np.float64)
    for k, pose in enumerate(poses):
        inside = [p.instance for p in scene.primitives
                  if np.all(pose[:3, 3] > p.lo - 0.05) and np.all(pose[:3, 3] < p.hi + 0.05)]
        if inside:
            raise RuntimeError(f'camera_trajectory({scene.name}): frame {k} camera is within '
                               f'5 cm of instance(s) {inside}')
    return poses


# ----------------------------------------------------------------------------- renderer
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
    cam = corners @ world_to_cam[:3, :3].T + world_to_cam[:3, 3]
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
    world_to_cam = np.linalg.inv(pose)
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


def _primitive_table(scene: Scene) -> Dict[str, np.ndarray]:
    prims = scene.primitives
    return {
        'lo': np.array([p.lo for p in prims]), 'hi': np.array([p.hi for p in prims]),
        'instance': np.array([p.instance for p in prims], np.int64),
        'label': np.array([p.label for p in prims], np.int64),
        'color': np.array([p.color for p in prims]),
        'texture': np.array([_TEXTURES.index(p.texture) for p in prims]),
        'cos': np.cos([p.angle for p in prims]), 'sin': np.sin([p.angle for p in prims]),
        'inv_period': 1.0 / np.array([p.period for p in prims]),
        'contrast': np.array([p.contrast for p in prims]),
        'phase': np.array([p.phase for p in prims]),
    }


_FACE_NORMALS = np.array([[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1],
                          [0, 0, 0]], np.float64)


def _normals(points: np.ndarray, prim: np.ndarray, face: np.ndarray,
             table: Dict[str, np.ndarray]) -> np.ndarray:
    """Outward unit normals (N, 3) of surface points (N, 3) on face ``face`` (N,) of
    primitive ``prim`` (N,) (face codes as in :class:`Primitive`)."""
    normals = _FACE_NORMALS[face]
    side = face == 6
    if side.any():
        centre = 0.5 * (table['lo'][prim[side], :2] + table['hi'][prim[side], :2])
        radial = points[side, :2] - centre
        normals[side, :2] = radial / np.maximum(np.linalg.norm(radial, axis=1), 1e-12)[:, None]
    return normals


def _albedo(points: np.ndarray, face: np.ndarray, prim: np.ndarray,
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
        s[cyl_side] = r * np.arctan2(rel[:, 1], rel[:, 0])
    kind = table['texture'][prim]
    pattern = np.zeros(len(points))
    two_pi = 2 * math.pi
    for name in _TEXTURES[1:]:
        sel = np.flatnonzero(kind == _TEXTURES.index(name))
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


def _shade(albedo: np.ndarray, normals: np.ndarray) -> np.ndarray:
    light = np.full(len(normals), _AMBIENT)
    for direction, strength in _LIGHTS:
        light += strength * np.maximum(normals @ direction, 0.0)
    return np.clip(albedo * light[:, None], 0.0, 1.0)


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def render_frame(scene: Scene, pose: np.ndarray, intrinsic_depth: np.ndarray,
                 depth_size: Tuple[int, int] = DEFAULT_DEPTH_SIZE,
                 intrinsic_color: Optional[np.ndarray] = None,
                 color_size: Optional[Tuple[int, int]] = None,
                 max_depth: float = DEFAULT_MAX_DEPTH) -> Dict[str, np.ndarray]:
    """Ray-cast one RGB-D frame of ``scene`` (conventions in the module docstring).

    Args:
        scene: from :func:`generate_scene`.
        pose: 4x4 camera-to-world (finite).
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
    depth_size = _size('depth_size', depth_size)
    table = _primitive_table(scene)
    t, prim, _, _, _ = _cast(scene, pose, intrinsic_depth, depth_size)
    mm = np.rint(np.where(np.isfinite(t), t, 0.0) * 1000.0)
    valid = np.isfinite(t) & (mm >= 1) & (mm <= max_depth * 1000.0)
    out = {'depth': np.where(valid, mm, 0).astype(np.uint16),
           'semantic': np.where(valid, table['label'][prim], 0).astype(np.uint16),
           'instance': np.where(valid, table['instance'][prim], 0).astype(np.uint16)}
    if color_size is not None:
        color_size = _size('color_size', color_size)
        t, prim, face, origin, dirs = _cast(scene, pose, intrinsic_color, color_size)
        rgb = np.empty(color_size + (3,))
        rgb[...] = BACKGROUND_RGB
        hit = np.isfinite(t) & (t <= max_depth)
        points = origin + (dirs[:, hit] * t[hit]).T
        ids, faces = prim[hit], face[hit]
        normals = _normals(points, ids, faces, table)
        rgb[hit] = _shade(_albedo(points, faces, ids, table), normals)
        out['color'] = _to_uint8(rgb)
    return out


# ----------------------------------------------------------------------------- point clouds
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
    table = _primitive_table(scene)
    normals = _normals(xyz, owner, face, table)
    rgb = _to_uint8(_shade(_albedo(xyz, face, owner, table), normals))
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


# ----------------------------------------------------------------------------- writers
def _jpeg_bytes(rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes identical to :func:`crosspt.fileio.scannet_layout.write_color`'s file."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format='JPEG', quality=quality)
    return buffer.getvalue()


def _sens_timestamp(index: int) -> int:
    return index * 33333  # microseconds at 30 fps


def write_scene_sens(scene: Scene, path: PathLike, num_frames: int,
                     depth_size: Tuple[int, int] = DEFAULT_DEPTH_SIZE,
                     color_size: Tuple[int, int] = DEFAULT_COLOR_SIZE,
                     invalid_pose_frames: Sequence[int] = (),
                     max_depth: float = DEFAULT_MAX_DEPTH, jpeg_quality: int = 95,
                     progress: bool = False) -> int:
    """Write every frame of ``camera_trajectory(scene, num_frames)`` as a ScanNet ``.sens``
    (version 4, JPEG colour, zlib_ushort depth, depth shift 1000, identity extrinsics,
    intrinsics from :func:`default_intrinsics`).

    Frame ``i`` equals frame ``i`` of :func:`generate_synthetic_scannet_frames` with
    ``frames_per_scene * frame_step == num_frames`` (same poses, depth and JPEG bytes),
    so extracting with frame skip ``frame_step`` reproduces that layout. Frames listed in
    ``invalid_pose_frames`` store an all ``-inf`` pose. Returns the frame count.
    """
    from crosspt.fileio.sens import SensFrame, SensHeader, write_sens

    depth_size, color_size = _size('depth_size', depth_size), _size('color_size', color_size)
    poses = camera_trajectory(scene, num_frames)
    bad = sorted(int(i) for i in invalid_pose_frames)
    if any(i < 0 or i >= num_frames for i in bad):
        raise ValueError(f'write_scene_sens({path}): invalid_pose_frames {bad} outside '
                         f'0..{num_frames - 1}')
    k_depth, k_color = default_intrinsics(depth_size, color_size)
    header = SensHeader('crosspt.synthetic_scenes', k_color.astype(np.float32),
                        np.eye(4, dtype=np.float32), k_depth.astype(np.float32),
                        np.eye(4, dtype=np.float32), color_size[1], color_size[0],
                        depth_size[1], depth_size[0], color_compression=2,
                        depth_compression=1, depth_shift=1000.0)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=num_frames, desc=f'{scene.name}.sens', unit='frame')

    def frames():
        for i, pose in enumerate(poses):
            out = render_frame(scene, pose, k_depth, depth_size, k_color, color_size,
                               max_depth)
            stored = np.full((4, 4), -np.inf, np.float32) if i in bad else pose
            yield SensFrame(np.asarray(stored, np.float32), _sens_timestamp(i),
                            _sens_timestamp(i), _jpeg_bytes(out['color'], jpeg_quality),
                            zlib.compress(out['depth'].astype('<u2').tobytes()))
            if bar is not None:
                bar.update(1)

    try:
        return write_sens(path, header, frames())
    finally:
        if bar is not None:
            bar.close()


def _write_scene_frames(scene: Scene, scene_dir: str, frames_per_scene: int, frame_step: int,
                        depth_size, color_size, invalid: Sequence[int], max_depth: float,
                        jpeg_quality: int, bar) -> List[int]:
    k_depth, k_color = default_intrinsics(depth_size, color_size)
    poses = camera_trajectory(scene, frames_per_scene * frame_step)
    for sub in ('color', 'depth', 'pose', 'intrinsic', 'label-filt', 'instance-filt'):
        os.makedirs(os.path.join(scene_dir, sub), exist_ok=True)
    for name in INTRINSIC_FILES:
        matrix = {'intrinsic_color': k_color, 'intrinsic_depth': k_depth}.get(name, np.eye(4))
        write_matrix(os.path.join(scene_dir, 'intrinsic', f'{name}.txt'), matrix)
    written = []
    for i in range(0, frames_per_scene * frame_step, frame_step):
        out = render_frame(scene, poses[i], k_depth, depth_size, k_color, color_size,
                           max_depth)
        write_color(os.path.join(scene_dir, 'color', f'{i}.jpg'), out['color'],
                    quality=jpeg_quality)
        write_depth(os.path.join(scene_dir, 'depth', f'{i}.png'), out['depth'])
        write_label(os.path.join(scene_dir, 'label-filt', f'{i}.png'), out['semantic'])
        write_label(os.path.join(scene_dir, 'instance-filt', f'{i}.png'), out['instance'])
        pose = np.full((4, 4), -np.inf) if i in invalid else poses[i]
        write_matrix(os.path.join(scene_dir, 'pose', f'{i}.txt'), pose)
        written.append(i)
        if bar is not None:
            bar.update(1)
    return written


def _is_complete(root: str, generator: str, params: dict) -> bool:
    """The marker records this generator and ``params``, and its files are intact."""
    return info_matches(root, SYNTHETIC_INFO, {'format_version': FORMAT_VERSION,
                                               'generator': generator, 'params': params})


def _positive(name: str, **values) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f'{name}: {key} must be a positive int, got {value!r}')


def _object_info(o: SceneObject) -> dict:
    return {'instance': o.instance, 'label': o.label, 'name': o.name,
            'bbox': [float(v) for v in np.concatenate([o.centre, o.size])]}


def generate_synthetic_scannet_frames(data_root: PathLike, num_scenes: int = 4,
                                      frames_per_scene: int = 12, seed: int = 0,
                                      frame_step: int = 25,
                                      depth_size: Tuple[int, int] = DEFAULT_DEPTH_SIZE,
                                      color_size: Tuple[int, int] = DEFAULT_COLOR_SIZE,
                                      invalid_pose: bool = True, write_sens: bool = False,
                                      max_depth: float = DEFAULT_MAX_DEPTH,
                                      jpeg_quality: int = 95,
                                      progress: bool = True) -> dict:
    """Write ``num_scenes`` synthetic scenes in the extracted ScanNet layout (module
    docstring).

    Args:
        data_root: output folder (one ``scene%04d_00`` folder per scene).
        num_scenes: scenes 0..num_scenes-1 (``generate_scene(seed, i)``).
        frames_per_scene: kept frames per scene, indices 0, frame_step, 2 frame_step, ...
        seed: base seed.
        frame_step: frame-index stride of the kept frames (ScanNet/PPKT: 25).
        depth_size, color_size: (H, W) of depth/labels and of colour.
        invalid_pose: scene 0's middle kept frame gets an all ``-inf`` pose file.
        write_sens: also write ``<scene>/<scene>.sens`` with all
            ``frames_per_scene * frame_step`` frames (slow: every frame is rendered).
        max_depth: metres; farther hits get depth 0 and label 0.
        jpeg_quality: colour JPEG quality.
        progress: tqdm bar over frames.
    Returns:
        the ``synthetic_info.json`` dict plus ``data_root`` and ``created``.
    """
    name = 'generate_synthetic_scannet_frames'
    _positive(name, num_scenes=num_scenes, frames_per_scene=frames_per_scene,
              frame_step=frame_step, jpeg_quality=jpeg_quality)
    depth_size, color_size = _size('depth_size', depth_size), _size('color_size', color_size)
    if not 0 < max_depth <= 65.535:
        raise ValueError(f'{name}: max_depth must be in (0, 65.535] m, got {max_depth}')
    params = {'seed': int(seed), 'num_scenes': int(num_scenes),
              'frames_per_scene': int(frames_per_scene), 'frame_step': int(frame_step),
              'depth_size': list(depth_size), 'color_size': list(color_size),
              'invalid_pose': bool(invalid_pose), 'write_sens': bool(write_sens),
              'max_depth': float(max_depth), 'jpeg_quality': int(jpeg_quality)}
    generator = f'crosspt.datasets.synthetic_scenes.{name}'

    def write(tmp: str, bar) -> dict:
        k_depth, k_color = default_intrinsics(depth_size, color_size)
        middle = frame_step * (frames_per_scene // 2)
        scenes = {}
        for s in range(num_scenes):
            scene = generate_scene(seed, s)
            scene_dir = os.path.join(tmp, scene.name)
            invalid = [middle] if invalid_pose and s == 0 else []
            frames = _write_scene_frames(scene, scene_dir, frames_per_scene, frame_step,
                                         depth_size, color_size, invalid, max_depth,
                                         jpeg_quality, bar)
            if write_sens:
                write_scene_sens(scene, os.path.join(scene_dir, f'{scene.name}.sens'),
                                 frames_per_scene * frame_step, depth_size, color_size,
                                 invalid, max_depth, jpeg_quality)
            scenes[scene.name] = {
                'index': s, 'room_size': list(scene.size), 'frames': frames,
                'invalid_pose_frames': invalid,
                'objects': [_object_info(o) for o in scene.objects]}
        return {'format': 'extracted ScanNet layout: <scene>/color/<i>.jpg, '
                          'depth/<i>.png (uint16 mm), pose/<i>.txt (4x4 camera-to-world), '
                          'intrinsic/*.txt, label-filt/<i>.png (NYU40 ids), '
                          'instance-filt/<i>.png; z-up world, floor at z = 0',
                'class_map': {str(k): v for k, v in NYU40_CLASSES.items()},
                'intrinsic_depth': k_depth.tolist(), 'intrinsic_color': k_color.tolist(),
                'scenes': scenes}

    return write_dataset_once(
        data_root, name, SYNTHETIC_INFO,
        is_complete=lambda root: _is_complete(root, generator, params), write=write,
        header={'format_version': FORMAT_VERSION, 'generator': generator, 'params': params},
        progress=dict(total=num_scenes * frames_per_scene, desc='synthetic scannet',
                      unit='frame') if progress else None)
