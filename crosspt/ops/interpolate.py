"""Three-nearest-neighbour inverse-distance interpolation (PointNet++ feature propagation)."""
from typing import Tuple

from torch import Tensor

from .grouping import gather_points
from .knn import knn


def three_nn(unknown: Tensor, known: Tensor, backend: str = 'auto') -> Tuple[Tensor, Tensor]:
    """Three nearest ``known`` points of every ``unknown`` point.

    Args:
        unknown: (B, n, 3); known: (B, m, 3) with m >= 1.
    Returns:
        dist2 (B, n, k) squared distances ascending and idx (B, n, k), k = min(3, m).
    """
    return knn(unknown, known, min(3, known.shape[1]), backend=backend)


def three_interpolate(features: Tensor, idx: Tensor, weight: Tensor) -> Tensor:
    """Weighted sum of neighbour features: features (B, m, C), idx/weight (B, n, k) -> (B, n, C)."""
    return (gather_points(features, idx) * weight.unsqueeze(-1)).sum(dim=2)


def inverse_distance_interpolate(unknown: Tensor, known: Tensor, known_features: Tensor,
                                 distance: str = 'euclidean', eps: float = 1e-8,
                                 backend: str = 'auto') -> Tensor:
    """Interpolate ``known_features`` (B, m, C) onto ``unknown`` (B, n, 3) points.

    Weights are ``1 / (d + eps)`` normalised over the three nearest known points, with
    ``d`` the Euclidean distance (``distance='euclidean'``, PointNet++) or the squared
    distance (``'squared'``, as PointMLP's segmentation decoder does).  With a single
    known point every unknown point receives its features.
    Returns (B, n, C).
    """
    if distance not in ('euclidean', 'squared'):
        raise ValueError(f"inverse_distance_interpolate: distance must be 'euclidean' or "
                         f"'squared', got {distance!r}")
    dist2, idx = three_nn(unknown, known, backend=backend)
    d = dist2 if distance == 'squared' else dist2.sqrt()
    weight = 1.0 / (d + eps)
    weight = weight / weight.sum(dim=-1, keepdim=True)
    return three_interpolate(known_features, idx, weight.to(known_features.dtype))
