"""Deterministic procedural stand-in for TAP's ShapeNet55 pre-training data
(docs/methods/tap.md, 'Layout on disk').

Objects are composed of primitive meshes (boxes, cylinders, cones, spheres, tori) with
random proportions, Y-UP like MVCNN's meshes.  ``generate_synthetic_shapenet55`` writes the
exact layout TAP's loader reads::

    {root}/pointclouds/{split}/model_<id>.ply        1024 points, Y-up mesh frame
    {root}/shapenet55v1/{split}/model_<id>_<view>.jpg   <view> = 001..012, 224x224 RGB
    {root}/meshes/{split}/model_<id>.off
    {root}/synthetic_info.json

View ``k+1`` shows the mesh after the loader's axis permutation ``[2, 0, 1]`` (y-up -> z-up)
and the rotation ``R_k`` of ``tap_view_rotations``; its camera is fitted on the stored cloud
(permuted) exactly like ``TAPQueryGenerator.fit_camera``, so images and queries agree.
"""
import os
from typing import Callable, Dict, List, Tuple, Union

import numpy as np

from crosspt.fileio.atomic import info_matches, read_info, write_dataset_once
from crosspt.fileio.ply import write_ply_points
from crosspt.rendering.mesh_io import sample_surface_points, write_off
from crosspt.rendering.renderer import render_tap_views

PathLike = Union[str, os.PathLike]
Mesh = Tuple[np.ndarray, np.ndarray]

FORMAT_VERSION = 1
NUM_VIEWS = 12
LOADER_AXIS_PERMUTATION = (2, 0, 1)
SYNTHETIC_INFO = 'synthetic_info.json'
SYNTHETIC_CATEGORIES = ('table', 'chair', 'lamp', 'mug', 'airplane', 'bottle', 'sofa', 'bench')

__all__ = ['SYNTHETIC_CATEGORIES', 'make_object', 'sample_surface_points',
           'generate_synthetic_shapenet55']


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
    return vertices @ _axis_frame(axis).T + np.asarray(center, dtype=np.float64)


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


_BUILDERS: Dict[str, Callable[[np.random.Generator], List[Mesh]]] = {
    'table': _table, 'chair': _chair, 'lamp': _lamp, 'mug': _mug, 'airplane': _airplane,
    'bottle': _bottle, 'sofa': _sofa, 'bench': _bench}


def make_object(category: str, rng: np.random.Generator) -> Mesh:
    """Random Y-up mesh of one category, centred on its bounding box, longest side 1.

    Returns:
        vertices (V, 3) float64 and faces (F, 3) int64.
    """
    if category not in _BUILDERS:
        raise KeyError(f'unknown synthetic category {category!r}; expected one of '
                       f'{SYNTHETIC_CATEGORIES}')
    vertices, faces = merge(*_BUILDERS[category](rng))
    yaw = rng.uniform(-0.25, 0.25)  # small random turn about the up axis
    c, s = np.cos(yaw), np.sin(yaw)
    vertices = vertices @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]).T
    low, high = vertices.min(0), vertices.max(0)
    vertices = (vertices - (low + high) / 2) / (high - low).max()
    return vertices, faces


# ----------------------------------------------------------------------------- dataset
def _plan(num_train: int, num_val: int, num_test: int) -> List[Dict[str, object]]:
    models, next_id = [], 0
    for split, count in (('train', num_train), ('val', num_val), ('test', num_test)):
        for _ in range(count):
            models.append({'id': next_id, 'name': f'model_{next_id:06d}', 'split': split,
                           'category': SYNTHETIC_CATEGORIES[next_id % len(SYNTHETIC_CATEGORIES)]})
            next_id += 1
    return models


def _expected_files(model: Dict[str, object]) -> List[str]:
    split, name = model['split'], model['name']
    files = [f'pointclouds/{split}/{name}.ply', f'meshes/{split}/{name}.off']
    files += [f'shapenet55v1/{split}/{name}_{v:03d}.jpg' for v in range(1, NUM_VIEWS + 1)]
    return files


def _build_model(root: str, model: Dict[str, object], seed: int, num_points: int,
                 image_size: int) -> None:
    """Create mesh, point cloud and 12 views of one model under ``root``."""
    from PIL import Image

    rng = np.random.default_rng([seed, int(model['id'])])
    vertices, faces = make_object(str(model['category']), rng)
    points = sample_surface_points(vertices, faces, num_points, rng)
    split, name = model['split'], model['name']
    write_off(os.path.join(root, 'meshes', split, f'{name}.off'), vertices, faces)
    write_ply_points(os.path.join(root, 'pointclouds', split, f'{name}.ply'), points)
    images = render_tap_views(vertices, faces, points, image_size=image_size,
                              num_views=NUM_VIEWS, axis_permutation=LOADER_AXIS_PERMUTATION)
    img_dir = os.path.join(root, 'shapenet55v1', split)
    os.makedirs(img_dir, exist_ok=True)
    for v, image in enumerate(images):
        Image.fromarray(image, 'RGB').save(os.path.join(img_dir, f'{name}_{v + 1:03d}.jpg'),
                                           quality=95)


def _is_complete(root: str, header: Dict[str, object]) -> bool:
    """``synthetic_info.json`` records ``header`` and every file of it is intact."""
    info = read_info(root, SYNTHETIC_INFO)
    return info_matches(root, SYNTHETIC_INFO, header) and all(
        os.path.isfile(os.path.join(root, rel))
        for model in info.get('models', []) for rel in _expected_files(model))


def generate_synthetic_shapenet55(data_root: PathLike, num_train: int = 48, num_val: int = 8,
                                  num_test: int = 16, seed: int = 0, num_points: int = 1024,
                                  image_size: int = 224,
                                  progress: bool = True) -> Dict[str, object]:
    """Write a procedural dataset in TAP's ShapeNet55 layout (see module docstring).

    Idempotent: if ``synthetic_info.json`` records the same parameters and every file is
    present nothing is rewritten.  The set is built in a temporary sibling directory and
    renamed into place, under an ``fcntl`` lock on ``{data_root}.lock``, by
    :func:`crosspt.fileio.atomic.write_dataset_once`: regeneration replaces only files of
    the info's manifest and refuses (DataOwnershipError listing them) a folder holding
    any other file.

    Args:
        data_root: output directory.
        num_train / num_val / num_test: models per split (ids are global and unique).
        seed: base seed; model ``i`` uses ``default_rng([seed, i])``.
        num_points: points per .ply.
        image_size: side of the square views (obj_size = image_size * 200 / 224).
        progress: show a tqdm bar.
    Returns:
        the info dict stored in ``synthetic_info.json`` plus ``data_root`` and ``created``.
    """
    root = os.path.abspath(os.fspath(data_root)).rstrip(os.sep)
    for key, value in (('num_train', num_train), ('num_val', num_val), ('num_test', num_test)):
        if value < 0:
            raise ValueError(f'generate_synthetic_shapenet55({root}): {key} must be >= 0')
    if num_points < 1 or image_size < 8:
        raise ValueError(f'generate_synthetic_shapenet55({root}): need num_points >= 1 and '
                         f'image_size >= 8, got {num_points}, {image_size}')
    params = {'seed': int(seed), 'num_train': int(num_train), 'num_val': int(num_val),
              'num_test': int(num_test), 'num_points': int(num_points),
              'image_size': int(image_size)}
    models = _plan(num_train, num_val, num_test)
    header = {'format_version': FORMAT_VERSION,
              'generator': 'crosspt.datasets.synthetic.generate_synthetic_shapenet55',
              'params': params}

    def write(tmp: str, bar) -> Dict[str, object]:
        for model in models:
            _build_model(tmp, model, int(seed), int(num_points), int(image_size))
            if bar is not None:
                bar.update(1)
        for split in ('train', 'val', 'test'):
            for sub in ('pointclouds', 'shapenet55v1', 'meshes'):
                os.makedirs(os.path.join(tmp, sub, split), exist_ok=True)
        return {'categories': list(SYNTHETIC_CATEGORIES),
                'counts': {'train': num_train, 'val': num_val, 'test': num_test},
                'num_views': NUM_VIEWS, 'models': models}

    return write_dataset_once(
        root, 'generate_synthetic_shapenet55', SYNTHETIC_INFO,
        is_complete=lambda folder: _is_complete(folder, header), write=write, header=header,
        progress=dict(total=len(models), desc='synthetic shapenet55', unit='model')
        if progress else None)
