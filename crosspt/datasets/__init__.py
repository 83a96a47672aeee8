"""Datasets and transforms (registered in ``crosspt.registry``).

``generate_synthetic_shapenet55`` (``crosspt.datasets.synthetic``) is imported on first
attribute access only.
"""
from . import transforms  # noqa: F401  (registers the transforms)
from .shapenet55_views import ShapeNet55ViewsDataset

__all__ = ['ShapeNet55ViewsDataset', 'generate_synthetic_shapenet55']


def __getattr__(name: str):
    if name == 'generate_synthetic_shapenet55':
        from .synthetic import generate_synthetic_shapenet55
        return generate_synthetic_shapenet55
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
