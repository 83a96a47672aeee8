"""The ``sync_bn`` config key: CrossptRunner on 2 gloo CPU processes converts dense and
sparse BatchNorms to crosspt's synchronised layers with ``sync_bn='crosspt'`` (the default
runtime's value, which every config inherits) and leaves them with ``sync_bn=None``;
mmengine's ``'torch'`` conversion is refused for models with SparseBatchNorm or without
CUDA, and unknown values always.
"""
import argparse
import os.path as osp

import pytest
import torch
from mmengine.config import Config, DictAction
from torch import nn

from crosspt.engine.runner import CrossptRunner, check_sync_bn
from crosspt.ops import SparseBatchNorm, SparseSyncBatchNorm, SyncBatchNorm
from crosspt.utils import load_tool_config
from dist_spawn import run_ranks

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.head = nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4))
        self.sparse_bn = SparseBatchNorm(4)


SETTINGS = {'crosspt': [SyncBatchNorm, SyncBatchNorm, SparseSyncBatchNorm],
            None: [nn.BatchNorm1d, nn.BatchNorm2d, SparseBatchNorm]}


def runner_worker(rank: int, work_dir: str) -> list:
    """One CrossptRunner per ``sync_bn`` setting; what it made of TinyNet's BatchNorms."""
    results = []
    for i, sync_bn in enumerate(SETTINGS):
        model = TinyNet()
        runner = CrossptRunner(
            model=model, work_dir=osp.join(work_dir, str(i)), launcher='pytorch',
            cfg=dict(sync_bn=sync_bn, model_wrapper_cfg=dict(
                type='MMDistributedDataParallel', device_ids=None)))
        inner = runner.model.module
        results.append(dict(
            wrapper=type(runner.model).__name__,
            types=[type(m).__name__ for m in (inner.bn, inner.head[1], inner.sparse_bn)],
            same_weight=bool(inner.bn.weight is model.bn.weight),
            cfg_sync_bn=str(runner.cfg.sync_bn)))
    return results


def test_runner_converts_batchnorms_on_two_processes(tmp_path):
    ranks = run_ranks(runner_worker, (str(tmp_path), ), timeout=90)
    for results in ranks:
        for res, (sync_bn, expected) in zip(results, SETTINGS.items()):
            assert res['wrapper'] == 'MMDistributedDataParallel'
            assert res['types'] == [cls.__name__ for cls in expected], sync_bn
            assert res['same_weight']
            assert res['cfg_sync_bn'] == str(sync_bn)      # the config is left as it was


def test_check_sync_bn_refuses_what_cannot_run():
    model = TinyNet()
    with pytest.raises(ValueError, match="sync_bn='torch'.*SparseBatchNorm.*sparse_bn"):
        check_sync_bn('torch', model)
    with pytest.raises(ValueError, match="expected one of"):
        check_sync_bn('crossp', model, distributed=False)
    check_sync_bn('torch', model, distributed=False)      # mmengine ignores it on 1 process
    dense = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='CUDA only'):
            check_sync_bn('torch', dense)
    check_sync_bn('crosspt', model)
    check_sync_bn(None, model)


@pytest.mark.parametrize('config', ['configs/_base_/default_runtime.py',
                                    'configs/tap/pointmlp_1xb32-100e_shapenet55.py',
                                    'configs/ppkt/srunet34_1xb24-60k_scannet.py'])
def test_configs_default_to_crosspt_sync_bn_and_can_turn_it_off(config):
    path = osp.join(REPO, config)
    assert Config.fromfile(path).sync_bn == 'crosspt'
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    options = parser.parse_args(['--cfg-options', 'sync_bn=None']).cfg_options  # as in docs
    assert load_tool_config(path, options, None).sync_bn is None
