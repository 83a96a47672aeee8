"""End to end: tools/train.py on the embedded data (loss falls, PNG grids, resume without a
checkpoint path), tools/test.py, publish_model, the demo, and config-key errors.  Every
trainable TAP parameter gets a gradient (what DDP needs); tools/dist_train.sh itself runs
in tests/test_tools/test_resume_exact.py.

The runs use configs/tap/pointmlp_synthetic.py unchanged except for --cfg-options that
shrink the data and the schedule.  The small synthetic set is cached under
``data/test_cache/`` (generated once, deterministic).
"""
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from crosspt.engine import load_checkpoint_file
from tool_runner import call, run

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'configs/tap/pointmlp_synthetic.py'
DATA_ROOT = REPO / 'data' / 'test_cache' / 'synthetic_shapenet55_small_56px'
_CFG = Config.fromfile(REPO / CONFIG)
IMAGE, NUM_POINTS, VIEWS = _CFG.image_size, _CFG.num_points, _CFG.num_views   # 56, 512, 12
ITERS_PER_EPOCH = 4   # (num_train + num_val) / batch_size = 16 / 4

pytestmark = pytest.mark.slow


def small_run_options(work_dir: Path, max_epochs: int) -> list:
    data = [f'{loader}.{key}' for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            for key in ('dataset.data_root=' + str(DATA_ROOT),
                        'dataset.auto_generate.num_train=12',
                        'dataset.auto_generate.num_val=4',
                        'dataset.auto_generate.num_test=4',
                        'batch_size=4')]
    return ['--work-dir', str(work_dir), '--cfg-options', *data,
            f'train_cfg.max_epochs={max_epochs}', 'train_cfg.val_interval=100',
            'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=10',
            'custom_hooks.0.interval=4', 'randomness.seed=0']


def run_losses(scalars: Path) -> list:
    """(iter, loss) pairs of one run's vis_data/scalars.json."""
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    return [(r['iter'], r['loss']) for r in records if 'loss' in r and 'lr' in r]


def train_losses(work_dir: Path) -> list:
    """(iter, loss) pairs from every run's vis_data/scalars.json, in order."""
    return [row for scalars in sorted(work_dir.glob('2*/vis_data/scalars.json'))
            for row in run_losses(scalars)]


@pytest.fixture(scope='module')
def first_run(tmp_path_factory):
    """Train 4 epochs (16 iterations) in one process, "interrupted" after epoch 2 (the
    schedules do not depend on ``max_epochs``) and resumed with ``--resume`` without a
    path (the work dir's latest checkpoint).  Returns the work dir and both outputs."""
    work_dir = tmp_path_factory.mktemp('tap_single')
    output = run([sys.executable, 'tools/train.py', CONFIG, *small_run_options(work_dir, 2)])
    resumed = run([sys.executable, 'tools/train.py', CONFIG, '--resume',
                   *small_run_options(work_dir, 4)])
    return work_dir, output, resumed


def test_loss_falls_and_view_grids_are_written(first_run):
    work_dir, output, _ = first_run
    losses = train_losses(work_dir)
    assert [it for it, _ in losses] == list(range(1, 4 * ITERS_PER_EPOCH + 1))
    first = sum(loss for _, loss in losses[:3]) / 3
    last = sum(loss for _, loss in losses[-3:]) / 3
    assert last < 0.75 * first, f'TAP loss did not fall clearly: {first:.3f} -> {last:.3f}'
    assert 'eta:' in output
    grids = sorted((work_dir / 'view_grids').glob('iter_*.png'))
    assert [g.name for g in grids] == [f'iter_{i:06d}.png' for i in (4, 8, 12, 16)]
    from PIL import Image
    image = Image.open(grids[-1])
    # 1 object x (GT row + prediction row) x 12 views
    assert image.mode == 'RGB' and image.width > VIEWS * IMAGE and image.height > 2 * IMAGE


def test_resume_continues_from_saved_iteration(first_run):
    """The fixture's second run continued the first (its losses: the test above)."""
    work_dir, _, output = first_run
    assert re.search(r'resumed epoch: 2, iter: 8', output), output[-3000:]
    runs = sorted(work_dir.glob('2*/vis_data/scalars.json'))
    assert len(runs) == 2
    assert [it for it, _ in run_losses(runs[1])] == list(range(9, 17))
    final = load_checkpoint_file(str(work_dir / 'epoch_4.pth'))
    assert final['meta']['iter'] == 16 and final['meta']['epoch'] == 4
    steps = {int(s['step']) for s in final['optimizer']['state'].values()}
    assert steps == {16}                     # AdamW state continued, not restarted
    assert final['param_schedulers'][0]['_global_step'] == 16   # per-iteration warm-up


def test_resume_from_an_explicit_checkpoint_path(first_run, tmp_path):
    """docs/pretraining.md's ``--resume work_dirs/pointmlp_synthetic/epoch_10.pth``: the
    named checkpoint (the fixture's epoch_3.pth, not its latest, in another folder) is
    the one resumed, into a new work dir, for one more epoch."""
    work_dir, _, _ = first_run
    output = run([sys.executable, 'tools/train.py', CONFIG, '--resume',
                  str(work_dir / 'epoch_3.pth'), *small_run_options(tmp_path, 4)])
    assert re.search(r'resumed epoch: 3, iter: 12', output), output[-3000:]
    assert [it for it, _ in train_losses(tmp_path)] == list(range(13, 17))
    final = load_checkpoint_file(str(tmp_path / 'epoch_4.pth'))
    assert final['meta']['iter'] == 16 and final['meta']['epoch'] == 4


def test_every_trainable_parameter_gets_a_gradient(first_run):
    """DDP (tools/dist_train.sh) refuses a model whose parameters get no gradient in a
    step: the config's TAP, on a batch of its training pipeline, leaves none out."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    from crosspt.registry import DATASETS, MODELS
    with DefaultScope.overwrite_default_scope('crosspt'):
        dataset = DATASETS.build(dict(_CFG.train_dataloader.dataset, data_root=str(DATA_ROOT),
                                      auto_generate=None))
        torch.manual_seed(0)
        model = MODELS.build(_CFG.model)
    data = model.data_preprocessor(pseudo_collate([dataset[0], dataset[1]]), True)
    losses = model(**data, mode='loss')
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing and len(list(model.parameters())) > 0, missing


def test_test_tool_reports_view_metrics(first_run, tmp_path):
    work_dir, _, _ = first_run
    output = run([sys.executable, 'tools/test.py', CONFIG, str(work_dir / 'epoch_4.pth'),
                  *small_run_options(tmp_path, 4)])
    metrics = re.search(r'Epoch\(test\).*view/loss: ([0-9.]+).*view/psnr: ([0-9.]+)', output)
    assert metrics, output[-3000:]
    assert 0 < float(metrics.group(1)) < 25 and float(metrics.group(2)) > 0


def test_publish_backbone_only(first_run, tmp_path):
    work_dir, _, _ = first_run
    output = run([sys.executable, 'tools/model_converters/publish_model.py',
                  str(work_dir / 'epoch_4.pth'), str(tmp_path / 'tap_pointmlp_elite.pth')])
    files = list(tmp_path.glob('tap_pointmlp_elite-*.pth'))
    assert len(files) == 1 and re.fullmatch(r'tap_pointmlp_elite-[0-9a-f]{8}\.pth',
                                            files[0].name), output
    import hashlib
    digest = hashlib.sha256(files[0].read_bytes()).hexdigest()
    assert files[0].name == f'tap_pointmlp_elite-{digest[:8]}.pth'
    published = torch.load(files[0], map_location='cpu', weights_only=True)
    keys = list(published['state_dict'])
    assert keys and all(k.startswith('backbone.') for k in keys)
    assert published['meta']['crosspt_version'] and 'PointMLP' in published['meta']['config']
    # the encoder loads through mmengine's Pretrained initialiser with prefix='backbone.'
    from crosspt.models.backbones import PointMLP
    encoder = PointMLP(embed_dims=32, res_expansion=0.25, dim_expansion=(2, 2, 2, 1),
                       pre_blocks=(1, 1, 2, 1), pos_blocks=(1, 1, 2, 1),
                       init_cfg=dict(type='Pretrained', checkpoint=str(files[0]),
                                     prefix='backbone.'))
    encoder.init_weights()
    trained = load_checkpoint_file(str(work_dir / 'epoch_4.pth'))['state_dict']
    torch.testing.assert_close(encoder.embedding.net[0].weight,
                               trained['backbone.embedding.net.0.weight'])


def test_demo_writes_predicted_views_next_to_the_input(first_run, tmp_path):
    """demo/tap_views_demo.py on a val object (.ply, y up) and the same cloud as .npy,
    with the run's full checkpoint; the PNGs are the model's views, not blank."""
    from PIL import Image

    from crosspt.fileio.ply import read_ply_points
    work_dir, _, _ = first_run
    source = sorted(DATA_ROOT.rglob('*.ply'))[0]
    ply = tmp_path / 'chair.ply'
    ply.write_bytes(source.read_bytes())
    np.save(tmp_path / 'chair_copy.npy', read_ply_points(ply))
    for name in ('chair.ply', 'chair_copy.npy'):
        output = run([sys.executable, 'demo/tap_views_demo.py', str(tmp_path / name), CONFIG,
                      str(work_dir / 'epoch_4.pth'), '--views', '0', '3', '6'])
        stem = tmp_path / Path(name).stem
        for pose in (0, 3, 6):
            view = np.asarray(Image.open(f'{stem}_tap_view{pose:02d}.png'))
            assert view.shape == (IMAGE, IMAGE, 3) and view.std() > 0, output
        grid = np.asarray(Image.open(f'{stem}_tap_views.png'))
        assert grid.shape[0] > 2 * IMAGE and grid.shape[1] > 3 * IMAGE
    # both inputs are the same cloud: the same views
    a = np.asarray(Image.open(tmp_path / 'chair_tap_view03.png'), dtype=np.int16)
    b = np.asarray(Image.open(tmp_path / 'chair_copy_tap_view03.png'), dtype=np.int16)
    assert np.abs(a - b).max() <= 1
    features = np.load(tmp_path / 'chair_tap_features.npz')
    assert features['point_features'].shape == (NUM_POINTS, 256)


def test_unknown_config_key_is_named(tmp_path):
    def fails_with(option: str) -> str:
        proc = call([sys.executable, 'tools/train.py', CONFIG, '--work-dir',
                     str(tmp_path), '--cfg-options', option], timeout=300)
        assert proc.returncode != 0
        return proc.stderr

    # a plain dict: refused before anything is built, with the known keys listed
    stderr = fails_with('train_dataloader.batchsize=2')
    assert "unknown key 'batchsize' in train_dataloader" in stderr and 'batch_size' in stderr
    # a dict built into an object: its constructor names the argument
    assert "unexpected keyword argument 'max_epoch'" in fails_with('train_cfg.max_epoch=1')
