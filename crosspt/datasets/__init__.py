"""Dataset loaders and transforms (registered in ``crosspt.registry``).

The synthetic-data generators live in :mod:`crosspt.synthetic`; loaders reach them only
by registry name (``auto_generate``, :mod:`crosspt.datasets.auto_generate`), so importing
this package does not import them.
"""
from . import transforms  # noqa: F401  (registers the transforms)
from .label_fraction import LabelFractionDataset
from .modelnet40 import ModelNet40H5Dataset, ModelNet40NormalDataset
from .modelnet_fewshot import ModelNetFewShotDataset
from .scannet_frames import ScanNetFramesDataset
from .scannet_image_seg import ScanNetImageSegDataset
from .scanobjectnn import ScanObjectNNDataset
from .shapenet55_views import ShapeNet55ViewsDataset
from .shapenetpart import ShapeNetPartDataset

__all__ = ['ShapeNet55ViewsDataset', 'ScanObjectNNDataset', 'ModelNet40H5Dataset',
           'ModelNet40NormalDataset', 'ShapeNetPartDataset', 'ModelNetFewShotDataset',
           'LabelFractionDataset', 'ScanNetFramesDataset', 'ScanNetImageSegDataset']
