"""``torch.distributed`` helpers that work on every backend (gloo on CPU, NCCL on CUDA).

- :func:`dist_world` gives ``(rank, world_size)`` of a process group, ``(0, 1)`` when
  ``torch.distributed`` is unavailable or not initialised, so callers fall back to their
  single-process computation.
- :func:`all_gather_with_grad` concatenates every rank's rows (ranks may hold different
  numbers of rows) and back-propagates: the gradient of the concatenation is summed over
  the ranks and each rank receives the slice of its own rows.  This is the exact gradient
  of ``sum_r L_r`` when every rank ``r`` computes a loss ``L_r`` from the concatenation.
"""
from typing import List, Optional, Tuple

import torch
import torch.distributed as dist
from torch import Tensor
from torch.autograd import Function


def dist_world(group: Optional[object] = None) -> Tuple[int, int]:
    """``(rank, world_size)`` in ``group`` (default: the whole world); ``(0, 1)`` without
    an initialised process group."""
    if not (dist.is_available() and dist.is_initialized()):
        return 0, 1
    return dist.get_rank(group), dist.get_world_size(group)


def gather_sizes(n: int, device: torch.device, group: Optional[object] = None) -> List[int]:
    """Every rank's ``n`` (one all_gather of an int64 scalar on ``device``)."""
    world = dist.get_world_size(group)
    mine = torch.tensor([n], dtype=torch.int64, device=device)
    sizes = [torch.zeros_like(mine) for _ in range(world)]
    dist.all_gather(sizes, mine, group=group)
    return [int(s) for s in sizes]


class _AllGatherRows(Function):
    """Forward: (n_r, *) rows of every rank -> (sum_r n_r, *) in rank order.
    Backward: the (sum_r n_r, *) gradient summed over ranks, own rows returned."""

    @staticmethod
    def forward(ctx, tensor: Tensor, sizes: List[int], group: Optional[object]) -> Tensor:
        rank, world = dist.get_rank(group), dist.get_world_size(group)
        longest = max(sizes)
        padded = tensor.new_zeros((longest, ) + tuple(tensor.shape[1:]))
        padded[:tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in range(world)]
        dist.all_gather(parts, padded.contiguous(), group=group)
        ctx.group, ctx.rank, ctx.sizes, ctx.longest = group, rank, sizes, longest
        return torch.cat([p[:s] for p, s in zip(parts, sizes)])

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tuple[Tensor, None, None]:
        sizes, longest = ctx.sizes, ctx.longest
        padded = grad.new_zeros((len(sizes), longest) + tuple(grad.shape[1:]))
        for r, part in enumerate(grad.split(sizes)):
            padded[r, :sizes[r]] = part
        dist.all_reduce(padded, op=dist.ReduceOp.SUM, group=ctx.group)
        return padded[ctx.rank, :sizes[ctx.rank]], None, None


def all_gather_with_grad(tensor: Tensor, group: Optional[object] = None
                         ) -> Tuple[Tensor, int]:
    """Rows of every rank, concatenated in rank order, with a gradient path back to each
    rank's own rows.

    Args:
        tensor: (n_r, *) this rank's rows; ``n_r`` may differ between ranks, the other
            dimensions may not.
        group: process group (default: the whole world).
    Returns:
        ``(gathered, offset)``: gathered (sum_r n_r, *) and the row at which this rank's
        rows start.  Without a process group (or with one rank) ``(tensor, 0)``.

    Every rank of ``group`` must call it, in the same order as the other collectives, and
    run the backward pass through it.
    """
    rank, world = dist_world(group)
    if world == 1:
        return tensor, 0
    sizes = gather_sizes(tensor.shape[0], tensor.device, group)
    return _AllGatherRows.apply(tensor, sizes, group), sum(sizes[:rank])


__all__ = ['dist_world', 'gather_sizes', 'all_gather_with_grad']
