"""Every backbone pre-trains with TAP through tools/train.py on the embedded data: the
loss falls in 12 iterations (PointMLP: test_train_tap.py).  A file of its own so that
pytest-xdist can run it next to the fine-tuning runs of test_benchmark_configs.py.

The backbones keep their published sizes; the backbone-independent photograph module runs
2 of its 6 blocks, DGCNN (whose memory holds every input point) reads 512 points and the
3DETR encoder's pre-encoder takes 256 centres (the number holds no weights).  Measured
at one thread (2026-12-03), the mean of the last 3 losses over the first 3's (the test
asks for < 0.95): PointNet++ 0.80, DGCNN 0.83, Transformer 0.87, 3DETR encoder 0.88."""
import json
import sys
from pathlib import Path

import pytest

from tool_runner import run

REPO = Path(__file__).resolve().parents[2]
SHAPENET55 = REPO / 'data' / 'test_cache' / 'synthetic_shapenet55_small'


def losses(work_dir: Path) -> list:
    rows = []
    for scalars in sorted(work_dir.glob('2*/vis_data/scalars.json')):
        for line in scalars.read_text().splitlines():
            record = json.loads(line)
            if 'loss' in record and 'lr' in record:
                rows.append(record['loss'])
    return rows


@pytest.mark.slow
@pytest.mark.parametrize('backbone', ['pointnet2', 'dgcnn', 'transformer', '3detr-encoder'])
def test_tap_pretraining_loss_falls_for_every_backbone(backbone, tmp_path):
    """(PointMLP: tests/test_tools/test_train_tap.py.)  12 iterations on 16 objects; the
    3DETR encoder is the one projects/crosspt_mmdet3d/configs/tap/3detr_ft_*.py start from."""
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    options = [f'{loader}.{key}' for loader in loaders for key in (
        f'dataset.data_root={SHAPENET55}', 'dataset.auto_generate.num_train=12',
        'dataset.auto_generate.num_val=4', 'dataset.auto_generate.num_test=4')]
    if backbone == 'dgcnn':
        options += [f'{loader}.dataset.pipeline.0.num_points=512' for loader in loaders]
    if backbone == '3detr-encoder':
        options.append('model.backbone.preenc_npoints=256')   # holds no weights
    run([sys.executable, 'tools/train.py', f'configs/tap/{backbone}_synthetic.py',
         '--work-dir', str(tmp_path), '--cfg-options', *options, 'model.photograph.depth=2',
         'train_dataloader.batch_size=4', 'train_cfg.max_epochs=3',
         'param_scheduler.0.T_max=3', 'param_scheduler.0.end=3', 'train_cfg.val_interval=100',
         'default_hooks.logger.interval=1', 'custom_hooks.0.interval=100',
         'randomness.seed=0'])
    values = losses(tmp_path)
    assert len(values) == 12
    first, last = sum(values[:3]) / 3, sum(values[-3:]) / 3
    assert last < 0.95 * first, values
