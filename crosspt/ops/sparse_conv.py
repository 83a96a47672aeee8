"""Pure-PyTorch sparse 3D convolution on integer voxel coordinates (CPU and CUDA).

Coordinates, hashing, look-ups and kernel offsets: :mod:`crosspt.ops.sparse_tensor`.

- A weight (K, C_in, C_out), K = k^3 in the kernel-offset order of ``sparse_tensor``,
  equals ``conv3d`` weight ``w.permute(2, 1, 0).reshape(C_out, C_in, k, k, k)`` on a dense
  (B, C, X, Y, Z) grid, and ``conv_transpose3d`` weight
  ``w.permute(1, 2, 0).reshape(C_in, C_out, k, k, k)``.
- Forward conv: ``out[o] = sum_k W_k^T f[j]`` with ``c_j = c_o + offset_k * dilation * s_in``.
  Transposed conv: ``c_j = c_o - offset_k * dilation * s_out``.
"""
from typing import List, Optional, Tuple

import torch
from torch import Tensor, nn

from crosspt.ops.sparse_tensor import (PROFILE_LABELS, KernelMap, SparseTensor,
                                       build_kernel_map, build_submanifold_map,
                                       downsample_coords, first_of_each, hash_coords,
                                       kernel_offsets, profile_label)


_L = PROFILE_LABELS


class _GatherMatmulScatter(torch.autograd.Function):
    """``out[o] = sum_k sum_{(i, o) in map_k} feats[i] @ weight[k]`` without keeping the
    gathered rows for backward: they are gathered again there, so a conv's autograd
    memory is O(N C) instead of O(sum_k P_k C) (about 15 neighbours per voxel on
    surface-like scenes).  Gathers use ``index_select``: on CPU it is 1.6-5x faster than
    advanced indexing ``feats[idx]`` for (P, 64) rows (torch 2.13).  Gathers, GEMMs and
    scatter-adds carry profiler labels (:func:`crosspt.ops.sparse_tensor.profile_label`)."""

    @staticmethod
    def forward(ctx, feats: Tensor, weight: Tensor, kmap: KernelMap, num_out: int) -> Tensor:
        with profile_label(_L['scatter fwd']):
            out = feats.new_zeros(num_out, weight.shape[2])
        for w_k, (in_idx, out_idx) in zip(weight.unbind(0), kmap):
            if in_idx is out_idx:                                        # identity pairs
                with profile_label(_L['GEMM fwd']):
                    prod = feats @ w_k
                with profile_label(_L['scatter fwd']):
                    out += prod
                del prod                        # temporaries freed as soon as used
            elif in_idx.numel():
                with profile_label(_L['gather fwd']):
                    rows = feats.index_select(0, in_idx)
                with profile_label(_L['GEMM fwd']):
                    prod = rows @ w_k
                del rows
                with profile_label(_L['scatter fwd']):
                    out.index_add_(0, out_idx, prod)
                del prod
        ctx.save_for_backward(feats, weight)
        ctx.kmap = kmap
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        feats, weight = ctx.saved_tensors
        need_feats, need_weight = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        with profile_label(_L['scatter bwd']):
            grad_feats = torch.zeros_like(feats) if need_feats else None
        with profile_label(_L['GEMM bwd']):
            grad_weight = torch.zeros_like(weight) if need_weight else None
        for k, (in_idx, out_idx) in enumerate(ctx.kmap):
            if not in_idx.numel():
                continue
            if in_idx is out_idx:                                        # identity pairs
                if need_feats:
                    with profile_label(_L['GEMM bwd']):
                        prod = grad_out @ weight[k].t()
                    with profile_label(_L['scatter bwd']):
                        grad_feats += prod
                    del prod
                if need_weight:
                    with profile_label(_L['GEMM bwd']):
                        grad_weight[k] = feats.t() @ grad_out
                continue
            with profile_label(_L['gather bwd']):
                g = grad_out.index_select(0, out_idx)                    # (P_k, C_out)
            if need_feats:
                with profile_label(_L['GEMM bwd']):
                    prod = g @ weight[k].t()
                with profile_label(_L['scatter bwd']):
                    grad_feats.index_add_(0, in_idx, prod)
                del prod
            if need_weight:
                with profile_label(_L['gather bwd']):
                    rows = feats.index_select(0, in_idx)
                with profile_label(_L['GEMM bwd']):
                    grad_weight[k] = rows.t() @ g
                del rows
        return grad_feats, grad_weight, None, None


def sparse_conv3d(x: SparseTensor, weight: Tensor, bias: Optional[Tensor] = None,
                  stride: int = 1, dilation: int = 1, transposed: bool = False,
                  target: Optional[SparseTensor] = None) -> SparseTensor:
    """Functional sparse convolution; see :class:`SparseConv3d` for the semantics.

    Args:
        x: input with C_in channels.
        weight: (k^3, C_in, C_out).
        bias: (C_out,) or None.
        target: output coordinates of a strided transposed convolution (required there).
    Returns:
        SparseTensor with (M, C_out) features.
    """
    k3, c_in, c_out = weight.shape
    k = round(k3 ** (1 / 3))
    if k ** 3 != k3:
        raise ValueError(f'sparse_conv3d: weight.shape[0] must be a cube k^3, got {k3}')
    if x.feats.shape[1] != c_in:
        raise ValueError(f'sparse_conv3d: x has {x.feats.shape[1]} channels, weight expects {c_in}')
    if stride < 1 or dilation < 1:
        raise ValueError(f'sparse_conv3d: stride and dilation must be >= 1, got '
                         f'stride={stride}, dilation={dilation}')
    key = (stride, k, dilation, transposed)
    if transposed:
        if stride == 1:
            target = x
        elif target is None:
            raise ValueError('sparse_conv3d: a strided transposed convolution needs `target` '
                             '(the finer SparseTensor whose coordinates are restored)')
        if target.stride * stride != x.stride:
            raise ValueError(f'sparse_conv3d: target.stride * stride must equal x.stride, got '
                             f'target.stride={target.stride}, stride={stride}, '
                             f'x.stride={x.stride}')
        out_stride, out_cache, out_coords = target.stride, target.cache, target.coords
        step = -dilation * out_stride
    else:
        out_stride = x.stride * stride
        step = dilation * x.stride
        out_coords = out_cache = None
    cached = x.cache.get(key)
    if cached is not None and (not transposed or cached[0] is out_coords):
        out_coords, out_cache, kmap = cached
    else:
        with profile_label(PROFILE_LABELS['kernel map']):
            if not transposed:
                if stride == 1:
                    out_coords, out_cache = x.coords, x.cache
                else:
                    out_coords, out_cache = downsample_coords(x.coords, out_stride), None
            if stride == 1 and not transposed:
                kmap = build_submanifold_map(x, k, dilation)
            else:
                kmap = build_kernel_map(x, out_coords,
                                        kernel_offsets(k, device=x.coords.device), step)
            if out_cache is None:
                out_cache = SparseTensor(out_coords,
                                         x.feats[:0, :0].new_zeros(len(out_coords), 0),
                                         out_stride).cache
        x.cache[key] = (out_coords, out_cache, kmap)
    out = _GatherMatmulScatter.apply(x.feats, weight, kmap, out_coords.shape[0])
    if bias is not None:
        out = out + bias
    return SparseTensor(out_coords, out, out_stride, cache=out_cache)


class SparseConv3d(nn.Module):
    """Sparse 3D convolution: submanifold (stride 1), strided, or transposed.

    - ``stride=1``: submanifold, output coordinates = input coordinates.
    - ``stride=s>1``: output coordinates are the unique ``floor(c / (s * s_in)) * s * s_in``
      of the input, output stride ``s * s_in``.
    - ``transposed=True, stride=s>1``: output on the coordinates of ``target`` (stride
      ``s_in / s``), e.g. the cached encoder level of a U-Net.

    ``weight`` is (k^3, C_in, C_out) with the offset order of the module docstring
    (x slowest, per-axis offset ``i - (k - 1) // 2``); ``bias`` is (C_out,) or None.

    ``backend``: ``'torch'`` (default; this module's kernel maps, CPU and CUDA, trainable)
    or ``'spconv'`` (spconv 2.x layers, :mod:`crosspt.ops.spconv_backend`; same parameters
    and results, strided outputs in spconv's row order, CPU inference only, fewer conv
    shapes; ImportError with an install hint when spconv is missing, ValueError for a
    shape it does not offer).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, dilation: int = 1, bias: bool = False,
                 transposed: bool = False, backend: str = 'torch') -> None:
        super().__init__()
        if backend not in ('torch', 'spconv'):
            raise ValueError(f"SparseConv3d: backend must be 'torch' or 'spconv', got "
                             f'{backend!r}')
        for name, value in (('in_channels', in_channels), ('out_channels', out_channels),
                            ('kernel_size', kernel_size), ('stride', stride),
                            ('dilation', dilation)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'SparseConv3d: {name} must be a positive int, got {value!r}')
        if stride == 1 and not transposed and kernel_size % 2 == 0:
            raise ValueError(f'SparseConv3d: a submanifold (stride 1) conv needs an odd '
                             f'kernel_size, got {kernel_size}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.dilation = kernel_size, stride, dilation
        self.transposed = transposed
        self.backend = backend
        self._spconv = None
        if backend == 'spconv':
            from crosspt.ops.spconv_backend import SpconvConv
            self._spconv = SpconvConv(in_channels, out_channels, kernel_size, stride, dilation,
                                      bias, transposed)
        k3 = kernel_size ** 3
        self.weight = nn.Parameter(torch.empty(k3, in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = k^3 * C_in (as nn.Conv3d)."""
        bound = (self.weight.shape[0] * self.in_channels) ** -0.5
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                f'stride={self.stride}, dilation={self.dilation}, '
                f'bias={self.bias is not None}, transposed={self.transposed}'
                + (f', backend={self.backend!r}' if self.backend != 'torch' else ''))

    def forward(self, x: SparseTensor, target: Optional[SparseTensor] = None) -> SparseTensor:
        """(N, C_in) ``x`` -> (M, C_out); ``target`` only for a strided transposed conv."""
        if self._spconv is not None:
            if x.feats.shape[1] != self.in_channels:
                raise ValueError(f'sparse_conv3d: x has {x.feats.shape[1]} channels, weight '
                                 f'expects {self.in_channels}')
            return self._spconv(x, self.weight, self.bias, self.training, target)
        return sparse_conv3d(x, self.weight, self.bias, self.stride, self.dilation,
                             self.transposed, target)


class SparseBatchNorm(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` over the (N, C) features of a SparseTensor."""

    def forward(self, x: SparseTensor) -> SparseTensor:
        return x.replace_feats(super().forward(x.feats))


class SparseReLU(nn.ReLU):
    """``nn.ReLU`` on the features of a SparseTensor."""

    def forward(self, x: SparseTensor) -> SparseTensor:
        return x.replace_feats(super().forward(x.feats))


def sparse_cat(tensors: List[SparseTensor]) -> SparseTensor:
    """Channel concatenation of SparseTensors that share the same coordinates."""
    first = tensors[0]
    for i, t in enumerate(tensors[1:], 1):
        if t.coords is not first.coords and not torch.equal(t.coords, first.coords):
            raise ValueError(f'sparse_cat: tensors[{i}] has different coordinates from '
                             f'tensors[0]')
    return first.replace_feats(torch.cat([t.feats for t in tensors], dim=1))


def voxelize(points: Tensor, batch: Tensor, voxel_size: float, feats: Optional[Tensor] = None,
             reduce: str = 'mean') -> Tuple[SparseTensor, Tensor]:
    """Voxelize points onto the integer grid ``floor(p / voxel_size)``.

    Args:
        points: (N, 3) float.
        batch: (N,) int64 batch index of each point.
        voxel_size: edge length (> 0).
        feats: (N, C) point features; ones (N, 1) when omitted.
        reduce: 'mean' averages the features of the points in a voxel; 'first' keeps those
            of the lowest-index point.
    Returns:
        SparseTensor (stride 1, voxels sorted by (b, x, y, z)) and inverse (N,) int64, the
        voxel row of every point (``st.feats[inverse]`` gives per-point features).
    """
    if points.dim() != 2 or points.shape[1] != 3 or not points.is_floating_point():
        raise ValueError(f'voxelize: points must be (N, 3) float, got {tuple(points.shape)} '
                         f'{points.dtype}')
    if batch.shape != (points.shape[0], ) or batch.dtype != torch.int64:
        raise ValueError(f'voxelize: batch must be ({points.shape[0]},) int64, got '
                         f'{tuple(batch.shape)} {batch.dtype}')
    if not voxel_size > 0:
        raise ValueError(f'voxelize: voxel_size must be > 0, got {voxel_size}')
    if reduce not in ('mean', 'first'):
        raise ValueError(f"voxelize: reduce must be 'mean' or 'first', got {reduce!r}")
    if feats is None:
        feats = points.new_ones(points.shape[0], 1)
    elif feats.dim() != 2 or feats.shape[0] != points.shape[0]:
        raise ValueError(f'voxelize: feats must be ({points.shape[0]}, C), got '
                         f'{tuple(feats.shape)}')
    grid = torch.floor(points / voxel_size).long()
    coords = torch.cat([batch.unsqueeze(1), grid], dim=1)
    keys = hash_coords(coords)
    _, inverse = torch.unique(keys, return_inverse=True)
    first = first_of_each(inverse)
    m = len(first)
    if reduce == 'first':
        vfeats = feats[first]
    else:
        count = torch.zeros(m, dtype=feats.dtype, device=feats.device)
        count.index_add_(0, inverse, torch.ones_like(inverse, dtype=feats.dtype))
        vfeats = feats.new_zeros(m, feats.shape[1]).index_add(0, inverse, feats)
        vfeats = vfeats / count.unsqueeze(1)
    return SparseTensor(coords[first], vfeats, stride=1), inverse
