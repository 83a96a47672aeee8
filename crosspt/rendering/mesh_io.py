"""Triangle meshes (.off, .obj, .ply): reading, writing and the geometry helpers used on
them (area-weighted surface sampling, up-axis permutation).

``read_mesh`` returns ``vertices (V, 3) float64`` and ``faces (F, 3) int64`` (0-based);
polygons are fan-triangulated.  Every error names the file (and the line for text formats).
"""
import os
from typing import List, Tuple, Union

import numpy as np

from crosspt.fileio.ply import read_ply_vertices
from crosspt.ops import furthest_point_sample_numpy

PathLike = Union[str, os.PathLike]

__all__ = ['read_mesh', 'read_off', 'read_obj', 'read_mesh_ply', 'write_off', 'write_obj',
           'sample_surface_points', 'sample_triangles', 'to_y_up', 'UP_AXES']

UP_AXES = ('x', 'y', 'z')
# new axis i = old axis _Y_UP_ORDER[up_axis][i]: cyclic permutations (no mirroring)
_Y_UP_ORDER = {'y': (0, 1, 2), 'z': (1, 2, 0), 'x': (2, 0, 1)}


def _fan(polygon: List[int]) -> List[Tuple[int, int, int]]:
    return [(polygon[0], polygon[i], polygon[i + 1]) for i in range(1, len(polygon) - 1)]


def _finish(path: str, vertices: np.ndarray, faces: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    vertices = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if not np.isfinite(vertices).all():
        raise ValueError(f'mesh file {path}: vertices contain NaN or infinite coordinates')
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        bad = int(faces.max() if faces.max() >= len(vertices) else faces.min())
        raise ValueError(f'mesh file {path}: face index {bad} out of range for '
                         f'{len(vertices)} vertices')
    return vertices, faces


def _tokens(path: str) -> List[Tuple[int, List[str]]]:
    """Non-empty, comment-stripped lines as (line number, tokens)."""
    with open(path, 'r', errors='replace') as f:
        out = []
        for lineno, line in enumerate(f, start=1):
            line = line.split('#', 1)[0].strip()
            if line:
                out.append((lineno, line.split()))
    return out


def read_off(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
    """Read an (ASCII) .off mesh, including the ``OFF123 456 0`` glued-header variant."""
    path = os.fspath(path)
    lines = _tokens(path)
    if not lines:
        raise ValueError(f'.off file {path} is empty')
    lineno, first = lines[0]
    head = first[0]
    if not head.upper().startswith('OFF'):
        raise ValueError(f'.off file {path}, line {lineno}: expected "OFF" header, got {head!r}')
    rest = [head[3:]] if len(head) > 3 else []
    rest += first[1:]
    idx = 1
    if not rest:  # counts are on the next line
        if len(lines) < 2:
            raise ValueError(f'.off file {path}: missing vertex/face counts after header')
        lineno, rest = lines[1]
        idx = 2
    try:
        n_vert, n_face = int(rest[0]), int(rest[1])
    except (ValueError, IndexError):
        raise ValueError(f'.off file {path}, line {lineno}: expected "n_vertices n_faces '
                         f'n_edges", got {" ".join(rest)!r}') from None
    if len(lines) < idx + n_vert + n_face:
        raise ValueError(f'.off file {path}: header announces {n_vert} vertices and {n_face} '
                         f'faces but the file has only {len(lines) - idx} data lines')
    vertices = np.empty((n_vert, 3), dtype=np.float64)
    for i in range(n_vert):
        lineno, tok = lines[idx + i]
        try:
            vertices[i] = [float(t) for t in tok[:3]]
        except ValueError:
            raise ValueError(f'.off file {path}, line {lineno}: bad vertex {" ".join(tok)!r}') \
                from None
    idx += n_vert
    faces: List[Tuple[int, int, int]] = []
    for i in range(n_face):
        lineno, tok = lines[idx + i]
        try:
            count = int(tok[0])
            poly = [int(t) for t in tok[1:1 + count]]
        except ValueError:
            raise ValueError(f'.off file {path}, line {lineno}: bad face {" ".join(tok)!r}') \
                from None
        if count < 3 or len(poly) != count:
            raise ValueError(f'.off file {path}, line {lineno}: face needs >= 3 indices and '
                             f'exactly the announced count, got {" ".join(tok)!r}')
        for j in poly:
            if j < 0 or j >= n_vert:
                raise ValueError(f'.off file {path}, line {lineno}: face index {j} out of '
                                 f'range for {n_vert} vertices')
        faces.extend(_fan(poly))
    return _finish(path, vertices, np.asarray(faces, dtype=np.int64).reshape(-1, 3))


def read_obj(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
    """Read ``v`` and ``f`` records of a Wavefront .obj (slashes, negative indices, polygons)."""
    path = os.fspath(path)
    vertices: List[List[float]] = []
    faces: List[Tuple[int, int, int]] = []
    for lineno, tok in _tokens(path):
        if tok[0] == 'v':
            try:
                vertices.append([float(t) for t in tok[1:4]])
            except ValueError:
                raise ValueError(f'.obj file {path}, line {lineno}: bad vertex '
                                 f'{" ".join(tok)!r}') from None
            if len(vertices[-1]) != 3:
                raise ValueError(f'.obj file {path}, line {lineno}: vertex needs 3 coordinates')
        elif tok[0] == 'f':
            poly = []
            for t in tok[1:]:
                try:
                    j = int(t.split('/')[0])
                except ValueError:
                    raise ValueError(f'.obj file {path}, line {lineno}: bad face index '
                                     f'{t!r}') from None
                if j == 0 or j > len(vertices) or -j > len(vertices):
                    raise ValueError(f'.obj file {path}, line {lineno}: face index {j} out of '
                                     f'range ({len(vertices)} vertices defined so far)')
                poly.append(j - 1 if j > 0 else len(vertices) + j)
            if len(poly) < 3:
                raise ValueError(f'.obj file {path}, line {lineno}: face needs >= 3 vertices')
            faces.extend(_fan(poly))
    return _finish(path, np.asarray(vertices, dtype=np.float64).reshape(-1, 3),
                   np.asarray(faces, dtype=np.int64).reshape(-1, 3))


def read_mesh_ply(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
    """Read a .ply mesh via plyfile; a file without a ``face`` element gives (0, 3) faces."""
    path = os.fspath(path)
    ply, vertices = read_ply_vertices(path)
    names = [el.name for el in ply.elements]
    faces: List[Tuple[int, int, int]] = []
    if 'face' in names:
        fdata = ply['face'].data
        key = next((k for k in ('vertex_indices', 'vertex_index') if k in fdata.dtype.names),
                   None)
        if key is None:
            raise ValueError(f'.ply file {path}: face element has no vertex_indices property')
        for i, poly in enumerate(fdata[key]):
            poly = [int(j) for j in poly]
            if len(poly) < 3:
                raise ValueError(f'.ply file {path}: face {i} has fewer than 3 vertices')
            faces.extend(_fan(poly))
    return _finish(path, vertices, np.asarray(faces, dtype=np.int64).reshape(-1, 3))


_READERS = {'.off': read_off, '.obj': read_obj, '.ply': read_mesh_ply}


def read_mesh(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
    """Read a triangle mesh.

    Args:
        path: .off, .obj or .ply file.
    Returns:
        vertices (V, 3) float64 and faces (F, 3) int64 (0-based, polygons fan-triangulated).
    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: unknown extension, parse error (with line number) or bad face index.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in _READERS:
        raise ValueError(f'mesh file {path}: unsupported extension {ext!r}, expected one of '
                         f'{sorted(_READERS)}')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'mesh file not found: {path}')
    return _READERS[ext](path)


def _check(path: str, vertices: np.ndarray, faces: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f'writing {path}: vertices must be (V, 3), got {vertices.shape}')
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f'writing {path}: faces must be (F, 3), got {faces.shape}')
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise ValueError(f'writing {path}: face indices must lie in [0, {len(vertices)})')
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    return vertices, faces


def write_off(path: PathLike, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Write vertices (V, 3) and triangle faces (F, 3) as ASCII .off."""
    path = os.fspath(path)
    vertices, faces = _check(path, vertices, faces)
    lines = ['OFF', f'{len(vertices)} {len(faces)} 0']
    lines += [f'{x:.9g} {y:.9g} {z:.9g}' for x, y, z in vertices]
    lines += [f'3 {a} {b} {c}' for a, b, c in faces]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def write_obj(path: PathLike, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Write vertices (V, 3) and triangle faces (F, 3) as .obj (1-based indices)."""
    path = os.fspath(path)
    vertices, faces = _check(path, vertices, faces)
    lines = [f'v {x:.9g} {y:.9g} {z:.9g}' for x, y, z in vertices]
    lines += [f'f {a + 1} {b + 1} {c + 1}' for a, b, c in faces]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def to_y_up(points: np.ndarray, up_axis: str = 'y') -> np.ndarray:
    """Permute the axes of (N, 3) points so that ``up_axis`` becomes y, the frame of
    crosspt's object datasets (ShapeNet, ModelNet and ScanObjectNN files are y up).

    ``'y'`` keeps the axes; ``'z'`` maps (x, y, z) to (y, z, x); ``'x'`` maps it to
    (z, x, y).  Returns a contiguous (N, 3) array of the input dtype.
    """
    if up_axis not in _Y_UP_ORDER:
        raise ValueError(f'up_axis must be one of {UP_AXES}, got {up_axis!r}')
    return np.ascontiguousarray(np.asarray(points)[:, list(_Y_UP_ORDER[up_axis])])


def sample_triangles(tri: np.ndarray, area: np.ndarray, num_points: int,
                     rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Area-weighted uniform samples on triangles ``tri`` (F, 3, 3) of areas ``area`` (F,).

    Returns:
        face index (M,) of each sample and the samples (M, 3) float64.
    """
    face = rng.choice(len(tri), size=num_points, p=area / area.sum())
    u, v = rng.uniform(size=(2, num_points))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tri[face]
    return face, t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])


def sample_surface_points(vertices: np.ndarray, faces: np.ndarray, num_points: int,
                          rng: np.random.Generator, oversample: int = 4) -> np.ndarray:
    """Area-weighted uniform surface samples, thinned by FPS from ``oversample``x as many.

    The FPS thinning (:func:`crosspt.ops.furthest_point_sample_numpy`, start index 0,
    exact float64 path so ties resolve identically on every machine) mimics Open3D's Poisson-disk
    sampling with ``init_factor=4``.  Zero-area (degenerate) faces are never drawn.

    Args:
        vertices: (V, 3) mesh vertices.
        faces: (F, 3) triangle vertex indices.
        num_points: samples M to return.
        rng: source of the random draws.
    Returns:
        (M, 3) float32.
    Raises:
        ValueError: the faces have zero total area.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    tri = vertices[np.asarray(faces, dtype=np.int64).reshape(-1, 3)]        # (F, 3, 3)
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=-1)
    if not area.sum() > 0:
        raise ValueError('sample_surface_points: the mesh has zero surface area')
    total = num_points * max(int(oversample), 1)
    _, points = sample_triangles(tri, area, total, rng)
    if total > num_points:
        points = points[furthest_point_sample_numpy(points, num_points)]
    return points.astype(np.float32)
