from .rng_state_hook import RNGStateHook, capture_rng_state, restore_rng_state
from .view_grid_hook import TAPViewGridHook, compose_view_grid

__all__ = ['RNGStateHook', 'TAPViewGridHook', 'capture_rng_state', 'compose_view_grid',
           'restore_rng_state']
