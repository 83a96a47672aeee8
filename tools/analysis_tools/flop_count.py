"""FLOP counting for tools/analysis_tools/get_flops.py (its module docstring states the
rules): mmengine's ``FlopAnalyzer`` on a JIT trace, or the same rules applied to every
ATen call at the dispatcher, and the per-submodule parameter counts.

One multiply-add counts as one FLOP.  Operators that do no arithmetic
(:data:`ZERO_FLOP_OPS`) are ignored by both counters; every other operator without a
rule is reported with its number of calls, never dropped silently.
"""
import math
import os.path as osp
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.structures import BaseDataElement
from torch import Tensor, nn

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OWN_OPS = "(model's own)"


def count_parameters(model: nn.Module) -> Dict[str, Tuple[int, int]]:
    """``{'total': (all, trainable), '<child>': (all, trainable), ...}`` over the model's
    top-level children (shared parameters counted once, under the first child)."""
    seen: set = set()
    counts: Dict[str, Tuple[int, int]] = {}
    for name, child in model.named_children():
        total = trainable = 0
        for p in child.parameters():
            if id(p) in seen:
                continue
            seen.add(id(p))
            total += p.numel()
            trainable += p.numel() if p.requires_grad else 0
        counts[name] = (total, trainable)
    own = [p for p in model.parameters(recurse=False) if id(p) not in seen]
    if own:
        counts[OWN_OPS] = (sum(p.numel() for p in own),
                           sum(p.numel() for p in own if p.requires_grad))
    all_params = list({id(p): p for p in model.parameters()}.values())
    counts['total'] = (sum(p.numel() for p in all_params),
                       sum(p.numel() for p in all_params if p.requires_grad))
    return counts


def _flatten_tensors(value: Any) -> Iterator[Tensor]:
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _flatten_tensors(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _flatten_tensors(v)
    elif isinstance(value, BaseDataElement):
        for _, v in value.items():
            yield from _flatten_tensors(v)
    elif hasattr(value, 'feats') and isinstance(getattr(value, 'feats'), Tensor):
        yield value.feats                                   # crosspt SparseTensor


class _TraceWrapper(nn.Module):
    """Calls ``model(inputs, data_samples, mode)`` from positional tensors only (what
    the JIT tracer accepts); non-tensor inputs and the data samples are constants."""

    def __init__(self, model: nn.Module, inputs: Union[Tensor, dict],
                 data_samples: Optional[Sequence[BaseDataElement]], mode: str) -> None:
        super().__init__()
        self.model = model
        self.single = isinstance(inputs, Tensor)
        items = {'inputs': inputs} if self.single else dict(inputs)
        self.keys = [k for k, v in items.items() if isinstance(v, Tensor)]
        self.constants = {k: v for k, v in items.items() if not isinstance(v, Tensor)}
        self.tensors = tuple(items[k] for k in self.keys)
        self.data_samples, self.mode = data_samples, mode

    def forward(self, *tensors: Tensor) -> Tuple[Tensor, ...]:
        inputs: Any = dict(zip(self.keys, tensors))
        inputs.update(self.constants)
        if self.single:
            inputs = inputs['inputs']
        out = self.model(inputs, self.data_samples, mode=self.mode)
        flat = tuple(_flatten_tensors(out))
        if not flat:
            raise ValueError(f'get_flops: {type(self.model).__name__}(mode={self.mode!r}) '
                             'returned no tensor to trace')
        return flat


def _shape(value: Any) -> Optional[List[int]]:
    """Shape of a JIT value (None when it is not a complete tensor)."""
    return value.type().sizes() if value.isCompleteTensor() else None


def _sdpa_flops(q: Sequence[int], k: Sequence[int], v: Sequence[int]) -> int:
    """Multiply-adds of attention ``softmax(Q K^T) V``: Q (..., L, E), K (..., S, E),
    V (..., S, Ev) -> ``prod(...) * L * S * (E + Ev)`` (softmax not counted)."""
    batch = math.prod(q[:-2])
    return int(batch * q[-2] * k[-2] * (q[-1] + v[-1]))


def _jit_sdpa_handle(inputs: list, outputs: list) -> int:
    """FlopAnalyzer handle for ``aten::scaled_dot_product_attention`` (q, k, v, ...)."""
    return _sdpa_flops(_shape(inputs[0]), _shape(inputs[1]), _shape(inputs[2]))


def _module_hooks(model: nn.Module, stack: List[str]) -> list:
    """Forward pre/post hooks on every submodule of ``model`` that keep ``stack`` = the
    names of the submodules whose ``__call__`` is running (innermost last)."""
    def push(name: str):
        def hook(module: nn.Module, args: tuple) -> None:
            stack.append(name)
        return hook

    def pop(module: nn.Module, args: tuple, output: Any) -> None:
        stack.pop()

    handles = []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_pre_hook(push(name)))
            handles.append(module.register_forward_hook(pop))
    return handles


#: ATen operators that do no arithmetic (shape, memory, indexing, creation, comparison):
#: mmengine's ignore list plus their dispatcher-level forms
ZERO_FLOP_OPS = frozenset({
    'Int', 'ScalarImplicit', '__and__', 'arange', 'bitwise_not', 'cat', 'chunk', 'clamp',
    'clamp_', 'constant_pad_nd', 'contiguous', 'copy_', 'detach', 'dropout', 'empty', 'eq',
    'expand', 'flatten', 'floor', 'floor_divide', 'full', 'full_like', 'gather', 'ge', 'gt',
    'index', 'index_put_', 'masked_fill', 'max', 'narrow', 'new_empty', 'new_full',
    'new_zeros', 'nonzero', 'ones', 'permute', 'relu', 'relu_', 'remainder', 'reshape',
    'roll', 'select', 'size', 'slice', 'split', 'split_with_sizes', 'squeeze', 'stack', 't',
    'to', 'transpose', 'type_as', 'unbind', 'unsqueeze', 'unsqueeze_', 'view', 'zeros',
    'zeros_like',
    # dispatcher-level forms
    '_unsafe_view', 'alias', 'clone', '_to_copy', 'lift_fresh', 'lift_fresh_copy',
    'as_strided', 'empty_strided', 'new_empty_strided', 'empty_like', 'ones_like',
    'new_ones', 'fill_', 'zero_', 'index_select', 'index_put', '_index_put_impl_',
    'scatter', 'scatter_', 'repeat', 'expand_as', 'flip', 'unflatten', 'unfold',
    '_local_scalar_dense', 'sym_size', 'randperm', 'randint', 'rand', 'randn', 'normal_',
    'uniform_', 'bernoulli_', 'random_', 'masked_fill_', 'ne', 'lt', 'le', 'eq_', 'ne_',
    'logical_not', 'logical_and', 'logical_or', 'bitwise_and', 'bitwise_or', 'clamp_min',
    'clamp_min_', 'clamp_max', 'clamp_max_', 'max_pool2d_with_indices', 'view_as',
    'slice_scatter', 'select_scatter', 'split_copy', 'unbind_copy', 'squeeze_', 'resize_',
    '_reshape_alias', 'diagonal', 'movedim', 'swapaxes', 'copy', 'detach_', 'min',
})


def _numel(shape: Sequence[int]) -> int:
    return int(math.prod(shape))


def _dispatch_flops(name: str, args: tuple, out: Any) -> Optional[int]:
    """Multiply-adds of one dispatched ATen call, by FlopAnalyzer's rules; None when
    there is no rule for ``name``."""
    shape = lambda t: tuple(t.shape)  # noqa: E731
    first_out = out[0] if isinstance(out, (tuple, list)) else out
    if name == 'mm':
        return _numel(shape(args[0])) * shape(args[1])[-1]
    if name == 'addmm':
        return _numel(shape(args[1])) * shape(args[2])[-1]
    if name == 'bmm':
        return _numel(shape(args[0])) * shape(args[1])[-1]
    if name == 'baddbmm':
        return _numel(shape(args[1])) * shape(args[2])[-1]
    if name in ('convolution', '_convolution', 'convolution_overrideable', 'mkldnn_convolution',
                '_slow_conv2d_forward', 'thnn_conv2d'):
        x, w = args[0], args[1]
        # (input, weight, bias, stride, padding, dilation, transposed, ...) for the
        # convolution overloads; the backend-specific ones are never transposed
        transposed = name in ('convolution', '_convolution', 'convolution_overrideable') \
            and bool(args[6])
        spatial = shape(x)[2:] if transposed else shape(first_out)[2:]
        return shape(x)[0] * _numel(shape(w)) * _numel(spatial)
    if name in ('_scaled_dot_product_flash_attention_for_cpu',
                '_scaled_dot_product_flash_attention', '_scaled_dot_product_efficient_attention',
                '_scaled_dot_product_cudnn_attention', 'scaled_dot_product_attention',
                '_scaled_dot_product_attention_math'):
        return _sdpa_flops(shape(args[0]), shape(args[1]), shape(args[2]))
    if name in ('native_batch_norm', '_native_batch_norm_legit',
                '_native_batch_norm_legit_no_training'):
        affine = args[1] is not None
        training = name == '_native_batch_norm_legit' or (
            name == 'native_batch_norm' and bool(args[5]))
        return _numel(shape(args[0])) * ((5 if affine else 4) if training
                                        else (2 if affine else 1))
    if name == 'native_layer_norm':
        return _numel(shape(args[0])) * (5 if args[2] is not None else 4)
    if name == 'native_group_norm':
        return _numel(shape(args[0])) * (5 if args[1] is not None else 4)
    if name in ('upsample_bilinear2d', 'grid_sampler_2d'):
        return 4 * _numel(shape(first_out))
    if name == 'upsample_nearest2d':
        return _numel(shape(first_out))
    if name in ('_adaptive_avg_pool2d', 'adaptive_avg_pool2d'):
        return _numel(shape(args[0]))
    return None


def _dispatch_count(model: nn.Module, call: Callable[[], Any]
                    ) -> Tuple[int, Dict[str, int], Dict[str, int]]:
    """Run ``call()`` under a dispatch-level FLOP counter.

    Returns:
        (total, FLOPs per top-level child of ``model`` (+ ``OWN_OPS``), operator ->
        calls without a FLOP rule).
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    stack: List[str] = []
    by_module: Counter = Counter()
    not_counted: Counter = Counter()

    class Counting(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = func._schema.name.split('::')[-1]
            flops = _dispatch_flops(name, args, out)
            if flops is None:
                if name not in ZERO_FLOP_OPS:
                    not_counted[f'aten::{name}'] += 1
            else:
                # like FlopAnalyzer: the op belongs to the module whose __call__ runs it
                # and to that module's ancestors by name
                by_module[stack[-1].split('.')[0] if stack else OWN_OPS] += int(flops)
            return out

    handles = _module_hooks(model, stack)
    try:
        with Counting():
            call()
    finally:
        for handle in handles:
            handle.remove()
    modules = {name: int(by_module.get(name, 0)) for name, _ in model.named_children()}
    if by_module.get(OWN_OPS):
        modules[OWN_OPS] = int(by_module[OWN_OPS])
    return sum(by_module.values()), modules, dict(not_counted)


@dataclass
class FlopReport:
    """FLOPs (one multiply-add = 1) of one forward.

    Attributes:
        total: all counted FLOPs.
        by_module: FLOPs per top-level submodule (+ ``OWN_OPS``).
        not_counted: operator -> number of calls without a counting rule.
        counter: 'jit' (mmengine FlopAnalyzer) or 'dispatch' (ATen dispatcher).
        note: why the dispatch counter was used instead of FlopAnalyzer.
    """
    total: int
    by_module: Dict[str, int]
    not_counted: Dict[str, int]
    counter: str = 'jit'
    note: Optional[str] = None


def _trace_failure(error: BaseException) -> str:
    """'TypeError: ... (crosspt/x.py:12)' for the innermost repository frame."""
    import traceback
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename.startswith(REPO_ROOT) and not f.filename.endswith('get_flops.py')]
    where = ''
    if frames:
        where = f' at {osp.relpath(frames[-1].filename, REPO_ROOT)}:{frames[-1].lineno}'
    message = str(error).splitlines()[0] if str(error) else ''
    return f'{type(error).__name__}: {message}{where}'


def count_flops(model: nn.Module, inputs: Union[Tensor, dict],
                data_samples: Optional[Sequence[BaseDataElement]] = None,
                mode: str = 'tensor', counter: str = 'auto') -> FlopReport:
    """FLOPs of ``model(inputs, data_samples, mode)`` on preprocessed inputs.

    Args:
        model: a crosspt algorithm (``forward(inputs, data_samples, mode)``).
        inputs: preprocessed batch inputs: a dict of tensors (non-tensor entries are
            passed through as constants) or one tensor.
        counter: 'jit' = ``mmengine.analysis.FlopAnalyzer`` on a JIT trace (+ a rule for
            ``aten::scaled_dot_product_attention``); 'dispatch' = the same rules applied
            to every ATen call at the dispatcher (works for code the tracer cannot
            follow, e.g. Python arithmetic on tensor shapes, and sees the matrix products
            inside autograd Functions such as crosspt's sparse convolution); 'auto' =
            'jit', and 'dispatch' when the trace fails (the reason goes to ``note``).
    Returns:
        a :class:`FlopReport`; one multiply-add counts as one FLOP.
    """
    if counter not in ('auto', 'jit', 'dispatch'):
        raise ValueError(f"count_flops: counter must be 'auto', 'jit' or 'dispatch', got "
                         f'{counter!r}')
    wrapper = _TraceWrapper(model, inputs, data_samples, mode)
    note = None
    if counter in ('auto', 'jit'):
        from mmengine.analysis import FlopAnalyzer

        analyzer = FlopAnalyzer(wrapper, wrapper.tensors)
        analyzer.set_op_handle('aten::scaled_dot_product_attention', _jit_sdpa_handle)
        analyzer.set_op_handle(**{f'aten::{op}': None for op in ZERO_FLOP_OPS
                                  if f'aten::{op}' not in analyzer._op_handles})
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        analyzer.tracer_warnings('none')
        try:
            with torch.no_grad():
                total = int(analyzer.total())
        except Exception as error:  # noqa: BLE001 - any trace failure -> dispatch counter
            if counter == 'jit':
                raise
            note = (f'FlopAnalyzer could not trace this model ({_trace_failure(error)}); '
                    'counted at the ATen dispatcher with the same rules')
        else:
            per_module = analyzer.by_module()
            by_module = {name: int(per_module.get(f'model.{name}', 0))
                         for name, _ in model.named_children()}
            if total - sum(by_module.values()):
                by_module[OWN_OPS] = total - sum(by_module.values())
            not_counted = dict(sorted(analyzer.unsupported_ops().items(),
                                      key=lambda kv: -kv[1]))
            return FlopReport(total, by_module, not_counted, 'jit')
    with torch.no_grad():
        total, by_module, not_counted = _dispatch_count(
            model, lambda: wrapper(*wrapper.tensors))
    not_counted = dict(sorted(not_counted.items(), key=lambda kv: -kv[1]))
    return FlopReport(total, by_module, not_counted, 'dispatch', note)
