"""``tools/train.py --auto-scale-lr`` on every config, and ``--tensorboard``.

- Every config under configs/ (``_base_`` excluded) and projects/*/configs defines
  ``auto_scale_lr.base_batch_size`` (off by default): the published total batch behind
  its lr for the published recipes (table below, from the papers and released scripts),
  its own batch for the embedded ``*_synthetic`` runs.
- mmengine's ``Runner.scale_lr`` scales every parameter group of TAP's PointMLP recipe by
  (world size x batch) / 32 when the flag is on, on 2 simulated processes.
- One real 2-iteration ``tools/train.py --auto-scale-lr --tensorboard`` run of a TAP
  config logs the scaled lr and writes a TensorBoard events file holding the same scalars
  as ``scalars.json``.
"""
import copy
import glob
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import List

import pytest
from mmengine.config import Config

from tool_runner import run

REPO = Path(__file__).resolve().parents[2]
#: (pattern on the repo-relative path, published total batch); the first match counts
PUBLISHED = [
    (r'^configs/tap/dgcnn_(shapenet|1xb16-100e_shapenet55)\.py$', 16),  # TAP DGCNN: 16
    (r'^configs/tap/[\w-]+_(shapenet|1xb32-100e_shapenet55)\.py$', 32),  # TAP: 32 per GPU
    (r'^projects/crosspt_mmdet3d/configs/tap/3detr', 8),  # 3DETR scripts: 8, one GPU
    (r'^configs/tap/benchmarks/.*shapenetpart', 16),     # TAP ShapeNetPart: 16
    (r'^configs/tap/benchmarks/.*(scanobjectnn|modelnet40)', 32),  # TAP / Point-BERT: 32
    (r'^configs/ppkt/srunet34_(scannet|1xb24-60k_scannet)\.py$', 24),  # PPKT: 24 frames
    (r'^projects/crosspt_mmdet3d/configs/ppkt/.*scannet-seg', 32),  # 4 GPUs x 8 [UNVERIFIED]
    (r'^projects/crosspt_mmdet3d/configs/ppkt/srunet34_\w+_s3dis-seg', 32),  # PPKT: 1 x 32
    (r'^projects/crosspt_mmdet3d/configs/ppkt/votenet-.*scannet-det', 64),  # mmdet3d: 8 x 8
]


def all_configs() -> List[str]:
    """Repo-relative paths of every runnable config."""
    paths = glob.glob(str(REPO / 'configs' / '**' / '*.py'), recursive=True)
    paths += glob.glob(str(REPO / 'projects' / '*' / 'configs' / '**' / '*.py'),
                       recursive=True)
    rel = sorted(str(Path(p).relative_to(REPO)) for p in paths)
    return [p for p in rel if '_base_' not in Path(p).parts]


def published_batch(path: str) -> int:
    for pattern, batch in PUBLISHED:
        if re.search(pattern, path):
            return batch
    raise AssertionError(f'{path}: a published recipe with no entry in PUBLISHED '
                         f'(tests/test_tools/test_auto_scale_lr.py); add its total batch')


def test_every_config_takes_auto_scale_lr():
    configs = all_configs()
    assert len(configs) >= 70, configs
    problems = []
    for path in configs:
        cfg = Config.fromfile(str(REPO / path), import_custom_modules=False)
        scale = cfg.get('auto_scale_lr') or {}
        base = scale.get('base_batch_size')
        if isinstance(base, bool) or not isinstance(base, int) or base <= 0:
            problems.append(f'{path}: auto_scale_lr.base_batch_size = {base!r}')
            continue
        if scale.get('enable', False) is not False:
            problems.append(f'{path}: auto_scale_lr.enable must default to False')
        if 'synthetic' in Path(path).name:
            # tools/benchmarks/linear_probe.py runs these: no gradient step uses the lr
            if 'linear_probe' not in cfg and base != cfg.train_dataloader.batch_size:
                problems.append(f'{path}: base_batch_size {base} != its own batch '
                                f'{cfg.train_dataloader.batch_size}')
        elif base != published_batch(path):
            problems.append(f'{path}: base_batch_size {base} != published '
                            f'{published_batch(path)}')
    assert not problems, '\n'.join(problems)


def load_train_tool():
    spec = importlib.util.spec_from_file_location('_train_tool', REPO / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lr_scaled_by_world_size_for_tap_pointmlp(tmp_path, monkeypatch):
    """configs/tap/pointmlp_1xb32-100e_shapenet55.py (lr 2e-3 for batch 32) on 2 and on 8
    processes x 32 (docs/pretraining.md's example): every parameter group's lr is
    multiplied by the number of processes with the flag, and stays without it."""
    train = load_train_tool()
    config = 'configs/tap/pointmlp_1xb32-100e_shapenet55.py'
    monkeypatch.chdir(REPO)
    monkeypatch.setenv('LOCAL_RANK', '0')   # parse_args() sets it when missing

    def build(*flags: str) -> Config:
        monkeypatch.setattr(sys, 'argv', ['train.py', config, '--work-dir',
                                          str(tmp_path), *flags])
        return train.build_cfg(train.parse_args())

    plain, scaled = build(), build('--auto-scale-lr')
    assert plain.auto_scale_lr.enable is False and scaled.auto_scale_lr.enable is True
    runner = train.build_runner(scaled)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    groups = runner.optim_wrapper.optimizer.param_groups
    assert len(groups) > 1   # weight-decayed and non-decayed parameters
    assert {g['lr'] for g in groups} == {2e-3}
    for world_size in (2, 8):
        wrapper = runner.build_optim_wrapper(copy.deepcopy(scaled.optim_wrapper))
        groups = wrapper.optimizer.param_groups
        runner._world_size = world_size  # what setup_env reads from torch.distributed
        runner.scale_lr(wrapper, plain.auto_scale_lr)
        assert {g['lr'] for g in groups} == {2e-3}
        runner.scale_lr(wrapper, runner.auto_scale_lr)
        # 2e-3 x (world_size processes x 32) / 32
        assert [g['lr'] for g in groups] == pytest.approx([2e-3 * world_size] * len(groups))


def test_add_tensorboard_backend(monkeypatch):
    from crosspt.engine.visualization import add_tensorboard_backend
    cfg = Config.fromfile(str(REPO / 'configs/_base_/default_runtime.py'))
    assert [b['type'] for b in cfg.visualizer.vis_backends] == ['LocalVisBackend']  # off
    add_tensorboard_backend(cfg)
    add_tensorboard_backend(cfg)   # once only
    assert [b['type'] for b in cfg.visualizer.vis_backends] == [
        'LocalVisBackend', 'TensorboardVisBackend']
    scoped = Config(dict(visualizer=dict(type='Visualizer', vis_backends=[
        dict(type='mmengine.TensorboardVisBackend')])))
    assert len(add_tensorboard_backend(scoped).visualizer.vis_backends) == 1
    bare = add_tensorboard_backend(Config(dict()))
    assert bare.visualizer.type == 'Visualizer'
    assert [b['type'] for b in bare.visualizer.vis_backends] == ['TensorboardVisBackend']
    # without the package: refused before anything is built, with the fix
    monkeypatch.setitem(sys.modules, 'torch.utils.tensorboard', None)
    with pytest.raises(ImportError, match='pip install tensorboard'):
        add_tensorboard_backend(Config(dict()))


def test_config_override_documented_in_default_runtime_writes_events(tmp_path):
    """The config form of the option (configs/_base_/default_runtime.py's comment) keeps
    the Visualizer and writes the scalars to an events file."""
    pytest.importorskip('tensorboard')
    from mmengine.visualization import Visualizer
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    child = tmp_path / 'with_tensorboard.py'
    child.write_text(
        f"_base_ = ['{REPO / 'configs/_base_/default_runtime.py'}']\n"
        "visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),\n"
        "                                dict(type='TensorboardVisBackend')])\n")
    cfg = Config.fromfile(str(child))
    assert cfg.visualizer.type == 'Visualizer'
    vis = Visualizer.get_instance('test_tensorboard_override', save_dir=str(tmp_path / 'vis'),
                                  vis_backends=cfg.visualizer.vis_backends)
    vis.add_scalars({'loss': 0.25, 'lr': 1e-3}, step=3)
    vis.close()
    events = list((tmp_path / 'vis' / 'vis_data').glob('events.out.tfevents.*'))
    assert len(events) == 1
    acc = EventAccumulator(str(events[0]))
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars('loss')] == [(3, 0.25)]
    assert (tmp_path / 'vis' / 'vis_data' / 'scalars.json').is_file()   # the local backend as well


def tiny_tap_options(tmp_path: Path) -> list:
    """pointmlp_synthetic.py on 8 generated objects, batch 4, one epoch (2 iterations);
    the warm-up factor 1, so the logged lr is the scaled lr itself."""
    options = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.dataset.data_root={tmp_path / "data"}',
                    f'{loader}.dataset.auto_generate.num_train=4',
                    f'{loader}.dataset.auto_generate.num_val=4',
                    f'{loader}.dataset.auto_generate.num_test=2',
                    f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    return ['--work-dir', str(tmp_path / 'work'), '--cfg-options', *options,
            'train_dataloader.batch_size=4', 'train_cfg.max_epochs=1',
            'default_hooks.logger.interval=1', 'param_scheduler.0.start_factor=1.0']


@pytest.mark.slow
def test_train_tool_auto_scale_lr_and_tensorboard(tmp_path):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = 'configs/tap/pointmlp_synthetic.py'   # lr 1e-3 for batch 1
    out = run([sys.executable, 'tools/train.py', config, '--auto-scale-lr', '--tensorboard',
               *tiny_tap_options(tmp_path)], timeout=300)
    assert 'Scaling the original LR by 4.0' in out
    vis_data = list((tmp_path / 'work').glob('2*/vis_data'))
    assert len(vis_data) == 1, vis_data
    events = list(vis_data[0].glob('events.out.tfevents.*'))
    assert len(events) == 1, list(vis_data[0].iterdir())
    scalars = [json.loads(line) for line in
               (vis_data[0] / 'scalars.json').read_text().splitlines()]
    train_rows = {r['step']: r for r in scalars if 'loss' in r}
    assert sorted(train_rows) == [1, 2]
    acc = EventAccumulator(str(events[0]))
    acc.Reload()
    lr = {e.step: e.value for e in acc.Scalars('lr')}
    loss = {e.step: e.value for e in acc.Scalars('loss')}
    assert lr == pytest.approx({1: 4e-3, 2: 4e-3}, rel=1e-6)   # 1e-3 x 4 / 1
    assert loss == pytest.approx({s: r['loss'] for s, r in train_rows.items()}, rel=1e-6)
    assert 'view/loss' in acc.Tags()['scalars']          # the validation metrics
    assert 'tap_views' in acc.Tags()['images']           # and the hook's pictures
    # docs/pretraining.md, 'Logging': TensorBoard's own reader lists the run
    tensorboard = Path(sys.executable).parent / 'tensorboard'
    out = run([tensorboard, '--inspect', '--logdir', tmp_path / 'work'], timeout=120)
    assert str(vis_data[0]) in out and 'view/fg_iou' in out
