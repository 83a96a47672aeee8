"""tools/benchmarks/transfer.py: the per-run config and the side-by-side table
(the full benchmark itself is run by hand; its table is in model_zoo.md)."""
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location('transfer', REPO / 'tools/benchmarks/transfer.py')
transfer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(transfer)

CONFIG = str(REPO / 'configs/tap/benchmarks/pointmlp_ft_modelnet40_synthetic.py')


def test_run_config_wraps_the_labels_and_sets_budget_seed_and_init(tmp_path):
    args = transfer.parse_args([CONFIG, '--pretrained', 'b.pth', '--label-fraction', '0.25',
                                '--max-epochs', '6', '--batch-size', '4', '--cfg-options',
                                'val_dataloader.dataset.data_root=/d/m40'])
    tap = transfer.finetune_config(args, seed=2, backbone='/x/b.pth')
    scratch = transfer.finetune_config(args, seed=2, backbone=None)
    for cfg in (tap, scratch):
        ds = cfg.train_dataloader.dataset
        assert ds.type == 'LabelFractionDataset' and ds.fraction == 0.25 and ds.seed == 2
        assert ds.dataset.type == 'ModelNet40H5Dataset'
        assert cfg.train_dataloader.batch_size == 4
        assert cfg.train_cfg.max_epochs == 6 and cfg.train_cfg.val_interval == 6
        assert cfg.randomness.seed == 2
        assert [s['end'] for s in cfg.param_scheduler] == [2, 6]
    assert tap.model.backbone.init_cfg == dict(type='Pretrained', checkpoint='/x/b.pth',
                                               prefix='backbone.')
    assert scratch.model.backbone.init_cfg is None
    assert scratch.optim_wrapper == tap.optim_wrapper
    assert tap.val_dataloader.dataset.data_root == '/d/m40'


def test_table_gives_mean_and_sample_std():
    results = {'scratch': {0: {'cls/oa': 50.0, 'cls/macc': 40.0},
                           1: {'cls/oa': 60.0, 'cls/macc': 50.0}},
               'tap': {0: {'cls/oa': 70.0, 'cls/macc': 65.0},
                       1: {'cls/oa': 74.0, 'cls/macc': 67.0}}}
    text = transfer.table(results, [0, 1])
    # mean 55, sample std sqrt(((-5)^2 + 5^2) / 1) = 7.07; TAP 72, std 2.83
    assert '| mean ± std | 55.0 ± 7.1 | 72.0 ± 2.8 | 45.0 ± 7.1 | 66.0 ± 1.4 |' in text
    assert '| 1 | 60.0 | 74.0 | 50.0 | 67.0 |' in text


def test_final_metrics_reads_the_last_validation(tmp_path):
    run_dir = tmp_path / '20260101_000000' / 'vis_data'
    run_dir.mkdir(parents=True)
    lines = [{'loss': 1.0, 'lr': 1e-3, 'step': 1}, {'cls/oa': 10.0, 'cls/macc': 9.0, 'step': 1},
             {'cls/oa': 30.0, 'cls/macc': 20.0, 'step': 2}]
    (run_dir / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines))
    assert transfer.final_metrics(str(tmp_path)) == {'cls/oa': 30.0, 'cls/macc': 20.0}
    with pytest.raises(RuntimeError, match='cls/oa'):
        transfer.final_metrics(str(tmp_path / 'nothing'))


def test_arguments_are_checked():
    with pytest.raises(SystemExit):
        transfer.parse_args([CONFIG])                         # neither pre-train nor file
    with pytest.raises(SystemExit):
        transfer.parse_args([CONFIG, '--pretrained', 'b.pth', '--max-epochs', '2'])


def test_the_learning_rate_really_rises_and_decays():
    """Simulate the run's schedule with mmengine's schedulers (the end=1 warm-up bug:
    the lr stayed at 1e-6 for the whole run)."""
    import torch
    import mmengine.optim  # noqa: F401  (registers the schedulers)
    from mmengine.registry import PARAM_SCHEDULERS
    args = transfer.parse_args([CONFIG, '--pretrained', 'b.pth', '--max-epochs', '6'])
    cfg = transfer.finetune_config(args, seed=0, backbone=None)
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
                  for s in cfg.param_scheduler]
    lrs = []
    for _ in range(6):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for s in schedulers:
            s.step()
    lr = cfg.optim_wrapper.optimizer.lr
    assert lrs[0] == pytest.approx(1e-6)
    assert lrs[1] == pytest.approx(lr) and lrs[2] == pytest.approx(lr)
    assert lrs[2] > lrs[3] > lrs[4] > lrs[5] > 1e-6
