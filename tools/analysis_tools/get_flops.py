"""Parameters and FLOPs of crosspt models, in total and per top-level submodule.

    python tools/analysis_tools/get_flops.py CONFIG [CONFIG ...] [--num-points N]
        [--batch-size 1] [--mode loss|tensor] [--counter auto|jit|dispatch]
        [--out table.png] [--cfg-options k=v ...]

For every config the model is built from crosspt's registries (no weights are loaded:
counts do not depend on them; a PPKT 2D teacher is built randomly initialised instead of
reading its checkpoint) and one forward of a dummy batch is traced:

* the batch has the shapes the config's *training* pipeline produces (its last
  ``num_points`` setting, the feature channels of the pack transform's
  ``feature_keys``, TAP's ``num_views`` x ``image_size`` views, PPKT's crop ``size``,
  the 2D teacher's crop ``size``), ``--batch-size`` samples (default 1);
  ``--num-points`` overrides the point count (for a sparse PPKT student, whose voxel
  count the pipeline does not fix, it sets the number of voxels of the dummy scene, a
  one-voxel-thick wavy surface, default 16384: every voxel has at most 9 occupied 3x3x3
  neighbours, itself included; scans, thickened by depth noise, have more, so their
  sparse-convolution FLOPs per voxel are higher);
* it goes through the model's data preprocessor, then ``model(inputs, data_samples,
  mode)`` is traced: ``--mode loss`` (default) is the training forward (TAP's 2D
  generator and loss included), ``--mode tensor`` the model's tensor mode (TAP, PPKT:
  the point backbone only; classifiers and segmentors: the logits).

FLOPs follow ``mmengine.analysis.FlopAnalyzer``'s rules, which count **one
multiply-add as one FLOP**: a Linear layer of ``in -> out`` channels on M rows is
``M * in * out``, a convolution ``batch * prod(weight.shape) * prod(output spatial)``,
attention ``softmax(Q K^T) V`` (a rule added here) ``B * H * L * S * (E + E_v)``;
normalisation, bilinear/nearest upsampling and adaptive pooling get FlopAnalyzer's small
per-element counts.  ``--counter auto`` (default) traces the forward with FlopAnalyzer
and, when the JIT tracer cannot follow the model (TAP's photograph module and crosspt's
sparse convolution do Python arithmetic on tensor shapes), applies the same rules to
every ATen call at the dispatcher instead (``dispatch``; it also sees the matrix
products inside autograd Functions, so a sparse convolution counts
``sum_k P_k * C_in * C_out`` over the kernel offsets k with P_k active pairs); the table
names the counter used and why.  Operators without a rule (element-wise arithmetic,
softmax, top-k, ...) are listed under "not counted" with how often they ran, never
dropped silently.  The per-submodule FLOPs attribute an operator to the top-level
submodule whose ``__call__`` ran it; operators run by the model's own methods (e.g.
PPKT's pixel sampling), and parameters registered on the model itself, form the row
"(model's own)".

Configs whose ``default_scope`` is not ``crosspt`` (the mmdet3d-scoped 3DETR and
ScanNet segmentation benchmarks) take mmdet3d ``Det3DDataSample`` batches; they are
skipped with a message naming the config.

Prints one markdown summary table and one breakdown table per config; ``--out`` writes a
PNG with stacked bars of parameters and FLOPs per submodule for every config.
"""
import argparse
import math
import os
import os.path as osp
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor, nn

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.structures import BaseDataElement  # noqa: E402

#: width of each per-point feature key of the pack transforms
FEATURE_WIDTHS: Dict[str, int] = {'points': 3, 'normals': 3, 'height': 1,
                                  'height_augmented': 1, 'colors': 3, 'rgb': 3}
#: transforms whose ``num_points`` fixes the point count of a sample
POINT_COUNT_TRANSFORMS = ('LoadPointsFromPLY', 'TakeFirstPoints', 'RandomSamplePoints',
                          'FPSSamplePoints', 'FPSThenRandom', 'SampleVoxels')
PACK_KINDS = {'PackPointClsInputs': 'cls', 'PackPartSegInputs': 'partseg',
              'PackTAPInputs': 'tap', 'PackPPKTInputs': 'ppkt',
              'PackImageSegInputs': 'imageseg'}
DEFAULT_SPARSE_VOXELS = 16384
OWN_OPS = "(model's own)"


# ----------------------------------------------------------------------------- inputs
@dataclass
class InputSpec:
    """Shapes of one dummy sample.

    Attributes:
        kind: 'cls' | 'partseg' | 'tap' | 'ppkt' | 'imageseg' (from the pack transform).
        num_points: points (or voxels) per sample.
        feature_keys: per-point feature keys (their widths add up to ``feature_channels``).
        feature_channels: C of ``features (N, C)`` (PPKT: of ``feats``).
        num_views: TAP views per object.
        image_size: (H, W) of the TAP views / PPKT frame / 2D teacher crop.
        sparse: PPKT voxels for a sparse student (coordinates matter, not a fixed N).
        notes: how each figure was found (printed with the table).
    """
    kind: str
    num_points: int = 0
    feature_keys: Tuple[str, ...] = ()
    feature_channels: int = 0
    num_views: int = 0
    image_size: Tuple[int, int] = (0, 0)
    sparse: bool = False
    notes: List[str] = field(default_factory=list)

    def describe(self, batch_size: int) -> str:
        b = batch_size
        if self.kind in ('cls', 'partseg'):
            return (f'points ({b}, {self.num_points}, 3), features ({b}, {self.num_points}, '
                    f'{self.feature_channels})')
        if self.kind == 'tap':
            h, w = self.image_size
            return (f'points ({b}, {self.num_points}, 3), features ({b}, {self.num_points}, '
                    f'{self.feature_channels}), {self.num_views} views {h}x{w}')
        if self.kind == 'ppkt':
            h, w = self.image_size
            what = 'voxels' if self.sparse else 'points'
            return f'{self.num_points} {what} x {b} frames, image {h}x{w}'
        h, w = self.image_size
        return f'images ({b}, 3, {h}, {w})'


def find_pipeline(dataset_cfg: Any, where: str) -> List[dict]:
    """The ``pipeline`` of a dataset config, looking through wrappers (``dataset=``)."""
    node = dataset_cfg
    while isinstance(node, dict):
        if 'pipeline' in node:
            return list(node['pipeline'])
        node = node.get('dataset')
    raise KeyError(f'{where}: train_dataloader.dataset has no pipeline (looked through '
                   'dataset wrappers too)')


def _image_hw(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    return int(size[0]), int(size[1])


def input_spec(cfg: Config, where: str, num_points: Optional[int] = None) -> InputSpec:
    """Read the sample shapes from ``cfg.train_dataloader``'s pipeline.

    Args:
        cfg: the config; ``where`` names it in errors.
        num_points: overrides the point/voxel count of the pipeline.
    Raises:
        KeyError: no training pipeline, or no pack transform this tool knows.
        ValueError: a feature key of unknown width, or no point count anywhere.
    """
    if 'train_dataloader' not in cfg:
        raise KeyError(f'{where}: no train_dataloader, so no pipeline to read shapes from')
    pipeline = [t for t in find_pipeline(cfg.train_dataloader.get('dataset'), where)
                if isinstance(t, dict)]
    types = [str(t.get('type', '')).split('.')[-1] for t in pipeline]
    pack = next((t for t in reversed(types) if t in PACK_KINDS), None)
    if pack is None:
        raise KeyError(f'{where}: the training pipeline ends in none of '
                       f'{sorted(PACK_KINDS)} (transforms: {types})')
    spec = InputSpec(kind=PACK_KINDS[pack])
    by_type = dict(zip(types, pipeline))
    if spec.kind == 'imageseg':
        crop = next((t for t in pipeline if 'size' in t), None)
        if crop is None:
            raise KeyError(f'{where}: no transform of the training pipeline sets the image '
                           '`size`')
        spec.image_size = _image_hw(crop['size'])
        return spec

    counted = [(ty, t) for ty, t in zip(types, pipeline)
               if ty in POINT_COUNT_TRANSFORMS and 'num_points' in t]
    if spec.kind == 'ppkt':
        crop = by_type.get('RandomResizedCrop2D')
        if crop is None:
            raise KeyError(f'{where}: a PPKT pipeline needs RandomResizedCrop2D (its `size` '
                           'fixes the frame size of a batch)')
        spec.image_size = _image_hw(crop['size'])
        spec.sparse = not counted
        spec.feature_channels = 3          # VoxelizePairs: 'ones' and 'rgb' are both 3-d
        spec.feature_keys = ('feats',)
    else:
        keys = by_type[pack].get('feature_keys', ('points', 'normals', 'height')
                                 if spec.kind == 'partseg' else ('points', 'height'))
        keys = (keys,) if isinstance(keys, str) else tuple(keys)
        unknown = [k for k in keys if k not in FEATURE_WIDTHS]
        if unknown:
            raise ValueError(f'{where}: {pack}.feature_keys {unknown} have no known width '
                             f'(known: {FEATURE_WIDTHS})')
        spec.feature_keys = keys
        spec.feature_channels = sum(FEATURE_WIDTHS[k] for k in keys)
    if spec.kind == 'tap':
        views, images = by_type.get('RandomSampleViews'), by_type.get('LoadViewImages')
        if views is None or images is None:
            raise KeyError(f'{where}: a TAP pipeline needs RandomSampleViews and '
                           'LoadViewImages (views per object and their size)')
        spec.num_views = int(views.get('num_views', 6))
        spec.image_size = _image_hw(images.get('image_size', 224))

    if num_points is not None:
        spec.num_points = int(num_points)
        spec.notes.append(f'N = {num_points} from --num-points')
    elif counted:
        ty, t = counted[-1]
        spec.num_points = int(t['num_points'])
        spec.notes.append(f'N = {spec.num_points} from {ty}.num_points')
    elif spec.sparse:
        spec.num_points = DEFAULT_SPARSE_VOXELS
        spec.notes.append(f'the pipeline does not fix the voxel count; dummy scene of '
                          f'{DEFAULT_SPARSE_VOXELS} voxels (set --num-points)')
    else:
        raise ValueError(f'{where}: no transform of the training pipeline sets num_points '
                         f'(looked for {POINT_COUNT_TRANSFORMS}); pass --num-points')
    if spec.num_points < 1:
        raise ValueError(f'{where}: the point count must be >= 1, got {spec.num_points}')
    return spec


def _rotations(num: int, gen: torch.Generator) -> Tensor:
    """(num, 3, 3) float64 random proper rotations (QR of Gaussian matrices)."""
    q, r = torch.linalg.qr(torch.randn(num, 3, 3, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    det = torch.det(q)
    q[:, :, 0] *= det.unsqueeze(-1)
    return q


def surface_voxels(num: int) -> Tensor:
    """(num, 3) int64 distinct voxel coordinates on a wavy height field
    ``z = round(3 sin(x / 8) + 3 cos(y / 11))`` over a square patch: one voxel per (x, y)
    column, so every voxel has at most 9 occupied 3x3x3 neighbours (itself included)."""
    side = int(math.ceil(math.sqrt(num)))
    x, y = torch.meshgrid(torch.arange(side), torch.arange(side), indexing='ij')
    x, y = x.reshape(-1)[:num], y.reshape(-1)[:num]
    z = torch.round(3 * torch.sin(x / 8.0) + 3 * torch.cos(y / 11.0)).long()
    return torch.stack([x, y, z], dim=1)


def dummy_batch(spec: InputSpec, batch_size: int = 1, seed: int = 0) -> dict:
    """A batch as ``pseudo_collate`` returns it (``inputs`` = dict of per-sample lists,
    ``data_samples`` = list), with the shapes of ``spec`` and valid label/pair fields."""
    if batch_size < 1:
        raise ValueError(f'dummy_batch: batch_size must be >= 1, got {batch_size}')
    gen = torch.Generator().manual_seed(seed)
    n = spec.num_points
    inputs: Dict[str, list] = {}
    samples: List[BaseDataElement] = []
    if spec.kind == 'imageseg':
        h, w = spec.image_size
        images = [torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8)
                  for _ in range(batch_size)]
        samples = [BaseDataElement(gt_sem_seg=torch.zeros(h, w, dtype=torch.long))
                   for _ in range(batch_size)]
        return dict(inputs=images, data_samples=samples)
    if spec.kind == 'ppkt':
        h, w = spec.image_size
        for key in ('img', 'coords', 'points', 'feats'):
            inputs[key] = []
        num_pairs = min(n, h * w)
        for _ in range(batch_size):
            if spec.sparse:
                coords = surface_voxels(n)
            else:
                coords = torch.randint(0, 64, (n, 3), generator=gen)
            inputs['img'].append(torch.randint(0, 256, (3, h, w), generator=gen,
                                               dtype=torch.uint8))
            inputs['coords'].append(coords)
            inputs['points'].append(coords.float() * 0.05)
            inputs['feats'].append(torch.rand(n, spec.feature_channels, generator=gen))
            pixels = torch.randperm(h * w, generator=gen)[:num_pairs]
            voxels = torch.randperm(n, generator=gen)[:num_pairs]
            pairs = torch.stack([voxels, pixels // w, pixels % w], dim=1)
            samples.append(BaseDataElement(pairs=pairs))
        return dict(inputs=inputs, data_samples=samples)
    inputs['points'], inputs['features'] = [], []
    if spec.kind == 'partseg':
        inputs['category'] = []
    if spec.kind == 'tap':
        inputs['view_rotations'], inputs['images'] = [], []
    for _ in range(batch_size):
        points = torch.rand(n, 3, generator=gen) * 2 - 1
        inputs['points'].append(points)
        inputs['features'].append(torch.cat([
            points if key == 'points' else torch.rand(n, FEATURE_WIDTHS[key], generator=gen)
            for key in spec.feature_keys], dim=1))
        if spec.kind == 'cls':
            samples.append(BaseDataElement(gt_label=0))
        elif spec.kind == 'partseg':
            inputs['category'].append(torch.tensor(0, dtype=torch.long))
            samples.append(BaseDataElement(gt_part=torch.zeros(n, dtype=torch.long),
                                           category=0))
        else:
            h, w = spec.image_size
            inputs['view_rotations'].append(_rotations(spec.num_views, gen))
            inputs['images'].append(torch.randint(0, 256, (spec.num_views, 3, h, w),
                                                  generator=gen, dtype=torch.uint8))
            samples.append(BaseDataElement())
    return dict(inputs=inputs, data_samples=samples)


# ----------------------------------------------------------------------------- counting
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


# ----------------------------------------------------------------------------- configs
@dataclass
class ConfigReport:
    """Everything printed / plotted for one config (``skipped`` set: nothing else)."""
    config: str
    skipped: Optional[str] = None
    model_type: str = ''
    mode: str = 'loss'
    batch_size: int = 1
    spec: Optional[InputSpec] = None
    params: Dict[str, Tuple[int, int]] = field(default_factory=dict)
    flops: Optional[FlopReport] = None
    notes: List[str] = field(default_factory=list)
    counter: str = 'auto'


def random_teachers(model_cfg: Any, notes: List[str]) -> None:
    """Build PPKT-style 2D teachers randomly initialised (no checkpoint read)."""
    from crosspt.apis.inference import release_teacher_checkpoints
    for entry in release_teacher_checkpoints(model_cfg):
        notes.append(f'{entry}: ImageTeacher built without its checkpoint; the figures here '
                     f'do not depend on its weights')


def build_model(cfg: Config, notes: List[str]) -> nn.Module:
    """``cfg.model`` built in crosspt's scope, without loading any weights."""
    from mmengine.registry import DefaultScope

    import crosspt.models  # noqa: F401
    from crosspt.registry import MODELS

    model_cfg = cfg.model.copy()
    random_teachers(model_cfg, notes)
    with DefaultScope.overwrite_default_scope('crosspt'):
        return MODELS.build(model_cfg)


def analyze_config(path: str, mode: str = 'loss', num_points: Optional[int] = None,
                   batch_size: int = 1, cfg_options: Optional[dict] = None,
                   counter: str = 'auto', seed: int = 0) -> ConfigReport:
    """Build ``path``'s model, count its parameters and the FLOPs of one ``mode``
    forward of a dummy batch (see the module docstring)."""
    from crosspt.utils import check_cfg_options

    if not osp.isfile(path):
        raise FileNotFoundError(f'get_flops: config file not found: {path}')
    # custom_imports only once the config is known to be analysed (mmdet3d's are slow)
    cfg = Config.fromfile(path, import_custom_modules=False)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    report = ConfigReport(config=path, mode=mode, batch_size=batch_size)
    scope = cfg.get('default_scope', 'crosspt')
    if scope != 'crosspt':
        report.skipped = (f"default_scope={scope!r}: its model takes {scope} data samples "
                          "(Det3DDataSample batches), which this tool does not synthesise; "
                          'count it inside that framework')
        return report
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    if 'model' not in cfg:
        raise KeyError(f'{path}: no `model` key')
    report.spec = input_spec(cfg, path, num_points)
    report.notes.extend(report.spec.notes)
    torch.manual_seed(seed)
    model = build_model(cfg, report.notes)
    model.eval()
    report.model_type = type(model).__name__
    report.params = count_parameters(model)
    data = model.data_preprocessor(dummy_batch(report.spec, batch_size, seed), False)
    report.flops = count_flops(model, data['inputs'], data.get('data_samples'), mode, counter)
    if report.flops.note:
        report.notes.append(report.flops.note)
    return report


# ----------------------------------------------------------------------------- output
def short_name(path: str) -> str:
    """``.../configs/tap/pointmlp_synthetic.py`` -> ``tap/pointmlp_synthetic`` (the part
    after ``configs/``, else the file name), without ``.py``."""
    parts = osp.normpath(path).split(os.sep)
    if 'configs' in parts[:-1]:
        parts = parts[len(parts) - 1 - parts[::-1].index('configs') + 1:]
    else:
        parts = parts[-1:]
    name = '/'.join(parts)
    return name[:-3] if name.endswith('.py') else name


def human(value: float, unit: str = '') -> str:
    """1234567 -> '1.235 M' (k, M, G, T)."""
    for scale, prefix in ((1e12, 'T'), (1e9, 'G'), (1e6, 'M'), (1e3, 'k')):
        if abs(value) >= scale:
            return f'{value / scale:.3f} {prefix}{unit}'
    return f'{value:.0f} {unit}'.rstrip()


def markdown(reports: Sequence[ConfigReport]) -> str:
    """The summary table, then one breakdown table per analysed config."""
    lines = ['| config | model | forward | input | params | trainable | FLOPs | counter |',
             '|---|---|---|---|---:|---:|---:|---|']
    for r in reports:
        name = short_name(r.config)
        if r.skipped:
            lines.append(f'| {name} | skipped | | {r.skipped} | | | | |')
            continue
        total, trainable = r.params['total']
        lines.append(f'| {name} | {r.model_type} | {r.mode} | '
                     f'{r.spec.describe(r.batch_size)} | {human(total)} | '
                     f'{human(trainable)} | {human(r.flops.total, "FLOPs")} | '
                     f'{r.flops.counter} |')
    for r in reports:
        if r.skipped:
            continue
        lines += ['', f'### {short_name(r.config)} ({r.model_type}, {r.mode} forward, '
                  f'batch {r.batch_size})', '',
                  '| submodule | params | trainable | FLOPs | share of FLOPs |',
                  '|---|---:|---:|---:|---:|']
        names = [k for k in r.params if k != 'total']
        names += [k for k in r.flops.by_module if k not in names]
        for name in names:
            total, trainable = r.params.get(name, (0, 0))
            flops = r.flops.by_module.get(name, 0)
            share = f'{100 * flops / r.flops.total:.1f} %' if r.flops.total else '-'
            lines.append(f'| {name} | {human(total)} | {human(trainable)} | '
                         f'{human(flops, "FLOPs")} | {share} |')
        total, trainable = r.params['total']
        lines.append(f'| **total** | {human(total)} | {human(trainable)} | '
                     f'{human(r.flops.total, "FLOPs")} | |')
        for note in r.notes:
            lines.append(f'- {note}')
        if r.flops.not_counted:
            ops = ', '.join(f'{op} x{n}' for op, n in r.flops.not_counted.items())
            lines.append(f'- not counted (no FLOP rule; calls): {ops}')
    return '\n'.join(lines)


def plot(reports: Sequence[ConfigReport], out: str) -> None:
    """Stacked horizontal bars: parameters (M) and FLOPs (G) per submodule, one bar per
    analysed config."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    done = [r for r in reports if not r.skipped]
    if not done:
        raise ValueError('get_flops: every config was skipped; nothing to plot')
    names = [short_name(r.config) for r in done]
    parts: List[str] = []                  # submodules with parameters or FLOPs somewhere
    for r in done:
        for name in list(r.params) + list(r.flops.by_module):
            if name != 'total' and name not in parts and (
                    r.params.get(name, (0, 0))[0] or r.flops.by_module.get(name, 0)):
                parts.append(name)
    colours = plt.get_cmap('tab10' if len(parts) <= 10 else 'tab20')
    height = max(3.0, 0.4 * len(done) + 2.0)
    fig, axes = plt.subplots(1, 2, figsize=(14, height), sharey=True)
    y = np.arange(len(done))
    for ax, what, scale, unit in ((axes[0], 'params', 1e6, 'parameters (M)'),
                                  (axes[1], 'flops', 1e9, 'GFLOPs (1 multiply-add = 1)')):
        left = np.zeros(len(done))
        for i, part in enumerate(parts):
            if what == 'params':
                values = np.array([r.params.get(part, (0, 0))[0] for r in done]) / scale
            else:
                values = np.array([r.flops.by_module.get(part, 0) for r in done]) / scale
            if not values.any():
                continue
            ax.barh(y, values, left=left, color=colours(i % colours.N), label=part)
            left += values
        for yi, total in zip(y, left):
            ax.text(total, yi, f' {total:.3g}', va='center', fontsize=8)
        ax.set_xlabel(unit)
        ax.set_xlim(0, left.max() * 1.18 if left.max() > 0 else 1)
        ax.grid(axis='x', alpha=0.3)
    axes[0].set_yticks(y, names, fontsize=9)
    axes[0].set_title('parameters per submodule')
    modes = sorted({f'{r.mode} forward, batch {r.batch_size}' for r in done})
    axes[1].set_title(f'FLOPs per submodule ({"; ".join(modes)})')
    handles, labels = {}, []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in handles:
                handles[lab] = h
                labels.append(lab)
    for ax in axes:
        ax.set_ylim(len(done) - 0.5, -0.5)
    ncol = min(len(labels), 6)
    legend_inches = 0.25 + 0.24 * math.ceil(len(labels) / ncol)
    fig.legend([handles[lab] for lab in labels], labels, loc='lower center',
               bbox_to_anchor=(0.5, 0.0), ncol=ncol, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, legend_inches / height, 1, 1))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Parameters and FLOPs of crosspt configs')
    parser.add_argument('configs', nargs='+', help='config file(s)')
    parser.add_argument('--num-points', type=int, default=None,
                        help="points (or a sparse student's voxels) per sample; default: "
                        "the training pipeline's num_points")
    parser.add_argument('--batch-size', type=int, default=1, help='samples in the dummy batch')
    parser.add_argument('--mode', choices=['loss', 'tensor'], default='loss',
                        help="forward to count: 'loss' = training forward (default), "
                        "'tensor' = the model's tensor mode")
    parser.add_argument('--counter', choices=['auto', 'jit', 'dispatch'], default='auto',
                        help="'jit' = mmengine FlopAnalyzer, 'dispatch' = the same rules at "
                        "the ATen dispatcher, 'auto' = jit, dispatch when tracing fails")
    parser.add_argument('--out', help='PNG with parameter and FLOP bars')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys of every config')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[ConfigReport]:
    args = parse_args(argv)
    torch.set_grad_enabled(False)
    reports = []
    for path in args.configs:
        report = analyze_config(path, args.mode, args.num_points, args.batch_size,
                                args.cfg_options, args.counter)
        if report.skipped:
            print(f'skipped {path}: {report.skipped}')
        reports.append(report)
    print(markdown(reports))
    if args.out:
        plot(reports, args.out)
        print(f'wrote {args.out}')
    return reports


if __name__ == '__main__':
    main()
