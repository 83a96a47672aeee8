"""Synthetic indoor scenes written in mmdet3d 1.4.0's ScanNet data format, so that
mmdet3d's own ``ScanNetSegDataset`` / ``ScanNetDataset`` and their stock transforms
(``LoadPointsFromFile``, ``LoadAnnotations3D``, ``PointSegClassMapping``,
``GlobalAlignment``, ``IndoorPatchPointSample``, ``PointSample``, ...) read them unchanged
(docs/methods/benchmarks.md, 'mmdet3d data format'). This module needs neither mmdet3d nor
mmdet (numpy, and mmengine's registry for ``FUNCTIONS``).

Layout written by :func:`generate_synthetic_scannet_mmdet3d`::

    <root>/points/<scene>.bin            float32 (N, 6) x y z r g b, raw ``tofile``; xyz in
                                         the scan frame (NOT axis-aligned), rgb 0..255
    <root>/semantic_mask/<scene>.bin     int64 (N,) NYU40 ids
    <root>/instance_mask/<scene>.bin     int64 (N,) instance ids (0 = unannotated; unused)
    <root>/seg_info/{train,val}_resampled_scene_idxs.npy   int32, mmdet3d's resampling rule
    <root>/seg_info/{train,val}_label_weight.npy           float32 (20,), 1 / ln(1.2 + freq)
    <root>/scannet_infos_{train,val}.pkl
    <root>/synthetic_info.json           generator, parameters, file manifest (marker)

Train scenes are ``scene0000_00 .. scene%04d_00 % (num_scenes - 1)`` and the validation
scenes follow them; scene ``i`` is ``generate_scene(seed, i)``, the same room the PPKT
frames of ``generate_synthetic_scannet_frames(seed=seed)`` show for ``i < num_scenes``
there. Its points are ``sample_scene_points(generate_scene(seed, i), num_points,
default_rng([seed, 21, i]))`` (world frame = aligned frame) and its ``axis_align_matrix``
is :func:`synthetic_axis_align_matrix(seed, i) <synthetic_axis_align_matrix>`.

Info pkl (what ``tools/dataset_converters/update_infos_to_v2.py: update_scannet_infos``
writes, after ``clear_data_info_unused_keys``)::

    {'metainfo': {'categories': {'cabinet': 0, ..., 'garbagebin': 17},
                  'dataset': 'scannet', 'info_version': '1.1'},
     'data_list': [{'sample_idx': 'scene0000_00',
                    'lidar_points': {'num_pts_feats': 6, 'lidar_path': 'scene0000_00.bin',
                                     'axis_align_matrix': [[...] * 4]},
                    'instances': [{'bbox_3d': [cx, cy, cz, dx, dy, dz],
                                   'bbox_label_3d': 0..17}, ...],
                    'pts_semantic_mask_path': 'scene0000_00.bin',
                    'pts_instance_mask_path': 'scene0000_00.bin',
                    'axis_align_matrix': [[...] * 4]}, ...]}

Paths are bare file names (the datasets prepend ``data_prefix``). ``axis_align_matrix`` is
written at the top level, where ``update_scannet_infos`` puts it and
``ScanNetDataset._get_axis_align_matrix`` reads it (without it mmdet3d warns and uses the
identity); mmdet3d's ScanNet docs list it under ``lidar_points``, so it is repeated
there. ``sample_idx`` (the scene name) is an addition: real converted ScanNet infos have
none, and no mmdet3d loader reads it beyond passing it on as metadata.

Alignment: ``axis_align_matrix`` M = [[R, t], [0, 1]] (R a rotation about z) maps stored
points to the aligned frame exactly as ScanNet's ``axisAlignment`` does
(``aligned = R @ p + t``, votenet ``load_scannet_data.py``; mmdet3d ``GlobalAlignment``
computes the same), and the aligned frame is the generator's world frame. Boxes are the
min/max boxes of each detection-class instance's stored points mapped through M (in
float64), the way VoteNet's exporter computes ``aligned_bbox`` from aligned vertices
(there from the full mesh, here from the points that ship).
"""
import math
import os
import pickle
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from crosspt.fileio.scannet_classes import (MAX_NYU40_ID, NYU40_TO_DET_LABEL,
                                            SCANNET18_DET_CLASSES, SCANNET20_NYU40_IDS)
from crosspt.fileio.synthetic_info import is_generated

from .common import check_positive, generate_dataset, register
from .exact_math import affine, transform
from .room_planner import generate_scene
from .scene_model import scene_name
from .scene_points import sample_scene_points

PathLike = Union[str, os.PathLike]

#: ``generator`` recorded in ``synthetic_info.json`` (the function's path before issue 16
#: moved it; kept so that existing folders stay complete and outputs byte-identical)
GENERATOR = ('crosspt.datasets.scannet_mmdet3d_format.'
             'generate_synthetic_scannet_mmdet3d')
INFO_VERSION = '1.1'
NUM_PTS_FEATS = 6
#: ``IndoorPatchPointSample(num_points=8192)`` and the converter's ``num_points``
SEG_NUM_POINTS = 8192
# rng streams (generate_scene uses tag 11, camera_trajectory 12)
TAG_POINTS, TAG_ALIGN = 21, 22
MAX_ALIGN_SHIFT = 2.0      # metres, |t_x|, |t_y| of the synthetic axis_align_matrix
MAX_ALIGN_SHIFT_Z = 0.1    # metres, |t_z|

__all__ = ['nyu40_to_train_ids', 'resampled_scene_idxs', 'label_weight',
           'synthetic_axis_align_matrix', 'align_points', 'instance_boxes',
           'write_scannet_mmdet3d_scene', 'write_scannet_infos', 'scannet_metainfo',
           'is_complete', 'generate_synthetic_scannet_mmdet3d']


# ----------------------------------------------------------------------------- converter rules
def nyu40_to_train_ids(mask: np.ndarray,
                       valid_ids: Sequence[int] = SCANNET20_NYU40_IDS) -> np.ndarray:
    """Map NYU40 ids (N,) to train ids (N,) int64: ``valid_ids[k] -> k``, every other id of
    0..40 -> ``len(valid_ids)`` (the ignore index), as the converter's ``cat_id2class``."""
    mask = np.asarray(mask)
    if mask.size and (mask.min() < 0 or mask.max() > MAX_NYU40_ID):
        raise ValueError(f'nyu40_to_train_ids: ids must be in 0..{MAX_NYU40_ID}, got '
                         f'{int(mask.min())}..{int(mask.max())}')
    table = np.full(MAX_NYU40_ID + 1, len(valid_ids), np.int64)
    table[np.asarray(valid_ids, np.int64)] = np.arange(len(valid_ids))
    return table[mask.astype(np.int64)]


def resampled_scene_idxs(num_points_per_scene: Sequence[int],
                         num_points_per_sample: int = SEG_NUM_POINTS) -> np.ndarray:
    """mmdet3d's ``ScanNetSegData.get_scene_idxs_and_label_weight`` resampling rule.

    With n_i points in scene i and T = sum(n_i): ``num_iter = int(T / num_points_per_sample)``
    and scene i is repeated ``int(round(n_i / T * num_iter))`` times (Python ``round``:
    halves to even), scenes in order.

    Args:
        num_points_per_scene: (S,) point counts.
        num_points_per_sample: points per training patch (8192).
    Returns:
        (R,) int32 scene indices; may be empty, and a scene may get 0 repetitions.
    """
    counts = np.asarray(num_points_per_scene, np.int64)
    if counts.ndim != 1 or counts.size == 0 or (counts < 0).any() or counts.sum() == 0:
        raise ValueError('resampled_scene_idxs: num_points_per_scene must be a non-empty 1-D '
                         f'list of non-negative counts with a positive sum, got {counts}')
    if isinstance(num_points_per_sample, bool) or int(num_points_per_sample) < 1:
        raise ValueError('resampled_scene_idxs: num_points_per_sample must be a positive int, '
                         f'got {num_points_per_sample!r}')
    total = float(counts.sum())
    probability = counts / total
    num_iter = int(total / float(num_points_per_sample))
    repeats = [int(round(float(p) * num_iter)) for p in probability]
    return np.repeat(np.arange(len(counts)), repeats).astype(np.int32)


def label_weight(train_labels: Sequence[np.ndarray], num_classes: int = 20) -> np.ndarray:
    """Class weights of mmdet3d's ScanNet converter (PointNet++'s rule).

    counts_c = number of points with train id c over all scenes (c < num_classes; the
    ignore id ``num_classes`` is counted and then dropped), freq = counts / sum(counts) in
    float32, weight = 1 / ln(1.2 + freq) in float32. A class with no points gets
    1 / ln(1.2) ~= 5.485.

    Args:
        train_labels: per scene (N_i,) train ids in 0..num_classes.
        num_classes: 20 for ScanNet segmentation.
    Returns:
        (num_classes,) float32.
    """
    counts = np.zeros(num_classes + 1, np.int64)
    for labels in train_labels:
        labels = np.asarray(labels)
        if labels.size and (labels.min() < 0 or labels.max() > num_classes):
            raise ValueError(f'label_weight: train ids must be in 0..{num_classes}, got '
                             f'{int(labels.min())}..{int(labels.max())}')
        counts += np.bincount(labels.astype(np.int64).ravel(), minlength=num_classes + 1)
    kept = counts[:-1].astype(np.float32)
    if kept.sum() == 0:
        raise ValueError('label_weight: no point has a valid class (all ignore)')
    freq = kept / kept.sum()
    # ln on Python floats (numpy's float32 log loop depends on the CPU's AVX2 / AVX-512),
    # rounded to float32 like mmdet3d's float32 np.log
    logs = np.array([math.log(v) for v in (np.float32(1.2) + freq).tolist()], np.float32)
    return (np.float32(1.0) / logs).astype(np.float32)


# ----------------------------------------------------------------------------- geometry
def synthetic_axis_align_matrix(seed: int, index: int) -> np.ndarray:
    """(4, 4) float64 ``[[R, t], [0, 1]]`` of scene ``index``: R a rotation about z by a
    yaw ~ U(-pi, pi), t_x, t_y ~ U(-2, 2) m, t_z ~ U(-0.1, 0.1) m (rng
    ``default_rng([seed, 22, index])``). Row and column 2 of R are exactly (0, 0, 1), as
    ``GlobalAlignment(rotation_axis=2)`` checks."""
    rng = np.random.default_rng([int(seed), TAG_ALIGN, int(index)])
    yaw = rng.uniform(-math.pi, math.pi)
    shift = np.array([rng.uniform(-MAX_ALIGN_SHIFT, MAX_ALIGN_SHIFT),
                      rng.uniform(-MAX_ALIGN_SHIFT, MAX_ALIGN_SHIFT),
                      rng.uniform(-MAX_ALIGN_SHIFT_Z, MAX_ALIGN_SHIFT_Z)])
    c, s = math.cos(yaw), math.sin(yaw)
    matrix = np.eye(4)
    matrix[:2, :2] = [[c, -s], [s, c]]
    matrix[:3, 3] = shift
    return matrix


def _check_matrix(matrix: np.ndarray, owner: str) -> np.ndarray:
    matrix = np.asarray(matrix, np.float64)
    if matrix.shape != (4, 4) or not np.isfinite(matrix).all():
        raise ValueError(f'{owner}: axis_align_matrix must be a finite (4, 4) matrix, got '
                         f'shape {matrix.shape}')
    if not np.array_equal(matrix[3], [0, 0, 0, 1]):
        raise ValueError(f'{owner}: axis_align_matrix last row must be (0, 0, 0, 1), got '
                         f'{matrix[3]}')
    return matrix


def align_points(xyz: np.ndarray, axis_align_matrix: np.ndarray) -> np.ndarray:
    """Stored (scan-frame) xyz (N, 3) -> aligned xyz (N, 3) float64: ``R @ p + t``."""
    m = _check_matrix(axis_align_matrix, 'align_points')
    return affine(xyz, m)


def instance_boxes(aligned_xyz: np.ndarray, semantic: np.ndarray, instance: np.ndarray,
                   det_labels: Mapping[int, int] = NYU40_TO_DET_LABEL
                   ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Axis-aligned min/max boxes of the detection-class instances.

    Args:
        aligned_xyz: (N, 3) aligned points; semantic: (N,) NYU40 ids; instance: (N,) ids.
        det_labels: semantic id -> detection label (default ScanNet's 18 classes; the
            S3DIS generator passes its five furniture classes).
    Returns:
        boxes (M, 6) float64 ``[cx, cy, cz, dx, dy, dz]``, labels (M,) int64 detection
        labels 0..17 and instance ids (M,) int64, ascending instance id. Instance 0
        (unannotated) and instances of other NYU40 classes (wall, floor, ...) are skipped.
    """
    boxes, labels, ids = [], [], []
    for inst in np.unique(instance):
        if inst == 0:
            continue
        member = instance == inst
        classes = np.unique(semantic[member])
        if len(classes) != 1:
            raise ValueError(f'instance_boxes: instance {int(inst)} has several NYU40 ids '
                             f'{classes.tolist()}')
        label = det_labels.get(int(classes[0]))
        if label is None:
            continue
        pts = aligned_xyz[member]
        lo, hi = pts.min(0), pts.max(0)
        boxes.append(np.concatenate([(lo + hi) / 2, hi - lo]))
        labels.append(label)
        ids.append(int(inst))
    return (np.asarray(boxes, np.float64).reshape(-1, 6), np.asarray(labels, np.int64),
            np.asarray(ids, np.int64))


# ----------------------------------------------------------------------------- writers
def scannet_metainfo() -> dict:
    """The ``metainfo`` of mmdet3d's converted ScanNet infos."""
    return {'categories': {name: i for i, name in enumerate(SCANNET18_DET_CLASSES)},
            'dataset': 'scannet', 'info_version': INFO_VERSION}


def write_scannet_mmdet3d_scene(root: PathLike, scene: str, xyz: np.ndarray, rgb: np.ndarray,
                                semantic: np.ndarray, instance: np.ndarray,
                                axis_align_matrix: np.ndarray) -> dict:
    """Write one scene's ``points`` / ``semantic_mask`` / ``instance_mask`` ``.bin`` files
    under ``root`` and return its v2 info entry (module docstring).

    Args:
        root: data root.
        scene: scene name, e.g. ``scene0000_00`` (file stem and ``sample_idx``).
        xyz: (N, 3) points in the stored scan frame (not aligned).
        rgb: (N, 3) colours 0..255 (stored as float32).
        semantic: (N,) NYU40 ids 0..40; instance: (N,) instance ids >= 0.
        axis_align_matrix: (4, 4) stored -> aligned frame.
    Returns:
        the info dict, boxes from :func:`instance_boxes` of the aligned points.
    """
    owner = f'write_scannet_mmdet3d_scene({scene})'
    matrix = _check_matrix(axis_align_matrix, owner)
    xyz, rgb = np.asarray(xyz), np.asarray(rgb)
    semantic, instance = np.asarray(semantic), np.asarray(instance)
    n = len(xyz)
    if xyz.shape != (n, 3) or rgb.shape != (n, 3) or semantic.shape != (n,) \
            or instance.shape != (n,):
        raise ValueError(f'{owner}: expected xyz (N, 3), rgb (N, 3), semantic (N,), '
                         f'instance (N,), got {xyz.shape}, {rgb.shape}, {semantic.shape}, '
                         f'{instance.shape}')
    if n == 0 or not np.isfinite(xyz).all():
        raise ValueError(f'{owner}: xyz must be non-empty and finite')
    if semantic.min() < 0 or semantic.max() > MAX_NYU40_ID or instance.min() < 0:
        raise ValueError(f'{owner}: semantic ids must be NYU40 ids 0..{MAX_NYU40_ID} and '
                         'instance ids >= 0')
    file_name = f'{scene}.bin'
    paths = {key: os.path.join(os.fspath(root), key, file_name)
             for key in ('points', 'semantic_mask', 'instance_mask')}
    for path in paths.values():
        os.makedirs(os.path.dirname(path), exist_ok=True)
    np.concatenate([xyz, rgb], 1).astype('<f4').tofile(paths['points'])
    semantic.astype('<i8').tofile(paths['semantic_mask'])
    instance.astype('<i8').tofile(paths['instance_mask'])
    # boxes from the stored float32 points, as the aligned frame sees them
    aligned = align_points(xyz.astype(np.float32), matrix)
    boxes, labels, _ = instance_boxes(aligned, semantic, instance)
    matrix_list = matrix.tolist()
    return {
        'sample_idx': scene,
        'lidar_points': {'num_pts_feats': NUM_PTS_FEATS, 'lidar_path': file_name,
                         'axis_align_matrix': matrix_list},
        'instances': [{'bbox_3d': box.tolist(), 'bbox_label_3d': int(label)}
                      for box, label in zip(boxes, labels)],
        'pts_semantic_mask_path': file_name,
        'pts_instance_mask_path': file_name,
        'axis_align_matrix': [row[:] for row in matrix_list],
    }


def write_scannet_infos(root: PathLike, split: str, infos: List[dict]) -> str:
    """Write ``<root>/scannet_infos_<split>.pkl`` = ``{'metainfo': scannet_metainfo(),
    'data_list': infos}`` (pickle protocol 2, as ``mmengine.dump``), atomically.
    Returns the path."""
    if split not in ('train', 'val', 'test'):
        raise ValueError(f"write_scannet_infos: split must be 'train', 'val' or 'test', "
                         f'got {split!r}')
    for i, info in enumerate(infos):
        missing = {'lidar_points', 'instances', 'axis_align_matrix'} - set(info)
        if missing:
            raise ValueError(f'write_scannet_infos({split}): data_list[{i}] lacks keys '
                             f'{sorted(missing)}')
    path = os.path.join(os.fspath(root), f'scannet_infos_{split}.pkl')
    os.makedirs(os.fspath(root), exist_ok=True)
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'wb') as f:
        pickle.dump({'metainfo': scannet_metainfo(), 'data_list': list(infos)}, f, protocol=2)
    os.replace(tmp, path)
    return path


def _write_seg_info(root: str, split: str, semantic_masks: List[np.ndarray],
                    num_points_per_sample: int) -> np.ndarray:
    """``seg_info/<split>_resampled_scene_idxs.npy`` and ``<split>_label_weight.npy``."""
    folder = os.path.join(root, 'seg_info')
    os.makedirs(folder, exist_ok=True)
    idxs = resampled_scene_idxs([len(m) for m in semantic_masks], num_points_per_sample)
    weight = label_weight([nyu40_to_train_ids(m) for m in semantic_masks],
                          len(SCANNET20_NYU40_IDS))
    np.save(os.path.join(folder, f'{split}_resampled_scene_idxs.npy'), idxs)
    np.save(os.path.join(folder, f'{split}_label_weight.npy'), weight)
    return idxs


# ----------------------------------------------------------------------------- generator
def is_complete(root: PathLike, params: Optional[dict] = None) -> bool:
    """True when ``root`` holds this generator's marker (with ``params``, if given) and
    every file it lists."""
    return is_generated(root, GENERATOR, params)


@register
def generate_synthetic_scannet_mmdet3d(data_root: PathLike, num_scenes: int = 12,
                                       num_val_scenes: int = 4, num_points: int = 50000,
                                       seed: int = 0,
                                       num_points_per_sample: int = SEG_NUM_POINTS,
                                       progress: bool = False) -> dict:
    """Write synthetic scenes in mmdet3d's ScanNet format (module docstring).

    Args:
        data_root: output folder.
        num_scenes: train scenes ``generate_scene(seed, 0 .. num_scenes - 1)``.
        num_val_scenes: validation scenes, indices ``num_scenes ..``.
        num_points: surface points per scene (VoteNet/mmdet3d export: at most 50,000).
        seed: base seed (0 = the PPKT frames' scenes).
        num_points_per_sample: the converter's ``num_points`` for the resampled scene
            indices (8192 = ``IndoorPatchPointSample(num_points=8192)``).
        progress: tqdm bar over scenes.
    Returns:
        the ``synthetic_info.json`` dict plus ``data_root`` and ``created``.

    Idempotent (same parameters and all files present: nothing is rewritten), runs under an
    ``fcntl`` lock on ``<root>.lock``, builds in a temporary sibling folder swapped into
    place, replaces only files of the ``synthetic_info.json`` manifest (a folder holding
    any other file is refused: :func:`crosspt.fileio.atomic.write_dataset_once`) and is
    byte-identical for the same parameters. Raises ValueError when ``num_points`` is so
    small that mmdet3d's resampling rule gives the training split no patch at all.
    """
    name = 'generate_synthetic_scannet_mmdet3d'
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f'{name}: seed must be a non-negative int, got {seed!r}')
    check_positive(name, num_scenes=num_scenes, num_val_scenes=num_val_scenes,
                   num_points=num_points, num_points_per_sample=num_points_per_sample)
    params = {'seed': int(seed), 'num_scenes': int(num_scenes),
              'num_val_scenes': int(num_val_scenes), 'num_points': int(num_points),
              'num_points_per_sample': int(num_points_per_sample)}
    if len(resampled_scene_idxs([num_points] * num_scenes, num_points_per_sample)) == 0:
        raise ValueError(f'{name}: num_points={num_points} x num_scenes={num_scenes} gives '
                         'an empty train_resampled_scene_idxs under mmdet3d\'s rule '
                         f'(num_points_per_sample={num_points_per_sample}); raise num_points '
                         'or lower num_points_per_sample')
    splits = {'train': range(num_scenes),
              'val': range(num_scenes, num_scenes + num_val_scenes)}

    def write(tmp: str, bar) -> dict:
        summary: Dict[str, dict] = {}
        for split, indices in splits.items():
            infos, masks = [], []
            for i in indices:
                scene = generate_scene(seed, i)
                rng = np.random.default_rng([int(seed), TAG_POINTS, int(i)])
                world, rgb, semantic, instance = sample_scene_points(scene, num_points, rng)
                matrix = synthetic_axis_align_matrix(seed, i)
                # stored = R^T (world - t), so that R @ stored + t = world
                stored = transform(world.astype(np.float64) - matrix[:3, 3], matrix[:3, :3].T)
                info = write_scannet_mmdet3d_scene(tmp, scene.name, stored, rgb, semantic,
                                                   instance, matrix)
                infos.append(info)
                masks.append(semantic)
                summary[scene.name] = {
                    'split': split, 'index': i, 'room_size': list(scene.size),
                    'num_boxes': len(info['instances'])}
                if bar is not None:
                    bar.update(1)
            write_scannet_infos(tmp, split, infos)
            idxs = _write_seg_info(tmp, split, masks, num_points_per_sample)
            for k, info in enumerate(infos):
                summary[info['sample_idx']]['resampled_repeats'] = int((idxs == k).sum())
        return {'format': 'mmdet3d 1.4.0 ScanNet: points/<scene>.bin float32 (N, 6) xyzrgb '
                          'unaligned, semantic_mask/<scene>.bin int64 NYU40, '
                          'instance_mask/<scene>.bin int64, seg_info/*.npy, '
                          'scannet_infos_{train,val}.pkl (v2 info, info_version 1.1)',
                'splits': {k: [scene_name(i) for i in v] for k, v in splits.items()},
                'scenes': summary}

    return generate_dataset(
        data_root, name, GENERATOR, params, write,
        progress=dict(total=num_scenes + num_val_scenes, desc='synthetic scannet mmdet3d',
                      unit='scene') if progress else None)
