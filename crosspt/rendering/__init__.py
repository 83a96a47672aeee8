from .mesh_io import UP_AXES, read_mesh, sample_surface_points, to_y_up, write_obj, write_off
from .poses import tap_view_rotations
from .renderer import (estimate_normals, fit_view_camera, render_mesh_views,
                       render_point_views, render_tap_views)

__all__ = [
    'tap_view_rotations', 'read_mesh', 'write_off', 'write_obj', 'sample_surface_points',
    'to_y_up', 'UP_AXES', 'fit_view_camera',
    'render_mesh_views', 'render_point_views', 'render_tap_views', 'estimate_normals'
]
