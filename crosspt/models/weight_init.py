"""``init_cfg=dict(type='Pretrained', ...)`` that reports what it loaded and never loads
nothing silently.

Registered as ``Pretrained`` in crosspt's weight-initialiser registry, so it replaces
mmengine's initialiser wherever the default scope is ``crosspt`` (every crosspt config).
"""
from typing import Dict, Optional, Sequence

import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info
from torch import nn

from .checkpoint_loading import load_checkpoint_any
from crosspt.registry import WEIGHT_INITIALIZERS


def extract_state_dict(checkpoint: dict, prefix: Optional[str], source: str
                       ) -> Dict[str, torch.Tensor]:
    """The tensors of ``checkpoint`` (mmengine ``state_dict`` or openpoints ``model``
    layout) under ``prefix``, with the prefix removed."""
    state = checkpoint
    for key in ('state_dict', 'model'):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items() if isinstance(v, torch.Tensor)}
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise KeyError(f'{source}: no tensor key starts with {prefix!r}')
    return state


@WEIGHT_INITIALIZERS.register_module(name='Pretrained')
class ReportingPretrainedInit(PretrainedInit):
    """Load ``checkpoint`` (optionally the keys under ``prefix``) into the module with
    ``weights_only=True``, log loaded / missing / unexpected keys, and raise when no
    tensor matches or a matching key has another shape.

    Args:
        checkpoint, prefix, map_location: as mmengine's ``PretrainedInit``.
        ignore_keys: checkpoint keys (after ``prefix`` is removed) not to load, e.g.
            ``['embedding.net.0.weight']`` when part segmentation feeds PointMLP 6-d
            xyz + normals instead of the pre-trained 4-d xyz + height (TAP's part-seg
            loader drops that key the same way, docs/methods/tap.md, 'ShapeNetPart
            fine-tuning').  A listed key that the
            checkpoint does not hold is an error (it is probably misspelt).
    """

    def __init__(self, checkpoint: str, prefix: Optional[str] = None,
                 map_location: str = 'cpu', ignore_keys: Sequence[str] = ()) -> None:
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        if isinstance(ignore_keys, str):
            ignore_keys = [ignore_keys]
        self.ignore_keys = list(ignore_keys)

    def __call__(self, module: nn.Module) -> None:
        if self.checkpoint in (None, '', 'none'):
            raise ValueError(
                f'Pretrained init of {type(module).__name__} has no checkpoint (got '
                f'{self.checkpoint!r}): give one with --cfg-options '
                f'model.backbone.init_cfg.checkpoint=PATH, or set the CROSSPT_PRETRAINED '
                f'environment variable that the benchmark configs read; the *_scratch '
                f'configs train without one')
        source = f'Pretrained checkpoint {self.checkpoint}'
        # official TAP files (URL or local) arrive converted to crosspt names
        state = extract_state_dict(load_checkpoint_any(self.checkpoint, self.map_location),
                                   self.prefix, source)
        absent = [k for k in self.ignore_keys if k not in state]
        if absent:
            raise KeyError(f'{source}: ignore_keys {absent} are not keys of the checkpoint '
                           f'(after prefix {self.prefix!r}; e.g. {sorted(state)[:3]})')
        if self.ignore_keys:
            print_log(f'{source}: not loading {self.ignore_keys} (ignore_keys)',
                      logger='current')
            state = {k: v for k, v in state.items() if k not in self.ignore_keys}
        own = module.state_dict()
        matched = [k for k in state if k in own]
        if not matched:
            raise KeyError(
                f'{source} loads nothing into {type(module).__name__}: none of its '
                f'{len(state)} keys (e.g. {sorted(state)[:3]}) is a parameter name of the '
                f'module (e.g. {sorted(own)[:3]}); check prefix={self.prefix!r}')
        wrong = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
                 for k in matched if state[k].shape != own[k].shape]
        if wrong:
            raise ValueError(f'{source}: shape mismatch for ' + '; '.join(wrong[:10]))
        module.load_state_dict({k: state[k] for k in matched}, strict=False)
        missing = sorted(set(own) - set(matched))
        unexpected = sorted(set(state) - set(own))
        print_log(f'{source} (prefix {self.prefix!r}) -> {type(module).__name__}: loaded '
                  f'{len(matched)}/{len(own)} tensors; missing {len(missing)}'
                  + (f' {missing[:20]}' if missing else '') + f'; unexpected {len(unexpected)}'
                  + (f' {unexpected[:20]}' if unexpected else ''), logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())
