"""A Runner that loads checkpoints strictly (``load_from``, ``--resume``, tools/test.py).

mmengine's Runner loads ``load_from`` with ``strict=False`` and only prints the key
mismatch, so a checkpoint of another model is evaluated or fine-tuned from mostly random
weights.  :class:`CrossptRunner` refuses any missing, unexpected or mis-shaped tensor
with an error naming the checkpoint file and listing the keys.  Partial loading is an
explicit choice: ``load_strict = False`` in the config (``--partial-load`` on
tools/train.py and tools/test.py); the matching tensors are then loaded and the key
report is logged at WARNING level.  ``Pretrained`` init_cfgs (backbone weights for
fine-tuning) are not affected: see :mod:`crosspt.models.weight_init`.

With more than one process, the config key ``sync_bn`` picks the BatchNorm
synchronisation (:func:`check_sync_bn`): ``'crosspt'`` (the default runtime's value)
swaps every dense BatchNorm and SR-UNet's ``SparseBatchNorm`` for crosspt's
:class:`~crosspt.ops.SyncBatchNorm` / :class:`~crosspt.ops.SparseSyncBatchNorm` (gloo
and NCCL); ``None`` keeps per-process BatchNorm; ``'torch'`` / ``'mmcv'`` are mmengine's.
"""
import re
from collections import OrderedDict
from typing import Callable, Dict, Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

from crosspt.engine.config_text import with_compact_text
from crosspt.models.checkpoint_loading import (CheckpointMismatchError, compare_state_dicts,
                                               format_key_report, mismatched_keys)
from crosspt.ops.sparse_conv import SparseBatchNorm
from crosspt.ops.sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm

#: accepted values of the ``sync_bn`` config key
SYNC_BN_CHOICES = ('crosspt', 'torch', 'mmcv', None)
PARTIAL_HINT = ('pass --partial-load to tools/train.py or tools/test.py (config: '
                'load_strict = False) to load only the matching tensors')


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model whose ``state_dict`` a checkpoint holds: without DDP / TTA wrappers."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def extract_model_state(checkpoint: dict, revise_keys: Sequence) -> 'OrderedDict':
    """``checkpoint['state_dict']`` (or the checkpoint itself) with ``revise_keys``
    ``(pattern, replacement)`` applied to every key, keeping torch's ``_metadata``."""
    state = checkpoint.get('state_dict', checkpoint)
    metadata = getattr(state, '_metadata', OrderedDict())
    for pattern, replacement in revise_keys:
        state = OrderedDict((re.sub(pattern, replacement, k), v) for k, v in state.items())
    state = OrderedDict(state)
    state._metadata = metadata
    return state


@RUNNERS.register_module()
class CrossptRunner(Runner):
    """mmengine ``Runner`` whose checkpoint loading is strict unless ``load_strict`` is
    False (config key of the same name).  Everything else is mmengine's, including
    ``resume`` (optimizer, schedulers, message hub, ``after_load_checkpoint`` hooks)."""

    def __init__(self, *args, load_strict: bool = True, **kwargs) -> None:
        if isinstance(kwargs.get('cfg'), Config):   # laid out without yapf (docs there)
            kwargs['cfg'] = with_compact_text(kwargs['cfg'])
        super().__init__(*args, **kwargs)
        self.load_strict = _check_load_strict(load_strict)
        self._resuming = False

    @classmethod
    def from_cfg(cls, cfg: Union[dict, Config]) -> 'CrossptRunner':
        """mmengine's ``Runner.from_cfg`` plus the ``load_strict`` key (default True)."""
        load_strict = _check_load_strict(cfg.get('load_strict', True))
        runner = super().from_cfg(cfg)
        runner.load_strict = load_strict
        return runner

    def wrap_model(self, model_wrapper_cfg: Optional[Dict], model: nn.Module) -> nn.Module:
        """mmengine's wrapping, after converting BatchNorms to crosspt's synchronised
        layers when ``sync_bn == 'crosspt'`` and the run has more than one process."""
        sync_bn = self.cfg.get('sync_bn', None)
        check_sync_bn(sync_bn, model, self.distributed)
        if sync_bn != 'crosspt' or not self.distributed or is_model_wrapper(model):
            return super().wrap_model(model_wrapper_cfg, model)
        model = convert_sync_batchnorm(model)
        count = sum(isinstance(m, SyncBatchNorm) for m in model.modules())
        self.logger.info(f"sync_bn='crosspt': {count} BatchNorm layers normalise with the "
                         f'statistics of all {self.world_size} processes')
        self.cfg['sync_bn'] = None              # mmengine's own conversion must not run
        try:
            return super().wrap_model(model_wrapper_cfg, model)
        finally:
            self.cfg['sync_bn'] = sync_bn

    def resume(self, filename: str, *args, **kwargs) -> None:
        """mmengine's resume, refusing checkpoints without training state first."""
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(self, filename: str, map_location: Union[str, Callable] = 'cpu',
                        strict: bool = None, revise_keys: list = [(r'^module.', '')]
                        ) -> dict:
        """Load ``filename`` into the model; ``strict`` None means ``self.load_strict``.

        Returns the whole checkpoint (``resume`` reads its optimizer and meta).
        Raises :class:`CheckpointMismatchError` listing the keys when strict and the
        tensors do not fit, or when no tensor fits at all.
        """
        strict = self.load_strict if strict is None else strict
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        if not isinstance(checkpoint, dict):
            raise CheckpointMismatchError(f'checkpoint {filename} holds a '
                                          f'{type(checkpoint).__name__}, not a dict')
        if self._resuming:
            _check_training_state(checkpoint, filename)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = unwrap_model(self.model)
        state = extract_model_state(checkpoint, revise_keys)
        self._load_state(model, state, filename, strict)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def _load_state(self, model: nn.Module, state: 'OrderedDict', filename: str,
                    strict: bool) -> None:
        """Check ``state`` against ``model`` and load the fitting tensors."""
        own = model.state_dict()
        report = compare_state_dicts(own, state)
        where = f'checkpoint {filename} -> {type(model).__name__}'
        if strict and any(report.values()):
            raise CheckpointMismatchError(
                f'{where}: the checkpoint does not fit the model (strict loading):\n'
                f'{format_key_report(report)}\nUse a checkpoint of this config, or '
                f'{PARTIAL_HINT}.')
        wrong = set(mismatched_keys(own, state))
        fitting = OrderedDict((k, v) for k, v in state.items() if k in own and k not in wrong)
        fitting._metadata = state._metadata
        if not fitting:
            raise CheckpointMismatchError(
                f'{where}: no tensor of the checkpoint fits the model, even with partial '
                f'loading:\n{format_key_report(report)}\nWrong config for this checkpoint?')
        model.load_state_dict(fitting, strict=False)
        if any(report.values()):
            self.logger.warning(
                f'{where}: partial loading (load_strict=False), loaded {len(fitting)}/'
                f'{len(own)} tensors; the rest keep their initial values:\n'
                f'{format_key_report(report)}')
        else:
            self.logger.info(f'{where}: loaded all {len(fitting)} tensors')


def _check_load_strict(value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f'load_strict must be True or False, got {value!r} '
                        f'({type(value).__name__})')
    return value


def check_sync_bn(sync_bn, model: nn.Module, distributed: bool = True) -> None:
    """Refuse a ``sync_bn`` value that is unknown or, in a ``distributed`` run, cannot run
    ``model``: mmengine's ``'torch'`` / ``'mmcv'`` layers take no SparseTensor, and
    torch's one needs CUDA."""
    if sync_bn not in SYNC_BN_CHOICES:
        raise ValueError(f'config key sync_bn: expected one of {SYNC_BN_CHOICES}, got '
                         f'{sync_bn!r}')
    if sync_bn not in ('torch', 'mmcv') or not distributed:
        return
    sparse = [name for name, m in model.named_modules() if isinstance(m, SparseBatchNorm)]
    if sparse:
        raise ValueError(f'config key sync_bn={sync_bn!r}: the model has SparseBatchNorm '
                         f'layers (e.g. {sparse[0]}), which {sync_bn}\'s SyncBatchNorm cannot '
                         f"take; use sync_bn='crosspt' (or None for per-process BatchNorm)")
    if sync_bn == 'torch' and not torch.cuda.is_available():
        raise ValueError("config key sync_bn='torch': torch.nn.SyncBatchNorm runs on CUDA "
                         "only; use sync_bn='crosspt' (gloo and NCCL)")


def _check_training_state(checkpoint: dict, filename: str) -> None:
    """Refuse to resume from a file without mmengine's training state."""
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), dict) else {}
    absent = [f'meta.{key}' for key in ('epoch', 'iter') if key not in meta]
    if 'message_hub' not in checkpoint:
        absent.append('message_hub')
    if absent:
        raise KeyError(
            f'cannot resume from {filename}: it has no {", ".join(absent)}, so it is not a '
            f'training checkpoint written by tools/train.py (work_dir/epoch_N.pth). To '
            f'start a new training run from its weights, use --cfg-options '
            f'load_from={filename} instead of --resume')


def build_runner(cfg: Config) -> Runner:
    """The config's ``runner_type`` if it names one, else :class:`CrossptRunner`."""
    if cfg.get('runner_type'):
        runner = RUNNERS.build(cfg)
        if not isinstance(runner, CrossptRunner):
            runner.logger.warning(
                f'runner_type={cfg.runner_type!r} is not a CrossptRunner subclass: '
                f'checkpoints are loaded with mmengine\'s non-strict loading')
        return runner
    return CrossptRunner.from_cfg(cfg)


__all__ = ['CrossptRunner', 'CheckpointMismatchError', 'build_runner', 'check_sync_bn',
           'compare_state_dicts', 'format_key_report']
