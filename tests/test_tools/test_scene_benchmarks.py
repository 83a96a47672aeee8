"""Scene-level transfer inside mmdet3d, end to end on the embedded synthetic scenes:
ScanNet segmentation (SR-UNet34 from a PPKT checkpoint, the PPKT PointMLP student) and
3DETR detection (encoder from a TAP checkpoint) train and evaluate through
tools/train.py and tools/test.py, with mmdet3d's own datasets, pipelines and metrics;
each benchmark config loads the matching pretrained backbone with a key report and
refuses a mismatched one.

Covered elsewhere: scene configs under ``--launcher pytorch`` (MMDistributedDataParallel)
as one-rank worlds in tests/test_projects/test_docs_scene_recipes.py; two processes:
tools/dist_train.sh in tests/test_tools/test_resume_exact.py, SR-UNet's
synchronised sparse BatchNorm and a DDP step equal to one process on the union batch in
tests/test_models/test_ppkt_sync_step.py, the Runner's BatchNorm conversion in
tests/test_engine/test_sync_bn_runner.py.

The benchmark configs run unchanged except for --cfg-options that shorten the schedule,
point at a small cached copy of the scenes (``data/test_cache/``) and load the data in
the main process (``config_shrink.main_process_loading``).
"""
import re
import sys
from pathlib import Path

import pytest
import torch

from config_shrink import main_process_loading
from tool_runner import WEIGHTS_ONLY, run

pytest.importorskip('mmdet3d.models')

REPO = Path(__file__).resolve().parents[2]
DATA_ROOT = REPO / 'data' / 'test_cache' / 'synthetic_scannet_mmdet3d'
SMALL = dict(num_scenes=4, num_val_scenes=2, num_points=8000, seed=0)
PROJECT_CONFIGS = 'projects/crosspt_mmdet3d/configs'
SEG_SRUNET = f'{PROJECT_CONFIGS}/ppkt/srunet34_ft_scannet-seg_synthetic.py'
SEG_SRUNET_SCRATCH = f'{PROJECT_CONFIGS}/ppkt/srunet34_scratch_scannet-seg_synthetic.py'
SEG_POINTMLP = f'{PROJECT_CONFIGS}/ppkt/pointmlp_ft_scannet-seg_synthetic.py'
DET_3DETR = f'{PROJECT_CONFIGS}/tap/3detr_ft_scannet-det_synthetic.py'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

pytestmark = pytest.mark.slow


def data_options(*loaders: str, seg: bool) -> list:
    opts = []
    for loader in loaders:
        opts.append(f'{loader}.dataset.data_root={DATA_ROOT}/')
        opts += [f'{loader}.dataset.auto_generate.{k}={v}' for k, v in SMALL.items()]
    opts += main_process_loading(loaders)
    if seg:
        opts.append('train_dataloader.dataset.scene_idxs='
                    f'{DATA_ROOT}/seg_info/train_resampled_scene_idxs.npy')
    return opts


def short_schedule(iters: int) -> list:
    return [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'param_scheduler.0.T_max={iters}', f'param_scheduler.0.end={iters}',
            f'default_hooks.checkpoint.interval={iters}', 'default_hooks.logger.interval=1',
            WEIGHTS_ONLY]


def save_backbone(config: str, path: Path, key: str = 'backbone') -> Path:
    """A checkpoint holding ``model.<key>`` of a crosspt pre-training config under
    ``backbone.`` (what PPKT / TAP pre-training saves for its student / encoder)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from crosspt.registry import MODELS
    cfg = Config.fromfile(str(REPO / config))
    with DefaultScope.overwrite_default_scope('crosspt'):
        net = MODELS.build(cfg.model[key])
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in net.state_dict().items()}},
               path)
    return path


def build_with_checkpoint(config: str, checkpoint: Path):
    """Build a benchmark config's model (mmdet3d scope) and run its init_weights."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(str(REPO / config))
    import_modules_from_strings(**cfg.custom_imports)
    from mmdet3d.registry import MODELS
    init = dict(type='crosspt.Pretrained', checkpoint=str(checkpoint))
    part = cfg.model.encoder if 'encoder' in cfg.model else cfg.model.backbone
    init['prefix'] = part.init_cfg.prefix
    part.init_cfg = init
    # a temporary scope: a global init_default_scope('mmdet3d') would leak into the tests
    # that run after this one and build crosspt modules by bare name
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg.model)
        model.init_weights()
    return model


@pytest.fixture(scope='module')
def scenes():
    sys.path.insert(0, str(REPO))
    from crosspt.synthetic.scannet_mmdet3d import generate_synthetic_scannet_mmdet3d
    generate_synthetic_scannet_mmdet3d(DATA_ROOT, **SMALL)
    return DATA_ROOT


@pytest.fixture(scope='module')
def ppkt_checkpoint(tmp_path_factory):
    return save_backbone('configs/ppkt/srunet34_synthetic.py',
                         tmp_path_factory.mktemp('ppkt') / 'ppkt_srunet34.pth')


def assert_every_tensor_loaded(output: str) -> None:
    """The reporting loader's key report says every backbone tensor came from the file."""
    report = re.search(r'loaded (\d+)/(\d+) tensors; missing 0', output)
    assert report and report.group(1) == report.group(2), output[-3000:]


def metric(output: str, key: str) -> float:
    values = re.findall(rf'\b{re.escape(key)}: (\S+)', output)
    assert values, f'{key} not in the log:\n{output[-3000:]}'
    return float(values[-1])


def test_srunet_segmentation_trains_and_tests_from_ppkt(scenes, ppkt_checkpoint, tmp_path):
    """The SR-UNet34 twin on its default whole-scene protocol (every room once per epoch,
    PointContrast's augmentations, SceneBatchEncoderDecoder3D)."""
    out = run([sys.executable, 'tools/train.py', SEG_SRUNET, '--work-dir', str(tmp_path),
               '--cfg-options', *data_options('train_dataloader', 'val_dataloader',
                                              'test_dataloader', seg=False),
               'train_dataloader.batch_size=1', *short_schedule(1)],
              env=dict(CROSSPT_PRETRAINED=str(ppkt_checkpoint)))
    # the whole-scene protocol ran (the config tools/train.py dumped): every scene once,
    # PointContrast's augmentations, no patch sampling
    from mmengine.config import Config
    ran = Config.fromfile(str(tmp_path / Path(SEG_SRUNET).name))
    steps = [step['type'] for step in ran.train_dataloader.dataset.pipeline]
    assert ran.train_dataloader.dataset.scene_idxs == 'every_scene'
    assert 'ElasticDistortionPoints' in steps and 'ChromaticJitter' in steps
    assert 'IndoorPatchPointSample' not in steps
    assert ran.model.type == 'SceneBatchEncoderDecoder3D'
    # key report of the reporting loader: every SR-UNet34 tensor comes from PPKT
    assert_every_tensor_loaded(out)
    miou = metric(out, 'miou')
    assert 0.0 <= miou <= 1.0
    checkpoint = tmp_path / 'iter_1.pth'
    assert checkpoint.is_file()
    out = run([sys.executable, 'tools/test.py', SEG_SRUNET, str(checkpoint), '--work-dir',
               str(tmp_path / 'test'), '--cfg-options',
               *data_options('train_dataloader', 'val_dataloader', 'test_dataloader',
                             seg=False)], env=dict(CROSSPT_PRETRAINED=str(ppkt_checkpoint)))
    # the same weights on the same scenes: tools/test.py reproduces the val mIoU
    assert metric(out, 'miou') == pytest.approx(miou, abs=1e-4)


def test_label_fraction_trains_on_the_kept_scenes(scenes, tmp_path):
    """The page's ``scene_fraction=0.25`` line keeps ceil(0.25 * 4) = 1 labelled scene
    and trains on it."""
    out = run([sys.executable, 'tools/train.py', SEG_SRUNET_SCRATCH, '--work-dir',
               str(tmp_path), '--cfg-options',
               *data_options('train_dataloader', 'val_dataloader', 'test_dataloader',
                             seg=True),
               'train_dataloader.dataset.scene_fraction=0.25', 'train_dataloader.batch_size=1',
               *short_schedule(1), 'train_cfg.val_begin=2'])   # no validation
    assert re.search(r'scene_fraction 0\.25 keeps 1 of 4 scenes', out), out[-3000:]
    assert 'Iter(train) [1/1]' in out


def test_pointmlp_segmentation_trains_from_ppkt_point_student(scenes, tmp_path):
    checkpoint = save_backbone('configs/ppkt/pointmlp_synthetic.py', tmp_path / 'student.pth')
    out = run([sys.executable, 'tools/train.py', SEG_POINTMLP, '--work-dir',
               str(tmp_path), '--cfg-options',
               *data_options('train_dataloader', 'val_dataloader', 'test_dataloader',
                             seg=True),
               *short_schedule(2), 'train_cfg.val_begin=3'],   # no validation
              env=dict(CROSSPT_PRETRAINED=str(checkpoint)))
    assert_every_tensor_loaded(out)
    assert 'Iter(train) [2/2]' in out


def tap_3detr_encoder(work_dir: Path) -> Path:
    """projects/crosspt_mmdet3d/README.md's ``tools/train.py configs/tap/
    3detr-encoder_synthetic.py --work-dir work_dirs/tap_3detr``, shrunk to 1 epoch of one
    step (2 generated objects, 1 view each, 2 photograph blocks, 256 pre-encoder
    centres); returns its checkpoint."""
    objects = [f'{loader}.dataset.{key}' for loader in LOADERS for key in (
        f'data_root={work_dir / "shapenet55"}', 'auto_generate.num_train=2',
        'auto_generate.num_val=1', 'auto_generate.num_test=1')]
    run([sys.executable, 'tools/train.py', 'configs/tap/3detr-encoder_synthetic.py',
         '--work-dir', str(work_dir), '--cfg-options', *objects, *main_process_loading(),
         'train_dataloader.batch_size=2', 'train_dataloader.dataset.pipeline.5.num_views=1',
         'model.photograph.depth=2', 'model.backbone.preenc_npoints=256',
         'train_cfg.max_epochs=1', 'param_scheduler.0.T_max=1', 'param_scheduler.0.end=1'])
    return work_dir / 'epoch_1.pth'


def test_3detr_detection_trains_and_tests_from_tap(scenes, tmp_path):
    """The projects README's chain: TAP pre-trains the 3DETR encoder, whose checkpoint
    (CROSSPT_PRETRAINED) 3DETR detection fine-tunes and tools/test.py evaluates."""
    checkpoint = tap_3detr_encoder(tmp_path / 'tap_3detr')
    out = run([sys.executable, 'tools/train.py', DET_3DETR, '--work-dir', str(tmp_path),
               '--cfg-options', *data_options('train_dataloader', 'val_dataloader',
                                              'test_dataloader', seg=False),
               'train_dataloader.batch_size=2', *short_schedule(2)],
              env=dict(CROSSPT_PRETRAINED=str(checkpoint)))
    assert_every_tensor_loaded(out)
    ap = metric(out, 'mAP_0.25')
    assert 0.0 <= ap <= 1.0
    out = run([sys.executable, 'tools/test.py', DET_3DETR, str(tmp_path / 'iter_2.pth'),
               '--work-dir', str(tmp_path / 'test'), '--cfg-options',
               *data_options('train_dataloader', 'val_dataloader', 'test_dataloader',
                             seg=False)], env=dict(CROSSPT_PRETRAINED=str(checkpoint)))
    assert 0.0 <= metric(out, 'mAP_0.25') <= 1.0


@pytest.mark.parametrize('config,source,prefix_key', [
    (SEG_SRUNET, 'configs/ppkt/srunet34_synthetic.py', 'backbone'),
    (DET_3DETR, 'configs/tap/3detr-encoder_synthetic.py', 'backbone'),
])
def test_benchmark_configs_load_matching_and_refuse_mismatched(config, source, prefix_key,
                                                               tmp_path):
    good = save_backbone(source, tmp_path / 'good.pth', prefix_key)
    model = build_with_checkpoint(config, good)
    part = model.encoder if hasattr(model, 'encoder') else model.backbone
    saved = torch.load(good, weights_only=True)['state_dict']
    for k, v in part.state_dict().items():
        if f'backbone.{k}' in saved:
            torch.testing.assert_close(v, saved[f'backbone.{k}'], msg=k)
    assert sum(f'backbone.{k}' in saved for k in part.state_dict()) == len(saved)
    # a TAP PointMLP checkpoint is not an SR-UNet / 3DETR encoder: the error names the file
    wrong = save_backbone('configs/tap/pointmlp_synthetic.py', tmp_path / 'wrong.pth')
    with pytest.raises((KeyError, ValueError), match='wrong.pth'):
        build_with_checkpoint(config, wrong)


@pytest.mark.parametrize('config', [SEG_SRUNET, SEG_POINTMLP,
                                    f'{PROJECT_CONFIGS}/ppkt/srunet34_ft_scannet-seg.py'])
def test_segmentation_evaluates_against_mapped_labels(scenes, config):
    """SegMetric compares predictions (0..19) with eval_ann_info's mask: the configs'
    test pipeline must map NYU40 ids to train ids there (mmdet3d 1.4.0's own
    scannet-seg.py test pipeline does not)."""
    import numpy as np
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(str(REPO / config))
    import_modules_from_strings(**cfg.custom_imports)
    from mmdet3d.registry import DATASETS
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.update(data_root=f'{scenes}/', auto_generate=None)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        dataset = DATASETS.build(dataset_cfg)
        sample = dataset[0]['data_samples']
    gt = sample.eval_ann_info['pts_semantic_mask']
    raw = np.fromfile(scenes / 'semantic_mask' / 'scene0004_00.bin', dtype=np.int64)
    nyu40_to_train = {nyu: i for i, nyu in enumerate(
        (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33, 34, 36, 39))}
    expected = np.array([nyu40_to_train.get(int(v), 20) for v in raw])
    assert sample.lidar_path.endswith('scene0004_00.bin')
    np.testing.assert_array_equal(gt, expected)


def test_no_default_scope_leaks_into_later_tests():
    """The tests above build mmdet3d modules in temporary scopes only: the scope that
    later tests (building crosspt modules by bare name) see is not mmdet3d's."""
    from mmengine.registry import DefaultScope
    current = DefaultScope.get_current_instance()
    assert current is None or current.scope_name != 'mmdet3d'
