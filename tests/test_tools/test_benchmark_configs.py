"""Issue 3 end to end (TAP learns with every backbone: test_tap_backbones_learn.py):
every benchmark config loads a pre-trained backbone (and refuses a checkpoint
whose keys do not match); the embedded-data configs of PointNet++, DGCNN and the
Transformer fine-tune through tools/train.py and evaluate through tools/test.py (DGCNN
on 256 points: TakeFirstPoints cut by --cfg-options), which covers
the ModelNet40, ScanObjectNN and few-shot formats; every other embedded-data config
(and the other ScanObjectNN variants) runs one training step and one validation batch in
process, with its own pipeline, optimizer and metric.  PointMLP on ModelNet40 is
trained, tested and tested with --tta through the tools by
tests/test_docs/test_docs_recipes.py (the recipe config, same data set class), and
fine-tunes from a published TAP backbone there (ScanObjectNN recipe); the PointMLP part
segmentor (ShapeNetPart format) is tested with --tta through tools/test.py there and in
tests/test_tools/test_official_weights_e2e.py, and steps in process here.

The runs shrink data and schedule with --cfg-options only; the synthetic data is cached
under ``data/test_cache/`` (deterministic).
"""
import glob
import math
import re
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import crosspt.models  # noqa: F401
from crosspt.registry import MODELS
from config_shrink import fewer_points_options, main_process_loading
from tool_runner import run

REPO = Path(__file__).resolve().parents[2]
# object-level configs; the 3DETR ones run inside mmdet3d (test_scene_benchmarks.py), the
# linear-probe ones (frozen encoder, no init_cfg) in test_linear_probe_tool.py, the gain_
# ones (no init_cfg, own data folder) in test_pretrain_gain_tool.py
BENCHMARKS = sorted(Path(p).name for p in glob.glob(str(REPO / 'configs/tap/benchmarks/*.py'))
                    if not Path(p).name.startswith(('3detr', 'linear-probe', 'gain_')))
SYNTHETIC = [name for name in BENCHMARKS if name.endswith('_synthetic.py')]
CACHE = REPO / 'data' / 'test_cache'
# end to end through tools/train.py and tools/test.py: one config per backbone family
# (PointMLP: test_docs_recipes.py) and each classification data set format.  The other
# embedded-data configs differ from these only in the data set or backbone:
# test_benchmark_config_steps_in_process runs them.
END_TO_END = (
    'pointnet2_ft_scanobjectnn-pb-t50-rs_synthetic.py',
    'dgcnn_fewshot-5way10shot_modelnet40_synthetic.py',
    'transformer_ft_modelnet40_synthetic.py')
IN_PROCESS = [name for name in SYNTHETIC if name not in END_TO_END]
#: points per cloud of the DGCNN end-to-end run
E2E_POINTS = 256


def backbone_of(config_name: str) -> str:
    return config_name.split('_')[0]


def pretrain_config(config_name: str) -> str:
    kind = 'synthetic' if config_name.endswith('_synthetic.py') else 'shapenet'
    return str(REPO / 'configs' / 'tap' / f'{backbone_of(config_name)}_{kind}.py')


@pytest.fixture(scope='module')
def tap_backbones(tmp_path_factory):
    """One published-style backbone file (random TAP weights) per pre-training config."""
    out = tmp_path_factory.mktemp('tap_backbones')
    files = {}
    torch.manual_seed(0)
    for config in sorted({pretrain_config(name) for name in BENCHMARKS}):
        model = MODELS.build(Config.fromfile(config).model)
        state = {f'backbone.{k}': v for k, v in model.backbone.state_dict().items()}
        path = out / (Path(config).stem + '.pth')
        torch.save({'state_dict': state, 'meta': {'config': config}}, path)
        files[config] = path
    return files


def build_benchmark(config_name: str, checkpoint):
    cfg = Config.fromfile(str(REPO / 'configs/tap/benchmarks' / config_name))
    cfg.model.backbone.init_cfg.checkpoint = str(checkpoint)
    with DefaultScope.overwrite_default_scope('crosspt'):
        model = MODELS.build(cfg.model)
        return cfg, model


@pytest.mark.parametrize('config_name', BENCHMARKS)
def test_benchmark_config_loads_the_tap_backbone(config_name, tap_backbones):
    checkpoint = tap_backbones[pretrain_config(config_name)]
    cfg, model = build_benchmark(config_name, checkpoint)
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    with DefaultScope.overwrite_default_scope('crosspt'):
        model.init_weights()
    source = torch.load(checkpoint, weights_only=True)['state_dict']
    ignored = set(cfg.model.backbone.init_cfg.get('ignore_keys', []))
    own = model.backbone.state_dict()
    loaded = 0
    for key, value in source.items():
        name = key[len('backbone.'):]
        if name in ignored:
            assert own[name].shape != value.shape          # the 6-d part-seg embedding
            continue
        torch.testing.assert_close(own[name], value, msg=f'{config_name}: {name}')
        loaded += 1
    # every parameter of the fine-tuning encoder (but the ignored ones) comes from it;
    # the part segmentor's decoder, global-context and category branches are new
    new = ('decode_list.', 'gmp_map', 'cls_map.') \
        if cfg.model.backbone.type == 'PointMLPPartSeg' else ()
    missing = [k for k, _ in model.backbone.named_parameters()
               if f'backbone.{k}' not in source and k not in ignored and not k.startswith(new)]
    assert not missing, missing
    assert loaded == len(source) - len(ignored)


@pytest.mark.parametrize('config_name', BENCHMARKS)
def test_benchmark_config_refuses_a_mismatched_checkpoint(config_name, tap_backbones):
    other = 'dgcnn' if backbone_of(config_name) != 'dgcnn' else 'pointmlp'
    wrong = next(path for config, path in tap_backbones.items()
                 if Path(config).stem.startswith(other))
    _, model = build_benchmark(config_name, wrong)
    with DefaultScope.overwrite_default_scope('crosspt'), \
            pytest.raises((KeyError, ValueError), match=re.escape(str(wrong))):
        model.init_weights()


def test_elite_checkpoint_into_the_full_pointmlp_is_a_shape_error(tap_backbones):
    elite = tap_backbones[str(REPO / 'configs/tap/pointmlp_synthetic.py')]
    _, model = build_benchmark('pointmlp_ft_scanobjectnn-pb-t50-rs.py', elite)
    with DefaultScope.overwrite_default_scope('crosspt'), \
            pytest.raises(ValueError, match='shape mismatch'):
        model.init_weights()


# ----------------------------------------------------------------------------- runs


def short_finetune_options(config_name: str, work_dir: Path) -> list:
    cfg = Config.fromfile(str(REPO / 'configs/tap/benchmarks' / config_name))
    data_root = CACHE / 'synthetic_objects' / Path(cfg.train_dataloader.dataset.data_root).name
    options = ['--work-dir', str(work_dir), '--cfg-options',
               f'train_dataloader.dataset.data_root={data_root}',
               f'val_dataloader.dataset.data_root={data_root}',
               f'test_dataloader.dataset.data_root={data_root}',
               'train_dataloader.dataset.indices=8', 'train_dataloader.batch_size=4',
               'val_dataloader.dataset.indices=6', 'test_dataloader.dataset.indices=6',
               'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
               'default_hooks.logger.interval=1', 'randomness.seed=0',
               *main_process_loading()]
    if backbone_of(config_name) == 'dgcnn':         # its cost grows with N * k; k = 20
        options += fewer_points_options(cfg, E2E_POINTS)   # TakeFirstPoints of each loader
    return options


@pytest.mark.slow
@pytest.mark.parametrize('config_name', END_TO_END)
def test_embedded_benchmark_fine_tunes_and_tests(config_name, tmp_path, tap_backbones):
    checkpoint = tap_backbones[pretrain_config(config_name)]
    env = {'CROSSPT_PRETRAINED': str(checkpoint)}
    config = f'configs/tap/benchmarks/{config_name}'
    output = run([sys.executable, 'tools/train.py', config,
                  *short_finetune_options(config_name, tmp_path)], env=env)
    assert f'Pretrained checkpoint {checkpoint}' in output          # the backbone was loaded
    metric = 'cls/oa'
    assert re.search(re.escape(metric) + r': \d', output), output[-2000:]
    ckpt = tmp_path / 'epoch_1.pth'
    assert ckpt.is_file()
    test_dir = tmp_path / 'test'
    options = short_finetune_options(config_name, test_dir)
    output = run([sys.executable, 'tools/test.py', config, str(ckpt), *options], env=env)
    assert re.search(re.escape(metric) + r': \d', output), output[-2000:]


def small_loader(cfg, name: str, data_root: Path, extra: dict):
    """``cfg.<name>`` on ``data_root``: its first 4 samples, batch 2, no workers."""
    loader = cfg[name].copy()
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader.dataset.update(data_root=str(data_root), indices=4, **extra)
    return Runner.build_dataloader(loader, seed=0)


@pytest.mark.parametrize('config_name, variant', [(name, None) for name in IN_PROCESS] + [
    ('pointmlp_ft_scanobjectnn-pb-t50-rs_synthetic.py', 'obj_bg'),
    ('pointmlp_ft_scanobjectnn-pb-t50-rs_synthetic.py', 'obj_only')])
def test_benchmark_config_steps_in_process(config_name, variant):
    """What a fine-tuning run does per step, with the config's own data set, pipeline,
    model, optimizer and metric: one training step changes the weights with a finite loss,
    one validation batch gives a metric.  (Loading the backbone: the tests above.)"""
    cfg = Config.fromfile(str(REPO / 'configs/tap/benchmarks' / config_name))
    cfg.model.backbone.init_cfg = None
    data_root = CACHE / 'synthetic_objects' / Path(cfg.train_dataloader.dataset.data_root).name
    extra = {} if variant is None else {'variant': variant}
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('crosspt'):
        train_loader = small_loader(cfg, 'train_dataloader', data_root, extra)
        val_loader = small_loader(cfg, 'val_dataloader', data_root, extra)
        model = MODELS.build(cfg.model)
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        model.train()
        losses = model.train_step(next(iter(train_loader)), optim_wrapper)
        assert all(torch.isfinite(v).all() for v in losses.values()), losses
        changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
        assert changed, f'{config_name}: one training step left every weight unchanged'
        model.eval()
        batch = next(iter(val_loader))
        outputs = model.val_step(batch)
        evaluator = Evaluator(cfg.val_evaluator)
        evaluator.dataset_meta = val_loader.dataset.metainfo
        evaluator.process(outputs, batch)
        metrics = evaluator.evaluate(len(outputs))
    assert len(outputs) == 2 and metrics and all(math.isfinite(v) for v in metrics.values())
    if variant is not None:
        folder = 'main_split_nobg' if variant == 'obj_only' else 'main_split'
        assert train_loader.dataset.h5_path.endswith(f'{folder}/training_objectdataset.h5')
