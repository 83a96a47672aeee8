"""Synthetic single-view indoor scans written in mmdet3d 1.4.0's SUN RGB-D data format, so
that mmdet3d's own ``SUNRGBDDataset`` and its stock transforms (``LoadPointsFromFile``,
``LoadAnnotations3D``, ``RandomFlip3D``, ``GlobalRotScaleTrans``, ``PointSample``) read them
unchanged, with yawed boxes (docs/methods/3detr.md, 'Rotated boxes'). Needs neither mmdet3d
nor mmdet.

Layout written by :func:`generate_synthetic_sunrgbd_mmdet3d`::

    <root>/points/<%06d>.bin          float32 (N, 6) x y z r g b, raw ``tofile``; xyz in the
                                      upright depth frame (x right, y forward, z up, the
                                      camera at the origin), rgb in 0..1 (SUN RGB-D's range)
    <root>/sunrgbd_infos_{train,val}.pkl
    <root>/synthetic_info.json        generator, parameters, file manifest (marker)

Sample ids follow the SUN RGB-D v1 split that VoteNet and mmdet3d use (val = images
1..5050, train = 5051..10335): train scan ``i`` is ``5051 + i``, val scan ``j`` is
``1 + j``.

Info pkl (mmdet3d's v2 layout of ``update_sunrgbd_infos``; read by ``Det3DDataset`` /
``SUNRGBDDataset.parse_ann_info``)::

    {'metainfo': {'categories': {'bed': 0, ..., 'bathtub': 9}, 'dataset': 'sunrgbd',
                  'info_version': '1.1'},
     'data_list': [{'sample_idx': 5051,
                    'lidar_points': {'num_pts_feats': 6, 'lidar_path': '005051.bin'},
                    'instances': [{'bbox_3d': [cx, cy, cz, dx, dy, dz, yaw],
                                   'bbox_label_3d': 0..9}, ...]}, ...]}

``bbox_3d`` is a ``DepthInstance3DBoxes`` row with the **gravity** centre
(``SUNRGBDDataset`` builds the boxes with ``origin=(0.5, 0.5, 0.5)``): ``dx`` / ``dy`` are
the sizes along the box's own x / y axes and ``yaw`` in [-pi, pi) turns the box's x axis
counter-clockwise from the depth frame's x axis, seen from above. The real infos also
carry ``images`` (``CAM0`` path and ``depth2img``) for the image branch; no image is
rendered here, so configs set ``modality=dict(use_camera=False, use_lidar=True)``.

Scan ``index`` (all draws from ``default_rng([seed, tag, index])``):

1. the room of :func:`crosspt.synthetic.room_planner.generate_scene` (seed, index);
2. every object of a SUN RGB-D class turns about its vertical axis through its box centre
   by a yaw ~ U(-45, 45) degrees, halved up to twice and dropped to 0 when its turned
   footprint would leave the room or overlap another object's (tag 31);
3. a camera 0.9 m from a random wall (the camera region's edge), 1.0-1.5 m high, looking
   across the room with a heading jitter of +-20 degrees and a downward tilt of 0.1-0.4
   rad (tag 32);
4. surface points of :func:`crosspt.synthetic.scene_points.sample_scene_points` (tag 33),
   the objects' points turned with them, kept inside the camera's 62 x 48.6 degree
   frustum (a Kinect's field of view; no occlusion test) up to 8 m, the first
   ``num_points`` of them in the depth frame;
5. one amodal box per SUN RGB-D-class object with at least ``min_object_points`` stored
   points: its full (turned) extent, also where it is out of view.

Classes: bed, table, sofa, chair, desk and bookshelf keep their names; a cabinet at most
1.2 m high is a ``night_stand`` when narrower than 0.8 m and a ``dresser`` otherwise; tall
cabinets, refrigerators, bins, doors, windows and pictures are unannotated clutter. The
generator builds no toilet or bathtub, so those two classes have no boxes.
"""
import math
import os
import pickle
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .common import check_positive, generate_dataset, register
from .exact_math import convex_overlap_area, row_norm, transform
from .room_planner import generate_scene
from .scene_model import FLOOR, WALL, Scene
from .scene_points import sample_scene_points

PathLike = Union[str, os.PathLike]

GENERATOR = 'crosspt.synthetic.sunrgbd_mmdet3d.generate_synthetic_sunrgbd_mmdet3d'
#: mmdet3d's ``SUNRGBDDataset.METAINFO['classes']`` (VoteNet's 10 detection classes)
SUNRGBD_CLASSES = ('bed', 'table', 'sofa', 'chair', 'toilet', 'desk', 'dresser',
                   'night_stand', 'bookshelf', 'bathtub')
INFO_VERSION = '1.1'
NUM_PTS_FEATS = 6
FIRST_TRAIN_ID, FIRST_VAL_ID = 5051, 1
TAG_YAW, TAG_CAMERA, TAG_POINTS = 31, 32, 33
MAX_OBJECT_YAW = math.pi / 4
HFOV, VFOV = math.radians(62.0), math.radians(48.6)
MAX_RANGE = 8.0
MIN_FORWARD = 0.2           # metres: points closer to the camera plane are dropped
LOW_CABINET, NIGHT_STAND_WIDTH = 1.2, 0.8
#: corner signs of a footprint, counter-clockwise (``crosspt.ops.box_iou_rotated``'s order)
_CORNER_SIGNS = ((0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, -0.5))
Footprint = List[Tuple[float, float]]

__all__ = ['SUNRGBD_CLASSES', 'sunrgbd_class', 'object_yaws', 'depth_frame',
           'in_frustum', 'sunrgbd_scan', 'write_sunrgbd_infos', 'sunrgbd_metainfo',
           'generate_synthetic_sunrgbd_mmdet3d']


# ----------------------------------------------------------------------------- geometry
def sunrgbd_class(name: str, size: Sequence[float]) -> Optional[int]:
    """SUN RGB-D label 0..9 of a synthetic object (NYU40 name, (3,) box size), or None
    for unannotated clutter (module docstring)."""
    if name == 'cabinet':
        if size[2] > LOW_CABINET:
            return None
        small = min(size[0], size[1]) < NIGHT_STAND_WIDTH and \
            max(size[0], size[1]) < NIGHT_STAND_WIDTH
        return SUNRGBD_CLASSES.index('night_stand' if small else 'dresser')
    return SUNRGBD_CLASSES.index(name) if name in SUNRGBD_CLASSES else None


def _footprint(centre: np.ndarray, size: np.ndarray, yaw: float) -> Footprint:
    """Counter-clockwise corners (4 (x, y) Python floats) of the footprint of a box with
    centre (>= 2,) and size (>= 2,) turned by ``yaw`` about its centre."""
    c, s = math.cos(yaw), math.sin(yaw)
    cx, cy, dx, dy = float(centre[0]), float(centre[1]), float(size[0]), float(size[1])
    return [((sx * dx) * c - (sy * dy) * s + cx, (sx * dx) * s + (sy * dy) * c + cy)
            for sx, sy in _CORNER_SIGNS]


def _yaw_fits(box: Footprint, others: List[Footprint], room: Tuple[float, float]) -> bool:
    """The turned footprint stays in ``[0, Lx] x [0, Ly]`` and overlaps no other one by
    more than 1e-9 m^2."""
    if any(x < 0 or y < 0 or x > room[0] or y > room[1] for x, y in box):
        return False
    return all(convex_overlap_area(box, other) <= 1e-9 for other in others)


def object_yaws(scene: Scene, rng: np.random.Generator) -> Dict[int, float]:
    """Instance id -> yaw (radians) of every object of a SUN RGB-D class (module
    docstring, step 2); other objects keep yaw 0 and act as obstacles."""
    objects = [o for o in scene.objects if o.label not in (WALL, FLOOR)]
    boxes = {o.instance: _footprint(o.centre, o.size, 0.0) for o in objects}
    yaws: Dict[int, float] = {}
    for obj in objects:
        if sunrgbd_class(obj.name, obj.size) is None:
            continue
        wanted = float(rng.uniform(-MAX_OBJECT_YAW, MAX_OBJECT_YAW))
        others = [b for k, b in boxes.items() if k != obj.instance]
        yaws[obj.instance] = 0.0
        for yaw in (wanted, wanted / 2, wanted / 4):
            box = _footprint(obj.centre, obj.size, yaw)
            if _yaw_fits(box, others, scene.size[:2]):
                boxes[obj.instance], yaws[obj.instance] = box, yaw
                break
    return yaws


def _rotate_z(xy: np.ndarray, angle: float) -> np.ndarray:
    """(N, 2) points turned counter-clockwise by ``angle`` about the origin."""
    c, s = math.cos(angle), math.sin(angle)
    return transform(xy, np.array([[c, -s], [s, c]]))


def _camera(scene: Scene, rng: np.random.Generator) -> Tuple[np.ndarray, float, float]:
    """(position (3,), heading phi of the view direction in the room's xy, downward tilt)
    of a camera at a random edge of the camera region looking into the room."""
    x0, y0, x1, y1 = scene.camera_region
    side = int(rng.integers(4))
    along = float(rng.uniform(0.0, 1.0))
    xy = [(x0 + along * (x1 - x0), y0), (x1, y0 + along * (y1 - y0)),
          (x1 - along * (x1 - x0), y1), (x0, y1 - along * (y1 - y0))][side]
    heading = math.pi / 2 + side * math.pi / 2 + float(rng.uniform(-0.35, 0.35))
    height, tilt = float(rng.uniform(1.0, 1.5)), float(rng.uniform(0.1, 0.4))
    return np.array([xy[0], xy[1], height]), heading, tilt


def depth_frame(xyz: np.ndarray, camera: np.ndarray, heading: float) -> np.ndarray:
    """Room-frame points (N, 3) -> upright depth frame (N, 3) float64: the camera at the
    origin, the view direction (heading ``heading`` in the room's xy) along +y, z up."""
    rel = np.asarray(xyz, np.float64) - camera
    return np.concatenate([_rotate_z(rel[:, :2], math.pi / 2 - heading), rel[:, 2:]], 1)


def in_frustum(depth_xyz: np.ndarray, tilt: float) -> np.ndarray:
    """(N,) bool: inside the field of view of a camera tilted down by ``tilt`` and within
    :data:`MAX_RANGE` metres."""
    y, z = depth_xyz[:, 1], depth_xyz[:, 2]
    forward = y * math.cos(tilt) - z * math.sin(tilt)
    up = y * math.sin(tilt) + z * math.cos(tilt)
    safe = np.maximum(forward, MIN_FORWARD)
    return ((forward > MIN_FORWARD) & (np.abs(depth_xyz[:, 0]) < safe * math.tan(HFOV / 2))
            & (np.abs(up) < safe * math.tan(VFOV / 2))
            & (row_norm(depth_xyz) < MAX_RANGE))


def _wrap(angle: float) -> float:
    """``angle`` in [-pi, pi)."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


# ----------------------------------------------------------------------------- one scan
def _turn_objects(xyz: np.ndarray, instance: np.ndarray, scene: Scene,
                  yaws: Dict[int, float]) -> np.ndarray:
    """Room-frame points with every yawed object's points turned about its box centre."""
    out = np.asarray(xyz, np.float64).copy()
    centres = {o.instance: o.centre for o in scene.objects}
    for inst, yaw in yaws.items():
        member = instance == inst
        if yaw and member.any():
            centre = centres[inst][:2]
            out[member, :2] = _rotate_z(out[member, :2] - centre, yaw) + centre
    return out


def _visible_points(scene: Scene, yaws: Dict[int, float], camera: np.ndarray,
                    heading: float, tilt: float, num_points: int,
                    rng: np.random.Generator) -> Tuple[np.ndarray, ...]:
    """The first ``num_points`` in-view surface points: depth xyz (num_points, 3) float64,
    rgb uint8, instance ids. Draws more surface points until enough are in view."""
    draw = 3 * num_points
    for _ in range(4):
        world, rgb, _, instance = sample_scene_points(scene, draw, rng)
        depth = depth_frame(_turn_objects(world, instance, scene, yaws), camera, heading)
        keep = np.flatnonzero(in_frustum(depth, tilt))
        if len(keep) >= num_points:
            keep = keep[:num_points]
            return depth[keep], rgb[keep], instance[keep]
        draw = int(math.ceil(draw * 1.2 * num_points / max(len(keep), 1)))
    raise RuntimeError(f'sunrgbd_scan({scene.name}): fewer than {num_points} surface '
                       f'points in view after 4 draws')


def sunrgbd_scan(seed: int, index: int, num_points: int, min_object_points: int = 10
                 ) -> dict:
    """One synthetic SUN RGB-D scan (module docstring, steps 1-5).

    Returns:
        dict(xyz (N, 3) float32 depth frame, rgb (N, 3) float32 in [0, 1], instance (N,)
        int64 instance ids, boxes (M, 7) float64 ``[cx, cy, cz, dx, dy, dz, yaw]`` (gravity
        centre, depth frame), labels (M,) int64 in 0..9, box_instances (M,) int64).
    """
    scene = generate_scene(seed, index)
    yaws = object_yaws(scene, np.random.default_rng([int(seed), TAG_YAW, int(index)]))
    camera, heading, tilt = _camera(
        scene, np.random.default_rng([int(seed), TAG_CAMERA, int(index)]))
    depth, rgb, instance = _visible_points(
        scene, yaws, camera, heading, tilt, num_points,
        np.random.default_rng([int(seed), TAG_POINTS, int(index)]))
    boxes, labels, ids = [], [], []
    for obj in scene.objects:
        label = sunrgbd_class(obj.name, obj.size) if obj.label not in (WALL, FLOOR) else None
        if label is None or int((instance == obj.instance).sum()) < min_object_points:
            continue
        centre = depth_frame(obj.centre[None], camera, heading)[0]
        yaw = _wrap(yaws[obj.instance] + math.pi / 2 - heading)
        boxes.append([*centre, *obj.size, yaw])
        labels.append(label)
        ids.append(obj.instance)
    return dict(xyz=depth.astype(np.float32), rgb=(rgb / 255.0).astype(np.float32),
                instance=instance.astype(np.int64),
                boxes=np.asarray(boxes, np.float64).reshape(-1, 7),
                labels=np.asarray(labels, np.int64), box_instances=np.asarray(ids, np.int64))


# ----------------------------------------------------------------------------- writers
def sunrgbd_metainfo() -> dict:
    """The ``metainfo`` of mmdet3d's converted SUN RGB-D infos."""
    return {'categories': {name: i for i, name in enumerate(SUNRGBD_CLASSES)},
            'dataset': 'sunrgbd', 'info_version': INFO_VERSION}


def _write_scan(root: str, sample_idx: int, scan: dict) -> dict:
    """Write ``points/<%06d>.bin`` and return the scan's v2 info entry."""
    file_name = f'{sample_idx:06d}.bin'
    os.makedirs(os.path.join(root, 'points'), exist_ok=True)
    np.concatenate([scan['xyz'], scan['rgb']], 1).astype('<f4').tofile(
        os.path.join(root, 'points', file_name))
    return {'sample_idx': int(sample_idx),
            'lidar_points': {'num_pts_feats': NUM_PTS_FEATS, 'lidar_path': file_name},
            'instances': [{'bbox_3d': [float(v) for v in box], 'bbox_label_3d': int(label)}
                          for box, label in zip(scan['boxes'], scan['labels'])]}


def write_sunrgbd_infos(root: PathLike, split: str, infos: List[dict]) -> str:
    """Write ``<root>/sunrgbd_infos_<split>.pkl`` = ``{'metainfo': sunrgbd_metainfo(),
    'data_list': infos}`` (pickle protocol 2, as ``mmengine.dump``). Returns the path."""
    if split not in ('train', 'val'):
        raise ValueError(f"write_sunrgbd_infos: split must be 'train' or 'val', got {split!r}")
    path = os.path.join(os.fspath(root), f'sunrgbd_infos_{split}.pkl')
    with open(path, 'wb') as f:
        pickle.dump({'metainfo': sunrgbd_metainfo(), 'data_list': list(infos)}, f, protocol=2)
    return path


@register
def generate_synthetic_sunrgbd_mmdet3d(data_root: PathLike, num_scenes: int = 12,
                                       num_val_scenes: int = 4, num_points: int = 50000,
                                       seed: int = 0, min_object_points: int = 10,
                                       progress: bool = False) -> dict:
    """Write synthetic single-view scans in mmdet3d's SUN RGB-D format (module docstring).

    Args:
        data_root: output folder.
        num_scenes: train scans ``sunrgbd_scan(seed, 0 .. num_scenes - 1)``.
        num_val_scenes: validation scans, indices ``num_scenes ..``.
        num_points: stored points per scan (VoteNet's and mmdet3d's SUN RGB-D export:
            50,000).
        seed: base seed.
        min_object_points: stored points an object needs to be annotated.
        progress: tqdm bar over scans.
    Returns:
        the ``synthetic_info.json`` dict plus ``data_root`` and ``created``.

    Written once through :func:`crosspt.synthetic.common.generate_dataset` (idempotent,
    locked, swapped into place, byte-identical for the same parameters).
    """
    name = 'generate_synthetic_sunrgbd_mmdet3d'
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f'{name}: seed must be a non-negative int, got {seed!r}')
    check_positive(name, num_scenes=num_scenes, num_val_scenes=num_val_scenes,
                   num_points=num_points, min_object_points=min_object_points)
    params = {'seed': int(seed), 'num_scenes': int(num_scenes),
              'num_val_scenes': int(num_val_scenes), 'num_points': int(num_points),
              'min_object_points': int(min_object_points)}
    splits = {'train': [(FIRST_TRAIN_ID + i, i) for i in range(num_scenes)],
              'val': [(FIRST_VAL_ID + j, num_scenes + j) for j in range(num_val_scenes)]}

    def write(tmp: str, bar) -> dict:
        summary: Dict[str, dict] = {}
        for split, scans in splits.items():
            infos = []
            for sample_idx, index in scans:
                scan = sunrgbd_scan(seed, index, num_points, min_object_points)
                infos.append(_write_scan(tmp, sample_idx, scan))
                summary[f'{sample_idx:06d}'] = {
                    'split': split, 'index': index,
                    'labels': [SUNRGBD_CLASSES[k] for k in scan['labels']]}
                if bar is not None:
                    bar.update(1)
            write_sunrgbd_infos(tmp, split, infos)
        return {'format': 'mmdet3d 1.4.0 SUN RGB-D: points/<%06d>.bin float32 (N, 6) xyzrgb '
                          'upright depth frame, rgb 0..1, sunrgbd_infos_{train,val}.pkl (v2 '
                          'info, info_version 1.1, yawed gravity-centre boxes, no images)',
                'splits': {k: [f'{s:06d}' for s, _ in v] for k, v in splits.items()},
                'scenes': summary}

    return generate_dataset(
        data_root, name, GENERATOR, params, write,
        progress=dict(total=num_scenes + num_val_scenes, desc='synthetic sunrgbd mmdet3d',
                      unit='scan') if progress else None)
