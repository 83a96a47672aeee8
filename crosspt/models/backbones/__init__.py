from .pointmlp import PointMLP

__all__ = ['PointMLP']
