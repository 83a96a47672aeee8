"""Convert official TAP (openpoints) checkpoints into crosspt state dicts.

    python tools/model_converters/tap_to_crosspt.py SRC DST \\
        --backbone {pointmlp,pointnet2,dgcnn,transformer} [--num-classes K]

Accepted inputs (tap.md §6):

- ``clean``: ``{'model': {backbone keys without prefix}}`` (``{run_name}_clean.pth``, the
  released pre-trained weights);
- ``finetuned``: ``{'model': {'encoder.<backbone keys>', 'prediction.head.*'}, 'optimizer',
  'scheduler', 'epoch', 'best_val'}`` (released ScanObjectNN weights);
- ``pretrain_full``: a pre-training ``_ckpt_latest/_best.pth`` with ``encoder.*``,
  ``generator.*`` and ``decoder.*``: the encoder is converted; the generator (photograph
  module) and decoder are dropped and the report says so (crosspt's TAP model splits
  the generator into other modules, so no name-for-name map exists);
- ``encoder_only``: every key under ``encoder.``.

The state dict may sit under ``model``, ``net``, ``network``, ``state_dict`` or
``base_model`` (openpoints' loader order) or be the top-level dict itself; a leading
``module.`` (DDP) is stripped.

Output: ``{'state_dict': {...}, 'meta': {...}}`` with crosspt model keys
``backbone.<crosspt backbone key>`` and, for fine-tuned checkpoints, ``head.<ClsHead key>``,
so ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')`` loads the
backbone and a :class:`~crosspt.models.PointClassifier` loads the whole file strictly.

Key maps (official -> crosspt backbone key):

- PointMLP, Transformer, DGCNN: identical names.
- PointNet++: ``SA_modules.{i}.local_aggregations.0.SA_CONFIG_operator.convs.{j}.0.weight``
  -> ``sa_modules.{i}.mlp.{j}.conv.weight`` and ``...convs.{j}.1.<bn>`` ->
  ``sa_modules.{i}.mlp.{j}.bn.<bn>``.  Both codebases feed each stage's first conv
  ``[relative xyz (3), features]`` in that order (openpoints ``dp_fj``), so no channel
  permutation is needed.
- Classifier: ``prediction.head.{0,2}.{0,1}.*`` / ``prediction.head.4.0.*`` ->
  ``head.layers.{0,2}.{0,1}.*`` / ``head.layers.4.0.*``.

The PointNet++ and DGCNN official names come from the public openpoints source, not from
the spec sheets; the released files themselves have not been inspected (tap.md §6.3
[UNVERIFIED]).  Any mismatch therefore fails loudly: every source key must map, every
mapped tensor must have exactly the shape of the crosspt parameter/buffer (the crosspt
model is built from the registry with TAP's defaults and the checkpoint's input
channels; the number of classes comes from ``prediction.head.4.0.weight``), and every
crosspt backbone (and, for fine-tuned files, head) tensor must receive a value.  Each
error lists all offending keys.
"""
import argparse
import os
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Tuple

import torch

import crosspt.models  # noqa: F401  (registers the backbones and ClsHead)
import crosspt.models.backbones.dgcnn  # noqa: F401  (registers DGCNN)
from crosspt.engine.checkpoint import load_checkpoint_file
from crosspt.registry import MODELS

#: top-level keys that may hold the model state dict, in openpoints' lookup order
WRAPPER_KEYS = ('model', 'net', 'network', 'state_dict', 'base_model')
#: top-level groups of a full openpoints model state dict
GROUPS = ('encoder.', 'prediction.', 'generator.', 'decoder.')
#: backbone name -> crosspt registry type
BACKBONE_TYPES = OrderedDict(pointmlp='PointMLP', pointnet2='PointNet2', dgcnn='DGCNN',
                             transformer='PointTransformer')
#: official key whose shape gives the class count of a fine-tuned checkpoint
CLASSIFIER_KEY = 'prediction.head.4.0.weight'

_PN2_SA = re.compile(r'^SA_modules\.(\d+)\.local_aggregations\.0\.SA_CONFIG_operator\.'
                     r'convs\.(\d+)\.(0|1)\.(\w+)$')


def _map_identity(key: str) -> Optional[str]:
    return key


def _map_pointnet2(key: str) -> Optional[str]:
    match = _PN2_SA.match(key)
    if match is None:
        return None
    stage, layer, sub, name = match.groups()
    part = 'conv' if sub == '0' else 'bn'
    return f'sa_modules.{stage}.mlp.{layer}.{part}.{name}'


KEY_MAPS: Dict[str, Callable[[str], Optional[str]]] = dict(
    pointmlp=_map_identity, pointnet2=_map_pointnet2, dgcnn=_map_identity,
    transformer=_map_identity)


def _map_head(key: str) -> Optional[str]:
    """``prediction.head.X`` (official, prefix removed) -> crosspt ``ClsHead`` key."""
    return 'layers.' + key[len('head.'):] if key.startswith('head.') else None


def _infer_in_channels(state: Dict[str, torch.Tensor], backbone: str) -> Optional[int]:
    """Input feature channels from the first layer's weight, None if that key is absent
    (the missing-key check then reports it)."""
    if backbone == 'pointmlp':
        weight = state.get('embedding.net.0.weight')
        return None if weight is None else int(weight.shape[1])
    if backbone == 'pointnet2':
        weight = state.get('SA_modules.0.local_aggregations.0.SA_CONFIG_operator.convs.0.0.weight')
        return None if weight is None else int(weight.shape[1]) - 3
    if backbone == 'dgcnn':
        weight = state.get('head.gconv.nn.0.weight')
        return None if weight is None else int(weight.shape[1]) // 2
    return None     # Transformer: no parameter depends on the input channels


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
    """``'clean'`` (backbone keys without prefix) or, when every key lies under
    ``encoder./prediction./generator./decoder.``, ``'finetuned'`` (has ``prediction.*``),
    ``'pretrain_full'`` (has ``generator.*``/``decoder.*``) or ``'encoder_only'``."""
    if not keys or not all(k.startswith(GROUPS) for k in keys):
        return 'clean'
    if any(k.startswith('prediction.') for k in keys):
        return 'finetuned'
    if any(k.startswith(('generator.', 'decoder.')) for k in keys):
        return 'pretrain_full'
    return 'encoder_only'


def _build_targets(backbone: str, in_channels: Optional[int], num_classes: Optional[int]
                   ) -> Tuple[Dict[str, torch.Size], Dict[str, torch.Size], dict]:
    """State-dict shapes of the crosspt backbone (and ClsHead when ``num_classes``)."""
    cfg = dict(type=BACKBONE_TYPES[backbone])
    if in_channels is not None:
        cfg['in_channels'] = in_channels
    model = MODELS.build(cfg)
    backbone_shapes = {k: v.shape for k, v in model.state_dict().items()}
    info = dict(backbone_cfg=cfg)
    head_shapes: Dict[str, torch.Size] = {}
    if num_classes is not None:
        head_in = int(getattr(model, 'global_channels', model.out_channels))
        head = MODELS.build(dict(type='ClsHead', in_channels=head_in, num_classes=num_classes))
        head_shapes = {k: v.shape for k, v in head.state_dict().items()}
        info['head_cfg'] = dict(type='ClsHead', in_channels=head_in, num_classes=num_classes)
    return backbone_shapes, head_shapes, info


def convert_tap_checkpoint(state: dict, backbone: str, num_classes: Optional[int] = None,
                           source: str = '<in memory>') -> dict:
    """Convert an official TAP checkpoint (any layout above) into a crosspt checkpoint.

    Args:
        state: the loaded checkpoint (wrapped in ``model``/``net``/... or a bare state dict).
        backbone: ``'pointmlp'``, ``'pointnet2'``, ``'dgcnn'`` or ``'transformer'``.
        num_classes: expected class count of a fine-tuned checkpoint (checked against
            ``prediction.head.4.0.weight``); None derives it.
        source: name for the messages and ``meta['source']``.
    Returns:
        ``{'state_dict': OrderedDict(backbone.* [, head.*]), 'meta': dict}``.
    Raises:
        KeyError: unknown layout, unmapped source keys, or crosspt keys left without a value.
        ValueError: unknown backbone, shape mismatches, class-count mismatch.
    """
    if backbone not in BACKBONE_TYPES:
        raise ValueError(f'{source}: backbone must be one of {list(BACKBONE_TYPES)}, got '
                         f'{backbone!r}')
    model_state, wrapper = unwrap_checkpoint(state)
    stripped = any(str(k).startswith('module.') for k in model_state)
    flat: Dict[str, object] = OrderedDict()
    for raw_key, value in model_state.items():
        key = str(raw_key)
        key = key[len('module.'):] if key.startswith('module.') else key
        if key in flat:
            raise KeyError(f'{source}: key {key!r} occurs both with and without the '
                           f"'module.' prefix")
        flat[key] = value
    if not flat:
        raise KeyError(f'{source}: the state dict is empty')
    fmt = detect_format(list(flat))

    backbone_src: Dict[str, object] = OrderedDict()
    head_src: Dict[str, object] = OrderedDict()
    dropped: Dict[str, int] = OrderedDict()
    unmapped: List[str] = []
    for key, value in flat.items():
        if fmt == 'clean':
            backbone_src[key] = value
        elif key.startswith('encoder.'):
            backbone_src[key[len('encoder.'):]] = value
        elif key.startswith('prediction.'):
            head_src[key[len('prediction.'):]] = value
        else:
            group = key.split('.', 1)[0]
            dropped[group] = dropped.get(group, 0) + 1

    # class count from the classifier (fine-tuned checkpoints)
    derived_classes = None
    if fmt == 'finetuned':
        weight = head_src.get(CLASSIFIER_KEY[len('prediction.'):])
        if isinstance(weight, torch.Tensor) and weight.dim() == 2:
            derived_classes = int(weight.shape[0])
        else:
            raise KeyError(f'{source}: fine-tuned checkpoint without a 2-d {CLASSIFIER_KEY!r}; '
                           f'prediction keys: {sorted("prediction." + k for k in head_src)}')
        if num_classes is not None and int(num_classes) != derived_classes:
            raise ValueError(f'{source}: --num-classes {num_classes} but {CLASSIFIER_KEY} has '
                             f'{derived_classes} rows')
    elif num_classes is not None:
        raise ValueError(f'{source}: --num-classes {num_classes} given, but the {fmt!r} '
                         f'checkpoint has no classifier (no prediction.* keys)')

    tensors = {k: v for k, v in backbone_src.items() if isinstance(v, torch.Tensor)}
    in_channels = _infer_in_channels(tensors, backbone)
    backbone_shapes, head_shapes, info = _build_targets(backbone, in_channels, derived_classes)

    out: Dict[str, torch.Tensor] = {}
    wrong: List[str] = []
    wrong_targets = set()
    prefix_b = '' if fmt == 'clean' else 'encoder.'
    for src_groups, mapper, targets, out_prefix, src_prefix in (
            (backbone_src, KEY_MAPS[backbone], backbone_shapes, 'backbone.', prefix_b),
            (head_src, _map_head, head_shapes, 'head.', 'prediction.')):
        for key, value in src_groups.items():
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
    expected = ['backbone.' + k for k in backbone_shapes] + ['head.' + k for k in head_shapes]
    missing = [k for k in expected if k not in out and k not in wrong_targets]
    if unmapped or missing:
        parts = []
        if unmapped:
            parts.append(f'{len(unmapped)} source key(s) have no crosspt '
                         f'{BACKBONE_TYPES[backbone]} counterpart: ' + ', '.join(unmapped))
        if missing:
            parts.append(f'{len(missing)} crosspt key(s) receive no value: '
                         + ', '.join(missing))
        raise KeyError(f'{source} (format {fmt!r}): ' + '; '.join(parts))
    if wrong:
        raise ValueError(f'{source}: shape mismatch for {len(wrong)} key(s): ' + '; '.join(wrong))

    state_dict = OrderedDict((k, out[k]) for k in expected)
    meta = dict(
        source=source,
        backbone=backbone,
        format=fmt,
        wrapper_key=wrapper,
        module_prefix_stripped=stripped,
        num_backbone_tensors=len(backbone_shapes),
        num_head_tensors=len(head_shapes),
        num_classes=derived_classes,
        dropped={group: count for group, count in dropped.items()},
        backbone_cfg=info['backbone_cfg'],
        head_cfg=info.get('head_cfg'),
        converter='tools/model_converters/tap_to_crosspt.py',
    )
    return dict(state_dict=state_dict, meta=meta)


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
        lines.append('head: none (backbone-only checkpoint)')
    if meta['dropped']:
        lines.append('dropped: ' + ', '.join(f'{g}.* ({n} tensors)' for g, n in
                                               meta['dropped'].items())
                     + ' (no crosspt counterpart by name)')
    else:
        lines.append('dropped: nothing')
    return '\n'.join(lines)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official TAP checkpoint (.pth)')
    parser.add_argument('dst', help='output crosspt checkpoint (.pth)')
    parser.add_argument('--backbone', required=True, choices=list(BACKBONE_TYPES),
                        help='backbone the checkpoint was trained with')
    parser.add_argument('--num-classes', type=int, default=None,
                        help='expected classes of a fine-tuned checkpoint (checked against '
                             f'{CLASSIFIER_KEY})')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    checkpoint = load_checkpoint_file(args.src, map_location='cpu')
    result = convert_tap_checkpoint(checkpoint, args.backbone, args.num_classes,
                                    source=osp.basename(args.src))
    out_dir = osp.dirname(osp.abspath(args.dst))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(result, args.dst)
    print(format_report(result['meta']))
    print(f"wrote {args.dst} ({len(result['state_dict'])} tensors)")


if __name__ == '__main__':
    sys.exit(main())
