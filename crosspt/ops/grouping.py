"""Index-based gathering of per-point values (differentiable w.r.t. the values)."""
from torch import Tensor


def gather_points(values: Tensor, idx: Tensor) -> Tensor:
    """Pick per-point values by index, per batch element.

    Args:
        values: (B, N, C) (or (B, N)).
        idx: (B, *S) int64 indices into N, any trailing shape S.
    Returns:
        (B, *S, C) (or (B, *S)).
    """
    if values.shape[0] != idx.shape[0]:
        raise ValueError(f'gather_points: batch sizes differ: values {tuple(values.shape)}, '
                         f'idx {tuple(idx.shape)}')
    b = values.shape[0]
    flat = idx.reshape(b, -1)
    if flat.numel() and (flat.min() < 0 or flat.max() >= values.shape[1]):
        raise IndexError(f'gather_points: indices must lie in [0, {values.shape[1]}), got '
                         f'[{int(flat.min())}, {int(flat.max())}]')
    if values.dim() == 2:
        return values.gather(1, flat).reshape(idx.shape)
    out = values.gather(1, flat.unsqueeze(-1).expand(-1, -1, values.shape[-1]))
    return out.reshape(*idx.shape, values.shape[-1])


def group_points(values: Tensor, idx: Tensor) -> Tensor:
    """Neighbourhood grouping: values (B, N, C), idx (B, M, K) -> (B, M, K, C)."""
    if idx.dim() != 3:
        raise ValueError(f'group_points: idx must be (B, M, K), got {tuple(idx.shape)}')
    return gather_points(values, idx)
