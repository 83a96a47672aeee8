"""Synthetic rooms written in mmdet3d 1.4.0's S3DIS format, so that mmdet3d's own
``S3DISSegDataset`` and its stock transforms read them unchanged (the embedded twin of
S3DIS Area-5 segmentation, docs/finetuning.md, 'S3DIS semantic segmentation'). Needs
neither mmdet3d nor mmdet.

Layout written by :func:`generate_synthetic_s3dis_mmdet3d` (what mmdet3d's
``tools/create_data.py s3dis`` and ``update_infos_to_v2.py`` write)::

    <root>/points/Area_<a>_<room>.bin          float32 (N, 6) x y z r g b, raw ``tofile``;
                                               xyz minus the room's minimum, rgb 0..255
    <root>/semantic_mask/Area_<a>_<room>.bin   int64 (N,) class ids 0..12 (S3DIS_CLASSES)
    <root>/instance_mask/Area_<a>_<room>.bin   int64 (N,) instance ids >= 1
    <root>/seg_info/Area_<a>_resampled_scene_idxs.npy  int32, mmdet3d's resampling rule
                                               (4096 points per sample)
    <root>/seg_info/Area_<a>_label_weight.npy  float32 (13,), 1 / ln(1.2 + freq)
    <root>/s3dis_infos_Area_<a>.pkl            for a = 1..num_areas
    <root>/synthetic_info.json                 generator, parameters, file manifest

Info pkl of one area::

    {'metainfo': {'categories': {'table': 0, 'chair': 1, 'sofa': 2, 'bookcase': 3,
                                 'board': 4}, 'dataset': 's3dis', 'info_version': '1.1'},
     'data_list': [{'sample_idx': 0,
                    'lidar_points': {'num_pts_feats': 6, 'lidar_path': 'Area_1_office_1.bin'},
                    'pts_semantic_mask_path': 'Area_1_office_1.bin',
                    'pts_instance_mask_path': 'Area_1_office_1.bin',
                    'instances': [{'bbox_3d': [cx, cy, cz, dx, dy, dz],
                                   'bbox_label_3d': 0..4}, ...]}, ...]}

``sample_idx`` is the room's index within its area, as ``update_s3dis_infos`` writes it;
the boxes are the min/max boxes of the five furniture classes' instances (GSDN's detection
classes, mmdet3d's ``S3DISData.get_bboxes``).

Rooms: room j of area a is ``generate_scene(seed, (a - 1) * rooms_per_area + j)`` (the
ScanNet-style room planner) with its NYU40 labels mapped to S3DIS classes
(:data:`NYU40_TO_S3DIS`), plus a ceiling (S3DIS scans have one), a beam across the room
under the ceiling and a column in a corner (rng ``default_rng([seed, 32, index])``); its
points are ``sample_scene_points(room, num_points, default_rng([seed, 31, index]))``.
Rooms alternate between the names ``office_<k>`` and ``conferenceRoom_<k>``.
"""
import os
import pickle
from dataclasses import replace
from typing import Dict, List, Tuple, Union

import numpy as np

from .common import check_positive, generate_dataset, register
from .room_planner import WALL_THICKNESS, generate_scene
from .scannet_mmdet3d import instance_boxes, label_weight, resampled_scene_idxs
from .scene_model import Primitive, Scene, jitter
from .scene_points import sample_scene_points

PathLike = Union[str, os.PathLike]

GENERATOR = 'crosspt.synthetic.s3dis_mmdet3d.generate_synthetic_s3dis_mmdet3d'
#: mmdet3d's S3DISSegDataset classes, ids 0..12 (ignore index 13)
S3DIS_CLASSES = ('ceiling', 'floor', 'wall', 'beam', 'column', 'window', 'door', 'table',
                 'chair', 'sofa', 'bookcase', 'board', 'clutter')
(CEILING, FLOOR, WALL, BEAM, COLUMN, WINDOW, DOOR, TABLE, CHAIR, SOFA, BOOKCASE, BOARD,
 CLUTTER) = range(13)
#: mmdet3d's S3DIS detection classes (GSDN's five furniture classes) by semantic id
S3DIS_TO_DET_LABEL = {TABLE: 0, CHAIR: 1, SOFA: 2, BOOKCASE: 3, BOARD: 4}
#: NYU40 id of the room planner -> S3DIS class (pictures on the walls become boards;
#: cabinets, beds, refrigerators and bins clutter)
NYU40_TO_S3DIS = {1: WALL, 2: FLOOR, 3: CLUTTER, 4: CLUTTER, 5: CHAIR, 6: SOFA, 7: TABLE,
                  8: DOOR, 9: WINDOW, 10: BOOKCASE, 11: BOARD, 14: TABLE, 24: CLUTTER,
                  39: CLUTTER}
ROOM_TYPES = ('office', 'conferenceRoom')
NUM_PTS_FEATS = 6
INFO_VERSION = '1.1'
#: mmdet3d's S3DIS converter resamples for 4096-point patches
SEG_NUM_POINTS = 4096
TAG_POINTS, TAG_EXTRAS = 31, 32

__all__ = ['S3DIS_CLASSES', 'NYU40_TO_S3DIS', 'room_name', 'structural_primitives',
           's3dis_room', 'write_s3dis_room', 's3dis_metainfo',
           'generate_synthetic_s3dis_mmdet3d']


def room_name(area: int, room: int) -> str:
    """``Area_<area>_<type>_<k>`` of room ``room`` (0-based) of ``area`` (1-based)."""
    return f'Area_{area}_{ROOM_TYPES[room % 2]}_{room // 2 + 1}'


def structural_primitives(rng: np.random.Generator, size: Tuple[float, float, float],
                          first_instance: int) -> List[Primitive]:
    """Ceiling slab (its room-facing -z face only), a beam across the room along x under
    the ceiling and a floor-to-ceiling column in a random corner, instances
    ``first_instance`` .. ``first_instance + 2``."""
    lx, ly, h = size
    t = WALL_THICKNESS
    grey = jitter(rng, (0.86, 0.86, 0.84), 0.04)
    ceiling = Primitive('box', np.array([-t, -t, h]), np.array([lx + t, ly + t, h + t]),
                        first_instance, CEILING, grey, 'grid', float(rng.uniform(0.5, 0.7)),
                        faces=(4,))
    width, depth = rng.uniform(0.25, 0.45), rng.uniform(0.25, 0.4)
    y0 = rng.uniform(1.0, ly - 1.0 - width)
    beam = Primitive('box', np.array([0.0, y0, h - depth]), np.array([lx, y0 + width, h]),
                     first_instance + 1, BEAM, jitter(rng, (0.8, 0.78, 0.74), 0.05))
    side = rng.uniform(0.3, 0.5)
    x0 = 0.0 if rng.uniform() < 0.5 else lx - side
    y1 = 0.0 if rng.uniform() < 0.5 else ly - side
    column = Primitive('box', np.array([x0, y1, 0.0]), np.array([x0 + side, y1 + side, h]),
                       first_instance + 2, COLUMN, jitter(rng, (0.74, 0.72, 0.7), 0.05),
                       'stripes', 0.3, contrast=0.1)
    return [ceiling, beam, column]


def s3dis_room(seed: int, index: int) -> Scene:
    """Room ``index``: ``generate_scene(seed, index)`` relabelled with
    :data:`NYU40_TO_S3DIS` plus :func:`structural_primitives` (module docstring)."""
    scene = generate_scene(seed, index)
    prims = [replace(p, label=NYU40_TO_S3DIS[p.label]) for p in scene.primitives]
    rng = np.random.default_rng([int(seed), TAG_EXTRAS, int(index)])
    prims += structural_primitives(rng, scene.size, max(p.instance for p in prims) + 1)
    return Scene(scene.seed, scene.index, scene.name, scene.size, prims, [],
                 scene.camera_region)


def write_s3dis_room(root: PathLike, name: str, index: int, xyz: np.ndarray, rgb: np.ndarray,
                     semantic: np.ndarray, instance: np.ndarray) -> dict:
    """Write one room's ``.bin`` files (xyz shifted to start at 0, as mmdet3d's S3DIS
    export does) under ``root`` and return its v2 info entry (``sample_idx=index``)."""
    xyz = np.asarray(xyz, np.float32)
    xyz = xyz - xyz.min(axis=0)
    file_name = f'{name}.bin'
    arrays = {'points': np.concatenate([xyz, rgb], 1).astype('<f4'),
              'semantic_mask': np.asarray(semantic).astype('<i8'),
              'instance_mask': np.asarray(instance).astype('<i8')}
    for folder, array in arrays.items():
        os.makedirs(os.path.join(os.fspath(root), folder), exist_ok=True)
        array.tofile(os.path.join(os.fspath(root), folder, file_name))
    boxes, labels, _ = instance_boxes(xyz.astype(np.float64), arrays['semantic_mask'],
                                      arrays['instance_mask'], S3DIS_TO_DET_LABEL)
    return {'sample_idx': int(index),
            'lidar_points': {'num_pts_feats': NUM_PTS_FEATS, 'lidar_path': file_name},
            'pts_semantic_mask_path': file_name, 'pts_instance_mask_path': file_name,
            'instances': [{'bbox_3d': box.tolist(), 'bbox_label_3d': int(label)}
                          for box, label in zip(boxes, labels)]}


def s3dis_metainfo() -> dict:
    """The ``metainfo`` ``update_s3dis_infos`` writes."""
    return {'categories': {S3DIS_CLASSES[k]: v for k, v in S3DIS_TO_DET_LABEL.items()},
            'dataset': 's3dis', 'info_version': INFO_VERSION}


def _write_area(tmp: str, area: int, infos: List[dict], masks: List[np.ndarray],
                num_points_per_sample: int) -> np.ndarray:
    """``s3dis_infos_Area_<area>.pkl`` and the area's ``seg_info`` files; returns the
    resampled scene indices."""
    with open(os.path.join(tmp, f's3dis_infos_Area_{area}.pkl'), 'wb') as f:
        pickle.dump({'metainfo': s3dis_metainfo(), 'data_list': infos}, f, protocol=2)
    folder = os.path.join(tmp, 'seg_info')
    os.makedirs(folder, exist_ok=True)
    idxs = resampled_scene_idxs([len(m) for m in masks], num_points_per_sample)
    np.save(os.path.join(folder, f'Area_{area}_resampled_scene_idxs.npy'), idxs)
    np.save(os.path.join(folder, f'Area_{area}_label_weight.npy'),
            label_weight(masks, len(S3DIS_CLASSES)))
    return idxs


@register
def generate_synthetic_s3dis_mmdet3d(data_root: PathLike, num_areas: int = 6,
                                     rooms_per_area: int = 2, num_points: int = 20000,
                                     seed: int = 0,
                                     num_points_per_sample: int = SEG_NUM_POINTS,
                                     progress: bool = False) -> dict:
    """Write synthetic rooms in mmdet3d's S3DIS format (module docstring).

    Args:
        data_root: output folder.
        num_areas: areas ``Area_1 .. Area_<num_areas>`` (6 = S3DIS; Area 5 is the usual
            test area, so at least 5).
        rooms_per_area: rooms per area.
        num_points: surface points per room.
        seed: base seed of the rooms.
        num_points_per_sample: the converter's ``num_points`` for the resampled indices.
        progress: tqdm bar over rooms.
    Returns:
        the ``synthetic_info.json`` dict plus ``data_root`` and ``created``.

    Idempotent, lock protected, built in a temporary sibling folder and byte-identical for
    the same parameters (:func:`crosspt.synthetic.common.generate_dataset`).
    """
    name = 'generate_synthetic_s3dis_mmdet3d'
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f'{name}: seed must be a non-negative int, got {seed!r}')
    check_positive(name, num_areas=num_areas, rooms_per_area=rooms_per_area,
                   num_points=num_points, num_points_per_sample=num_points_per_sample)
    if num_areas < 5:
        raise ValueError(f'{name}: num_areas must be >= 5 (Area 5 is the test area), got '
                         f'{num_areas}')
    if len(resampled_scene_idxs([num_points] * rooms_per_area, num_points_per_sample)) == 0:
        raise ValueError(f'{name}: num_points={num_points} x rooms_per_area={rooms_per_area} '
                         "gives an empty resampled_scene_idxs under mmdet3d's rule "
                         f'(num_points_per_sample={num_points_per_sample})')
    params = {'seed': int(seed), 'num_areas': int(num_areas),
              'rooms_per_area': int(rooms_per_area), 'num_points': int(num_points),
              'num_points_per_sample': int(num_points_per_sample)}

    def write(tmp: str, bar) -> dict:
        summary: Dict[str, dict] = {}
        for area in range(1, num_areas + 1):
            infos, masks = [], []
            for j in range(rooms_per_area):
                index = (area - 1) * rooms_per_area + j
                room = s3dis_room(seed, index)
                rng = np.random.default_rng([int(seed), TAG_POINTS, index])
                xyz, rgb, semantic, instance = sample_scene_points(room, num_points, rng)
                infos.append(write_s3dis_room(tmp, room_name(area, j), j, xyz, rgb,
                                              semantic, instance))
                masks.append(semantic)
                summary[room_name(area, j)] = {
                    'index': index, 'room_size': list(room.size),
                    'classes': sorted(S3DIS_CLASSES[c] for c in np.unique(semantic))}
                if bar is not None:
                    bar.update(1)
            _write_area(tmp, area, infos, masks, num_points_per_sample)
        return {'format': 'mmdet3d 1.4.0 S3DIS: points/Area_<a>_<room>.bin float32 (N, 6) '
                          'xyzrgb, semantic_mask int64 0..12, instance_mask int64, '
                          'seg_info/Area_<a>_*.npy, s3dis_infos_Area_<a>.pkl (v2 info)',
                'rooms': summary}

    return generate_dataset(
        data_root, name, GENERATOR, params, write,
        progress=dict(total=num_areas * rooms_per_area, desc='synthetic s3dis mmdet3d',
                      unit='room') if progress else None)
