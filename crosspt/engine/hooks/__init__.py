from .view_grid_hook import TAPViewGridHook, compose_view_grid

__all__ = ['TAPViewGridHook', 'compose_view_grid']
