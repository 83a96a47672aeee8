"""Pixel <-> point geometry of RGB-D frames: back-projection with the pinhole
intrinsics, projection back to pixels, and voxel pairing
(docs/methods/ppkt.md, 'Pixel-point pairing').

Conventions (ScanNet): depth PNG values are uint16 millimetres (``depth_scale`` 1000),
0 = invalid; ``u`` is the column, ``v`` the row; the 4x4 ``intrinsic_depth`` gives
``fx = K[0,0], fy = K[1,1], cx = K[0,2], cy = K[1,2]`` and offsets ``bx = K[0,3],
by = K[1,3]`` (0 in ScanNet); ``pose`` is camera-to-world.
"""
from typing import Optional, Tuple

import numpy as np


def _intrinsics(intrinsic: np.ndarray) -> Tuple[float, float, float, float, float, float]:
    k = np.asarray(intrinsic, dtype=np.float64)
    if k.shape not in ((3, 3), (4, 4)):
        raise ValueError(f'intrinsic must be 3x3 or 4x4, got shape {k.shape}')
    bx, by = (k[0, 3], k[1, 3]) if k.shape == (4, 4) else (0.0, 0.0)
    if k[0, 0] <= 0 or k[1, 1] <= 0:
        raise ValueError(f'intrinsic focal lengths must be > 0, got fx={k[0, 0]}, fy={k[1, 1]}')
    return k[0, 0], k[1, 1], k[0, 2], k[1, 2], bx, by


def _check_pose(pose: np.ndarray) -> np.ndarray:
    pose = np.asarray(pose, dtype=np.float64)
    if pose.shape != (4, 4):
        raise ValueError(f'pose must be a 4x4 camera-to-world matrix, got shape {pose.shape}')
    if not np.isfinite(pose).all():
        raise ValueError('pose contains -inf/inf/NaN (ScanNet marks frames without '
                         'tracking this way); reject the frame')
    return pose


def backproject_depth(depth: np.ndarray, intrinsic: np.ndarray, depth_scale: float = 1000.0,
                      pose: Optional[np.ndarray] = None
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """Points of the valid depth pixels.

    Args:
        depth: (H, W) raw depth (uint16 millimetres for ScanNet); 0 = invalid.
        intrinsic: 3x3 or 4x4 depth intrinsics.
        depth_scale: raw units per metre (1000).
        pose: optional 4x4 camera-to-world; points are in the camera frame without it.
    Returns:
        points (M, 3) float32 and pixels (M, 2) int64 as (row v, col u), row-major order.
    """
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise ValueError(f'depth must be (H, W), got shape {depth.shape}')
    fx, fy, cx, cy, bx, by = _intrinsics(intrinsic)
    v, u = np.nonzero(depth > 0)
    z = depth[v, u].astype(np.float64) / depth_scale
    points = np.stack([(u - cx) * z / fx + bx, (v - cy) * z / fy + by, z], axis=1)
    if pose is not None:
        pose = _check_pose(pose)
        points = points @ pose[:3, :3].T + pose[:3, 3]
    return points.astype(np.float32), np.stack([v, u], axis=1).astype(np.int64)


def project_points(points: np.ndarray, intrinsic: np.ndarray,
                   pose: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`backproject_depth`: (M, 3) points (world frame if ``pose`` is
    given) -> continuous pixel coordinates (M, 2) as (row, col) and depth (M,) metres."""
    p = np.asarray(points, dtype=np.float64)
    if pose is not None:
        pose = _check_pose(pose)
        p = (p - pose[:3, 3]) @ pose[:3, :3]                 # R^T (p - t)
    fx, fy, cx, cy, bx, by = _intrinsics(intrinsic)
    z = p[:, 2]
    col = (p[:, 0] - bx) * fx / z + cx
    row = (p[:, 1] - by) * fy / z + cy
    return np.stack([row, col], axis=1), z


def voxel_pairs(points: np.ndarray, voxel_size: float = 0.025,
                rng: Optional[np.random.Generator] = None
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Voxelise ``points`` and keep one point (hence one pixel) per voxel.

    PPKT's default pairing (option (b) of docs/methods/ppkt.md, 'Pairing after
    voxelisation'; [UNVERIFIED] which PPKT used):
    duplicate pixels of one voxel would otherwise act as false negatives in PPNCE.

    Args:
        points: (M, 3).
        voxel_size: metres (PPKT: 0.025).
        rng: picks the kept point of each voxel at random; None keeps the first.
    Returns:
        voxel coords (V, 3) int64 (``floor(p / voxel_size)``, sorted), the kept point
        index (V,) of each voxel, and the voxel of every point (M,).
    """
    if voxel_size <= 0:
        raise ValueError(f'voxel_size must be > 0, got {voxel_size}')
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 3 or not np.isfinite(points).all():
        raise ValueError(f'points must be finite (M, 3), got shape {points.shape}')
    coords = np.floor(points / voxel_size).astype(np.int64)
    # one int64 key per voxel (row-major over the shifted box): 1-D np.unique is ~20x
    # faster than np.unique(axis=0) and gives the same sorted order
    low = coords.min(axis=0) if len(coords) else np.zeros(3, np.int64)
    shifted = coords - low
    extent = shifted.max(axis=0) + 1 if len(coords) else np.ones(3, np.int64)
    keys = (shifted[:, 0] * extent[1] + shifted[:, 1]) * extent[2] + shifted[:, 2]
    unique_keys, first_of_key, inverse = np.unique(keys, return_index=True,
                                                   return_inverse=True)
    voxels = coords[first_of_key]
    inverse = inverse.reshape(-1)
    order = np.arange(len(points)) if rng is None else rng.permutation(len(points))
    # first occurrence of every voxel in ``order`` (np.unique sorts by voxel index)
    _, first = np.unique(inverse[order], return_index=True)
    kept = order[first].astype(np.int64)
    return voxels, kept, inverse
