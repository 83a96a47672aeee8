"""Optional spconv 2.x backend for :class:`crosspt.ops.SparseConv3d` (``backend='spconv'``).

The parameters stay in crosspt's layout (``weight`` (k^3, C_in, C_out), kernel offsets in
crosspt's order, see :mod:`crosspt.ops.sparse_conv`), so a state dict moves between
``backend='torch'`` and ``backend='spconv'`` unchanged.  At forward time the weight is
re-laid into spconv's layout and the convolution runs through spconv's own layers:

============================  =========================================================
crosspt conv                  spconv layer
============================  =========================================================
stride 1 (submanifold)        ``SubMConv3d`` (odd kernel, any dilation)
stride s, kernel_size == s    ``SparseConv3d(k=s, stride=s, padding=0)``
transposed, kernel_size == s  ``SparseInverseConv3d`` reusing the pairs of the strided conv
                              that produced the input from ``target``
============================  =========================================================

Facts this module relies on (measured with spconv 2.3.8, CPU wheel, torch 2.13; the tests
in ``tests/test_ops/test_spconv_backend.py`` check them against the torch backend):

- Indices are (N, 4) int32 ``(batch, i0, i1, i2)``; with ``(i0, i1, i2) = (x, y, z)``
  spconv's weight ``(C_out, k, k, k, C_in)`` (``KRSC``) uses the same correlation offsets
  as crosspt: tap ``(a, b, c)`` reads the input at ``out + ((a, b, c) - (k - 1) // 2) *
  dilation``.  The crosspt weight therefore maps by ``w.permute(2, 0, 1).reshape(C_out, k,
  k, k, C_in)``.
- A 1x1x1 submanifold conv takes spconv's matrix-multiply shortcut, which (in 2.3.8) reads
  the weight memory as a (C_in, C_out) matrix, so there the crosspt weight is passed as its raw
  (C_in, C_out) memory viewed as ``(C_out, 1, 1, 1, C_in)``.
- The CPU kernels read the int32 index memory as row-major: the indices must be contiguous
  (``Tensor.nonzero()`` returns a column-major tensor in torch 2.13; passing it unchanged
  gives silently wrong neighbours).
- A stride-s conv with kernel s and padding 0 puts input index i at output ``floor(i / s)``
  with tap ``i - s * floor(i / s)``; the inverse conv reuses those pairs, writes back onto
  the input indices in their original row order and uses the same tap order.
- Backward on a CPU-only torch fails inside spconv (it asks for the CUDA stream), so the CPU
  path is inference only: :class:`SpconvConv` raises a clear error when a gradient would
  be needed.
- spconv's CPU scatter-add (``SpconvOps.scatter_add_cpu``) gives wrong sums now and then
  when torch runs more than one (OpenMP) thread, even with unique target rows (11 of 200
  calls with 2 threads, 0 of 200 with 1), and the convolutions inherit it.  Every CPU
  spconv call therefore runs with ``torch.set_num_threads(1)`` and restores the previous
  count afterwards (:data:`SPCONV_CPU_THREADS`); the CPU spconv path is single-threaded.

Grid: coordinates ``c`` at tensor stride ``s`` become indices ``(c - origin) / s`` with an
``origin`` floored to a multiple of ``s * GRID_ALIGN`` and a spatial shape rounded up to a
multiple of ``GRID_ALIGN``, so strided convs stay exact while the product of their strides
divides ``GRID_ALIGN`` (e.g. up to 8 stride-2 levels); otherwise they raise ValueError.
The grid (indices, spatial shape, spconv's cached index pairs) is stored in the
SparseTensor's shared cache under ``'spconv'``.
"""
import contextlib
from typing import Any, Dict, Iterator, List, Optional

import torch
from torch import Tensor, nn

from crosspt.ops.sparse_tensor import SparseTensor

#: Grid alignment in index units: origin and spatial shape are multiples of it.
GRID_ALIGN = 256
SUPPORTED = ('submanifold: odd kernel_size, stride 1, any dilation; strided or transposed: '
             'kernel_size == stride, dilation 1')
INSTALL_HINT = ("backend='spconv' needs spconv 2.x: `pip install spconv` (CPU wheel, "
                "inference only) or `pip install spconv-cu1xx` matching your CUDA version; "
                "backend='torch' (the default) needs nothing extra")
_DOWN_KEY = 'crosspt_down'
#: torch thread count while a CPU spconv layer runs (see the module docstring).
SPCONV_CPU_THREADS = 1


@contextlib.contextmanager
def _cpu_threads(device: torch.device) -> Iterator[None]:
    """Run the body with :data:`SPCONV_CPU_THREADS` torch threads when on CPU."""
    previous = torch.get_num_threads()
    if device.type != 'cpu' or previous <= SPCONV_CPU_THREADS:
        yield
        return
    torch.set_num_threads(SPCONV_CPU_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def spconv_unavailable_reason() -> Optional[str]:
    """None when ``spconv.pytorch`` imports, else the import error as text."""
    try:
        import spconv.pytorch  # noqa: F401
    except Exception as err:  # ImportError, or a broken binary (OSError, RuntimeError)
        return f'{type(err).__name__}: {err}'
    return None


def require_spconv() -> None:
    """Raise ImportError with an install hint when spconv cannot be imported."""
    reason = spconv_unavailable_reason()
    if reason is not None:
        raise ImportError(f'{INSTALL_HINT} (import failed with {reason})')


def check_supported(kernel_size: int, stride: int, dilation: int, transposed: bool) -> None:
    """Raise ValueError for a conv the spconv backend does not compute exactly like crosspt.

    A strided conv with ``kernel_size != stride`` is excluded because spconv's output sites
    (every site any input reaches) differ from crosspt's (``floor(c / stride)``); a
    stride-1 transposed conv has no spconv counterpart with the same parameters.
    """
    if stride == 1 and not transposed:
        if kernel_size % 2 == 0:
            raise ValueError(f'spconv backend: a submanifold conv needs an odd kernel_size, '
                             f'got {kernel_size}')
        return
    if transposed and stride == 1:
        raise ValueError("spconv backend: stride-1 transposed convs are not offered; use "
                         f"backend='torch' (supported: {SUPPORTED})")
    if kernel_size != stride or dilation != 1:
        raise ValueError(f"spconv backend: got kernel_size={kernel_size}, stride={stride}, "
                         f"dilation={dilation}; supported: {SUPPORTED}.  Use backend='torch' "
                         f'for other strided convs')


def to_spconv_weight(weight: Tensor) -> Tensor:
    """crosspt (k^3, C_in, C_out) weight -> the tensor spconv's layer expects.

    Returns (C_out, k, k, k, C_in) (``KRSC``); for k = 1 the raw (C_in, C_out) memory viewed
    with that shape (spconv's 1x1x1 matrix-multiply shortcut).  Differentiable.
    """
    k3, c_in, c_out = weight.shape
    k = round(k3 ** (1 / 3))
    if k == 1:
        return weight.contiguous().view(c_out, 1, 1, 1, c_in)
    return weight.permute(2, 0, 1).reshape(c_out, k, k, k, c_in)


class SpconvGrid:
    """spconv view of one coordinate set (kept in ``SparseTensor.cache['spconv']``).

    Attributes:
        indices: (N, 4) int32 contiguous ``(batch, ix, iy, iz)``, rows in the SparseTensor's
            row order; ``coords[:, 1:] = origin + indices[:, 1:] * stride``.
        spatial_shape: [D_x, D_y, D_z], multiples of the alignment still available.
        batch_size: number of batch indices (>= 1).
        origin: (3,) int64 coordinate of grid index 0.
        stride: tensor stride of the coordinates.
        indice_dict: spconv's cache of index pairs on these coordinates.
        parent: the finer grid a strided conv downsampled to produce this one (else None).
    """

    def __init__(self, indices: Tensor, spatial_shape: List[int], batch_size: int,
                 origin: Tensor, stride: int, indice_dict: Dict[str, Any],
                 parent: Optional['SpconvGrid'] = None) -> None:
        self.indices = indices
        self.spatial_shape = spatial_shape
        self.batch_size = batch_size
        self.origin = origin
        self.stride = stride
        self.indice_dict = indice_dict
        self.parent = parent


def grid_of(x: SparseTensor) -> SpconvGrid:
    """The cached :class:`SpconvGrid` of ``x`` (built from ``x.coords`` on first use)."""
    grid = x.cache.get('spconv')
    if grid is not None:
        return grid
    coords, s = x.coords, x.stride
    align = s * GRID_ALIGN
    origin = torch.div(coords[:, 1:].min(0).values, align, rounding_mode='floor') * align
    idx = torch.div(coords[:, 1:] - origin, s, rounding_mode='floor')
    extent = idx.max(0).values + 1
    shape = (torch.div(extent + GRID_ALIGN - 1, GRID_ALIGN, rounding_mode='floor')
             * GRID_ALIGN).tolist()
    indices = torch.cat([coords[:, :1], idx], 1).to(torch.int32).contiguous()
    grid = SpconvGrid(indices, shape, x.batch_size, origin, s, {})
    x.cache['spconv'] = grid
    return grid


def _grad_needed(*tensors: Optional[Tensor]) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


class SpconvConv:
    """One spconv layer that runs a crosspt conv with weights passed at call time.

    Plain object (not an ``nn.Module``), so it adds nothing to the owner's state dict; its
    own parameters are empty placeholders swapped for the re-laid crosspt weight through
    ``torch.func.functional_call``.

    Args: as :class:`crosspt.ops.SparseConv3d` (checked by :func:`check_supported`).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 dilation: int, bias: bool, transposed: bool) -> None:
        require_spconv()
        check_supported(kernel_size, stride, dilation, transposed)
        import spconv.pytorch as spconv
        self.kernel_size, self.stride, self.transposed = kernel_size, stride, transposed
        self.mode = 'inverse' if transposed else 'subm' if stride == 1 else 'down'
        if self.mode == 'subm':
            layer = spconv.SubMConv3d(in_channels, out_channels, kernel_size,
                                      dilation=dilation, bias=bias,
                                      indice_key=f'crosspt_subm_k{kernel_size}_d{dilation}')
        elif self.mode == 'down':
            layer = spconv.SparseConv3d(in_channels, out_channels, kernel_size, stride,
                                        padding=0, bias=bias, indice_key=_DOWN_KEY)
        else:
            layer = spconv.SparseInverseConv3d(in_channels, out_channels, kernel_size,
                                               indice_key=_DOWN_KEY, bias=bias)
        layer.weight = nn.Parameter(torch.empty(0), requires_grad=False)
        if bias:
            layer.bias = nn.Parameter(torch.empty(0), requires_grad=False)
        self.layer = layer

    def __call__(self, x: SparseTensor, weight: Tensor, bias: Optional[Tensor],
                 training: bool, target: Optional[SparseTensor] = None) -> SparseTensor:
        """Run on (N, C_in) ``x``; returns the (M, C_out) SparseTensor crosspt would return.

        Strided outputs hold the same coordinates as the torch backend, in spconv's row
        order; submanifold and transposed outputs keep the input / target row order.
        """
        feats = x.feats
        if feats.device.type == 'cpu' and _grad_needed(feats, weight, bias):
            raise RuntimeError(
                "SparseConv3d(backend='spconv') on CPU is inference only: spconv's CPU "
                'backward needs CUDA (it asks for the current CUDA stream), so training '
                "would fail later with a CUDA error.  Use backend='torch' (the CPU default) "
                'to train, run under torch.no_grad() for inference, or move to a CUDA '
                'device with a spconv-cu1xx build')
        params = {'weight': to_spconv_weight(weight)}
        if bias is not None:
            params['bias'] = bias
        self.layer.train(training)
        if self.mode == 'inverse':
            return self._inverse(x, target, params)
        if len(x) == 0:  # spconv rejects an empty batch; the result is empty either way
            out_stride = x.stride * (self.stride if self.mode == 'down' else 1)
            out = feats.new_zeros(0, weight.shape[2])
            coords = x.coords if self.mode == 'subm' else x.coords.new_zeros(0, 4)
            cache = x.cache if self.mode == 'subm' else None
            return SparseTensor(coords, out, out_stride, cache=cache)
        import spconv.pytorch as spconv
        grid = grid_of(x)
        if self.mode == 'subm':
            inp = spconv.SparseConvTensor(feats, grid.indices, grid.spatial_shape,
                                          grid.batch_size, indice_dict=grid.indice_dict)
            with _cpu_threads(feats.device):
                res = torch.func.functional_call(self.layer, params, (inp, ))
            if res.indices is not grid.indices and not torch.equal(res.indices, grid.indices):
                raise RuntimeError('spconv backend: SubMConv3d changed the voxel order')
            grid.indice_dict = res.indice_dict
            return x.replace_feats(res.features)
        s = self.stride
        out_stride = x.stride * s
        bad = (grid.origin % out_stride != 0).any() or any(d % s for d in grid.spatial_shape)
        if bool(bad):
            raise ValueError(f'spconv backend: the grid of this tensor (origin '
                             f'{grid.origin.tolist()}, spatial shape {grid.spatial_shape}, '
                             f'stride {x.stride}) cannot be downsampled by {s} exactly; at '
                             f'most {GRID_ALIGN}x in total from the first spconv layer')
        inp = spconv.SparseConvTensor(feats, grid.indices, grid.spatial_shape, grid.batch_size,
                                      indice_dict={})
        with _cpu_threads(x.feats.device):
            res = torch.func.functional_call(self.layer, params, (inp, ))
        indices = res.indices.contiguous()
        xyz = grid.origin + indices[:, 1:].long() * out_stride
        coords = torch.cat([indices[:, :1].long(), xyz], 1)
        out = SparseTensor(coords, res.features, out_stride)
        out.cache['spconv'] = SpconvGrid(indices, list(res.spatial_shape), grid.batch_size,
                                         grid.origin, out_stride, res.indice_dict, parent=grid)
        return out

    def _inverse(self, x: SparseTensor, target: Optional[SparseTensor],
                 params: Dict[str, Tensor]) -> SparseTensor:
        if target is None:
            raise ValueError('sparse_conv3d: a strided transposed convolution needs `target` '
                             '(the finer SparseTensor whose coordinates are restored)')
        if target.stride * self.stride != x.stride:
            raise ValueError(f'sparse_conv3d: target.stride * stride must equal x.stride, got '
                             f'target.stride={target.stride}, stride={self.stride}, '
                             f'x.stride={x.stride}')
        if len(target) == 0:
            feats = x.feats.new_zeros(0, self.layer.out_channels)
            return SparseTensor(target.coords, feats, target.stride, cache=target.cache)
        x_grid, t_grid = x.cache.get('spconv'), target.cache.get('spconv')
        if x_grid is None or t_grid is None or x_grid.parent is not t_grid:
            raise ValueError("spconv backend: a transposed conv must upsample onto the tensor "
                             "that a backend='spconv' strided conv downsampled to produce its "
                             "input (SparseInverseConv3d reuses that conv's index pairs); use "
                             "backend='torch' for any other target")
        down = x_grid.indice_dict[_DOWN_KEY]
        if list(down.ksize) != [self.kernel_size] * 3:
            raise ValueError(f'spconv backend: the transposed conv has kernel_size='
                             f'{self.kernel_size} but its input came from a strided conv with '
                             f'kernel {list(down.ksize)}')
        import spconv.pytorch as spconv
        inp = spconv.SparseConvTensor(x.feats, x_grid.indices, x_grid.spatial_shape,
                                      x_grid.batch_size, indice_dict=x_grid.indice_dict)
        with _cpu_threads(x.feats.device):
            res = torch.func.functional_call(self.layer, params, (inp, ))
        if res.indices is not t_grid.indices and not torch.equal(res.indices, t_grid.indices):
            raise RuntimeError('spconv backend: SparseInverseConv3d did not restore the '
                               "target's voxel order")
        return SparseTensor(target.coords, res.features, target.stride, cache=target.cache)
