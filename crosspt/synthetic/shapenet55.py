"""Deterministic procedural stand-in for TAP's ShapeNet55 pre-training data
(docs/methods/tap.md, 'Layout on disk').

Objects are composed of primitive meshes (boxes, cylinders, cones, spheres, tori) with
random proportions, Y-UP like MVCNN's meshes (:mod:`crosspt.synthetic.shapes`).
``generate_synthetic_shapenet55`` writes the exact layout TAP's loader reads::

    {root}/pointclouds/{split}/model_<id>.ply        1024 points, Y-up mesh frame
    {root}/shapenet55v1/{split}/model_<id>_<view>.jpg   <view> = 001..012, 224x224 RGB
    {root}/meshes/{split}/model_<id>.off
    {root}/synthetic_info.json

View ``k+1`` shows the mesh after the loader's axis permutation ``[2, 0, 1]`` (y-up -> z-up)
and the rotation ``R_k`` of ``tap_view_rotations``; its camera is fitted on the stored cloud
(permuted) exactly like ``TAPQueryGenerator.fit_camera``, so images and queries agree.
"""
import os
from typing import Dict, List, Union

import numpy as np

from crosspt.fileio.ply import write_ply_points
from crosspt.rendering.mesh_io import sample_surface_points, write_off
from crosspt.rendering.renderer import render_tap_views

from .common import generate_dataset, register
from .shapes import SYNTHETIC_CATEGORIES, make_object

PathLike = Union[str, os.PathLike]

NUM_VIEWS = 12
LOADER_AXIS_PERMUTATION = (2, 0, 1)
#: ``generator`` recorded in ``synthetic_info.json`` (the function's path before issue 16
#: moved it; kept so that existing folders stay complete and outputs byte-identical)
GENERATOR_ID = 'crosspt.datasets.synthetic.generate_synthetic_shapenet55'

__all__ = ['NUM_VIEWS', 'generate_synthetic_shapenet55']


# ----------------------------------------------------------------------------- dataset
def _plan(num_train: int, num_val: int, num_test: int) -> List[Dict[str, object]]:
    models, next_id = [], 0
    for split, count in (('train', num_train), ('val', num_val), ('test', num_test)):
        for _ in range(count):
            models.append({'id': next_id, 'name': f'model_{next_id:06d}', 'split': split,
                           'category': SYNTHETIC_CATEGORIES[next_id % len(SYNTHETIC_CATEGORIES)]})
            next_id += 1
    return models


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


@register
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

    return generate_dataset(
        root, 'generate_synthetic_shapenet55', GENERATOR_ID, params, write,
        progress=dict(total=len(models), desc='synthetic shapenet55', unit='model')
        if progress else None)
