from .ppkt_pca_hook import PPKTFeaturePCAHook, compose_pca_panels, shared_pca_rgb
from .rng_state_hook import RNGStateHook, capture_rng_state, restore_rng_state
from .view_grid_hook import TAPViewGridHook, compose_view_grid

__all__ = ['PPKTFeaturePCAHook', 'RNGStateHook', 'TAPViewGridHook', 'capture_rng_state',
           'compose_pca_panels', 'compose_view_grid', 'restore_rng_state', 'shared_pca_rgb']
