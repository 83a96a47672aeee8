"""RNGStateHook on a toy mmengine run (in process, seconds): resume from an epoch or a
mid-run iteration checkpoint ends with the weights of the uninterrupted run, with data
augmentation in the main process or in (persistent) workers, dropout in the model and a
validation pass that draws random numbers between checkpoints.  The same runs without
restoring the states differ (so the comparison can fail).  Also: the states survive the
``weights_only`` loader, and a resumed rank takes its own state.
"""
import itertools
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from crosspt.engine import load_checkpoint_file
from crosspt.engine.hooks import RNGStateHook, capture_rng_state, restore_rng_state
from crosspt.engine.hooks import rng_state_hook

_names = itertools.count()


class AugmentedSet(Dataset):
    """12 samples of 4 values; every fetch adds noise from all three CPU generators."""

    def __len__(self) -> int:
        return 12

    def __getitem__(self, index: int) -> dict:
        noise = np.random.normal(size=4) + random.random() + torch.rand(4).numpy()
        inputs = torch.arange(4, dtype=torch.float32) * (index + 1) / 12 + torch.from_numpy(
            noise).float()
        return dict(inputs=inputs, target=torch.tensor([index % 3], dtype=torch.float32))


class DropoutRegressor(BaseModel):
    """(B, 4) -> (B, 1) through dropout (draws from torch's CPU generator)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1))

    def forward(self, inputs, target, mode='tensor'):
        out = self.net(inputs)
        if mode == 'loss':
            return dict(loss=((out - target) ** 2).mean())
        return [dict(out=o) for o in out]


class DrawingMetric(BaseMetric):
    """Validation that consumes random numbers (as a random val transform would)."""

    def process(self, data_batch, data_samples) -> None:
        self.results.append(float(torch.rand(1)) + np.random.rand() + random.random())

    def compute_metrics(self, results) -> dict:
        return dict(score=float(np.mean(results)))


def loader(num_workers: int) -> dict:
    return dict(dataset=AugmentedSet(), batch_size=3, num_workers=num_workers,
                persistent_workers=num_workers > 0,
                sampler=dict(type='DefaultSampler', shuffle=True),
                collate_fn=dict(type='default_collate'))


def train(work_dir, loop: str, length: int, num_workers: int, restore: bool = True,
          resume_from=None, restart_workers: bool = True, seed=0) -> dict:
    """One run with RNGStateHook(restore, restart_workers); returns the final weights.
    ``loop``: 'epoch' (``length`` epochs, a checkpoint each) or 'iter' (``length``
    iterations, 4 per pass over the data, a checkpoint each)."""
    if loop == 'epoch':
        train_cfg = dict(by_epoch=True, max_epochs=length, val_interval=1)
    else:
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=length, val_interval=3)
    torch.manual_seed(0)                          # the same initial weights
    runner = Runner(
        model=DropoutRegressor(), work_dir=str(work_dir), experiment_name=f'rng{next(_names)}',
        train_dataloader=loader(num_workers), val_dataloader=loader(0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.5)),
        train_cfg=train_cfg, val_cfg=dict(), val_evaluator=[DrawingMetric()],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1,
                                           by_epoch=loop == 'epoch', max_keep_ckpts=-1),
                           logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=[RNGStateHook(restore=restore, restart_persistent_workers=restart_workers)],
        randomness=dict(seed=seed, deterministic=True),
        resume=resume_from is not None, load_from=resume_from,
        env_cfg=dict(mp_cfg=dict(mp_start_method='fork')), log_level='WARNING')
    runner.train()
    # stop persistent workers now: left to the garbage collector, that takes ~20 s
    rng_state_hook._shutdown_workers(runner.train_loop.dataloader)
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


@pytest.fixture(autouse=True)
def no_restart_pause(monkeypatch):
    """mmengine sleeps 2 s whenever an iteration loop restarts its data loader."""
    import mmengine.runner.loops
    monkeypatch.setattr(mmengine.runner.loops, 'time', SimpleNamespace(sleep=lambda _: None))


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize('loop, length, resume_at, num_workers', [
    ('epoch', 2, 'epoch_1.pth', 0),      # augmentation in the main process
    ('epoch', 2, 'epoch_1.pth', 2),      # in 2 persistent workers
    ('iter', 7, 'iter_6.pth', 0),        # mid-pass (6 = 4 + 2), after a loader restart
    ('iter', 7, 'iter_5.pth', 2),
])
def test_resume_is_exact(tmp_path, loop, length, resume_at, num_workers):
    reference = train(tmp_path / 'a', loop, length, num_workers)
    checkpoint = str(tmp_path / 'a' / resume_at)
    assert same(train(tmp_path / 'b', loop, length, num_workers, resume_from=checkpoint),
                reference)
    # the control: the same resume without restoring the states does not reproduce it
    assert not same(train(tmp_path / 'c', loop, length, num_workers, restore=False,
                          resume_from=checkpoint), reference)


@pytest.mark.parametrize('loop, length, resume_at', [('epoch', 2, 'epoch_1.pth'),
                                                    ('iter', 7, 'iter_5.pth')])
def test_resume_of_a_run_with_a_random_seed_is_exact(tmp_path, loop, length, resume_at):
    """randomness.seed=None: mmengine draws the seed, the sampler's and the workers' seeds
    anew in each run; the hook gives the resumed loader the checkpoint's."""
    np.random.seed(1)
    reference = train(tmp_path / 'a', loop, length, 2, seed=None)
    np.random.seed(2)                                 # another drawn seed
    resumed = train(tmp_path / 'b', loop, length, 2, seed=None,
                    resume_from=str(tmp_path / 'a' / resume_at))
    assert same(resumed, reference)


def test_persistent_workers_must_restart_for_an_exact_resume(tmp_path):
    """A persistent worker's RNG carries over epochs and is not in the checkpoint."""
    reference = train(tmp_path / 'a', 'epoch', 2, 2, restart_workers=False)
    resumed = train(tmp_path / 'b', 'epoch', 2, 2, restart_workers=False,
                    resume_from=str(tmp_path / 'a' / 'epoch_1.pth'))
    assert not same(resumed, reference)


def draws() -> tuple:
    return (random.random(), random.gauss(0, 1), np.random.normal(size=3).tolist(),
            np.random.normal(), torch.randn(3).tolist())


def test_states_round_trip_through_the_weights_only_loader(tmp_path):
    random.gauss(0, 1), np.random.normal()          # leave cached Gaussians behind
    state = capture_rng_state()
    torch.save({'rng_state': {'ranks': {0: state}}}, tmp_path / 'c.pth')
    expected = draws()
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    restore_rng_state(load_checkpoint_file(str(tmp_path / 'c.pth'))['rng_state']['ranks'][0])
    assert draws() == expected


class Log:
    def __init__(self) -> None:
        self.warnings, self.infos = [], []

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def info(self, message: str) -> None:
        self.infos.append(message)


def resumed_runner(tmp_path) -> SimpleNamespace:
    """A built epoch loop (3 iterations per epoch at batch 4) behind a runner stand-in."""
    runner = Runner(model=DropoutRegressor(), work_dir=str(tmp_path),
                    experiment_name=f'rng{next(_names)}',
                    train_dataloader=dict(loader(0), batch_size=4),
                    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
                    train_cfg=dict(by_epoch=True, max_epochs=3), log_level='WARNING')
    loop = runner.train_loop
    return SimpleNamespace(_resume=True, _train_loop=loop, train_loop=loop, logger=Log())


def stored(world_size: int) -> dict:
    states = {}
    for rank in range(world_size):
        torch.manual_seed(100 + rank)
        states[rank] = dict(capture_rng_state(), sampler_seed=-1, worker_seed=-1)
    return {'meta': {'epoch': 2, 'iter': 6},
            'rng_state': {'version': 1, 'loop': 'epoch', 'step': 2,
                          'world_size': world_size, 'ranks': states}}


def test_each_rank_restores_its_own_state(tmp_path, monkeypatch):
    runner = resumed_runner(tmp_path)
    checkpoint = stored(world_size=2)               # rank r's torch state: seed 100 + r
    monkeypatch.setattr(rng_state_hook, 'get_rank', lambda: 1)
    monkeypatch.setattr(rng_state_hook, 'get_world_size', lambda: 2)
    hook = RNGStateHook()
    torch.manual_seed(0)
    hook.after_load_checkpoint(runner, checkpoint)
    assert runner.logger.warnings == []
    hook.before_train_epoch(runner)                # the resumed epoch starts here
    drawn = torch.rand(5)
    assert torch.equal(drawn, torch.rand(5, generator=torch.Generator().manual_seed(101)))
    assert not torch.equal(drawn, torch.rand(5, generator=torch.Generator().manual_seed(100)))


def test_world_size_change_and_missing_states_are_reported(tmp_path, monkeypatch):
    runner = resumed_runner(tmp_path)
    hook = RNGStateHook()
    hook.after_load_checkpoint(runner, stored(world_size=2))      # this run: 1 process
    assert any('written by 2 process(es), this run has 1' in w for w in runner.logger.warnings)
    monkeypatch.setattr(rng_state_hook, 'get_rank', lambda: 3)
    monkeypatch.setattr(rng_state_hook, 'get_world_size', lambda: 4)
    runner.logger = Log()
    hook.after_load_checkpoint(runner, stored(world_size=2))
    assert any('no RNG state for rank 3 (ranks [0, 1])' in w for w in runner.logger.warnings)
    runner.logger = Log()
    monkeypatch.setattr(rng_state_hook, 'get_world_size', lambda: 2)
    monkeypatch.setattr(rng_state_hook, 'get_rank', lambda: 0)
    mid_epoch = stored(world_size=2)
    mid_epoch['meta']['iter'] = 5                     # epoch 2 ends at iteration 6
    hook.after_load_checkpoint(runner, mid_epoch)
    assert any('middle of epoch 3 (iter 5)' in w for w in runner.logger.warnings)
    runner.logger = Log()
    hook.after_load_checkpoint(runner, {'meta': {'epoch': 2, 'iter': 6}})
    assert any("no 'rng_state'" in w for w in runner.logger.warnings)
    # a checkpoint whose state belongs to another resume point is not applied
    runner.logger = Log()
    wrong = stored(world_size=4)
    wrong['meta']['epoch'] = 1
    hook._pending = None
    hook.after_load_checkpoint(runner, wrong)
    assert hook._pending is None and 'does not belong' in runner.logger.warnings[0]


def test_load_from_without_resume_restores_nothing(tmp_path):
    runner = resumed_runner(tmp_path)
    runner._resume = False
    hook = RNGStateHook()
    hook.after_load_checkpoint(runner, stored(world_size=1))
    assert hook._pending is None and runner.logger.warnings == []


def test_iteration_loops_gather_all_ranks_only_before_a_checkpoint(tmp_path, monkeypatch):
    """2 ranks, checkpoints every 3 iterations: the (collective) gather runs after
    iterations 3 and 6 only; in between a checkpoint would hold this rank's state."""
    runner = Runner(model=DropoutRegressor(), work_dir=str(tmp_path),
                    experiment_name=f'rng{next(_names)}', train_dataloader=loader(0),
                    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
                    train_cfg=dict(type='IterBasedTrainLoop', max_iters=8),
                    default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False,
                                                       interval=3)),
                    log_level='WARNING')
    gathered = []
    monkeypatch.setattr(rng_state_hook, 'get_world_size', lambda: 2)
    monkeypatch.setattr(rng_state_hook, 'get_rank', lambda: 0)
    monkeypatch.setattr(rng_state_hook, 'all_gather_object',
                        lambda state: gathered.append(runner.iter + 1) or [state, state])
    hook = RNGStateHook()
    ranks = {}
    for index in range(8):
        runner.train_loop._iter = index
        hook.after_train_iter(runner, index)
        entry = {}
        hook.before_save_checkpoint(runner, entry)
        assert entry['rng_state']['step'] == index + 1
        ranks[index + 1] = sorted(entry['rng_state']['ranks'])
    assert gathered == [3, 6, 8]                      # 8: the last iteration (save_last)
    assert ranks == {1: [0], 2: [0], 3: [0, 1], 4: [0], 5: [0], 6: [0, 1], 7: [0],
                     8: [0, 1]}
