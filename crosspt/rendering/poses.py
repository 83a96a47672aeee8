"""TAP's 12 instructed camera poses (docs/methods/tap.md, 'Instructed camera poses').

``R_k = R_y(phi) @ R_z(-theta_k)`` with ``phi = -60°`` and ``theta_k = 30°·k``; a point ``p``
of the object frame (up = +z) goes to ``p' = R_k p``; the camera looks along ``z'``,
image rows follow ``x'`` and columns ``y'`` (orthographic). View file ``_{k+1:03d}.jpg``.
"""
import numpy as np


def rotation_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rotation_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def tap_view_rotations(num_views: int = 12, elevation_deg: float = -60.0) -> np.ndarray:
    """(num_views, 3, 3) float64 rotations, azimuth ``360°·k / num_views``."""
    phi = np.deg2rad(elevation_deg)
    thetas = np.arange(num_views) * (2 * np.pi / num_views)
    return np.stack([rotation_y(phi) @ rotation_z(-theta) for theta in thetas])
