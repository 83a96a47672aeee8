"""Deterministic labelled stand-ins for the downstream object datasets, written in exactly
the real on-disk formats (docs/methods/benchmarks.md), for demos, smoke runs and tests.

Shapes come from the procedural categories of :mod:`crosspt.synthetic.shapes`
(``make_object``: random proportions, small random turn about the up axis, Y-up,
centred, longest side 1).  Surface points are drawn area-weighted and uniformly from
the mesh triangles (no FPS thinning, to stay fast); each point keeps the normal of its
triangle (oriented away from the centre of its primitive, exact for the convex ones)
and the index of its primitive (boxes, cylinders, ... in builder order), which the
ShapeNetPart set maps onto real part ids (``sample_object``).

Layouts (``generate_synthetic_objects(root)`` writes all four, one per sub-folder)::

    scanobjectnn/      main_split/{training,test}_objectdataset_augmentedrot_scale75.h5
                       main_split/{training,test}_objectdataset.h5
                       main_split_nobg/{training,test}_objectdataset.h5
                       (data (N, 2048, 3) float32, label (N,) int64, mask (N, 2048) int32)
    modelnet40/        modelnet40_ply_hdf5_2048/ply_data_{train,test}0.h5 (data (N, 2048, 3)
                       float32, label (N, 1) uint8), {train,test}_files.txt, shape_names.txt
                       modelnet40_normal_resampled/<class>/<class>_NNNN.txt (x,y,z,nx,ny,nz;
                       2,500 rows instead of the real 10,000), modelnet40_shape_names.txt,
                       modelnet40_{train,test}.txt
    shapenetpart/      shapenetcore_partanno_segmentation_benchmark_v0_normal/
                       synsetoffset2category.txt (only the 5 categories used),
                       <synset>/<model_id>.txt (x y z nx ny nz part, 2,000-2,600 rows),
                       train_test_split/shuffled_{train,val,test}_file_list.json
    modelnet_fewshot/  ModelNetFewshot/{way}way_{shot}shot/{fold}.pkl

Every set has a ``synthetic_info.json`` (parameters, format, class maps, file manifest
with sizes and sha256); generation is idempotent (same parameters and all files present:
nothing is rewritten), runs under an ``fcntl`` lock on ``<root>.lock``, builds in a
temporary sibling folder, and regeneration replaces only the manifest's files: a folder
holding any other file (or without ``synthetic_info.json``: real data) is refused
(:func:`crosspt.fileio.atomic.write_dataset_once`).
Output is byte-identical for the same parameters (``default_rng([seed, ...])`` per shape).
"""
import hashlib
import json
import math
import os
import pickle
from typing import Callable, Dict, Sequence, Tuple, Union

import numpy as np

from crosspt.fileio.object_classes import (MODELNET40_CLASSES, SCANOBJECTNN_CLASSES,
                                           scanobjectnn_h5_name)
from crosspt.rendering.mesh_io import sample_surface_points

from .common import check_positive, generate_dataset, register
from .exact_math import row_dot, row_norm, transform, vector_norm
from .shapes import SYNTHETIC_CATEGORIES, box, sample_object

PathLike = Union[str, os.PathLike]
#: prefix of the ``generator`` recorded in ``synthetic_info.json`` (the module's path before
#: issue 16 moved it; kept so that existing folders stay complete and outputs byte-identical)
GENERATOR_PREFIX = 'crosspt.datasets.synthetic_objects.'
SCAN_POINTS = 2048
H5_POINTS = 2048

#: synthetic category -> ScanObjectNN class.  chair, table and sofa keep their names; the
#: others are stand-ins of similar build: bench (seat board, backrest) -> bed (frame,
#: headboard), mug (open cylinder) -> bin, lamp (base, post, head) -> display (base,
#: stand, screen).  airplane and bottle have no indoor-scan counterpart and are left out.
SCANOBJECTNN_MAP: Dict[str, str] = {'chair': 'chair', 'table': 'table', 'sofa': 'sofa',
                                    'bench': 'bed', 'mug': 'bin', 'lamp': 'display'}
#: synthetic category -> ModelNet40 class (mug -> cup: ModelNet40 has no mug)
MODELNET40_MAP: Dict[str, str] = {c: ('cup' if c == 'mug' else c) for c in SYNTHETIC_CATEGORIES}
#: synthetic category -> (ShapeNetPart category, synset, part id of each primitive in the
#: builder's order).  The part ids are the real global ids of that category's range; the
#: part names in the comments are this generator's reading [UNVERIFIED].
SHAPENETPART_MAP: Dict[str, Tuple[str, str, Tuple[int, ...]]] = {
    # fuselage, nose -> body 0; wing -> 1; fin, tailplane -> tail 2; engine -> 3
    'airplane': ('Airplane', '02691156', (0, 0, 1, 2, 2, 3)),
    # seat 13, back 12, four legs 14, armrest bar + post 15 (armrest only on 70 %)
    'chair': ('Chair', '03001627', (13, 12, 14, 14, 14, 14, 15, 15)),
    # base 24, pole + arm (tube) 27, shade 25, joint (canopy) 26
    'lamp': ('Lamp', '03636649', (24, 27, 27, 25, 26)),
    # body 36, handle 37, rim (body) 36
    'mug': ('Mug', '03797390', (36, 37, 36)),
    # top 47, four legs 48, drawer 49
    'table': ('Table', '04379243', (47, 48, 48, 48, 48, 49)),
}
SPLIT_IDS = {'train': 0, 'val': 1, 'test': 2}
#: ``format`` recorded in ``synthetic_info.json``
SCANOBJECTNN_FORMAT = ('ScanObjectNN h5_files: data (N, 2048, 3) float32, label (N,) int64, '
                       'mask (N, 2048) int32 (1 object, 0 background); y up')
MODELNET40_FORMAT = ('modelnet40_ply_hdf5_2048: data (N, 2048, 3) float32, label (N, 1) uint8; '
                     'modelnet40_normal_resampled: x,y,z,nx,ny,nz text rows ({normal_rows} per '
                     'shape, real: 10000); unit sphere, y up')
TAG_MODELNET, TAG_SCAN, TAG_PART, TAG_FEWSHOT = 1, 2, 3, 4

__all__ = ['SCANOBJECTNN_MAP', 'MODELNET40_MAP', 'SHAPENETPART_MAP',
           'generate_synthetic_scanobjectnn', 'generate_synthetic_modelnet40',
           'generate_synthetic_shapenetpart', 'generate_synthetic_fewshot',
           'generate_synthetic_objects']


# ----------------------------------------------------------------------------- shapes
def _unit_sphere(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(0)
    return centred / row_norm(centred).max()


def _modelnet_shape(seed: int, cat: int, split: int, k: int, normal_rows: int
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """(normal_rows, 6) float32 xyz+normals and (2048, 3) float32 h5 cloud of one shape,
    each sampled independently and scaled into the unit sphere."""
    rng = np.random.default_rng([seed, TAG_MODELNET, cat, split, k])
    category = SYNTHETIC_CATEGORIES[cat]
    points, normals, _ = sample_object(category, rng, normal_rows + H5_POINTS)
    dense = np.concatenate([_unit_sphere(points[:normal_rows]), normals[:normal_rows]], 1)
    return dense.astype(np.float32), _unit_sphere(points[normal_rows:]).astype(np.float32)


# ----------------------------------------------------------------------------- writing
def _write_h5(path: str, arrays: Dict[str, np.ndarray]) -> None:
    import h5py

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, 'w') as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=value, track_times=False)


def _write_text(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def _generate(data_root: PathLike, name: str, params: dict, write: Callable[[str], dict]
              ) -> dict:
    """Run ``write(tmp_dir) -> info fields`` unless ``data_root`` is already complete."""
    return generate_dataset(data_root, name, GENERATOR_PREFIX + name, params,
                            lambda tmp, _bar: write(tmp))


def _class_info(fmt: str, class_map: Dict[str, str], classes: Sequence[str],
                categories: Sequence[str], num_train_per_class: int,
                num_test_per_class: int) -> dict:
    """Info fields of a classification set: ``format``, ``class_map`` (category ->
    [class, label id]) and ``counts`` per split."""
    return {'format': fmt,
            'class_map': {c: [class_map[c], classes.index(class_map[c])] for c in categories},
            'counts': {'train': num_train_per_class * len(categories),
                       'test': num_test_per_class * len(categories)}}


# ----------------------------------------------------------------------------- ScanObjectNN
def _scan_cloud(points: np.ndarray, normals: np.ndarray, variant: str,
                rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """One partial scan: (2048, 3) float32 points (y up) and (2048,) int32 mask (1 =
    object, 0 = background)."""
    if variant == 'pb_t50_rs':  # rotation about up, scale, translation, then the crop box
        theta = rng.uniform(-np.pi, np.pi)
        c, s = math.cos(theta), math.sin(theta)
        rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
        scale = rng.uniform(0.8, 1.2)
        shift = np.array([rng.uniform(-0.25, 0.25), 0.0, rng.uniform(-0.25, 0.25)])
        points = transform(points, rot) * scale + shift
        normals = transform(normals, rot)
    azimuth, elevation = rng.uniform(0, 2 * np.pi), rng.uniform(0.15, 0.8)
    view = np.array([math.cos(elevation) * math.sin(azimuth), math.sin(elevation),
                     math.cos(elevation) * math.cos(azimuth)])
    keep = row_dot(normals, view) > -0.05  # points facing away from the sensor are not seen
    if variant == 'pb_t50_rs':
        keep &= (np.abs(points[:, 0]) <= 0.6) & (np.abs(points[:, 2]) <= 0.6)
    seen = points[keep]
    fraction = {'obj_only': 0.0, 'obj_bg': rng.uniform(0.15, 0.3),
                'pb_t50_rs': rng.uniform(0.25, 0.45)}[variant]
    n_bg = int(round(fraction * SCAN_POINTS))
    n_fg = SCAN_POINTS - n_bg
    fg = seen[rng.choice(len(seen), n_fg, replace=len(seen) < n_fg)]
    parts = [fg]
    if n_bg:
        low, high = fg.min(0), fg.max(0)
        margin = rng.uniform(0.1, 0.25)
        if variant == 'pb_t50_rs':
            low[[0, 2]], high[[0, 2]] = -0.6, 0.6
        n_wall = int(rng.integers(0, n_bg // 2 + 1))
        n_floor = n_bg - n_wall
        floor = np.stack([rng.uniform(low[0] - margin, high[0] + margin, n_floor),
                          np.full(n_floor, low[1]),
                          rng.uniform(low[2] - margin, high[2] + margin, n_floor)], 1)
        parts.append(floor)
        if n_wall:  # a wall fragment behind the object, seen from the sensor
            far = -view[[0, 2]] / vector_norm(view[[0, 2]])
            centre = np.array([far[0], 0.0, far[1]]) * (np.abs(high - low).max() / 2 + margin)
            size = [0.9, 0.9, 0.02] if abs(far[1]) > abs(far[0]) else [0.02, 0.9, 0.9]
            centre[1] = low[1] + 0.45
            parts.append(sample_surface_points(*box(centre, size), n_wall, rng, oversample=1))
    cloud = np.concatenate(parts).astype(np.float64)
    cloud += rng.normal(0.0, 0.004, cloud.shape)
    mask = np.concatenate([np.ones(n_fg, np.int32), np.zeros(n_bg, np.int32)])
    order = rng.permutation(SCAN_POINTS)
    return cloud[order].astype(np.float32), mask[order]


@register
def generate_synthetic_scanobjectnn(data_root: PathLike, num_train_per_class: int = 12,
                                    num_test_per_class: int = 4, seed: int = 0) -> dict:
    """ScanObjectNN h5 files of all three variants (see the module docstring).

    The same objects appear in every variant (as in ScanObjectNN): OBJ_ONLY is the
    partial scan alone, OBJ_BG adds a floor patch and sometimes a wall fragment (mask
    0), PB_T50_RS also rotates the object about up (U(-pi, pi)), scales it
    (U(0.8, 1.2)), shifts it by up to 0.25 and cuts it with the crop box.  Rows are
    shuffled; labels follow :data:`SCANOBJECTNN_MAP`.
    """
    name = 'generate_synthetic_scanobjectnn'
    check_positive(name, num_train_per_class=num_train_per_class,
                   num_test_per_class=num_test_per_class)
    params = {'seed': int(seed), 'num_train_per_class': num_train_per_class,
              'num_test_per_class': num_test_per_class}
    categories = list(SCANOBJECTNN_MAP)

    def write(tmp: str) -> dict:
        for split, count in (('train', num_train_per_class), ('test', num_test_per_class)):
            clouds = {v: [] for v in ('pb_t50_rs', 'obj_bg', 'obj_only')}
            labels = []
            for cat, category in enumerate(categories):
                for k in range(count):
                    rng = np.random.default_rng([seed, TAG_SCAN, cat, SPLIT_IDS[split], k])
                    points, normals, _ = sample_object(category, rng, 3 * SCAN_POINTS)
                    for v, variant in enumerate(clouds):
                        vrng = np.random.default_rng([seed, TAG_SCAN, cat, SPLIT_IDS[split], k,
                                                      v + 1])
                        clouds[variant].append(_scan_cloud(points, normals, variant, vrng))
                    labels.append(SCANOBJECTNN_CLASSES.index(SCANOBJECTNN_MAP[category]))
            order = np.random.default_rng([seed, TAG_SCAN, 99, SPLIT_IDS[split]]).permutation(
                len(labels))
            for variant, items in clouds.items():
                folder, fname = scanobjectnn_h5_name(split, variant)
                _write_h5(os.path.join(tmp, folder, fname), {
                    'data': np.stack([items[i][0] for i in order]),
                    'label': np.asarray(labels, dtype=np.int64)[order],
                    'mask': np.stack([items[i][1] for i in order])})
        return _class_info(SCANOBJECTNN_FORMAT, SCANOBJECTNN_MAP, SCANOBJECTNN_CLASSES,
                           categories, num_train_per_class, num_test_per_class)

    return _generate(data_root, name, params, write)


# ----------------------------------------------------------------------------- ModelNet40
@register
def generate_synthetic_modelnet40(data_root: PathLike, num_train_per_class: int = 12,
                                  num_test_per_class: int = 4, seed: int = 0,
                                  normal_rows: int = 2500) -> dict:
    """ModelNet40 in both forms (h5 2048 and normal_resampled text; see the module
    docstring) for the 8 synthetic categories with their real ModelNet40 ids
    (:data:`MODELNET40_MAP`).  ``normal_rows`` (default 2,500; real files: 10,000) rows
    per text file.  Shape ids ``<class>_NNNN`` number train first, then test."""
    name = 'generate_synthetic_modelnet40'
    check_positive(name, num_train_per_class=num_train_per_class,
                   num_test_per_class=num_test_per_class, normal_rows=normal_rows)
    params = {'seed': int(seed), 'num_train_per_class': num_train_per_class,
              'num_test_per_class': num_test_per_class, 'normal_rows': normal_rows}

    def write(tmp: str) -> dict:
        h5_dir = os.path.join(tmp, 'modelnet40_ply_hdf5_2048')
        normal_dir = os.path.join(tmp, 'modelnet40_normal_resampled')
        names = '\n'.join(MODELNET40_CLASSES) + '\n'
        _write_text(os.path.join(h5_dir, 'shape_names.txt'), names)
        _write_text(os.path.join(normal_dir, 'modelnet40_shape_names.txt'), names)
        for split, count in (('train', num_train_per_class), ('test', num_test_per_class)):
            offset = 0 if split == 'train' else num_train_per_class
            clouds, labels, ids = [], [], []
            for cat, category in enumerate(SYNTHETIC_CATEGORIES):
                cls = MODELNET40_MAP[category]
                for k in range(count):
                    dense, sparse = _modelnet_shape(seed, cat, SPLIT_IDS[split], k, normal_rows)
                    shape_id = f'{cls}_{offset + k + 1:04d}'
                    path = os.path.join(normal_dir, cls, f'{shape_id}.txt')
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    np.savetxt(path, dense, fmt='%.6f', delimiter=',')
                    clouds.append(sparse)
                    labels.append(MODELNET40_CLASSES.index(cls))
                    ids.append(shape_id)
            _write_text(os.path.join(normal_dir, f'modelnet40_{split}.txt'),
                        '\n'.join(sorted(ids)) + '\n')
            order = np.random.default_rng([seed, TAG_MODELNET, 99, SPLIT_IDS[split]]).permutation(
                len(labels))
            _write_h5(os.path.join(h5_dir, f'ply_data_{split}0.h5'), {
                'data': np.stack(clouds)[order],
                'label': np.asarray(labels, dtype=np.uint8)[order][:, None]})
            _write_text(os.path.join(h5_dir, f'{split}_files.txt'),
                        f'data/modelnet40_ply_hdf5_2048/ply_data_{split}0.h5\n')
        return _class_info(MODELNET40_FORMAT.format(normal_rows=normal_rows), MODELNET40_MAP,
                           MODELNET40_CLASSES, SYNTHETIC_CATEGORIES, num_train_per_class,
                           num_test_per_class)

    return _generate(data_root, name, params, write)


# ----------------------------------------------------------------------------- ShapeNetPart
@register
def generate_synthetic_shapenetpart(data_root: PathLike, num_train_per_class: int = 13,
                                    num_val_per_class: int = 3, num_test_per_class: int = 5,
                                    seed: int = 0, min_points: int = 2000,
                                    max_points: int = 2600) -> dict:
    """ShapeNetPart ``_normal`` release for the 5 categories of :data:`SHAPENETPART_MAP`
    (real synsets and global part ids); ``min_points..max_points`` rows per shape."""
    name = 'generate_synthetic_shapenetpart'
    check_positive(name, num_train_per_class=num_train_per_class,
                   num_val_per_class=num_val_per_class, num_test_per_class=num_test_per_class,
                   min_points=min_points, max_points=max_points)
    if min_points > max_points:
        raise ValueError(f'{name}: min_points ({min_points}) > max_points ({max_points})')
    params = {'seed': int(seed), 'num_train_per_class': num_train_per_class,
              'num_val_per_class': num_val_per_class, 'num_test_per_class': num_test_per_class,
              'min_points': min_points, 'max_points': max_points}
    categories = sorted(SHAPENETPART_MAP, key=lambda c: SHAPENETPART_MAP[c][0])
    folder_name = 'shapenetcore_partanno_segmentation_benchmark_v0_normal'

    def write(tmp: str) -> dict:
        folder = os.path.join(tmp, folder_name)
        _write_text(os.path.join(folder, 'synsetoffset2category.txt'),
                    ''.join(f'{SHAPENETPART_MAP[c][0]}\t{SHAPENETPART_MAP[c][1]}\n'
                            for c in categories))
        counts = {}
        for split, count in (('train', num_train_per_class), ('val', num_val_per_class),
                             ('test', num_test_per_class)):
            entries = []
            for cat, category in enumerate(categories):
                _, synset, part_ids = SHAPENETPART_MAP[category]
                for k in range(count):
                    rng = np.random.default_rng([seed, TAG_PART, cat, SPLIT_IDS[split], k])
                    rows = int(rng.integers(min_points, max_points + 1))
                    points, normals, prim = sample_object(category, rng, rows)
                    parts = np.asarray(part_ids, dtype=np.float64)[prim]
                    model_id = hashlib.md5(f'{seed}/{category}/{split}/{k}'.encode()).hexdigest()
                    path = os.path.join(folder, synset, f'{model_id}.txt')
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    np.savetxt(path, np.concatenate([points, normals, parts[:, None]], 1),
                               fmt='%.6f', delimiter=' ')
                    entries.append(f'shape_data/{synset}/{model_id}')
            order = np.random.default_rng([seed, TAG_PART, 99, SPLIT_IDS[split]]).permutation(
                len(entries))
            _write_text(os.path.join(folder, 'train_test_split',
                                     f'shuffled_{split}_file_list.json'),
                        json.dumps([entries[i] for i in order]))
            counts[split] = len(entries)
        return {'format': f'{folder_name}: <synset>/<model_id>.txt rows "x y z nx ny nz part" '
                          f'(%.6f, part = global id 0..49), {min_points}-{max_points} rows; '
                          'split jsons of "shape_data/<synset>/<model_id>"; y up',
                'class_map': {c: list(SHAPENETPART_MAP[c][:2]) + [sorted(set(
                    SHAPENETPART_MAP[c][2]))] for c in categories},
                'counts': counts}

    return _generate(data_root, name, params, write)


# ----------------------------------------------------------------------------- few-shot
@register
def generate_synthetic_fewshot(data_root: PathLike, ways: Sequence[int] = (5,),
                               shots: Sequence[int] = (10,), num_folds: int = 10,
                               num_points: int = 1024, num_train_per_class: int = 12,
                               num_test_per_class: int = 4, seed: int = 0,
                               normal_rows: int = 2500) -> dict:
    """``ModelNetFewshot/{way}way_{shot}shot/{fold}.pkl`` episodes ([UNVERIFIED] Point-BERT
    layout) from the synthetic ModelNet40 shapes of the same ``seed`` /
    ``num_*_per_class`` / ``normal_rows`` (the points are the first ``num_points`` rows
    of those normal_resampled clouds, (num_points, 6) float32).  Fold ``f`` draws ``way``
    of the 8 categories (label = draw order), ``shot`` training shapes per class from the
    train shapes and all ``num_test_per_class`` test shapes per class; item names are the
    ModelNet ids (``chair_0003``)."""
    name = 'generate_synthetic_fewshot'
    ways, shots = [int(w) for w in ways], [int(s) for s in shots]
    check_positive(name, num_folds=num_folds, num_points=num_points,
                   num_train_per_class=num_train_per_class,
                   num_test_per_class=num_test_per_class, normal_rows=normal_rows)
    if not ways or not shots or min(ways + shots) < 1 or max(ways) > len(SYNTHETIC_CATEGORIES):
        raise ValueError(f'{name}: ways must be in 1..{len(SYNTHETIC_CATEGORIES)} and shots '
                         f'positive, got ways={ways}, shots={shots}')
    if max(shots) > num_train_per_class or num_points > normal_rows:
        raise ValueError(f'{name}: need shot <= num_train_per_class ({num_train_per_class}) '
                         f'and num_points <= normal_rows ({normal_rows})')
    params = {'seed': int(seed), 'ways': ways, 'shots': shots, 'num_folds': num_folds,
              'num_points': num_points, 'num_train_per_class': num_train_per_class,
              'num_test_per_class': num_test_per_class, 'normal_rows': normal_rows}

    def write(tmp: str) -> dict:
        shapes: Dict[Tuple[int, str, int], Tuple[np.ndarray, str]] = {}
        for cat, category in enumerate(SYNTHETIC_CATEGORIES):
            cls = MODELNET40_MAP[category]
            for split, count, offset in (('train', num_train_per_class, 0),
                                         ('test', num_test_per_class, num_train_per_class)):
                for k in range(count):
                    dense, _ = _modelnet_shape(seed, cat, SPLIT_IDS[split], k, normal_rows)
                    shapes[cat, split, k] = (dense[:num_points], f'{cls}_{offset + k + 1:04d}')
        for way in ways:
            for shot in shots:
                for fold in range(num_folds):
                    rng = np.random.default_rng([seed, TAG_FEWSHOT, way, shot, fold])
                    chosen = rng.choice(len(SYNTHETIC_CATEGORIES), way, replace=False)
                    episode = {'train': [], 'test': []}
                    for label, cat in enumerate(chosen):
                        for k in rng.choice(num_train_per_class, shot, replace=False):
                            points, sid = shapes[int(cat), 'train', int(k)]
                            episode['train'].append((points, label, sid))
                        for k in range(num_test_per_class):
                            points, sid = shapes[int(cat), 'test', k]
                            episode['test'].append((points, label, sid))
                    for split in ('train', 'test'):
                        items = episode[split]
                        episode[split] = [items[i] for i in rng.permutation(len(items))]
                    path = os.path.join(tmp, 'ModelNetFewshot', f'{way}way_{shot}shot',
                                        f'{fold}.pkl')
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, 'wb') as f:
                        pickle.dump(episode, f, protocol=4)
        return {'format': "ModelNetFewshot/{way}way_{shot}shot/{fold}.pkl: dict {'train': "
                          "[...], 'test': [...]} of (points (num_points, 6) float32, label "
                          "int in [0, way), name str) [UNVERIFIED Point-BERT layout]",
                'class_map': {c: MODELNET40_MAP[c] for c in SYNTHETIC_CATEGORIES}}

    return _generate(data_root, name, params, write)


# ----------------------------------------------------------------------------- all four
SUBDIRS = {'scanobjectnn': 'scanobjectnn', 'modelnet40': 'modelnet40',
           'shapenetpart': 'shapenetpart', 'fewshot': 'modelnet_fewshot'}


@register
def generate_synthetic_objects(root: PathLike, seed: int = 0, num_train_per_class: int = 12,
                               num_test_per_class: int = 4,
                               fewshot_ways: Sequence[int] = (5,),
                               fewshot_shots: Sequence[int] = (10,),
                               fewshot_folds: int = 10) -> Dict[str, dict]:
    """All four sets under ``root/{scanobjectnn,modelnet40,shapenetpart,modelnet_fewshot}``
    (ScanObjectNN and ModelNet40 share ``num_*_per_class``; the few-shot episodes use
    those ModelNet40 shapes; ShapeNetPart keeps its default sizes).  Returns each
    generator's info, keyed ``scanobjectnn``, ``modelnet40``, ``shapenetpart``,
    ``fewshot``."""
    root = os.fspath(root)
    return {
        'scanobjectnn': generate_synthetic_scanobjectnn(
            os.path.join(root, SUBDIRS['scanobjectnn']), num_train_per_class,
            num_test_per_class, seed),
        'modelnet40': generate_synthetic_modelnet40(
            os.path.join(root, SUBDIRS['modelnet40']), num_train_per_class,
            num_test_per_class, seed),
        'shapenetpart': generate_synthetic_shapenetpart(
            os.path.join(root, SUBDIRS['shapenetpart']), seed=seed),
        'fewshot': generate_synthetic_fewshot(
            os.path.join(root, SUBDIRS['fewshot']), ways=fewshot_ways, shots=fewshot_shots,
            num_folds=fewshot_folds, num_train_per_class=num_train_per_class,
            num_test_per_class=num_test_per_class, seed=seed),
    }
