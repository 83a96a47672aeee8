"""tools/benchmarks/linear_probe.py end to end: every linear-probe config of the embedded
data (the four TAP backbones, the SR-UNet34 and point-student scene probes) runs with a
backbone published by tools/model_converters/publish_model.py from the matching
pre-training config's encoder, and without a checkpoint (random init). The commands of
docs/finetuning.md's "Linear probe" section run as written, with only --checkpoint / --out
pointed into tmp_path and data-shrinking --cfg-options appended. Features written with
--save-features equal independent forwards of the encoder: weights loaded with plain
``load_state_dict``, scenes read from their .bin files. Refusals (mismatched checkpoint,
no linear_probe section, augmented training split, a Pretrained init_cfg) name the
file or key.
"""
import importlib.util
import json
import re
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import crosspt.models  # noqa: F401
from crosspt.evaluation import linear_probe as lp
from crosspt.registry import MODELS
from tool_runner import run

REPO = Path(__file__).resolve().parents[2]
TOOL = 'tools/benchmarks/linear_probe.py'
OBJECTS = REPO / 'data' / 'test_cache' / 'synthetic_objects' / 'modelnet40'
SCENES = dict(num_scenes=2, num_val_scenes=1, num_points=4000, seed=0,
              num_points_per_sample=2048)
# linear-probe config -> (pre-training config, key prefix of the encoder there, width)
CONFIGS = {
    'configs/tap/benchmarks/linear-probe_pointmlp_modelnet40_synthetic.py':
        ('configs/tap/pointmlp_synthetic.py', 'backbone.', 256),
    'configs/tap/benchmarks/linear-probe_pointnet2_modelnet40_synthetic.py':
        ('configs/tap/pointnet2_synthetic.py', 'backbone.', 1024),
    'configs/tap/benchmarks/linear-probe_dgcnn_modelnet40_synthetic.py':
        ('configs/tap/dgcnn_synthetic.py', 'backbone.', 2048),
    'configs/tap/benchmarks/linear-probe_transformer_modelnet40_synthetic.py':
        ('configs/tap/transformer_synthetic.py', 'backbone.', 384),
    'projects/crosspt_mmdet3d/configs/ppkt/linear-probe_srunet34_scannet-seg_synthetic.py':
        ('configs/ppkt/srunet34_synthetic.py', 'backbone.', 96),
    'projects/crosspt_mmdet3d/configs/ppkt/linear-probe_pointmlp_scannet-seg_synthetic.py':
        ('configs/ppkt/pointmlp_synthetic.py', 'backbone.net.', 224),
}

pytestmark = pytest.mark.slow


def publish(training: Path, out: Path) -> Path:
    spec = importlib.util.spec_from_file_location(
        '_lp_publish_model', REPO / 'tools' / 'model_converters' / 'publish_model.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Path(module.publish(str(training), str(out)))


@pytest.fixture(scope='module')
def published(tmp_path_factory):
    """Config -> (published file, the encoder's state dict): the pre-training config's
    encoder (``model.backbone``), random weights, in an mmengine training checkpoint
    published by publish_model.py (which keeps the ``backbone.`` keys)."""
    out = tmp_path_factory.mktemp('published')
    files = {}
    for i, (config, (pretrain, prefix, _)) in enumerate(CONFIGS.items()):
        torch.manual_seed(100 + i)
        with DefaultScope.overwrite_default_scope('crosspt'):
            encoder = MODELS.build(Config.fromfile(str(REPO / pretrain)).model.backbone)
        state = {f'backbone.{k}': v for k, v in encoder.state_dict().items()}
        training = out / f'{Path(config).stem}_epoch_1.pth'
        torch.save(dict(state_dict=state, meta=dict(epoch=1, iter=1)), training)
        path = publish(training, out / f'{Path(config).stem}.pth')
        own = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        files[config] = (path, own)
    return files


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    """Two training rooms and one validation room of 4000 points (mmdet3d format)."""
    from crosspt.synthetic.scannet_mmdet3d import generate_synthetic_scannet_mmdet3d
    root = tmp_path_factory.mktemp('scenes') / 'scannet'
    generate_synthetic_scannet_mmdet3d(root, **SCENES)
    return root


def shrink(config: str, scenes: Path) -> list:
    """--cfg-options that point at small data (and few points per cloud / window)."""
    loaders = ('train_dataloader', 'test_dataloader')
    if 'scannet' in config:
        opts = [f'{l}.dataset.{k}={v}' for l in loaders
                for k, v in (('data_root', f'{scenes}/'), ('auto_generate', None))]
        opts.append('linear_probe.max_points_per_scene=None')
        if 'pointmlp' in config:     # 6 m windows of 1024 points instead of 3 m of 4096
            opts += ['model.test_cfg.num_points=1024', 'model.test_cfg.block_size=6.0']
        return opts
    opts = [f'{l}.dataset.data_root={OBJECTS}' for l in loaders]
    opts += ['train_dataloader.dataset.indices=24', 'test_dataloader.dataset.indices=8']
    return opts + [f'{l}.dataset.pipeline.1.num_points=256' for l in loaders]


def probe(config: str, scenes: Path, tmp_path: Path, args=()) -> tuple:
    """Run the tool; returns (log, JSON record, features npz)."""
    out, feats = tmp_path / 'result.json', tmp_path / 'features.npz'
    if '--out' not in args:
        args = [*args, '--out', str(out)]
    log = run([sys.executable, TOOL, config, *args, '--save-features', str(feats),
               '--cfg-options', *shrink(config, scenes)])
    out = Path(args[list(args).index('--out') + 1])
    print(log[-2000:])          # shown with -s or on failure
    return log, json.loads(out.read_text()), np.load(feats)


def reference_object_features(config: str, state, scenes: Path) -> dict:
    """Train / test global features of the encoder randomly initialised as the tool does
    (seed 0), then given ``state`` by plain ``load_state_dict`` unless it is None."""
    cfg = Config.fromfile(str(REPO / config))
    cfg.merge_from_dict({key: DictAction._parse_iterable(value) for key, value in
                         (o.split('=', 1) for o in shrink(config, scenes))})
    with DefaultScope.overwrite_default_scope('crosspt'):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        model.init_weights()
        if state is not None:
            model.backbone.load_state_dict(state, strict=True)
        return {split: lp.extract_global_features(
            model, Runner.build_dataloader(cfg[f'{split}_dataloader'], seed=0))
            for split in ('train', 'test')}


def reference_scene_features(config: str, state, root: Path) -> tuple:
    """Per-point SR-UNet features of the training rooms read from their .bin files
    (rgb / 255, NYU40 ids mapped to 0..19, other ids = 20 dropped)."""
    from mmdet3d.datasets import ScanNetSegDataset
    from mmdet3d.registry import MODELS as MMDET3D_MODELS
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(str(REPO / config))
    import_modules_from_strings(**cfg.custom_imports)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        backbone = MMDET3D_MODELS.build(cfg.model.backbone)
    backbone.load_state_dict(state, strict=True)
    backbone.eval()
    valid = list(ScanNetSegDataset.METAINFO['seg_valid_class_ids'])
    feats, labels = [], []
    for scene in ('scene0000_00', 'scene0001_00'):
        points = np.fromfile(root / 'points' / f'{scene}.bin', np.float32).reshape(-1, 6)
        nyu = np.fromfile(root / 'semantic_mask' / f'{scene}.bin', np.int64)
        label = np.array([valid.index(i) if i in valid else 20 for i in nyu])
        points[:, 3:] /= 255.0
        with torch.no_grad():
            out = backbone(torch.from_numpy(points)[None])['point_features'][0].T.numpy()
        feats.append(out[label != 20])
        labels.append(label[label != 20])
    return np.concatenate(feats), np.concatenate(labels)


# ----------------------------------------------------------------------------- docs
def documented_commands() -> list:
    text = (REPO / 'docs' / 'finetuning.md').read_text()
    section = text.split('## Linear probe', 1)[1].split('\n## ', 1)[0]
    blocks = re.findall(r'```bash\n(.*?)```', section, re.S)
    return [shlex.split(line) for block in blocks for line in block.splitlines()
            if line.startswith(f'python {TOOL} ')]


def test_the_docs_section_shows_three_commands():
    commands = documented_commands()
    assert len(commands) == 3, commands
    assert all(argv[2] in CONFIGS for argv in commands)


@pytest.mark.parametrize('index', range(3))
def test_documented_command_runs(index, published, scenes, tmp_path):
    argv = documented_commands()[index]
    config, args = argv[2], argv[3:]
    path, state = published[config]
    if '--checkpoint' in args:
        args[args.index('--checkpoint') + 1] = str(path)
    args[args.index('--out') + 1] = str(tmp_path / Path(args[args.index('--out') + 1]).name)
    log, record, feats = probe(config, scenes, tmp_path, args)
    with_checkpoint = '--checkpoint' in args
    assert record['init'] == ('checkpoint' if with_checkpoint else 'random')
    result = record['results']
    if 'scannet' in config:
        ref_x, ref_y = reference_scene_features(config, state, scenes)
        assert result['num_train_points'] == len(ref_y)
        assert 0 <= result['miou'] <= 1 and set(result['per_class_iou']) >= {'wall', 'floor'}
        assert re.search(r'\| linear-probe_srunet34_scannet-seg_synthetic.py \| checkpoint \| '
                         r'logreg \| 1 \| 0 \| \d+ \| \d+ \| [\d.]+ \| [\d.]+ \|', log), log
    else:
        ref = reference_object_features(config, state if with_checkpoint else None, scenes)
        ref_x, ref_y = ref['train']
        np.testing.assert_allclose(feats['test_x'], ref['test'][0], rtol=1e-4, atol=1e-5)
        again = lp.fit_linear_probe(feats['train_x'], feats['train_y'], feats['test_x'],
                                    feats['test_y'], 'svm', 0.01, 0)
        assert result['accuracy'] == again['accuracy']
        assert (result['num_train'], result['num_test']) == (24, 8)
    np.testing.assert_allclose(feats['train_x'], ref_x, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(feats['train_y'], ref_y)
    if with_checkpoint:
        assert f'loaded all {len(state)} tensors' in log and str(path) in log
    else:
        assert 'randomly initialised (seed 0), the random-init baseline' in log


# ----------------------------------------------------------------------------- configs
UNDOCUMENTED = [c for c in CONFIGS if 'linear-probe_pointmlp_modelnet40' not in c
                and 'srunet34' not in c]


@pytest.mark.parametrize('config', UNDOCUMENTED)
def test_every_encoder_probe_runs_with_a_published_backbone(config, published, scenes,
                                                            tmp_path):
    path, state = published[config]
    log, record, feats = probe(config, scenes, tmp_path, ['--checkpoint', str(path),
                                                          '--classifier', 'logreg'])
    assert f'loaded all {len(state)} tensors' in log and str(path) in log
    width = CONFIGS[config][2]
    assert feats['train_x'].shape[1] == width and np.isfinite(feats['train_x']).all()
    result = record['results']
    assert record['settings']['classifier'] == result['classifier'] == 'logreg'
    if 'scannet' in config:
        assert 0 <= result['miou'] <= 1 and result['num_points'] > 0
        assert result['ignore_index'] == 20
    else:
        assert 0 <= result['accuracy'] <= 1 and (result['num_train'], result['num_test']) \
            == (24, 8)


# ----------------------------------------------------------------------------- refusals
def load_tool():
    spec = importlib.util.spec_from_file_location('_lp_tool', REPO / TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_refusals_name_the_file_or_key(published, tmp_path):
    tool = load_tool()
    config = 'configs/tap/benchmarks/linear-probe_pointmlp_modelnet40_synthetic.py'
    wrong = published['configs/tap/benchmarks/linear-probe_dgcnn_modelnet40_synthetic.py'][0]
    with pytest.raises(Exception, match=rf'(?s)checkpoint {re.escape(str(wrong))} .*does not '
                                        r'fit PointMLP.*missing in the checkpoint'):
        tool.main([config, '--checkpoint', str(wrong), '--out', str(tmp_path / 'x.json')])
    assert not (tmp_path / 'x.json').exists()
    ft = 'configs/tap/benchmarks/pointmlp_ft_modelnet40_synthetic.py'
    with pytest.raises(KeyError, match=f'{ft} has no linear_probe'):
        tool.main([ft])
    variants = {
        'augmented': ('train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline}}))',
                      ValueError, 'train_dataloader.dataset.pipeline differs from '
                      'test_dataloader.dataset.pipeline'),
        'pretrained': ("model = dict(backbone=dict(init_cfg=dict(_delete_=True, "
                       "type='Pretrained', checkpoint='x.pth')))", ValueError,
                       'model.backbone.init_cfg is a Pretrained init'),
        'extra_key': ('linear_probe = dict(max_train_points=5)', KeyError,
                      r"linear_probe \(classification\): missing keys \[\], unknown keys "
                      r"\['max_train_points'\]"),
        'bad_task': ("linear_probe = dict(task='detection')", ValueError,
                     r"linear_probe.task must be one of \['classification', "
                     r"'segmentation'\], got 'detection'"),
    }
    for name, (line, error, message) in variants.items():
        path = tmp_path / f'{name}.py'
        path.write_text(f"_base_ = ['{REPO / config}']\n{line}\n")
        with pytest.raises(error, match=f'{re.escape(str(path))}.*{message}'):
            tool.main([str(path)])
