"""Read a point cloud for inference from ``.npy``, ``.ply`` (points or mesh), ``.obj`` or
``.off`` (meshes: area-weighted surface samples)."""
import os
from typing import Union

import numpy as np

from crosspt.fileio.ply import read_ply_vertices
from crosspt.rendering.mesh_io import UP_AXES, read_mesh, sample_surface_points, to_y_up


def load_points(path: Union[str, os.PathLike], up_axis: str = 'y',
                num_mesh_points: int = 8192, seed: int = 0) -> np.ndarray:
    """(N, 3) float32 xyz in the frame of crosspt's object datasets: y up, as ShapeNet,
    ModelNet40 and ScanObjectNN files store clouds (TAP's loader then turns them z up).

    Args:
        path: ``.npy`` holding (N, 3+) (extra columns are dropped), a ``.ply`` with
            vertices (faces, if any, are sampled), an ``.obj`` or ``.off`` mesh.
        up_axis: the file's up axis: ``'y'`` (ShapeNet, ModelNet, most meshes) keeps the
            axes; ``'z'`` maps (x, y, z) to (y, z, x); ``'x'`` maps it to (z, x, y) (axis
            permutations, so the up axis lands on y).
        num_mesh_points: surface samples taken from a mesh (seeded: ``seed``).
    """
    path = os.fspath(path)
    if up_axis not in UP_AXES:
        raise ValueError(f'load_points: up_axis must be one of {UP_AXES}, got {up_axis!r}')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'point cloud file not found: {path}')
    ext = os.path.splitext(path)[1].lower()
    if ext == '.npy':
        try:
            cloud = np.load(path, allow_pickle=False)
        except ValueError as err:
            raise ValueError(f'{path}: not a plain numeric .npy array ({err})') from None
        if cloud.ndim != 2 or cloud.shape[1] < 3 or len(cloud) == 0:
            raise ValueError(f'{path}: expected an (N, 3+) array with N > 0, got shape '
                             f'{cloud.shape}')
        xyz = cloud[:, :3]
    elif ext in ('.obj', '.off') or (ext == '.ply' and _ply_has_faces(path)):
        vertices, faces = read_mesh(path)
        if len(faces) == 0:
            raise ValueError(f'{path}: the mesh has no faces to sample')
        xyz = sample_surface_points(vertices, faces, num_mesh_points,
                                    np.random.default_rng(seed))
    elif ext == '.ply':
        _, vertices = read_ply_vertices(path)
        xyz = vertices
    else:
        raise ValueError(f'{path}: unsupported extension {ext!r}; expected .npy, .ply, .obj '
                         f'or .off')
    xyz = np.asarray(xyz, dtype=np.float32)
    bad = ~np.isfinite(xyz).all(axis=1)
    if bad.any():
        raise ValueError(f'{path}: {int(bad.sum())} point(s) have NaN or infinite coordinates '
                         f'(first: row {int(np.argmax(bad))})')
    return to_y_up(xyz, up_axis)


def _ply_has_faces(path: str) -> bool:
    from plyfile import PlyData
    try:
        ply = PlyData.read(path)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f'{path}: not a readable .ply file ({err})') from None
    return 'face' in ply and ply['face'].count > 0
