"""Embedded synthetic data: deterministic stand-ins written in the real on-disk formats.

One module per generated format, each generator registered by its name in
``crosspt.registry.FUNCTIONS`` (whose lazy location is this package), which is how the
loaders' ``auto_generate`` finds it
(:class:`crosspt.datasets.auto_generate.AutoGenerateMixin`):

- :mod:`.shapenet55`: TAP's ShapeNet55 pre-training layout (meshes of :mod:`.shapes`);
- :mod:`.objects`: ScanObjectNN, ModelNet40, ShapeNetPart and few-shot episodes;
- :mod:`.scannet_frames`: RGB-D frames in the extracted ScanNet layout (scenes of
  :mod:`.room_planner`, cameras of :mod:`.cameras`, :mod:`.scene_renderer`);
- :mod:`.scannet_mmdet3d`: labelled scene clouds in mmdet3d's ScanNet format
  (:mod:`.scene_points`);
- :mod:`.sunrgbd_mmdet3d`: single-view scans with yawed boxes in mmdet3d's SUN RGB-D
  format.

This package imports only ``crosspt.fileio``, ``crosspt.ops``, ``crosspt.rendering`` and
``crosspt.registry`` (tests/test_import_isolation.py).
"""
from .objects import (generate_synthetic_fewshot, generate_synthetic_modelnet40,
                      generate_synthetic_objects, generate_synthetic_scanobjectnn,
                      generate_synthetic_shapenetpart)
from .scannet_frames import generate_synthetic_scannet_frames
from .s3dis_mmdet3d import generate_synthetic_s3dis_mmdet3d
from .scannet_mmdet3d import generate_synthetic_scannet_mmdet3d
from .shapenet55 import generate_synthetic_shapenet55
from .sunrgbd_mmdet3d import generate_synthetic_sunrgbd_mmdet3d

__all__ = ['generate_synthetic_shapenet55', 'generate_synthetic_scanobjectnn',
           'generate_synthetic_modelnet40', 'generate_synthetic_shapenetpart',
           'generate_synthetic_fewshot', 'generate_synthetic_objects',
           'generate_synthetic_scannet_frames', 'generate_synthetic_scannet_mmdet3d',
           'generate_synthetic_s3dis_mmdet3d', 'generate_synthetic_sunrgbd_mmdet3d']
