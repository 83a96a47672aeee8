"""Independent brute-force references shared by the dataset tests."""
import numpy as np


def brute_fps(points: np.ndarray, num: int) -> np.ndarray:
    """Exact farthest point sampling from index 0, lowest index on ties, computed in the
    dtype of ``points (N, 3)``; returns ``(num,)`` indices."""
    chosen, dist = [0], np.full(len(points), np.inf)
    for _ in range(num - 1):
        dist = np.minimum(dist, ((points - points[chosen[-1]]) ** 2).sum(1))
        chosen.append(int(np.argmax(dist)))
    return np.array(chosen)
