"""Cameras of the synthetic scenes (ScanNet conventions): camera x right, y down, z
forward; a pose is the 4x4 camera-to-world matrix.

Default intrinsics (:func:`default_intrinsics`): depth 240x320 with ScanNet's depth
intrinsics (577.8 / 319.5 / 239.5 for 640x480) scaled to the image size, fx = fy = 288.9,
cx = 159.5, cy = 119.5. The colour intrinsics are the depth intrinsics scaled by
``W_c / W_d`` and ``H_c / H_d`` (648/320 and 484/240 by default, about ScanNet's
1296x968 halved) with the half-pixel rule ``c' = (c + 0.5) * s - 0.5``: fx_c = 585.02,
fy_c = 582.62, cx_c = 323.5, cy_c = 241.5. Colour and depth therefore see exactly the
same field of view, and resizing the colour image to the depth size (PIL bilinear, as
``crosspt.fileio.scannet_layout.read_color`` does) gives pixel-aligned RGB-D, which is
ScanNet's documented recipe (resize colour, use ``intrinsic_depth``). The slightly
non-square colour pixels (fx_c != fy_c) are what that resize implies; the real ScanNet
colour intrinsics (about 1170.2 / 647.75 / 483.75 at 1296x968) are not reproduced.
"""
import math
from typing import Optional, Tuple

import numpy as np

from .exact_math import vector_norm
from .scene_model import TAG_TRAJECTORY, Scene

#: ScanNet depth intrinsics at 640x480 (docs/methods/ppkt.md, 'Colour and depth alignment')
SCANNET_DEPTH_FOCAL = 577.8
SCANNET_DEPTH_SIZE = (480, 640)
DEFAULT_DEPTH_SIZE = (240, 320)
DEFAULT_COLOR_SIZE = (484, 648)
CAMERA_HEIGHT = 1.5

__all__ = ['DEFAULT_DEPTH_SIZE', 'DEFAULT_COLOR_SIZE', 'default_intrinsics',
           'color_intrinsics_for', 'check_size', 'camera_trajectory']


def default_intrinsics(depth_size: Tuple[int, int] = DEFAULT_DEPTH_SIZE,
                       color_size: Tuple[int, int] = DEFAULT_COLOR_SIZE
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """(intrinsic_depth, intrinsic_color), 4x4 float64 holding float32-exact values:
    ScanNet's 640x480 depth intrinsics scaled to ``depth_size`` (H, W), and the colour
    intrinsics derived from them for ``color_size`` (see :func:`color_intrinsics_for`)."""
    h, w = check_size('depth_size', depth_size)
    k = np.eye(4)
    k[0, 0] = SCANNET_DEPTH_FOCAL * w / SCANNET_DEPTH_SIZE[1]
    k[1, 1] = SCANNET_DEPTH_FOCAL * h / SCANNET_DEPTH_SIZE[0]
    k[0, 2], k[1, 2] = (w - 1) / 2, (h - 1) / 2
    k = k.astype(np.float32).astype(np.float64)
    return k, color_intrinsics_for(k, depth_size, color_size)


def color_intrinsics_for(intrinsic_depth: np.ndarray, depth_size: Tuple[int, int],
                         color_size: Tuple[int, int]) -> np.ndarray:
    """Colour intrinsics with the same field of view as ``intrinsic_depth``: focal
    lengths scaled by ``W_c / W_d`` and ``H_c / H_d``, principal point by
    ``c' = (c + 0.5) * s - 0.5`` (pixel centres at integer coordinates). 4x4, float32-exact."""
    hd, wd = check_size('depth_size', depth_size)
    hc, wc = check_size('color_size', color_size)
    k = np.asarray(intrinsic_depth, np.float64)
    if k.shape != (4, 4):
        raise ValueError(f'color_intrinsics_for: intrinsic_depth must be 4x4, got {k.shape}')
    sx, sy = wc / wd, hc / hd
    out = np.eye(4)
    out[0, 0], out[1, 1] = k[0, 0] * sx, k[1, 1] * sy
    out[0, 2], out[1, 2] = (k[0, 2] + 0.5) * sx - 0.5, (k[1, 2] + 0.5) * sy - 0.5
    return out.astype(np.float32).astype(np.float64)


def check_size(name: str, size) -> Tuple[int, int]:
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be (H, W), got {size!r}') from None
    if h < 2 or w < 2:
        raise ValueError(f'{name} must be at least 2x2, got {size!r}')
    return h, w


def _look(position: np.ndarray, yaw: float, pitch: float, roll: float) -> np.ndarray:
    forward = np.array([math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw),
                        math.sin(pitch)])
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= vector_norm(right)
    down = np.cross(forward, right)
    right, down = (math.cos(roll) * right + math.sin(roll) * down,
                   -math.sin(roll) * right + math.cos(roll) * down)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, position
    return pose


def camera_trajectory(scene: Scene, num_frames: int,
                      rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """A smooth closed loop of camera poses inside ``scene.camera_region``.

    The camera walks once around an ellipse (radii 90 % of the region's half sizes,
    gently modulated) at 1.5 +- 0.1 m, looking across the room through the centre with a
    yaw swing of +-0.35 rad, pitch -0.3 +- 0.12 rad (slightly down) and roll +-0.04 rad.

    Args:
        scene: the room.
        num_frames: F >= 1 frames (frame k at phase 2 pi k / F).
        rng: random phases/direction; default ``default_rng([scene.seed, 12, scene.index])``.
    Returns:
        (F, 4, 4) float64 camera-to-world poses whose entries are float32-exact (what the
        pose text files and ``.sens`` store).
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) \
            or num_frames < 1:
        raise ValueError(f'camera_trajectory: num_frames must be a positive int, '
                         f'got {num_frames!r}')
    if rng is None:
        rng = np.random.default_rng([scene.seed, TAG_TRAJECTORY, scene.index])
    x0, y0, x1, y1 = scene.camera_region
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    rx, ry = 0.9 * (x1 - x0) / 2 / 1.1, 0.9 * (y1 - y0) / 2 / 1.1
    theta0 = rng.uniform(0, 2 * math.pi)
    direction = 1.0 if rng.uniform() < 0.5 else -1.0
    ph = rng.uniform(0, 2 * math.pi, 6)
    poses = np.empty((num_frames, 4, 4))
    for k in range(num_frames):
        a = theta0 + direction * 2 * math.pi * k / num_frames
        wobble = 1.0 + 0.1 * math.sin(2 * a + ph[0])
        pos = np.array([centre[0] + rx * wobble * math.cos(a),
                        centre[1] + ry * wobble * math.sin(a),
                        CAMERA_HEIGHT + 0.1 * math.sin(3 * a + ph[1])])
        yaw = a + math.pi + 0.35 * math.sin(2 * a + ph[2])
        pitch = -0.3 + 0.12 * math.sin(a + ph[3])
        roll = 0.04 * math.sin(3 * a + ph[4])
        poses[k] = _look(pos, yaw, pitch, roll)
    poses = poses.astype(np.float32).astype(np.float64)
    for k, pose in enumerate(poses):
        inside = [p.instance for p in scene.primitives
                  if np.all(pose[:3, 3] > p.lo - 0.05) and np.all(pose[:3, 3] < p.hi + 0.05)]
        if inside:
            raise RuntimeError(f'camera_trajectory({scene.name}): frame {k} camera is within '
                               f'5 cm of instance(s) {inside}')
    return poses
