"""tools/train.py --resume is bit-exact: a seeded, deterministic CPU run interrupted after
an epoch checkpoint and resumed (``--resume CKPT``) ends with the weights of the
uninterrupted run, tensor for tensor.

The config is configs/tap/benchmarks/pointmlp_ft_modelnet40_synthetic.py shrunk in a
config file the test writes: random scaling, translation and shuffling in 2 persistent
data workers, dropout in the head, validation (which draws a loader seed from torch's
generator) after every epoch.  The "interrupted" run is the uninterrupted run's first
epoch (same seed, schedule and data on a deterministic run): the resumed run starts in a
new work dir from its epoch-1 checkpoint.  The runs use 2 gloo processes
(tools/dist_train.sh): each rank's states are stored and each rank restores its own.

Covered elsewhere, in process (seconds instead of a minute of tools/train.py runs):
the same resume on one process and the control (``RNGStateHook(restore=False)`` must
differ, so the comparison can fail), for epoch and iteration loops, with and without data
workers: tests/test_engine/test_rng_state_hook.py; ``--resume`` on one process with an
explicit path and without one (the work dir's latest checkpoint):
tests/test_tools/test_train_tap.py.
"""
import re
from pathlib import Path

import pytest
import torch

from crosspt.engine import load_checkpoint_file
from tool_runner import run

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / 'configs/tap/benchmarks/pointmlp_ft_modelnet40_synthetic.py'
EPOCHS = 2

pytestmark = pytest.mark.slow


def write_config(tmp_path: Path) -> Path:
    """The shrunk config: 8 training clouds (1 per class) of 256 points with the
    recipe's augmentations, batch 4, 2 epochs of cosine schedule, seed 0, deterministic."""
    data = {'data_root': str(tmp_path / 'modelnet40'),
            'auto_generate': {'seed': 0, 'num_train_per_class': 1, 'num_test_per_class': 1}}
    config = tmp_path / 'resume_exact.py'
    config.write_text(f'''_base_ = [{str(BASE)!r}]
train_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='TakeFirstPoints', num_points=256),
    dict(type='ComputeHeight', gravity_dim=1),
    dict(type='RandomPointScaling', scale=(2 / 3, 3 / 2), anisotropic=True),
    dict(type='RandomTranslate', shift=0.2),
    dict(type='ShufflePoints'),
    dict(type='PackPointClsInputs', feature_keys=('points', 'height')),
]
test_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='TakeFirstPoints', num_points=256),
    dict(type='ComputeHeight', gravity_dim=1),
    dict(type='PackPointClsInputs', feature_keys=('points', 'height')),
]
train_dataloader = dict(batch_size=4, dataset=dict(**{data!r}, pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, dataset=dict(**{data!r}, pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(backbone=dict(init_cfg=None, k_neighbors=(8, 8, 8, 8)))
param_scheduler = [dict(type='CosineAnnealingLR', T_max={EPOCHS}, eta_min=1e-6, by_epoch=True,
                        begin=0, end={EPOCHS})]
train_cfg = dict(max_epochs={EPOCHS}, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=5, save_best=None, rule=None),
                     logger=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
''')
    return config


def weights(path: Path) -> dict:
    return load_checkpoint_file(str(path))['state_dict']


def test_distributed_resume_restores_each_ranks_states(tmp_path):
    """2 processes: the data split, augmentation and dropout differ by rank
    (diff_rank_seed); DDP keeps the weights equal across ranks, so rank 0's checkpoint
    shows whether both ranks continued their own streams."""
    config = write_config(tmp_path)

    def dist_train(work_dir: Path, *extra: str) -> str:
        return run(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir',
                    str(work_dir), *extra])

    dist_train(tmp_path / 'a')
    # the run "interrupted" after epoch 1 is the reference's first epoch (same seed,
    # schedule and data, deterministic): its checkpoint is a/epoch_1.pth
    output = dist_train(tmp_path / 'b', '--resume', str(tmp_path / 'a' / 'epoch_1.pth'))
    assert re.search(r'resumed epoch: 1, iter: 1', output), output[-3000:]
    assert 'RNGStateHook: restored the RNG states of rank 0 at epoch 1' in output
    reference = weights(tmp_path / 'a' / f'epoch_{EPOCHS}.pth')
    resumed = weights(tmp_path / 'b' / f'epoch_{EPOCHS}.pth')
    differing = [k for k in reference if not torch.equal(resumed[k], reference[k])]
    assert not differing, f'{len(differing)} tensors differ, e.g. {differing[:5]}'
    stored = load_checkpoint_file(str(tmp_path / 'a' / 'epoch_1.pth'))['rng_state']
    assert stored['world_size'] == 2 and set(stored['ranks']) == {0, 1}
    assert not torch.equal(stored['ranks'][0]['torch'], stored['ranks'][1]['torch'])
