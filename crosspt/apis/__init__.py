"""High-level inference API: :func:`init_model`, :func:`extract_features`,
:func:`render_views` (TAP) and :func:`load_points` (``.ply``/``.obj``/``.off``/``.npy``)."""
from .inference import extract_features, init_model, prepare_object_inputs, render_views
from .point_files import load_points

__all__ = ['init_model', 'extract_features', 'render_views', 'prepare_object_inputs',
           'load_points']
