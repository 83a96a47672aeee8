"""Datasets and transforms (registered in ``crosspt.registry``).

``generate_synthetic_shapenet55`` (``crosspt.datasets.synthetic``) and the
``generate_synthetic_*`` functions of ``crosspt.datasets.synthetic_objects`` are imported
on first attribute access only.
"""
from . import transforms  # noqa: F401  (registers the transforms)
from .label_fraction import LabelFractionDataset
from .modelnet40 import ModelNet40H5Dataset, ModelNet40NormalDataset
from .modelnet_fewshot import ModelNetFewShotDataset
from .scannet_frames import ScanNetFramesDataset  # noqa: F401
from .scannet_image_seg import ScanNetImageSegDataset  # noqa: F401
from .scanobjectnn import ScanObjectNNDataset
from .shapenet55_views import ShapeNet55ViewsDataset
from .shapenetpart import ShapeNetPartDataset

_SYNTHETIC_OBJECTS = ('generate_synthetic_scanobjectnn', 'generate_synthetic_modelnet40',
                      'generate_synthetic_shapenetpart', 'generate_synthetic_fewshot',
                      'generate_synthetic_objects')

__all__ = ['ShapeNet55ViewsDataset', 'generate_synthetic_shapenet55', 'ScanObjectNNDataset',
           'ModelNet40H5Dataset', 'ModelNet40NormalDataset', 'ShapeNetPartDataset',
           'ModelNetFewShotDataset', 'LabelFractionDataset', *_SYNTHETIC_OBJECTS,
           'generate_synthetic_scannet_frames']


def __getattr__(name: str):
    if name == 'generate_synthetic_shapenet55':
        from .synthetic import generate_synthetic_shapenet55
        return generate_synthetic_shapenet55
    if name in _SYNTHETIC_OBJECTS:
        from . import synthetic_objects
        return getattr(synthetic_objects, name)
    if name == 'generate_synthetic_scannet_frames':
        from .synthetic_scenes import generate_synthetic_scannet_frames
        return generate_synthetic_scannet_frames
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
