"""The documentation's real-ScanNet scene commands, run from their pages' text on a tiny
twin of ScanNet in mmdet3d's format.

Commands (argv and environment prefix read from the pages, shrink options appended):

- docs/mmdet3d_integration.md, worked example
  ``docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py``: the ``train.py``,
  ``dist_train.sh ... 2`` and ``test.py ... epoch_200.pth`` lines, and the "without
  ScanNet" ``train.py ... --cfg-options train_dataloader.dataset.data_root=...`` line;
- docs/finetuning.md: ``dist_train.sh`` of ``srunet34_ft_scannet-seg.py 4``,
  ``srunet34_ft_scannet-seg_15pct.py 4`` and ``3detr_scratch_scannet-det.py 1``;
  configs/tap/README.md: ``dist_train.sh ... 3detr_ft_scannet-det.py 1``.

Every command runs from a folder laid out as the repository root: ``configs``, ``docs``,
``projects`` and ``tools`` link to the repository, ``data/scannet/`` (the configs' own
data root) and ``data/synthetic_scannet_mmdet3d/`` hold 2 + 1 rooms of
crosspt.synthetic.scannet_mmdet3d (4,000 points each), and the pages' ``work_dirs/...``
checkpoints are written here: a random PPKT SR-UNet34 student and a random TAP 3DETR
encoder under ``backbone.``. So the configs' relative data roots, the ``CROSSPT_PRETRAINED``
prefixes and the default work dirs are the pages' own. ``dist_train.sh CONFIG N`` runs as
the argv it hands each rank, one rank of N as a 1-process world (dist_train.sh itself:
tests/test_tools/test_resume_exact.py, 2 processes).
"""
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

pytest.importorskip('mmdet3d.models')

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'test_tools'))
from config_shrink import main_process_loading  # noqa: E402
from test_scene_benchmarks import save_backbone  # noqa: E402
from tool_runner import REPO, WEIGHTS_ONLY, one_rank_world, run  # noqa: E402

pytestmark = pytest.mark.slow

#: 2 + 1 rooms; 8,000 training points give mmdet3d's resampling int(8000 / 4000) = 2
#: patches, one per room
TWIN = dict(num_scenes=2, num_val_scenes=1, num_points=4000, num_points_per_sample=4000,
            seed=0)
LINKED = ('configs', 'docs', 'projects', 'tools')
EXAMPLE = 'docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py'
EXAMPLE_PAGE = 'docs/mmdet3d_integration.md'
PROJECT = 'projects/crosspt_mmdet3d/configs'
SEG_FT = f'{PROJECT}/ppkt/srunet34_ft_scannet-seg.py'
SEG_15PCT = f'{PROJECT}/ppkt/srunet34_ft_scannet-seg_15pct.py'
DET_SCRATCH = f'{PROJECT}/tap/3detr_scratch_scannet-det.py'
DET_FT = f'{PROJECT}/tap/3detr_ft_scannet-det.py'
PPKT_STUDENT = 'configs/ppkt/srunet34_synthetic.py'        # the worked example's iter_360
PPKT_SCANNET = 'configs/ppkt/srunet34_1xb24-60k_scannet.py'
TAP_3DETR = 'configs/tap/3detr-encoder_1xb32-100e_shapenet55.py'
#: SR-UNet34 tensors (the worked example's page: "loaded 372/372 tensors")
SRUNET_TENSORS = 372
#: ScanNet's 18 detection classes (docs/methods/benchmarks.md, 'ScanNet detection classes')
DET_CLASSES = ('cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window', 'bookshelf',
               'picture', 'counter', 'desk', 'curtain', 'refrigerator', 'showercurtrain',
               'toilet', 'sink', 'bathtub', 'garbagebin')
#: no dataloader worker processes (2 cores; the data are the same)
NO_WORKERS = main_process_loading()
#: no validation, no last checkpoint: for runs whose metric another test checks
TRAIN_ONLY = ['train_cfg.val_begin=1000', 'default_hooks.checkpoint.save_last=False']


def page_command(page: str, tool: str, config: str, with_options: bool = False
                 ) -> Tuple[Dict[str, str], List[str]]:
    """(environment prefix, argv from the tool on) of the one line of ``page``'s bash
    blocks that runs ``tool`` on ``config`` (with / without ``--cfg-options``)."""
    text = (REPO / page).read_text(encoding='utf-8')
    found = []
    for block in re.findall(r'```bash\n(.*?)```', text, re.S):
        for line in block.replace('\\\n', ' ').splitlines():
            words = shlex.split(line, comments=True)
            if tool in words and config in words and \
                    ('--cfg-options' in words) == with_options:
                found.append(words)
    assert len(found) == 1, f'{page}: {len(found)} lines run {tool} on {config}: {found}'
    words = found[0]
    start = words.index(tool)
    assert words[start - 1] in ('python', 'bash'), words
    env = dict(word.split('=', 1) for word in words[:start - 1])
    return env, words[start:]


def one_rank(argv: List[str]) -> Tuple[List[str], int, Dict[str, str]]:
    """``tools/dist_train.sh CONFIG N args`` -> (the argv it hands each rank, N, a
    1-process world's environment)."""
    assert argv[0] == 'tools/dist_train.sh', argv
    config, procs = argv[1], int(argv[2])
    return (['tools/train.py', config, '--launcher', 'pytorch', *argv[3:]], procs,
            one_rank_world())


def launch(root: Path, argv: List[str], options: List[str], env: Optional[dict] = None,
           extra: Tuple[str, ...] = ()) -> str:
    """Run ``python argv extra --cfg-options ... options`` from ``root``; its output."""
    at = argv.index('--cfg-options') if '--cfg-options' in argv else len(argv)
    # the page's own options first, then the shrink options
    argv = [*argv[:at], *extra, '--cfg-options', *argv[at + 1:], *options]
    return run([sys.executable, *argv], env=env, cwd=root)


def key_report(path: str, module: str, tensors: int) -> str:
    """crosspt.Pretrained's log line for a checkpoint that fills ``module``."""
    return (f"Pretrained checkpoint {path} (prefix 'backbone.') -> {module}: loaded "
            f'{tensors}/{tensors} tensors; missing 0; unexpected 0')


def logged(output: str, key: str) -> float:
    """The last value of ``key: value`` in a log."""
    values = re.findall(rf'\b{re.escape(key)}: (\S+)', output)
    assert values, f'{key} not in the log:\n{output[-3000:]}'
    return float(values[-1])


@pytest.fixture(scope='module')
def root(tmp_path_factory) -> Path:
    """A folder laid out as the repository root, with the twin at both data roots."""
    from crosspt.synthetic.scannet_mmdet3d import generate_synthetic_scannet_mmdet3d
    folder = tmp_path_factory.mktemp('repo_root')
    for name in LINKED:
        (folder / name).symlink_to(REPO / name, target_is_directory=True)
    generate_synthetic_scannet_mmdet3d(folder / 'data' / 'scannet', **TWIN)
    (folder / 'data' / 'synthetic_scannet_mmdet3d').symlink_to('scannet')
    return folder


@pytest.fixture(scope='module')
def ppkt_checkpoints(root) -> Tuple[str, str]:
    """The pages' two PPKT checkpoints: one random SR-UNet34 student under ``backbone.``
    (both recipes build the same student)."""
    from mmengine.config import Config
    assert Config.fromfile(REPO / PPKT_STUDENT).model.backbone == \
        Config.fromfile(REPO / PPKT_SCANNET).model.backbone
    synthetic = 'work_dirs/ppkt_srunet34/iter_360.pth'
    scannet = 'work_dirs/srunet34_1xb24-60k_scannet/iter_60000.pth'
    for rel in (synthetic, scannet):
        (root / rel).parent.mkdir(parents=True)
    save_backbone(PPKT_STUDENT, root / synthetic)
    os.link(root / synthetic, root / scannet)
    return synthetic, scannet


# ------------------------------------------------------- docs/mmdet3d_integration.md
@pytest.fixture(scope='module')
def example_trained(root, ppkt_checkpoints) -> str:
    """The worked example's first command: one epoch on data/scannet/ (2 resampled
    patches, the stock batch of 16: one iteration), then validation."""
    env, argv = page_command(EXAMPLE_PAGE, 'tools/train.py', EXAMPLE)
    assert env == {'CROSSPT_PRETRAINED': ppkt_checkpoints[0]} and argv[1:] == [EXAMPLE]
    return launch(root, argv, ['train_cfg.max_epochs=1', WEIGHTS_ONLY, *NO_WORKERS], env)


def test_worked_example_trains_and_tests_on_data_scannet(root, example_trained):
    out = example_trained
    assert key_report('work_dirs/ppkt_srunet34/iter_360.pth', 'SRUNetSegBackbone',
                      SRUNET_TENSORS) in out
    assert 'Epoch(train) [1][1/1]' in out and 'decode.loss_sem_seg' in out, out[-3000:]
    miou = logged(out, 'miou')
    assert 0.0 <= miou <= 1.0
    env, argv = page_command(EXAMPLE_PAGE, 'tools/test.py', EXAMPLE)
    work_dir = 'work_dirs/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg'
    assert env == {} and argv[1:] == [EXAMPLE, f'{work_dir}/epoch_200.pth']
    # the train run's own checkpoint, in the work dir the page names (1 epoch, not 200)
    assert (root / work_dir / 'epoch_1.pth').is_file()
    out = launch(root, [*argv[:-1], f'{work_dir}/epoch_1.pth'], NO_WORKERS)
    # the same weights on the same whole val room: tools/test.py repeats the val mIoU
    assert logged(out, 'miou') == pytest.approx(miou, abs=1e-4)


def test_worked_example_dist_train_one_rank(root, ppkt_checkpoints):
    env, argv = page_command(EXAMPLE_PAGE, 'tools/dist_train.sh', EXAMPLE)
    assert env == {'CROSSPT_PRETRAINED': ppkt_checkpoints[0]}
    argv, procs, world = one_rank(argv)
    assert procs == 2 and argv[1] == EXAMPLE
    out = launch(root, argv, ['train_cfg.max_epochs=1', *TRAIN_ONLY, *NO_WORKERS],
                 {**env, **world}, extra=('--work-dir', 'work_dirs/dist'))
    assert 'Distributed training: True' in out, out[-3000:]
    assert key_report(env['CROSSPT_PRETRAINED'], 'SRUNetSegBackbone', SRUNET_TENSORS) in out
    assert 'Epoch(train) [1][1/1]' in out, out[-3000:]


def test_worked_example_without_scannet(root, ppkt_checkpoints):
    """The page's own options: data_root at data/synthetic_scannet_mmdet3d/, scene_idxs
    relative to it, batch 2, 1 epoch: the 2 resampled patches in one iteration."""
    env, argv = page_command(EXAMPLE_PAGE, 'tools/train.py', EXAMPLE, with_options=True)
    assert env == {'CROSSPT_PRETRAINED': ppkt_checkpoints[0]}
    options = argv[argv.index('--cfg-options') + 1:]
    assert 'train_dataloader.dataset.data_root=data/synthetic_scannet_mmdet3d/' in options
    out = launch(root, argv, [*TRAIN_ONLY, *NO_WORKERS],
                 env, extra=('--work-dir', 'work_dirs/without_scannet'))
    # the line the page quotes, with its <file>
    assert key_report(env['CROSSPT_PRETRAINED'], 'SRUNetSegBackbone', SRUNET_TENSORS) in out
    assert 'Epoch(train) [1][1/1]' in out, out[-3000:]


# ------------------------------------------------------------------ docs/finetuning.md
def iterations(n: int) -> List[str]:
    """An iteration-based recipe cut to ``n`` iterations (schedule and checkpoint)."""
    return [f'train_cfg.max_iters={n}', f'param_scheduler.0.end={n}',
            'default_hooks.logger.interval=1', 'default_hooks.checkpoint.save_last=False']


def test_srunet34_ft_scannet_seg_one_rank(root, ppkt_checkpoints):
    """Whole rooms at 2 cm from the PPKT student; validation on the whole val room; the
    config's save_best writes the best-mIoU checkpoint."""
    env, argv = page_command('docs/finetuning.md', 'tools/dist_train.sh', SEG_FT)
    assert env == {'CROSSPT_PRETRAINED': ppkt_checkpoints[1]}
    argv, procs, world = one_rank(argv)
    assert procs == 4
    out = launch(root, argv, [*iterations(1), WEIGHTS_ONLY, *NO_WORKERS], {**env, **world})
    assert key_report(env['CROSSPT_PRETRAINED'], 'SRUNetSegBackbone', SRUNET_TENSORS) in out
    assert 'Iter(train) [1/1]' in out, out[-3000:]
    assert 0.0 <= logged(out, 'miou') <= 1.0
    work_dir = root / 'work_dirs' / Path(SEG_FT).stem
    assert [p.name for p in work_dir.glob('*.pth')] == ['best_miou_iter_1.pth']


def test_srunet34_ft_scannet_seg_15pct_one_rank(root, ppkt_checkpoints):
    env, argv = page_command('docs/finetuning.md', 'tools/dist_train.sh', SEG_15PCT)
    assert env == {'CROSSPT_PRETRAINED': ppkt_checkpoints[1]}
    argv, procs, world = one_rank(argv)
    assert procs == 4
    out = launch(root, argv, [*iterations(1), *TRAIN_ONLY, *NO_WORKERS], {**env, **world})
    # ceil(0.15 * 2 rooms) = 1 labelled room
    assert re.search(r'scene_fraction 0\.15 keeps 1 of 2 scenes', out), out[-3000:]
    assert key_report(env['CROSSPT_PRETRAINED'], 'SRUNetSegBackbone', SRUNET_TENSORS) in out
    assert 'Iter(train) [1/1]' in out, out[-3000:]


#: the 3DETR recipes: 1 epoch (the 2 rooms in one batch of 8); smaller sampling, as
#: tests/test_projects/test_mmdet3d_sunrgbd.py's run: RandomCuboid (train step 4) at the
#: recipe's 60 % of the stored points, 1,024 sampled points (PointSample: train step 5,
#: val step 3), 128 pre-encoder centres of 16 neighbours, 32 queries (same weights)
DET_EPOCH = ['train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
             'train_dataloader.dataset.pipeline.4.min_points=2400',
             'train_dataloader.dataset.pipeline.5.num_points=1024',
             'val_dataloader.dataset.pipeline.3.num_points=1024',
             'model.encoder.preenc_npoints=128', 'model.encoder.preenc_nsample=16',
             'model.nqueries=32']


def test_3detr_scratch_scannet_det_one_rank(root):
    """From scratch; IndoorMetric AP over ScanNet's 18 classes on the val room."""
    env, argv = page_command('docs/finetuning.md', 'tools/dist_train.sh', DET_SCRATCH)
    assert env == {}
    argv, procs, world = one_rank(argv)
    assert procs == 1
    out = launch(root, argv, [*DET_EPOCH, *NO_WORKERS], world)
    assert 'Epoch(train) [1][1/1]' in out and 'loss_giou' in out, out[-3000:]
    assert re.search(r'world_size: 1|Distributed training: True', out), out[-3000:]
    # every class of the 18 evaluated (NaN: no such box in the val room)
    aps = [logged(out, f'{name}_AP_0.25') for name in DET_CLASSES]
    assert all(0.0 <= ap <= 1.0 for ap in aps if ap == ap) and any(ap == ap for ap in aps)
    logged(out, 'mAP_0.25')
    logged(out, 'mAP_0.50')
    # the config's checkpoint hook in the default work dir: the last epoch
    assert (root / 'work_dirs' / Path(DET_SCRATCH).stem / 'epoch_1.pth').is_file()


@pytest.fixture(scope='module')
def tap_encoder(root) -> str:
    """The page's TAP 3DETR-encoder checkpoint: a random encoder under ``backbone.``."""
    rel = 'work_dirs/3detr-encoder_1xb32-100e_shapenet55/epoch_100.pth'
    (root / rel).parent.mkdir(parents=True)
    save_backbone(TAP_3DETR, root / rel)
    return rel


def test_3detr_ft_scannet_det_one_rank(root, tap_encoder):
    env, argv = page_command('configs/tap/README.md', 'tools/dist_train.sh', DET_FT)
    assert env == {'CROSSPT_PRETRAINED': tap_encoder}
    argv, procs, world = one_rank(argv)
    assert procs == 1
    out = launch(root, argv, [*DET_EPOCH, *TRAIN_ONLY, *NO_WORKERS], {**env, **world})
    report = re.search(rf"Pretrained checkpoint {re.escape(tap_encoder)} \(prefix "
                       r"'backbone\.'\) -> ThreeDETREncoder: loaded (\d+)/(\d+) tensors; "
                       r'missing 0; unexpected 0', out)
    assert report and report.group(1) == report.group(2), out[-3000:]
    assert 'Epoch(train) [1][1/1]' in out, out[-3000:]
