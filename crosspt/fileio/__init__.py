from .ply import read_ply_points, read_ply_vertices, write_ply_points

__all__ = ['read_ply_points', 'read_ply_vertices', 'write_ply_points']
