"""tools/benchmarks/pretrain_gain.py end to end on tiny sizes (2 seeds, 1 label per
class, 2 fine-tuning steps, a 12-object set generated in tmp_path), with the supervised
encoder trained and published by the commands of docs/finetuning.md (1 epoch): the JSON
and table structure, the random-init rows differing across seeds, a checkpoint init's
linear-probe features extracted once, and clear refusals (missing checkpoint, keys that
do not fit, no random reference)."""
import json
import re
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import crosspt.models  # noqa: F401
from crosspt.engine.runner import CheckpointMismatchError
from crosspt.registry import MODELS
from tool_runner import run

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'benchmarks' / 'pretrain_gain.py'
CONFIG = 'configs/tap/benchmarks/gain_pointmlp_scanobjectnn-obj-bg_synthetic.py'
SUPERVISED = 'configs/tap/benchmarks/gain_supervised_pointmlp_scanobjectnn-obj-bg_synthetic.py'


def tiny_options(root: Path) -> list:
    """A 2-train / 1-test-object-per-class set in ``root``, 256 points per cloud."""
    opts = []
    for loader in ('train_dataloader', 'test_dataloader'):
        gen = f'{loader}.dataset.auto_generate'
        opts += [f'{loader}.dataset.data_root={root}', f'{gen}.num_train_per_class=2',
                 f'{gen}.num_test_per_class=1', f'{loader}.dataset.pipeline.1.num_points=256']
    return opts + ['test_dataloader.dataset.test_fps_points=256',
                   'pretrain_gain.finetune.pipeline.5.fps_points=300',
                   'pretrain_gain.finetune.pipeline.5.num_points=256',
                   'pretrain_gain.finetune.batch_size=4', 'pretrain_gain.log_interval=1']


def encoder_file(path: Path, config: str = CONFIG, seed: int = 7) -> Path:
    """A training-style checkpoint holding ``backbone.*`` of the config's encoder."""
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('crosspt'):
        backbone = MODELS.build(Config.fromfile(str(REPO / config)).model.backbone)
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in
                                backbone.state_dict().items()}), path)
    return path


def load_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location('_pretrain_gain_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_supervised(root: Path, work_dir: Path) -> Path:
    """The supervised encoder: tools/train.py on the gain set for 1 epoch (3 batches of
    4), published by publish_model.py; returns the published file."""
    opts = [f'{loader}.dataset.{key}' for loader in ('train_dataloader', 'val_dataloader')
            for key in (f'data_root={root}', 'auto_generate.num_train_per_class=2',
                        'auto_generate.num_test_per_class=1')]
    opts += ['train_dataloader.batch_size=4', 'train_dataloader.dataset.pipeline.5.fps_points=300',
             'train_dataloader.dataset.pipeline.5.num_points=256', 'train_cfg.max_epochs=1',
             'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1']
    log = run([sys.executable, 'tools/train.py', SUPERVISED, '--work-dir', work_dir,
               '--cfg-options', *opts])
    assert 'cls/oa: ' in log
    log = run([sys.executable, 'tools/model_converters/publish_model.py',
               work_dir / 'epoch_1.pth', work_dir / 'backbone.pth'])
    published = sorted(work_dir.glob('backbone-*.pth'))
    assert len(published) == 1, log
    return published[0]


@pytest.mark.slow
def test_tool_end_to_end_tiny(tmp_path):
    ckpt = train_supervised(tmp_path / 'scan', tmp_path / 'supervised')
    out = tmp_path / 'out'
    log = run([sys.executable, TOOL, CONFIG, '--init', 'random', '--init', f'other={ckpt}',
               '--seeds', '0', '1', '--labels-per-class', '1', '--finetune-steps', '2',
               '--out', out, '--cfg-options', *tiny_options(tmp_path / 'scan')])
    record = json.loads((out / 'results.json').read_text())
    rows = record['runs']
    # 2 inits x 2 seeds x (probe full + probe 1/class + fine-tune 1/class)
    assert len(rows) == 12
    key = {(r['protocol'], r['budget'], r['init'], r['seed']) for r in rows}
    assert key == {(p, b, i, s) for p, b in (('linear_probe', 'full'),
                                            ('linear_probe', '1/class'),
                                            ('finetune', '1/class'))
                   for i in ('random', 'other') for s in (0, 1)}
    for r in rows:
        assert 0.0 <= r['accuracy'] <= 1.0 and r['num_test'] == 6
        assert r['num_train'] == (12 if r['budget'] == 'full' else 6)
        if r['protocol'] == 'finetune':
            assert r['steps'] == 2 and r['samples_seen'] == 8  # 2 steps of 4 of the 6
    finetune = {(r['init'], r['seed']): r for r in rows if r['protocol'] == 'finetune'}
    # the seed draws the random encoder: different weights, different training losses
    assert finetune['random', 0]['final_loss'] != finetune['random', 1]['final_loss']
    summaries = record['summaries']
    assert set(summaries) == {'linear_probe', 'finetune'}
    assert set(summaries['linear_probe']) == {'full', '1/class'}
    for budgets in summaries.values():
        for by_init in budgets.values():
            assert by_init['random']['delta'] == 0.0 and by_init['random']['n'] == 2
            accs = [r['accuracy'] for r in rows if r['init'] == 'other']
            assert 0.0 <= by_init['other']['mean'] <= 1.0 and len(accs) == 6
            assert by_init['other']['beats'] == (
                by_init['other']['delta'] > 2 * by_init['other']['pooled_std'])
    # a checkpoint's frozen features do not depend on the seed: extracted once
    assert len(re.findall(r'other: features of 12 train / 6 test clouds', log)) == 1
    assert len(re.findall(r'random: features of 12 train / 6 test clouds', log)) == 2
    assert 'ETA' in log
    table = (out / 'results.md').read_text()
    assert '| finetune | 1/class | other | 2 |' in table
    assert re.search(r'\| linear_probe \| full \| random \| 2 \| [\d.]+ ± [\d.]+ \| — \| — '
                     r'\| — \|', table), table


def test_refusals(tmp_path):
    tool = load_tool()
    with pytest.raises(SystemExit, match='no such checkpoint file'):
        tool.parse_inits(['random', f'tap={tmp_path / "missing.pth"}'])
    with pytest.raises(SystemExit, match='--init random is required'):
        tool.parse_inits([f'tap={encoder_file(tmp_path / "a.pth")}'])
    with pytest.raises(SystemExit, match="give 'random' or NAME=CHECKPOINT"):
        tool.parse_inits(['random', 'tap'])
    # keys that do not fit: the PointNet++ encoder into PointMLP-elite
    wrong = encoder_file(tmp_path / 'pointnet2.pth', 'configs/tap/benchmarks/'
                         'pointnet2_ft_scanobjectnn-pb-t50-rs_synthetic.py')
    cfg = Config.fromfile(str(REPO / CONFIG))
    with DefaultScope.overwrite_default_scope('crosspt'), \
            pytest.raises(CheckpointMismatchError, match=re.escape(str(wrong))):
        tool.build_model(cfg, str(wrong), 'backbone.', 0)
    args = tool.parse_args([CONFIG, '--init', 'random', '--seeds', '3'])
    with pytest.raises(ValueError, match='at least 2 distinct seeds'):
        tool.settings_of(cfg, args)
    del cfg.pretrain_gain['finetune']['lr']
    with pytest.raises(KeyError, match=r"pretrain_gain.finetune: missing keys \['lr'\]"):
        tool.settings_of(cfg, tool.parse_args([CONFIG, '--init', 'random']))
