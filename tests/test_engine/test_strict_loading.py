"""Strict checkpoint loading of CrossptRunner (load_from, resume) and its explicit
partial mode, on a tiny model and checkpoints written here."""
import logging
from typing import List

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel, BaseTTAModel
from mmengine.registry import MODELS
from torch import nn
from torch.utils.data import DataLoader

from crosspt.engine import CheckpointMismatchError, CrossptRunner, build_runner
from crosspt.engine.checkpoint import load_checkpoint_file

NUM_LAYERS = 12


class TinyModel(BaseModel):
    """``NUM_LAYERS`` Linear(2, 2) layers and a BatchNorm: inputs (B, 2) -> (B, 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(NUM_LAYERS))
        self.norm = nn.BatchNorm1d(2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = self.norm(inputs)
        for layer in self.layers:
            x = layer(x)
        return dict(loss=x.pow(2).mean()) if mode == 'loss' else x


MODELS.register_module(name='StrictLoadingTinyModel', module=TinyModel, force=True)


class TinyTTA(BaseTTAModel):
    """A test-time-augmentation wrapper (tools/test.py --tta) around a model."""

    def merge_preds(self, data_samples_list):
        return data_samples_list[0]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _loader() -> DataLoader:
    gen = torch.Generator().manual_seed(0)
    data = [torch.randn(2, generator=gen) for _ in range(8)]
    return DataLoader(data, batch_size=4, shuffle=False,
                      collate_fn=lambda batch: dict(inputs=torch.stack(batch)))


def _runner(tmp_path, name: str, model=None, max_epochs: int = 0, **kwargs):
    """A CrossptRunner in ``tmp_path/name``; with ``max_epochs`` able to train (SGD with
    momentum, 2 iterations an epoch, a checkpoint every epoch)."""
    train = dict(train_dataloader=_loader(), train_cfg=dict(by_epoch=True,
                                                            max_epochs=max_epochs),
                 optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
                 default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1))
                 ) if max_epochs else {}
    if model is None:
        torch.manual_seed(0)   # the same initial weights in every run
        model = TinyModel()
    runner = CrossptRunner(model=model, work_dir=str(tmp_path / name),
                           experiment_name=f'{name}_{tmp_path.name}', randomness=dict(seed=0),
                           **train, **kwargs)
    runner.records = _Records()
    runner.logger.addHandler(runner.records)
    return runner


def _mismatched_state(own: dict) -> dict:
    """``own`` without layers 0-5 (12 keys) and the BN counter, with 11 extra keys and
    ``layers.7.weight`` of shape (3, 2)."""
    state = {k: v.clone() + 1 for k, v in own.items() if not k.startswith(
        tuple(f'layers.{i}.' for i in range(6))) and 'num_batches_tracked' not in k}
    for i in range(11):
        state[f'extra.{i}'] = torch.zeros(1)
    state['layers.7.weight'] = torch.zeros(3, 2)
    return state


def test_strict_load_lists_every_kind_of_mismatch(tmp_path):
    runner = _runner(tmp_path, 'strict')
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    path = tmp_path / 'other_model.pth'
    torch.save(dict(state_dict=_mismatched_state(before)), path)
    with pytest.raises(CheckpointMismatchError) as info:
        runner.load_checkpoint(str(path))
    message = str(info.value)
    missing = sorted(f'layers.{i}.{p}' for i in range(6) for p in ('weight', 'bias'))
    unexpected = sorted(f'extra.{i}' for i in range(11))
    assert str(path) in message and '--partial-load' in message
    assert 'missing in the checkpoint: 12 (first 10): ' + ', '.join(missing[:10]) in message
    assert missing[10] not in message and missing[11] not in message
    assert 'unexpected (not in the model): 11 (first 10): ' + ', '.join(unexpected[:10]) \
        in message and unexpected[10] not in message
    assert 'shape mismatch: 1: layers.7.weight: checkpoint (3, 2) vs model (2, 2)' in message
    assert 'num_batches_tracked' not in message
    for key, value in runner.model.state_dict().items():   # nothing was loaded
        assert torch.equal(value, before[key]), key


def test_partial_load_from_config_loads_what_fits_and_warns(tmp_path):
    cfg = Config(dict(model=dict(type='StrictLoadingTinyModel'), work_dir=str(tmp_path / 'p'),
                      experiment_name='partial_cfg', load_strict=False))
    runner = build_runner(cfg)
    assert isinstance(runner, CrossptRunner) and runner.load_strict is False
    records = _Records()
    runner.logger.addHandler(records)
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    state = _mismatched_state(before)
    path = tmp_path / 'other_model.pth'
    torch.save(dict(state_dict=state), path)
    runner.load_checkpoint(str(path))
    after = runner.model.state_dict()
    for key in after:
        fits = key in state and state[key].shape == before[key].shape
        expected = state[key] if fits else before[key]
        assert torch.equal(after[key], expected), key
    assert torch.equal(after['layers.11.bias'], before['layers.11.bias'] + 1)
    warnings = [r.getMessage() for r in records.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    # 29 model tensors; fitting: layers 6-11 (12) but layers.7.weight, and 4 of the BN
    assert str(path) in warnings[0] and 'loaded 15/29 tensors' in warnings[0]
    assert 'missing in the checkpoint: 12' in warnings[0]
    assert 'shape mismatch: 1: layers.7.weight' in warnings[0]


def test_partial_load_of_nothing_is_still_an_error(tmp_path):
    runner = _runner(tmp_path, 'nothing', load_strict=False)
    path = tmp_path / 'unrelated.pth'
    torch.save(dict(state_dict={'encoder.w': torch.ones(3)}), path)
    with pytest.raises(CheckpointMismatchError, match='no tensor of the checkpoint fits'):
        runner.load_checkpoint(str(path))


def test_load_strict_must_be_a_bool(tmp_path):
    cfg = Config(dict(model=dict(type='StrictLoadingTinyModel'), work_dir=str(tmp_path),
                      load_strict='False'))
    with pytest.raises(TypeError, match="load_strict must be True or False, got 'False'"):
        CrossptRunner.from_cfg(cfg)
    assert isinstance(build_runner(Config(dict(
        runner_type='CrossptRunner', model=dict(type='StrictLoadingTinyModel'),
        work_dir=str(tmp_path / 'r'), experiment_name='by_type'))), CrossptRunner)


def test_fitting_checkpoint_loads_into_plain_and_tta_models(tmp_path):
    source = TinyModel()
    for p in source.parameters():
        nn.init.uniform_(p)
    # DDP-style 'module.' prefix is removed as in mmengine
    state = {f'module.{k}': v for k, v in source.state_dict().items()}
    path = tmp_path / 'fits.pth'
    torch.save(dict(state_dict=state), path)
    for name, model in (('plain', TinyModel()), ('tta', TinyTTA(module=TinyModel()))):
        runner = _runner(tmp_path, name, model=model)
        runner.load_checkpoint(str(path))
        inner = model.module if name == 'tta' else model
        for key, value in source.state_dict().items():
            assert torch.equal(inner.state_dict()[key], value), (name, key)
        assert not [r for r in runner.records.records if r.levelno >= logging.WARNING]


@pytest.fixture
def trained(tmp_path):
    """epoch_1.pth of one epoch (2 SGD-momentum iterations) and the weights of an
    uninterrupted 2-epoch run of the same schedule."""
    runner = _runner(tmp_path, 'first', max_epochs=1)
    runner.train()
    full = _runner(tmp_path, 'full', max_epochs=2)
    full.train()
    return tmp_path / 'first' / 'epoch_1.pth', full.model.state_dict()


def test_resume_restores_model_optimizer_and_loop(trained, tmp_path):
    ckpt, reference = trained
    runner = _runner(tmp_path, 'resumed', max_epochs=2, resume=True, load_from=str(ckpt))
    runner.train()
    assert (runner.train_loop.epoch, runner.train_loop.iter) == (2, 4)
    # equal to the uninterrupted run only if the momentum buffers were restored as well
    for key, value in runner.model.state_dict().items():
        assert torch.allclose(value, reference[key], atol=1e-7), key


def test_resume_is_strict(trained, tmp_path):
    ckpt, _ = trained
    checkpoint = load_checkpoint_file(str(ckpt))
    checkpoint['state_dict']['layers.3.weight'] = torch.zeros(4, 2)
    del checkpoint['state_dict']['layers.0.bias']
    bad = tmp_path / 'epoch_1_edited.pth'
    torch.save(checkpoint, bad)
    runner = _runner(tmp_path, 'strict_resume', max_epochs=2, resume=True, load_from=str(bad))
    with pytest.raises(CheckpointMismatchError) as info:
        runner.train()
    assert str(bad) in str(info.value) and 'layers.0.bias' in str(info.value)
    assert 'layers.3.weight: checkpoint (4, 2) vs model (2, 2)' in str(info.value)

    del checkpoint['state_dict']['layers.3.weight']   # shapes fit; one tensor missing
    torch.save(checkpoint, bad)
    runner = _runner(tmp_path, 'partial_resume', max_epochs=2, resume=True,
                     load_from=str(bad), load_strict=False)
    runner.train()
    assert runner.train_loop.iter == 4
    warnings = [r.getMessage() for r in runner.records.records if r.levelno == logging.WARNING
                and str(bad) in r.getMessage()]
    assert len(warnings) == 1 and 'layers.0.bias, layers.3.weight' in warnings[0]


def test_resume_needs_a_training_checkpoint(trained, tmp_path):
    ckpt, _ = trained
    weights = tmp_path / 'weights_only.pth'
    torch.save(dict(state_dict=load_checkpoint_file(str(ckpt))['state_dict']), weights)
    runner = _runner(tmp_path, 'no_state', max_epochs=2, resume=True, load_from=str(weights))
    with pytest.raises(KeyError, match='not a training checkpoint') as info:
        runner.train()
    assert str(weights) in str(info.value) and 'load_from' in str(info.value)
