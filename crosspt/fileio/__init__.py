from .ply import read_ply_points, write_ply_points

__all__ = ['read_ply_points', 'write_ply_points']
