"""Convert official TAP (openpoints) checkpoints into crosspt state dicts.

Accepted layouts (detected from the keys, after an optional ``module.`` DDP prefix):

- ``clean``: ``{'model': {backbone keys without prefix}}``, the released pre-trained
  weights (``{run_name}_clean.pth``);
- ``finetuned``: ``{'model': {'encoder.<backbone keys>', 'prediction.head.*'}, 'optimizer',
  'scheduler', 'epoch', 'best_val'}``, the released ScanObjectNN weights;
- ``pretrain_full``: a pre-training ``_ckpt_latest/_best.pth`` with ``encoder.*``,
  ``generator.*`` and ``decoder.*``.  It converts whole: the photograph module and the
  2D generator map by four prefix rules (:data:`GENERATOR_RULES`) onto crosspt's
  ``TAP`` modules; ``generator.pad_memory`` (a parameter the official forward never
  uses) is the only leftover and is reported as unused;
- ``encoder_only``: every key under ``encoder.``;
- ``partseg``: a ShapeNetPart model, every key under ``segmentor.`` (the encoder-decoder
  keys keep their names under ``backbone.``; ``classifier.{0,1,3}`` -> ``head.layers.{0,1,4}``).

The state dict may sit under ``model``, ``net``, ``network``, ``state_dict`` or
``base_model`` (openpoints' loader order) or be the top-level dict itself.

Output: ``{'state_dict': {...}, 'meta': {...}}`` with crosspt model keys, so
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` loads the
backbone and the matching crosspt model (``PointClassifier``, ``PointPartSegmentor`` or
``TAP``) loads the whole file strictly.

Backbone key maps (official -> crosspt): PointMLP, Transformer, DGCNN keep their names;
PointNet++ ``SA_modules.{i}.local_aggregations.0.SA_CONFIG_operator.convs.{j}.{0,1}.*``
-> ``sa_modules.{i}.mlp.{j}.{conv,bn}.*`` (both codebases feed each stage's first conv
``[relative xyz, features]`` in that order); classifier ``prediction.head.*`` ->
``head.layers.*``.  The PointNet++, DGCNN and part-segmentation names come from the public
openpoints source; any mismatch fails loudly: every source key must map, every mapped
tensor must have the shape of the crosspt parameter or buffer, and every crosspt tensor of
the converted groups must receive a value.  Each error lists all offending keys.
"""
import re
from collections import OrderedDict
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import torch
from torch import nn

from crosspt.registry import MODELS

#: top-level keys that may hold the model state dict, in openpoints' lookup order
WRAPPER_KEYS = ('model', 'net', 'network', 'state_dict', 'base_model')
#: top-level groups of a full openpoints model state dict
GROUPS = ('encoder.', 'prediction.', 'generator.', 'decoder.')
#: backbone name -> crosspt registry type
BACKBONE_TYPES = OrderedDict(pointmlp='PointMLP', pointnet2='PointNet2', dgcnn='DGCNN',
                             transformer='StandardTransformer', pointmlp_partseg='PointMLPPartSeg')
#: official key whose shape gives the class count of a fine-tuned checkpoint
CLASSIFIER_KEY = 'prediction.head.4.0.weight'
#: the four prefix rules of a full pre-training checkpoint (official -> crosspt TAP)
GENERATOR_RULES = (('generator.feat_mlp.', 'memory_builder.mlp.'),
                   ('generator.query_mlp.', 'photograph.query_mlp.'),
                   ('generator.transformer.', 'photograph.blocks.'),
                   ('decoder.', 'head.decoder.'))
#: official parameters that no forward pass uses (not converted, reported)
UNUSED_KEYS = ('generator.pad_memory',)
#: part-segmentation classifier: official index -> crosspt PartSegHead index
PARTSEG_CLASSIFIER = {'0': '0', '1': '1', '3': '4'}
#: TAP's ShapeNetPart PointMLP (the shipped partseg_pointmlp config's values)
PARTSEG_CFG = dict(embed_dims=64, res_expansion=1.0, dim_expansion=(2, 2, 2, 2),
                   pre_blocks=(2, 2, 2, 2), pos_blocks=(2, 2, 2, 2),
                   k_neighbors=(24, 24, 24, 24), reducers=(2, 2, 2, 2),
                   de_dims=(512, 256, 128, 128), de_blocks=(4, 4, 4, 4), gmp_dim=64, cls_dim=64)

_PN2_SA = re.compile(r'^SA_modules\.(\d+)\.local_aggregations\.0\.SA_CONFIG_operator\.'
                     r'convs\.(\d+)\.(0|1)\.(\w+)$')


def _map_identity(key: str) -> Optional[str]:
    return key


def _map_pointnet2(key: str) -> Optional[str]:
    match = _PN2_SA.match(key)
    if match is None:
        return None
    stage, layer, sub, name = match.groups()
    return f'sa_modules.{stage}.mlp.{layer}.{"conv" if sub == "0" else "bn"}.{name}'


KEY_MAPS: Dict[str, Callable[[str], Optional[str]]] = dict(
    pointmlp=_map_identity, pointnet2=_map_pointnet2, dgcnn=_map_identity,
    transformer=_map_identity, pointmlp_partseg=_map_identity)


def _map_head(key: str) -> Optional[str]:
    """``prediction.head.X`` (official, prefix removed) -> crosspt ``ClsHead`` key."""
    return 'layers.' + key[len('head.'):] if key.startswith('head.') else None


def _map_partseg_head(key: str) -> Optional[str]:
    """``classifier.{0,1,3}.*`` (official, ``segmentor.`` removed) -> ``layers.{0,1,4}.*``."""
    parts = key.split('.', 2)
    if len(parts) == 3 and parts[0] == 'classifier' and parts[1] in PARTSEG_CLASSIFIER:
        return f'layers.{PARTSEG_CLASSIFIER[parts[1]]}.{parts[2]}'
    return None


def map_generator_key(key: str) -> Optional[str]:
    """Official ``generator.*`` / ``decoder.*`` key -> crosspt TAP key (None: no rule)."""
    for src, dst in GENERATOR_RULES:
        if key.startswith(src):
            return dst + key[len(src):]
    return None


def guess_backbone(keys: Iterable[str]) -> Optional[str]:
    """The TAP backbone whose official parameter names ``keys`` hold (``module.`` and the
    ``encoder.``/``segmentor.`` group prefixes already removed or not), None if none."""
    keys = {k[len('module.'):] if k.startswith('module.') else k for k in map(str, keys)}
    if any(k.startswith('segmentor.') for k in keys):
        return 'pointmlp_partseg'
    keys |= {k[len('encoder.'):] for k in keys if k.startswith('encoder.')}
    if 'embedding.net.0.weight' in keys and any(k.startswith('local_grouper_list.')
                                                for k in keys):
        return 'pointmlp'
    if any(k.startswith('SA_modules.') for k in keys):
        return 'pointnet2'
    if 'head.gconv.nn.0.weight' in keys and 'fusion_block.0.weight' in keys:
        return 'dgcnn'
    if 'cls_token' in keys and any(k.startswith('blocks.blocks.') for k in keys):
        return 'transformer'
    return None


def _first_weight_channels(state: Dict[str, torch.Tensor], backbone: str) -> Optional[int]:
    """Input feature channels from the first layer's weight (None if that key is absent;
    the missing-key check then reports it)."""
    key, offset, divisor = dict(
        pointmlp=('embedding.net.0.weight', 0, 1),
        pointmlp_partseg=('embedding.net.0.weight', 0, 1),
        pointnet2=('SA_modules.0.local_aggregations.0.SA_CONFIG_operator.convs.0.0.weight',
                   3, 1),
        dgcnn=('head.gconv.nn.0.weight', 0, 2)).get(backbone, (None, 0, 1))
    weight = state.get(key) if key else None
    return None if weight is None else (int(weight.shape[1]) - offset) // divisor


def unwrap_checkpoint(checkpoint: dict) -> Tuple[Dict[str, object], Optional[str]]:
    """The model state dict inside ``checkpoint`` and the top-level key that held it."""
    if not isinstance(checkpoint, dict):
        raise ValueError(f'TAP checkpoint must be a dict, got {type(checkpoint).__name__}')
    for key in WRAPPER_KEYS:
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key], key
    if checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return checkpoint, None
    raise KeyError(f'TAP checkpoint: none of the top-level keys {list(WRAPPER_KEYS)} holds a '
                   f'state dict, and the top level is not a state dict itself '
                   f'(top-level keys: {sorted(map(str, checkpoint))[:10]})')


def detect_format(keys: List[str]) -> str:
    """``'partseg'`` (every key under ``segmentor.``), ``'clean'`` (backbone keys without
    prefix) or, when every key lies under ``encoder./prediction./generator./decoder.``,
    ``'finetuned'`` (has ``prediction.*``), ``'pretrain_full'`` (has ``generator.*`` /
    ``decoder.*``) or ``'encoder_only'``."""
    if keys and all(k.startswith('segmentor.') for k in keys):
        return 'partseg'
    if not keys or not all(k.startswith(GROUPS) for k in keys):
        return 'clean'
    if any(k.startswith('prediction.') for k in keys):
        return 'finetuned'
    if any(k.startswith(('generator.', 'decoder.')) for k in keys):
        return 'pretrain_full'
    return 'encoder_only'


def _shapes(module: nn.Module, prefix: str = '') -> Dict[str, torch.Size]:
    return {prefix + k: v.shape for k, v in module.state_dict().items()}


def _backbone_target(backbone: str, in_channels: Optional[int]) -> Tuple[nn.Module, dict]:
    cfg = dict(type=BACKBONE_TYPES[backbone])
    if backbone == 'pointmlp_partseg':
        cfg.update(PARTSEG_CFG)
    if in_channels is not None:
        cfg['in_channels'] = in_channels
    return MODELS.build(cfg), cfg


def _generator_targets(src: Dict[str, object]) -> Dict[str, torch.Size]:
    """Shapes of crosspt's TAP memory builder, photograph module and view decoder (the
    memory width from ``generator.feat_mlp.fc1.weight``)."""
    weight = src.get('generator.feat_mlp.fc1.weight')
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        raise KeyError("full pre-training checkpoint without a 2-d "
                       "'generator.feat_mlp.fc1.weight' (the memory MLP)")
    memory = MODELS.build(dict(type='TAPMemoryBuilder', in_channels=int(weight.shape[1]) - 3))
    return {**_shapes(memory, 'memory_builder.'),
            **_shapes(MODELS.build(dict(type='TAPPhotographModule')), 'photograph.'),
            **_shapes(MODELS.build(dict(type='TAPViewDecoder')), 'head.decoder.')}


def _split_groups(flat: Dict[str, object], fmt: str):
    """(backbone sources, head sources, generator sources, unused keys, dropped counts)."""
    backbone_src, head_src, gen_src = OrderedDict(), OrderedDict(), OrderedDict()
    unused: List[str] = []
    dropped: Dict[str, int] = OrderedDict()
    for key, value in flat.items():
        if fmt == 'clean':
            backbone_src[key] = value
        elif fmt == 'partseg':
            inner = key[len('segmentor.'):]
            (head_src if inner.startswith('classifier.') else backbone_src)[inner] = value
        elif key.startswith('encoder.'):
            backbone_src[key[len('encoder.'):]] = value
        elif key.startswith('prediction.'):
            head_src[key[len('prediction.'):]] = value
        elif key in UNUSED_KEYS:
            unused.append(key)
        elif fmt == 'pretrain_full':
            gen_src[key] = value
        else:
            group = key.split('.', 1)[0]
            dropped[group] = dropped.get(group, 0) + 1
    return backbone_src, head_src, gen_src, unused, dropped


def _class_count(head_src: Dict[str, object], fmt: str, num_classes: Optional[int],
                 source: str) -> Optional[int]:
    """Rows of the classifier's last layer (fine-tuned and part-seg files), checked
    against ``num_classes``; None for backbone-only files."""
    if fmt not in ('finetuned', 'partseg'):
        if num_classes is not None:
            raise ValueError(f'{source}: --num-classes {num_classes} given, but the {fmt!r} '
                             f'checkpoint has no classifier')
        return None
    key = 'head.4.0.weight' if fmt == 'finetuned' else 'classifier.3.weight'
    full = ('prediction.' if fmt == 'finetuned' else 'segmentor.') + key
    weight = head_src.get(key)
    if not isinstance(weight, torch.Tensor) or weight.dim() < 2:
        raise KeyError(f'{source}: {fmt} checkpoint without the classifier weight {full!r}; '
                       f'classifier keys: {sorted(head_src)}')
    derived = int(weight.shape[0])
    if num_classes is not None and int(num_classes) != derived:
        raise ValueError(f'{source}: --num-classes {num_classes} but {full} has {derived} rows')
    return derived


def _strip_module(model_state: Dict[object, object], source: str) -> Dict[str, object]:
    flat: Dict[str, object] = OrderedDict()
    for raw_key, value in model_state.items():
        key = str(raw_key)
        key = key[len('module.'):] if key.startswith('module.') else key
        if key in flat:
            raise KeyError(f"{source}: key {key!r} occurs both with and without the "
                           f"'module.' prefix")
        flat[key] = value
    if not flat:
        raise KeyError(f'{source}: the state dict is empty')
    return flat


def convert_tap_checkpoint(state: dict, backbone: Optional[str] = None,
                           num_classes: Optional[int] = None,
                           source: str = '<in memory>') -> dict:
    """Convert an official TAP checkpoint (any layout above) into a crosspt checkpoint.

    Args:
        state: the loaded checkpoint (wrapped in ``model``/``net``/... or a bare state dict).
        backbone: a key of :data:`BACKBONE_TYPES`; None detects it from the parameter names
            (:func:`guess_backbone`).
        num_classes: expected class count of a fine-tuned or part-seg checkpoint (checked
            against its classifier); None derives it.
        source: name for the messages and ``meta['source']``.
    Returns:
        ``{'state_dict': OrderedDict(backbone.* [, head.*, memory_builder.*, photograph.*]),
        'meta': dict}``.
    Raises:
        KeyError: unknown layout, unmapped source keys, or crosspt keys left without a value.
        ValueError: unknown backbone, shape mismatches, class-count mismatch.
    """
    model_state, wrapper = unwrap_checkpoint(state)
    stripped = any(str(k).startswith('module.') for k in model_state)
    flat = _strip_module(model_state, source)
    if backbone is None:
        backbone = guess_backbone(flat)
        if backbone is None:
            raise KeyError(f'{source}: not an official TAP checkpoint of a known backbone '
                           f'(keys e.g. {sorted(flat)[:5]})')
    if backbone not in BACKBONE_TYPES:
        raise ValueError(f'{source}: backbone must be one of {list(BACKBONE_TYPES)}, got '
                         f'{backbone!r}')
    fmt = detect_format(list(flat))
    if (fmt == 'partseg') != (backbone == 'pointmlp_partseg') and fmt not in ('clean',):
        raise ValueError(f'{source}: a {fmt!r} checkpoint cannot be converted as {backbone!r}')
    backbone_src, head_src, gen_src, unused, dropped = _split_groups(flat, fmt)
    classes = _class_count(head_src, fmt, num_classes, source)

    tensors = {k: v for k, v in backbone_src.items() if isinstance(v, torch.Tensor)}
    model, backbone_cfg = _backbone_target(backbone, _first_weight_channels(tensors, backbone))
    backbone_shapes = _shapes(model)
    head_shapes: Dict[str, torch.Size] = {}
    head_cfg = None
    if fmt == 'finetuned':
        head_in = int(getattr(model, 'global_channels', model.out_channels))
        head_cfg = dict(type='ClsHead', in_channels=head_in, num_classes=classes)
    elif fmt == 'partseg':
        head_cfg = dict(type='PartSegHead', in_channels=256, num_classes=classes, act=None)
    if head_cfg is not None:
        head_shapes = _shapes(MODELS.build(head_cfg))
    gen_shapes = _generator_targets(gen_src) if fmt == 'pretrain_full' else {}

    prefix_b = {'clean': '', 'partseg': 'segmentor.'}.get(fmt, 'encoder.')
    prefix_h = 'segmentor.' if fmt == 'partseg' else 'prediction.'
    head_map = _map_partseg_head if fmt == 'partseg' else _map_head
    groups = ((backbone_src, KEY_MAPS[backbone], backbone_shapes, 'backbone.', prefix_b),
              (head_src, head_map, head_shapes, 'head.', prefix_h),
              (gen_src, map_generator_key, gen_shapes, '', ''))
    out, expected = _map_groups(groups, source, fmt, BACKBONE_TYPES[backbone])
    meta = dict(
        source=source, backbone=backbone, format=fmt, wrapper_key=wrapper,
        module_prefix_stripped=stripped, num_backbone_tensors=len(backbone_shapes),
        num_head_tensors=len(head_shapes), num_generator_tensors=len(gen_shapes),
        num_classes=classes, dropped=dict(dropped), unused=unused,
        backbone_cfg=backbone_cfg, head_cfg=head_cfg,
        converter='crosspt.models.tap.checkpoint_convert')
    return dict(state_dict=OrderedDict((k, out[k]) for k in expected), meta=meta)


def _map_groups(groups, source: str, fmt: str, type_name: str
                ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Apply each group's key map; check coverage and shapes (all problems listed)."""
    out: Dict[str, torch.Tensor] = {}
    wrong, unmapped, expected = [], [], []
    wrong_targets = set()
    for src, mapper, targets, out_prefix, src_prefix in groups:
        expected += [out_prefix + k for k in targets]
        for key, value in src.items():
            target = mapper(key)
            if not isinstance(value, torch.Tensor):
                unmapped.append(f'{src_prefix}{key} (not a tensor: {type(value).__name__})')
                continue
            if target is None or target not in targets:
                unmapped.append(src_prefix + key)
                continue
            if tuple(value.shape) != tuple(targets[target]):
                wrong.append(f'{src_prefix}{key} -> {out_prefix}{target}: checkpoint '
                             f'{tuple(value.shape)} vs crosspt {tuple(targets[target])}')
                wrong_targets.add(out_prefix + target)
                continue
            out[out_prefix + target] = value
    missing = [k for k in expected if k not in out and k not in wrong_targets]
    if unmapped or missing:
        parts = []
        if unmapped:
            parts.append(f'{len(unmapped)} source key(s) have no crosspt {type_name} '
                         f'counterpart: ' + ', '.join(unmapped))
        if missing:
            parts.append(f'{len(missing)} crosspt key(s) receive no value: '
                         + ', '.join(missing))
        raise KeyError(f'{source} (format {fmt!r}): ' + '; '.join(parts))
    if wrong:
        raise ValueError(f'{source}: shape mismatch for {len(wrong)} key(s): ' + '; '.join(wrong))
    return out, expected


def format_report(meta: dict) -> str:
    """A few lines describing a conversion (``meta`` from :func:`convert_tap_checkpoint`)."""
    where = f"under '{meta['wrapper_key']}'" if meta['wrapper_key'] else 'at the top level'
    lines = [f"source: {meta['source']} (format {meta['format']!r}, state dict {where}"
             + (", 'module.' stripped)" if meta['module_prefix_stripped'] else ')'),
             f"backbone: {meta['backbone']} -> {meta['backbone_cfg']}: "
             f"{meta['num_backbone_tensors']} tensors as backbone.*"]
    if meta['num_head_tensors']:
        lines.append(f"head: {meta['head_cfg']}: {meta['num_head_tensors']} tensors as head.*")
    else:
        lines.append('head: none (no classifier)' if meta.get('num_generator_tensors')
                     else 'head: none (backbone-only checkpoint)')
    if meta.get('num_generator_tensors'):
        lines.append(f"generator: {meta['num_generator_tensors']} tensors as memory_builder.*, "
                     'photograph.*, head.decoder.*')
    if meta.get('unused'):
        lines.append('unused: ' + ', '.join(meta['unused'])
                     + ' (defined but never used by the official forward pass)')
    if meta['dropped']:
        lines.append('dropped: ' + ', '.join(f'{g}.* ({n} tensors)' for g, n in
                                               meta['dropped'].items())
                     + ' (no crosspt counterpart by name)')
    else:
        lines.append('dropped: nothing')
    return '\n'.join(lines)


def is_official_tap_checkpoint(checkpoint: object) -> bool:
    """Whether ``checkpoint`` is in an openpoints layout :func:`convert_tap_checkpoint`
    handles (an mmengine/crosspt file keeps its weights under ``state_dict`` with crosspt
    names and is not)."""
    if not isinstance(checkpoint, dict) or isinstance(checkpoint.get('state_dict'), dict):
        return False
    try:
        state, _ = unwrap_checkpoint(checkpoint)
    except (KeyError, ValueError):
        return False
    return guess_backbone(state) is not None
