from .ply import read_ply_points, read_ply_vertices, write_ply_points
from .safe_pickle import (RestrictedUnpickler, UnsafePickleError, restricted_pickle_load,
                          restricted_pickle_loads)
from .sens import SensFrame, SensHeader, decode_color, decode_depth, read_sens, write_sens

__all__ = ['read_ply_points', 'read_ply_vertices', 'write_ply_points', 'SensFrame',
           'SensHeader', 'decode_color', 'decode_depth', 'read_sens', 'write_sens',
           'RestrictedUnpickler', 'UnsafePickleError', 'restricted_pickle_load',
           'restricted_pickle_loads']
