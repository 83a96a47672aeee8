"""Synchronised BatchNorm on ``torch.distributed`` collectives (gloo and NCCL, CPU and CUDA).

In training mode with more than one process, every rank normalises with the statistics of
the union of all ranks' batches, so the model computes what one process would compute on
the concatenated batch:

- forward: each rank's per-channel count ``n_r``, mean ``m_r`` and centred sum of squares
  ``M2_r = sum (x - m_r)^2`` are all-gathered (float64) and combined with Chan et al.'s
  pairwise formula ``M2 = sum_r M2_r + sum_r n_r (m_r - m)^2``, so no ``E[x^2] - m^2``
  cancellation occurs; ``var = M2 / N`` normalises, the unbiased ``M2 / (N - 1)`` enters
  the running variance, as in ``torch.nn.BatchNorm``;
- backward: ``dx = gamma * invstd * (dy - sum(dy) / N - xhat * sum(dy * xhat) / N)`` with
  both sums all-reduced over the ranks; ``dgamma = sum(dy * xhat)`` and
  ``dbeta = sum(dy)`` are this rank's own sums (DDP then averages them like any other
  parameter gradient).

In eval mode (running statistics), with one process, or without a process group, the
layers are plain ``torch.nn.BatchNorm`` with no communication.  :class:`SyncBatchNorm`
takes (N, C, *) inputs (BatchNorm1d/2d/3d), :class:`SparseSyncBatchNorm` the (N, C) features
of a :class:`~crosspt.ops.sparse_conv.SparseTensor` (ranks may hold different numbers of
active sites).  :func:`convert_sync_batchnorm` swaps them into a model.
"""
import warnings
from typing import List, Optional, Tuple

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.autograd import Function
from torch.nn.modules.batchnorm import _BatchNorm

from .distributed import dist_world
from .sparse_conv import SparseBatchNorm, SparseTensor


def _reduce_dims(x: Tensor) -> List[int]:
    """Every dimension of (N, C, *) ``x`` but the channel one."""
    return [0] + list(range(2, x.dim()))


def _channel_view(v: Tensor, x: Tensor) -> Tensor:
    """(C,) ``v`` shaped (1, C, 1, ...) to broadcast against (N, C, *) ``x``."""
    return v.view([1, -1] + [1] * (x.dim() - 2))


def _compute_dtype(x: Tensor) -> torch.dtype:
    """float32 for half-precision inputs, else the input's own floating type."""
    return torch.promote_types(x.dtype, torch.float32)


def global_batch_stats(x: Tensor, group: Optional[object] = None
                       ) -> Tuple[Tensor, Tensor, int]:
    """Per-channel mean and biased variance of (N, C, *) ``x`` over all ranks.

    Returns ``(mean (C,), var (C,), count)``, float64, ``count`` the number of values per
    channel summed over the ranks.  One all_gather of (2C + 1) float64 values per rank.
    """
    channels = x.shape[1]
    n = x.numel() // channels if channels else 0
    if n:
        var_r, mean_r = torch.var_mean(x.to(_compute_dtype(x)), dim=_reduce_dims(x),
                                       correction=0)
        mean_r, m2_r = mean_r.double(), var_r.double() * n
    else:           # a rank without values contributes nothing
        mean_r = m2_r = x.new_zeros(channels, dtype=torch.float64)
    mine = torch.cat([mean_r.new_tensor([float(n)]), mean_r, m2_r])
    parts = [torch.empty_like(mine) for _ in range(dist.get_world_size(group))]
    dist.all_gather(parts, mine, group=group)
    table = torch.stack(parts)                                       # (W, 2C + 1)
    counts, means, m2s = table[:, :1], table[:, 1:channels + 1], table[:, channels + 1:]
    total = counts.sum()
    if total == 0:
        return means.new_zeros(channels), means.new_zeros(channels), 0
    mean = (counts * means).sum(0) / total
    m2 = m2s.sum(0) + (counts * (means - mean) ** 2).sum(0)
    return mean, m2 / total, int(total)


class _SyncBatchNormFunction(Function):
    """``y = (x - mean) * invstd * weight + bias`` with the global statistics of the batch;
    the backward all-reduces ``sum(dy)`` and ``sum(dy * xhat)`` over the ranks."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
                mean: Tensor, invstd: Tensor, count: int, group: Optional[object]) -> Tensor:
        dtype = _compute_dtype(x)
        xhat = (x.to(dtype) - _channel_view(mean, x)) * _channel_view(invstd, x)
        y = xhat
        if weight is not None:
            y = y * _channel_view(weight.to(dtype), x)
        if bias is not None:
            y = y + _channel_view(bias.to(dtype), x)
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.count, ctx.group, ctx.has_bias = count, group, bias is not None
        return y.to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out: Tensor) -> Tuple[Optional[Tensor], ...]:
        x, weight, mean, invstd = ctx.saved_tensors
        dtype, dims = _compute_dtype(x), _reduce_dims(x)
        dy = grad_out.to(dtype)
        xhat = (x.to(dtype) - _channel_view(mean, x)) * _channel_view(invstd, x)
        sum_dy = dy.sum(dims, dtype=torch.float64)
        sum_dy_xhat = (dy * xhat).sum(dims, dtype=torch.float64)
        grad_weight = sum_dy_xhat.to(weight.dtype) if weight is not None else None
        grad_bias = sum_dy.to(weight.dtype if weight is not None else dtype) \
            if ctx.has_bias else None
        both = torch.cat([sum_dy, sum_dy_xhat])    # always, so every rank joins the call
        dist.all_reduce(both, op=dist.ReduceOp.SUM, group=ctx.group)
        mean_dy, mean_dy_xhat = (both / ctx.count).to(dtype).chunk(2)
        scale = invstd if weight is None else invstd * weight.to(dtype)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = (dy - _channel_view(mean_dy, x) - xhat * _channel_view(mean_dy_xhat, x)) \
                * _channel_view(scale, x)
            grad_x = grad_x.to(x.dtype)
        return grad_x, grad_weight, grad_bias, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, *) inputs whose training statistics span every process of
    ``process_group`` (default: the whole world); arguments as ``torch.nn.BatchNorm1d``.

    Plain BatchNorm (no communication) in eval mode, with one process or without an
    initialised process group.  Every rank must call it the same number of times per
    iteration (as for any collective).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group: Optional[object] = None, device=None, dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f'{type(self).__name__}: expected an (N, C, *) input with at '
                             f'least 2 dimensions, got {tuple(input.shape)}')

    def _needs_sync(self) -> bool:
        return self.training and dist_world(self.process_group)[1] > 1

    def _average_factor(self) -> float:
        """The running-statistics momentum of this step (counts the step, as torch does)."""
        if not self.track_running_stats:
            return 0.0
        self.num_batches_tracked.add_(1)
        if self.momentum is None:                      # cumulative moving average
            return 1.0 / float(self.num_batches_tracked)
        return self.momentum

    def forward(self, input: Tensor) -> Tensor:
        """(N, C, *) -> (N, C, *)."""
        if not self._needs_sync():
            return super().forward(input)
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise ValueError(f'{type(self).__name__}: expected {self.num_features} channels '
                             f'(dimension 1), got input {tuple(input.shape)}')
        factor = self._average_factor()
        group = self.process_group or dist.group.WORLD
        mean, var, count = global_batch_stats(input, group)
        if count <= 1:
            raise ValueError(f'{type(self).__name__}: expected more than 1 value per channel '
                             f'when training, got {count} over all processes (input '
                             f'{tuple(input.shape)} on this one)')
        if self.track_running_stats:
            with torch.no_grad():
                unbiased = var * (count / (count - 1))
                self.running_mean.mul_(1 - factor).add_(factor * mean.to(self.running_mean))
                self.running_var.mul_(1 - factor).add_(factor * unbiased.to(self.running_var))
        dtype = _compute_dtype(input)
        invstd = torch.rsqrt(var + self.eps)
        return _SyncBatchNormFunction.apply(input, self.weight, self.bias, mean.to(dtype),
                                            invstd.to(dtype), count, group)


class SparseSyncBatchNorm(SyncBatchNorm):
    """:class:`SyncBatchNorm` over the (N, C) features of a SparseTensor (the synchronised
    :class:`~crosspt.ops.sparse_conv.SparseBatchNorm`); ranks may hold different N."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 2:
            raise ValueError(f'SparseSyncBatchNorm: expected (N, C) features, got '
                             f'{tuple(input.shape)}')

    def forward(self, x: SparseTensor) -> SparseTensor:
        if not isinstance(x, SparseTensor):
            raise TypeError(f'SparseSyncBatchNorm: expected a SparseTensor, got '
                            f'{type(x).__name__}')
        return x.replace_feats(super().forward(x.feats))


#: BatchNorm classes :func:`convert_sync_batchnorm` replaces (exact types).
DENSE_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def _sync_class(module: nn.Module) -> Optional[type]:
    """The synchronised class replacing ``module``, None to keep it."""
    if type(module) is SparseBatchNorm:
        return SparseSyncBatchNorm
    if type(module) in DENSE_BATCHNORMS:
        return SyncBatchNorm
    if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
        warnings.warn(f'convert_sync_batchnorm: {type(module).__name__} is not a known '
                      f'BatchNorm class; it is kept and normalises per process')
    return None


def convert_sync_batchnorm(module: nn.Module, process_group: Optional[object] = None
                           ) -> nn.Module:
    """``module`` with every ``nn.BatchNorm1d/2d/3d`` and ``nn.SyncBatchNorm`` replaced by
    :class:`SyncBatchNorm` and every ``SparseBatchNorm`` by :class:`SparseSyncBatchNorm`.

    The new layers share the old ones' parameters and buffers (``weight``, ``bias``,
    ``running_mean``, ``running_var``, ``num_batches_tracked``: the state_dict keys are
    unchanged) and their train/eval mode.  Returns the new module when ``module`` itself
    is replaced, else ``module`` converted in place.
    """
    new_class = _sync_class(module)
    out = module
    if new_class is not None:
        out = new_class(module.num_features, module.eps, module.momentum, module.affine,
                        module.track_running_stats, process_group=process_group)
        if module.affine:
            out.weight, out.bias = module.weight, module.bias
        out.running_mean, out.running_var = module.running_mean, module.running_var
        out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
        if hasattr(module, 'qconfig'):
            out.qconfig = module.qconfig
    for name, child in module.named_children():
        out.add_module(name, convert_sync_batchnorm(child, process_group))
    return out


__all__ = ['SyncBatchNorm', 'SparseSyncBatchNorm', 'convert_sync_batchnorm',
           'global_batch_stats']
