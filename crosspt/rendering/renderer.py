"""Pure-numpy orthographic renderer of MVCNN-style grey views in TAP's camera convention.

For a view rotation ``R`` a point ``p`` goes to ``p' = R p``.  The camera sits on the ``+z'``
side looking towards ``-z'`` (``R^T e_z`` is the direction from the object to the camera,
docs/methods/tap.md, 'Instructed camera poses'), so the visible surface is the one with
the LARGEST ``z'``.  The object is fitted exactly like ``TAPQueryGenerator.fit_camera``
(docs/methods/tap.md, 'Camera fit', steps 1-7)::

    (row, col) = (p'_xy - bias) / scale

and a point at pixel coordinate ``(row, col)`` falls into image pixel
``(floor(row), floor(col))``; a mesh covers every pixel square its projection touches
(conservative rasterisation), so each surface point lands on a foreground pixel.
Background is white (255); the object is flat grey (R = G = B) with Lambertian shading from
a light at the camera plus ambient, every foreground value in ``[FG_MIN, FG_MAX]``.
"""
from typing import Optional, Tuple

import numpy as np

__all__ = ['fit_view_camera', 'render_mesh_views', 'render_point_views', 'render_tap_views',
           'estimate_normals', 'FG_MIN', 'FG_MAX']

FG_MIN = 40    # grey of a surface seen edge-on (ambient only)
FG_MAX = 235   # grey of a surface facing the camera; background is 255
_CHUNK = 3_000_000  # candidate (triangle, pixel) pairs handled at once


def _as_rotations(rotations: np.ndarray) -> np.ndarray:
    rotations = np.asarray(rotations, dtype=np.float64)
    if rotations.ndim == 2:
        rotations = rotations[None]
    if rotations.ndim != 3 or rotations.shape[1:] != (3, 3):
        raise ValueError(f'rotations must be (V, 3, 3), got {rotations.shape}')
    return rotations


def _as_points(points: np.ndarray, name: str) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
        raise ValueError(f'{name} must be a non-empty (N, 3) array, got {points.shape}')
    if not np.isfinite(points).all():
        raise ValueError(f'{name} contains NaN or infinite coordinates')
    return points


def fit_view_camera(points: np.ndarray, rotations: np.ndarray, img_size: int = 224,
                    obj_size: int = 200) -> Tuple[np.ndarray, np.ndarray]:
    """TAP's orthographic camera fit (docs/methods/tap.md, 'Camera fit'), numpy float64.

    Args:
        points: (N, 3) object-frame points.
        rotations: (V, 3, 3) view rotations, ``p' = R p``.
    Returns:
        scale (V,) and bias (V, 2) with ``pixel (row, col) = (p'_xy - bias) / scale``.
    """
    points = _as_points(points, 'points')
    rotations = _as_rotations(rotations)
    rotated = np.einsum('nc,vdc->vnd', points, rotations)[..., :2]        # (V, N, 2)
    low = rotated.min(axis=1)
    extent = rotated.max(axis=1) - low
    scale = extent.max(axis=-1) / (obj_size - 3)                          # (V,)
    if (scale <= 0).any():
        raise ValueError('fit_view_camera: the points have zero extent in a view')
    pixel_idx = np.floor((rotated - low[:, None]) / scale[:, None, None])
    center = np.floor((pixel_idx.max(axis=1) + pixel_idx.min(axis=1)) / 2)
    offset = obj_size / 2 - center - 1
    pad = (img_size - obj_size) // 2
    bias = low - scale[:, None] * (offset + pad)
    return scale, bias


def _shade(cos_to_camera: np.ndarray) -> np.ndarray:
    """Lambertian grey from |cos| between normal and viewing axis: values in [FG_MIN, FG_MAX]."""
    return FG_MIN + (FG_MAX - FG_MIN) * np.clip(np.abs(cos_to_camera), 0.0, 1.0)


def _compose(zbuf_val: np.ndarray, num_views: int, size: int) -> np.ndarray:
    """Grey buffer (V*H*W,) with -1 for background -> uint8 (V, H, W, 3)."""
    grey = np.where(zbuf_val < 0, 255.0, np.clip(np.rint(zbuf_val), FG_MIN, FG_MAX))
    grey = grey.astype(np.uint8).reshape(num_views, size, size)
    return np.repeat(grey[..., None], 3, axis=-1)


def _merge(zbuf: np.ndarray, vbuf: np.ndarray, key: np.ndarray, depth: np.ndarray,
           value: np.ndarray) -> None:
    """Z-buffer update (in place): per pixel key keep the largest depth; ties -> max value."""
    chunk_z = np.full_like(zbuf, -np.inf)
    np.maximum.at(chunk_z, key, depth)
    win = depth >= chunk_z[key]
    chunk_v = np.full_like(vbuf, -1.0)
    np.maximum.at(chunk_v, key[win], value[win])
    better = chunk_z > zbuf
    zbuf[better] = chunk_z[better]
    vbuf[better] = chunk_v[better]
    tie = (chunk_z == zbuf) & ~better & np.isfinite(chunk_z)
    vbuf[tie] = np.maximum(vbuf[tie], chunk_v[tie])


def _expand(counts: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """For counts (M,) return owner (sum,) and rank-within-owner (sum,) index arrays."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(int(counts.sum()), dtype=np.int64) - starts[owner]


def _rasterize(tri_px: np.ndarray, tri_z: np.ndarray, tri_val: np.ndarray,
               tri_view: np.ndarray, num_views: int, size: int) -> np.ndarray:
    """Scan-convert triangles of all views at pixel centres with a z-buffer (largest z wins).

    Coverage is conservative and matches TAP's ``floor`` convention: pixel ``(r, c)`` (the
    square ``[r, r+1) x [c, c+1)``) is drawn when the projected triangle touches that square,
    so every surface point lands in a drawn pixel.  Exact test (separating axes): bounding
    boxes overlap and, for each edge function ``w_i``, its maximum over the square
    ``w_i(centre) + (|A_i| + |B_i|) / 2`` is >= 0.  Per (triangle, row) the covered columns
    are solved in closed form.  Depth is the plane depth at the pixel centre, clamped to the
    triangle's depth range.

    Args:
        tri_px: (T, 3, 2) vertex pixel coordinates (row, col).
        tri_z: (T, 3) vertex depths z'.
        tri_val: (T,) grey value per triangle.
        tri_view: (T,) view index per triangle.
    Returns:
        (V*H*W,) float grey buffer, -1 where nothing was drawn.
    """
    zbuf = np.full(num_views * size * size, -np.inf)
    vbuf = np.full(num_views * size * size, -1.0)
    # nudge by 1e-6 px so that an edge lying exactly on a pixel border (the fitted extremes
    # map to integer coordinates) belongs to the pixel on its larger side, like floor()
    r, c = tri_px[..., 0] + 1e-6, tri_px[..., 1] + 1e-6
    # barycentric weight of vertex i: w_i = A_i row + B_i col + C_i (edge opposite vertex i)
    a_idx, b_idx = np.array([1, 2, 0]), np.array([2, 0, 1])
    ar, ac, br, bc = r[:, a_idx], c[:, a_idx], r[:, b_idx], c[:, b_idx]
    coef_a, coef_b = -(bc - ac), br - ar
    coef_c = (bc - ac) * ar - (br - ar) * ac
    area2 = coef_a[:, 0] * r[:, 0] + coef_b[:, 0] * c[:, 0] + coef_c[:, 0]
    r_lo = np.maximum(np.floor(r.min(axis=1)), 0)
    r_hi = np.minimum(np.floor(r.max(axis=1)), size - 1)
    c_min = np.maximum(np.floor(c.min(axis=1)), 0)
    c_max = np.minimum(np.floor(c.max(axis=1)), size - 1)
    keep = (np.abs(area2) > 1e-12) & (r_hi >= r_lo) & (c_max >= c_min)
    if not keep.any():
        return vbuf
    idx = np.nonzero(keep)[0]
    wa, wb, wc = (coef[idx] / area2[idx, None] for coef in (coef_a, coef_b, coef_c))
    tz = tri_z[idx]
    za, zb, zc = (wa * tz).sum(1), (wb * tz).sum(1), (wc * tz).sum(1)
    z_lo, z_hi = tz.min(1), tz.max(1)
    slack = 0.5 * (np.abs(wa) + np.abs(wb)) - 1e-9                          # (T', 3)
    r_lo, r_hi = r_lo[idx].astype(np.int64), r_hi[idx].astype(np.int64)
    c_min, c_max = c_min[idx].astype(np.int64), c_max[idx].astype(np.int64)
    base = tri_view[idx].astype(np.int64) * size * size
    val = tri_val[idx]
    # (triangle, row) spans
    tri, rank = _expand(r_hi - r_lo + 1)
    row = r_lo[tri] + rank
    fr = row + 0.5
    lin = wa[tri] * fr[:, None] + wc[tri] + slack[tri]                     # (P, 3)
    slope = wb[tri]
    with np.errstate(divide='ignore', invalid='ignore'):
        bound = -lin / slope
    lo = np.where(slope > 0, bound, -np.inf).max(axis=1)
    hi = np.where(slope < 0, bound, np.inf).min(axis=1)
    flat_ok = ((slope != 0) | (lin >= 0)).all(axis=1)
    col_lo = np.maximum(np.ceil(np.maximum(lo, -1.0) - 0.5), c_min[tri])
    col_hi = np.minimum(np.floor(np.minimum(hi, size + 1.0) - 0.5), c_max[tri])
    counts = np.where(flat_ok, np.maximum(col_hi - col_lo + 1, 0), 0).astype(np.int64)
    col_lo = col_lo.astype(np.int64)
    ends = np.cumsum(counts)
    start = 0
    while start < len(counts):
        offset = ends[start - 1] if start else 0
        stop = max(int(np.searchsorted(ends, offset + _CHUNK, side='right')), start + 1)
        span, rank = _expand(counts[start:stop])
        span += start
        t = tri[span]
        pc = col_lo[span] + rank
        depth = np.clip(za[t] * fr[span] + zb[t] * (pc + 0.5) + zc[t], z_lo[t], z_hi[t])
        _merge(zbuf, vbuf, base[t] + row[span] * size + pc, depth, val[t])
        start = stop
    return vbuf


def render_mesh_views(vertices: np.ndarray, faces: np.ndarray, rotations: np.ndarray,
                      image_size: int = 224, obj_size: int = 200,
                      fit_points: Optional[np.ndarray] = None) -> np.ndarray:
    """Render a triangle mesh from every view.

    Args:
        vertices: (V_m, 3) mesh vertices in the object frame (the frame ``rotations`` act on).
        faces: (F, 3) int vertex indices.
        rotations: (V, 3, 3) view rotations, ``p' = R p``.
        image_size / obj_size: TAP camera fit parameters (224 / 200).
        fit_points: (N, 3) points the camera is fitted on (the stored point cloud, so that the
            images agree with ``TAPQueryGenerator``); defaults to the vertices.
    Returns:
        (V, image_size, image_size, 3) uint8, white background, grey object.
    """
    vertices = _as_points(vertices, 'vertices')
    faces = np.asarray(faces, dtype=np.int64)
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise ValueError(f'faces must be a non-empty (F, 3) array, got {faces.shape}')
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise ValueError(f'faces index outside [0, {len(vertices)})')
    rotations = _as_rotations(rotations)
    fit = vertices if fit_points is None else _as_points(fit_points, 'fit_points')
    scale, bias = fit_view_camera(fit, rotations, image_size, obj_size)
    num_views = len(rotations)
    rotated = np.einsum('nc,vdc->vnd', vertices, rotations)                 # (V, Vm, 3)
    pixels = (rotated[..., :2] - bias[:, None]) / scale[:, None, None]
    tri = rotated[:, faces]                                                  # (V, F, 3, 3)
    normal = np.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0])
    norm = np.linalg.norm(normal, axis=-1)
    cos = np.divide(normal[..., 2], norm, out=np.zeros_like(norm), where=norm > 0)
    vbuf = _rasterize(pixels[:, faces].reshape(-1, 3, 2), rotated[..., 2][:, faces].reshape(-1, 3),
                      _shade(cos).reshape(-1), np.repeat(np.arange(num_views), len(faces)),
                      num_views, image_size)
    return _compose(vbuf, num_views, image_size)


def estimate_normals(points: np.ndarray, k: int = 16) -> np.ndarray:
    """PCA normals (unoriented unit vectors) from the k nearest neighbours: (N, 3) -> (N, 3)."""
    from scipy.spatial import cKDTree

    points = _as_points(points, 'points')
    k = int(min(k, len(points)))
    if k < 3:
        raise ValueError(f'estimate_normals: need at least 3 points, got {len(points)}')
    _, nn = cKDTree(points).query(points, k=k)
    nbr = points[nn] - points[nn].mean(axis=1, keepdims=True)               # (N, k, 3)
    cov = np.einsum('nki,nkj->nij', nbr, nbr)
    _, vecs = np.linalg.eigh(cov)
    return vecs[:, :, 0]


def render_point_views(points: np.ndarray, rotations: np.ndarray, image_size: int = 224,
                       obj_size: int = 200, point_radius_px: Optional[float] = None,
                       normals: Optional[np.ndarray] = None) -> np.ndarray:
    """Splat a dense point cloud as discs with a z-buffer; camera fitted on the points.

    Each pixel averages the shading of the splats whose depth lies within two disc radii
    of the nearest splat (soft z-buffer), hiding back surfaces behind sampling gaps.

    Args:
        points: (N, 3) object-frame points.
        rotations: (V, 3, 3) view rotations.
        point_radius_px: disc radius in pixels; default 1.5x the mean nearest-neighbour
            spacing in pixels (at least 0.75 px).  The pixel containing a point is always drawn.
        normals: (N, 3) normals for shading; default PCA normals over 16 neighbours.
    Returns:
        (V, image_size, image_size, 3) uint8.
    """
    from scipy.spatial import cKDTree

    points = _as_points(points, 'points')
    rotations = _as_rotations(rotations)
    scale, bias = fit_view_camera(points, rotations, image_size, obj_size)
    if normals is None:
        normals = estimate_normals(points)
    normals = np.asarray(normals, dtype=np.float64)
    if normals.shape != points.shape:
        raise ValueError(f'normals must be {points.shape}, got {normals.shape}')
    lengths = np.linalg.norm(normals, axis=-1)
    normals = np.divide(normals, lengths[:, None], out=np.zeros_like(normals),
                        where=lengths[:, None] > 0)
    num_views = len(rotations)
    rotated = np.einsum('nc,vdc->vnd', points, rotations)                   # (V, N, 3)
    pixels = (rotated[..., :2] - bias[:, None]) / scale[:, None, None]      # (V, N, 2)
    value = _shade(np.einsum('nc,vc->vn', normals, rotations[:, 2]))       # (V, N)
    if point_radius_px is None:
        spacing = cKDTree(points).query(points, k=2)[0][:, 1].mean() if len(points) > 1 else 0
        radius = np.maximum(1.5 * spacing / scale, 0.75)                   # (V,)
    else:
        radius = np.full(num_views, float(point_radius_px))
    reach = int(np.ceil(radius.max()))
    offs = np.arange(-reach, reach + 1)
    dr, dc = [o.reshape(-1) for o in np.meshgrid(offs, offs, indexing='ij')]
    cell = np.floor(pixels).astype(np.int64)                                # (V, N, 2)
    pr = cell[..., 0, None] + dr                                            # (V, N, K)
    pc = cell[..., 1, None] + dc
    dist2 = (pr + 0.5 - pixels[..., 0, None]) ** 2 + (pc + 0.5 - pixels[..., 1, None]) ** 2
    own = (dr == 0) & (dc == 0)
    ok = ((dist2 <= radius[:, None, None] ** 2) | own) & (pr >= 0) & (pr < image_size) & \
        (pc >= 0) & (pc < image_size)
    view = np.broadcast_to(np.arange(num_views)[:, None, None], ok.shape)
    key = view[ok] * image_size * image_size + pr[ok] * image_size + pc[ok]
    depth = np.broadcast_to(rotated[..., 2, None], ok.shape)[ok]
    val = np.broadcast_to(value[..., None], ok.shape)[ok]
    # soft z-buffer: average the shading of every splat within a depth band (two disc radii)
    # of the nearest one, so that sampling gaps in the front surface do not show the back
    total = num_views * image_size * image_size
    zbuf = np.full(total, -np.inf)
    np.maximum.at(zbuf, key, depth)
    band = np.broadcast_to((2.0 * radius * scale)[:, None, None], ok.shape)[ok]
    front = depth >= zbuf[key] - band
    weight = np.bincount(key[front], minlength=total)
    summed = np.bincount(key[front], weights=val[front], minlength=total)
    vbuf = np.divide(summed, weight, out=np.full(total, -1.0), where=weight > 0)
    return _compose(vbuf, num_views, image_size)


def render_tap_views(vertices: np.ndarray, faces: np.ndarray, fit_points: np.ndarray,
                     image_size: int = 224, num_views: int = 12,
                     axis_permutation: Tuple[int, int, int] = (2, 0, 1)) -> np.ndarray:
    """The 12 TAP views of a Y-up mesh as TAP's ShapeNet55 loader sees its point cloud.

    The loader permutes stored points with ``[:, [2, 0, 1]]`` (y-up -> z-up) before applying
    the view rotations, so mesh and fit points are permuted the same way here; view ``k``
    uses ``tap_view_rotations()[k]`` and is stored as ``_{k+1:03d}.jpg``.

    Args:
        vertices: (V_m, 3) Y-up mesh vertices (the frame of the stored .ply).
        faces: (F, 3) triangles; an empty array renders ``fit_points`` as splats instead.
        fit_points: (N, 3) the stored point cloud (camera fit, as TAPQueryGenerator).
    Returns:
        (num_views, image_size, image_size, 3) uint8.
    """
    from .poses import tap_view_rotations

    perm = list(axis_permutation)
    obj_size = int(round(image_size * 200 / 224))
    rotations = tap_view_rotations(num_views)
    fit = _as_points(fit_points, 'fit_points')[:, perm]
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(faces) == 0:
        return render_point_views(fit, rotations, image_size=image_size, obj_size=obj_size)
    return render_mesh_views(_as_points(vertices, 'vertices')[:, perm], faces, rotations,
                             image_size=image_size, obj_size=obj_size, fit_points=fit)
