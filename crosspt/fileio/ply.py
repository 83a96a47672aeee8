"""Point-cloud .ply reading and writing (ASCII or binary) via ``plyfile``.

Only the ``vertex`` element's ``x, y, z`` properties are read; errors name the file.
"""
import os
from typing import Union

import numpy as np

PathLike = Union[str, os.PathLike]


def read_ply_vertices(path: PathLike):
    """Parse a .ply file and return ``(PlyData, vertices (N, 3) float64)``.

    Raises ValueError naming the file when it cannot be parsed or its ``vertex``
    element lacks x/y/z (callers check existence first for a FileNotFoundError).
    """
    from plyfile import PlyData

    path = os.fspath(path)
    try:
        ply = PlyData.read(path)
    except Exception as exc:  # plyfile raises several exception types on corrupt files
        raise ValueError(f'cannot read .ply file {path}: {type(exc).__name__}: {exc}') from exc
    names = [element.name for element in ply.elements]
    if 'vertex' not in names:
        raise ValueError(f'.ply file {path} has no "vertex" element (elements: {names})')
    vertex = ply['vertex'].data
    missing = [axis for axis in 'xyz' if axis not in vertex.dtype.names]
    if missing:
        raise ValueError(f'.ply file {path}: vertex element lacks properties {missing}')
    return ply, np.stack([vertex[axis] for axis in 'xyz'], axis=-1).astype(np.float64)


def read_ply_points(path: PathLike) -> np.ndarray:
    """Read the vertex positions of a .ply file.

    Returns:
        (N, 3) float32 array.
    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a readable .ply, has no ``vertex`` element with
            x/y/z, or contains non-finite coordinates.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'point cloud file not found: {path}')
    _, vertices = read_ply_vertices(path)
    points = vertices.astype(np.float32)
    if not np.isfinite(points).all():
        bad = int((~np.isfinite(points)).any(axis=1).sum())
        raise ValueError(f'.ply file {path}: {bad} point(s) have NaN or infinite coordinates')
    return points


def write_ply_points(path: PathLike, points: np.ndarray, binary: bool = True) -> None:
    """Write (N, 3) points as a .ply ``vertex`` element with float32 x/y/z."""
    from plyfile import PlyData, PlyElement

    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f'write_ply_points({path}): points must be (N, 3), got {points.shape}')
    vertex = np.empty(len(points), dtype=[('x', 'f4'), ('y', 'f4'), ('z', 'f4')])
    vertex['x'], vertex['y'], vertex['z'] = points.T.astype(np.float32)
    os.makedirs(os.path.dirname(os.fspath(path)) or '.', exist_ok=True)
    PlyData([PlyElement.describe(vertex, 'vertex')], text=not binary).write(os.fspath(path))
