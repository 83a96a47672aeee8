"""crosspt: cross-modal 2D<->3D pretraining of point-cloud networks."""
from .version import __version__

__all__ = ['__version__']
