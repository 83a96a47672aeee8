"""The benchmark tools' documented commands, run from the pages' own text (issue 17,
item 8): docs/finetuning.md's transfer.py, scene_transfer.py, pretrain_gain.py and
scene_gain.py lines, the pre-training commands that feed them (create_data.py
synthetic-scenes, the 24-room teacher and students, configs/tap/pointmlp_synthetic-2k.py)
and configs/ppkt/README.md's patch-protocol scene_transfer.py line.

Each command's argv is read from its page; only shrinking options are replaced or
appended (fewer seeds, epochs, iterations, rooms, frames and objects, outputs in tmp,
data roots at small sets in tmp or data/test_cache/).  The page's chains are kept: the
trained checkpoints (TAP 2k, the 2D teacher, both PPKT students, transfer.py's published
backbone) are made once by module fixtures and fed to the benchmark commands.
scene_gain.py has no --cfg-options, so its three gain_* configs run as tmp ``_base_``
children of the page's configs that only shrink data and schedule.
"""
import json
import re
import shlex
import sys
from pathlib import Path
from typing import List

import pytest

from crosspt.fileio.checkpoint_file import load_checkpoint_file

from test_command_coverage import block_commands

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests' / 'test_tools'))
from config_shrink import main_process_loading  # noqa: E402
from test_pretrain_gain_tool import tiny_options  # noqa: E402
from tool_runner import WEIGHTS_ONLY, run  # noqa: E402

pytestmark = pytest.mark.slow

FINETUNING = REPO / 'docs' / 'finetuning.md'
PPKT_README = REPO / 'configs' / 'ppkt' / 'README.md'
MODELNET40 = REPO / 'data' / 'test_cache' / 'synthetic_objects' / 'modelnet40'
GAIN = 'projects/crosspt_mmdet3d/configs/ppkt/'
GAIN_CONFIGS = {'--linear-probe-config': 'gain_linear-probe_srunet34_scannet-seg_synthetic.py',
                '--scratch-config': 'gain_srunet34_scratch_scannet-seg_synthetic.py',
                '--finetune-config': 'gain_srunet34_ft_scannet-seg_synthetic.py'}
ROOMS = dict(num_scenes=2, num_val_scenes=1, num_points=4000, seed=0,
             num_points_per_sample=2048)
TAP_OBJECTS = dict(num_train=1, num_val=1, num_test=1, num_points=1024, image_size=56)
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def page_argv(page: Path, *needles: str) -> List[str]:
    """argv of the one command of ``page`` holding every needle, ``python`` -> this
    interpreter."""
    keys = [key for key in block_commands(page.read_text(encoding='utf-8'))
            if all(needle in key for needle in needles)]
    assert len(keys) == 1, f'{page.name}: {len(keys)} commands hold {needles}: {keys}'
    argv = shlex.split(keys[0])
    assert argv[0] == 'python', keys[0]
    return [sys.executable, *argv[1:]]


def set_option(argv: List[str], flag: str, *values: str) -> List[str]:
    """``argv`` with ``flag``'s values replaced (appended when the page has no ``flag``)."""
    if flag not in argv:
        return [*argv, flag, *values]
    start = argv.index(flag) + 1
    end = start
    while end < len(argv) and not argv[end].startswith('--'):
        end += 1
    return [*argv[:start], *values, *argv[end:]]


def swap(argv: List[str], old: str, new: str) -> List[str]:
    """``argv`` with the page's token ``old`` (present once) replaced by ``new``."""
    assert argv.count(old) == 1, f'{old} not once in {argv}'
    return [new if token == old else token for token in argv]


def child_config(path: Path, base: str, **overrides) -> str:
    """A config inheriting the page's ``base`` (dict values merge into the base's, others
    replace them); returns its path."""
    lines = [f'_base_ = [{str(REPO / base)!r}]'] + [f'{k} = {v!r}' for k, v in overrides.items()]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def loader_options(loaders, **keys) -> List[str]:
    """``LOADER.dataset.KEY=VALUE`` of every loader."""
    return [f'{loader}.dataset.{k}={v}' for loader in loaders for k, v in keys.items()]


def iter_schedule(iters: int, warm: int) -> List[str]:
    """A LinearLR warm-up of ``warm`` iterations then cosine, ``iters`` in all, one
    validation and one checkpoint at the end."""
    return [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'param_scheduler.0.end={warm}', f'param_scheduler.1.begin={warm}',
            f'param_scheduler.1.T_max={iters - warm}', f'param_scheduler.1.end={iters}',
            f'default_hooks.checkpoint.interval={iters}', 'default_hooks.logger.interval=1',
            WEIGHTS_ONLY]


def scalars(work_dir: Path) -> List[dict]:
    """Every record of a run's vis_data/scalars.json files."""
    return [json.loads(line) for path in sorted(work_dir.glob('2*/vis_data/scalars.json'))
            for line in path.read_text().splitlines()]


# ---------------------------------------------------------------- TAP 2k -> pretrain_gain
@pytest.fixture(scope='module')
def tap_2k(tmp_path_factory):
    """docs/finetuning.md's ``train.py configs/tap/pointmlp_synthetic-2k.py``: its 2
    epochs on 1 + 1 training objects (1 held out) generated in tmp."""
    tmp = tmp_path_factory.mktemp('tap_2k')
    argv = page_argv(FINETUNING, 'train.py', 'configs/tap/pointmlp_synthetic-2k.py')
    argv = set_option(argv, '--work-dir', str(tmp / 'work'))
    objects = {f'auto_generate.{k}': v for k, v in TAP_OBJECTS.items()}
    output = run([*argv, '--cfg-options',
                  *loader_options(LOADERS, data_root=tmp / 'shapenet55', **objects),
                  *main_process_loading(), 'train_dataloader.batch_size=2',
                  'default_hooks.logger.interval=1'])
    return tmp / 'work', output


def test_tap_2k_trains_two_epochs_and_validates_each(tap_2k):
    work_dir, output = tap_2k
    assert (work_dir / 'epoch_1.pth').is_file() and (work_dir / 'epoch_2.pth').is_file()
    val = [r for r in scalars(work_dir) if 'view/fg_iou' in r]
    assert [r['step'] for r in val] == [1, 2], val
    assert all(0.0 <= r['view/fg_iou'] <= 1.0 for r in val)
    losses = [r['loss'] for r in scalars(work_dir) if 'lr' in r]
    assert len(losses) == 2                       # 2 objects / batch 2, 2 epochs
    assert 'num_points = 1024' in (work_dir / 'pointmlp_synthetic-2k.py').read_text()


@pytest.fixture(scope='module')
def scan_root(tmp_path_factory):
    """Root of the tiny ScanObjectNN OBJ_BG-format set (generated on first use)."""
    return tmp_path_factory.mktemp('gain_objects') / 'scan'


@pytest.mark.parametrize('needle,config', [
    ('_tap-frame.py',
     'configs/tap/benchmarks/gain_pointmlp_scanobjectnn-obj-bg_synthetic_tap-frame.py'),
    ('batchnorm=per_cloud', 'configs/tap/benchmarks/'
                            'gain_pointmlp_scanobjectnn-obj-bg_synthetic.py'),
], ids=['tap-frame', 'per-cloud-bn'])
def test_pretrain_gain_linear_probe_lines(needle, config, tap_2k, scan_root, tmp_path):
    """The two ``--protocols linear_probe`` lines with the TAP 2k checkpoint: 2 seeds,
    1 label per class, a 2 + 1 objects-per-class set."""
    argv = page_argv(FINETUNING, 'pretrain_gain.py', needle)
    assert config in argv
    argv = swap(argv, 'tap=work_dirs/tap_2k/epoch_2.pth', f'tap={tap_2k[0] / "epoch_2.pth"}')
    argv = set_option(argv, '--out', str(tmp_path / 'out'))
    log = run([*argv, '--seeds', '0', '1', '--labels-per-class', '1',
               '--cfg-options', *tiny_options(scan_root)])
    record = json.loads((tmp_path / 'out' / 'results.json').read_text())
    assert record['config'] == config and record['protocols'] == ['linear_probe']
    batchnorm = 'per_cloud' if 'per_cloud' in needle else 'running'
    assert record['settings']['linear_probe']['batchnorm'] == batchnorm
    keys = sorted((r['protocol'], r['budget'], r['init'], r['seed']) for r in record['runs'])
    assert keys == sorted(('linear_probe', b, i, s) for b in ('full', '1/class')
                          for i in ('random', 'tap') for s in (0, 1))
    assert all(0.0 <= r['accuracy'] <= 1.0 and r['num_test'] == 6 for r in record['runs'])
    assert set(record['summaries']) == {'linear_probe'}
    # the checkpoint's frozen features are extracted once, the random encoder's per seed
    assert len(re.findall(r'tap: features of 12 train / 6 test clouds', log)) == 1
    assert len(re.findall(r'random: features of 12 train / 6 test clouds', log)) == 2
    assert '| linear_probe | full | tap | 2 |' in (tmp_path / 'out' / 'results.md').read_text()


# ----------------------------------------------------------------------------- transfer
def finetune_options() -> List[str]:
    """transfer.py's --cfg-options: the cached ModelNet40 twin, 8 training (of which the
    label fraction keeps fewer than a batch: no drop_last) / 6 test clouds of 256 points,
    no loader workers."""
    points = [f'{loader}.dataset.pipeline.1.num_points=256' for loader in LOADERS]
    return ['--cfg-options', *loader_options(LOADERS, data_root=MODELNET40), *points,
            *main_process_loading(),
            'train_dataloader.dataset.indices=8', 'train_dataloader.drop_last=False',
            'val_dataloader.dataset.indices=6', 'test_dataloader.dataset.indices=6',
            'default_hooks.logger.interval=1']


@pytest.fixture(scope='module')
def transfer_run(tmp_path_factory):
    """docs/finetuning.md's ``transfer.py ... --pretrain-config configs/tap/
    pointmlp_synthetic.py --label-fraction 0.34``: seed 0, 3 epochs (the tool's
    minimum); the pre-training config a tmp child of pointmlp_synthetic.py with 1 + 1
    objects and 1 epoch (the tool passes no options to its pre-training)."""
    tmp = tmp_path_factory.mktemp('transfer')
    argv = page_argv(FINETUNING, 'tools/benchmarks/transfer.py', '--pretrain-config')
    objects = dict(TAP_OBJECTS, seed=0)
    dataset = dict(data_root=str(tmp / 'shapenet55'), auto_generate=objects)
    pretrain = child_config(tmp / 'pointmlp_synthetic_tiny.py', 'configs/tap/pointmlp_synthetic.py',
                            train_dataloader=dict(batch_size=2, dataset=dataset),
                            val_dataloader=dict(dataset=dataset),
                            test_dataloader=dict(dataset=dataset),
                            train_cfg=dict(max_epochs=1, val_interval=1))
    argv = swap(argv, 'configs/tap/pointmlp_synthetic.py', pretrain)
    argv = set_option(argv, '--seeds', '0')
    output = run([*argv, '--max-epochs', '3', '--work-dir', str(tmp / 'work'),
                  *finetune_options()])
    return tmp / 'work', output


def check_transfer(work_dir: Path, seeds: List[int], backbone: str) -> dict:
    """results.json / results.md of a transfer.py run, and each fine-tuning run's log."""
    record = json.loads((work_dir / 'results.json').read_text())
    assert record['seeds'] == seeds and record['backbone'] == backbone
    assert record['config'].endswith('pointmlp_ft_modelnet40_synthetic.py')
    assert record['label_fraction'] == 0.34 and record['batch_size'] == 8
    table = (work_dir / 'results.md').read_text()
    for seed in seeds:
        assert re.search(rf'^\| {seed} \| [\d.]+ \| [\d.]+ \|', table, re.M), table
        for init in ('scratch', 'tap'):
            metrics = record['results'][init][str(seed)]
            assert all(0.0 <= metrics[m] <= 100.0 for m in ('cls/oa', 'cls/macc'))
            log = (work_dir / f'{init}_seed{seed}' / 'train.log').read_text()
            assert (f'Pretrained checkpoint {backbone}' in log) == (init == 'tap')
            assert re.search(rf'LabelFractionDataset: \d+ of 8 samples \(fraction 0.34, '
                             rf'seed {seed}', log), log[-2000:]
            assert 'Epoch(train) [3]' in log and 'Epoch(train) [4]' not in log
    assert '| mean ± std |' in table
    return record


def test_transfer_pretrains_publishes_and_compares(transfer_run):
    work_dir, output = transfer_run
    published = sorted((work_dir / 'pretrain').glob('backbone-*.pth'))
    assert len(published) == 1 and (work_dir / 'pretrain' / 'epoch_1.pth').is_file()
    assert '[transfer] pre-training done' in output
    record = check_transfer(work_dir, [0], str(published[0]))
    assert record['pretrain_config'].endswith('pointmlp_synthetic_tiny.py')


def test_transfer_with_a_published_backbone(transfer_run, tmp_path):
    """The ``--pretrained ... --max-epochs 20 --batch-size 8`` line: the backbone the
    other line published, seed 0, 3 epochs; no pre-training runs."""
    backbone = str(next((transfer_run[0] / 'pretrain').glob('backbone-*.pth')))
    argv = page_argv(FINETUNING, 'tools/benchmarks/transfer.py', '--pretrained')
    argv = swap(argv, 'work_dirs/tap_pointmlp/backbone-1a2b3c4d.pth', backbone)
    argv = set_option(argv, '--max-epochs', '3')
    run([*argv, '--seeds', '0', '--work-dir', str(tmp_path), *finetune_options()])
    record = check_transfer(tmp_path, [0], backbone)
    assert record['pretrain_config'] is None and not (tmp_path / 'pretrain').exists()


# ------------------------------------------------------- PPKT 24 rooms -> scene benchmarks
@pytest.fixture(scope='module')
def frames(tmp_path_factory):
    """docs/finetuning.md's ``create_data.py synthetic-scenes ... --seed 1``: 3 rooms x
    2 frames in tmp."""
    out = tmp_path_factory.mktemp('frames') / 'synthetic_scannet_pretrain'
    argv = page_argv(FINETUNING, 'create_data.py', 'synthetic_scannet_pretrain')
    argv = set_option(swap(argv, 'data/synthetic_scannet_pretrain', str(out)),
                      '--num-scenes', '3')
    run(set_option(argv, '--frames-per-scene', '2'))
    return out


def test_create_data_writes_the_pretraining_rooms(frames):
    info = json.loads((frames / 'synthetic_info.json').read_text())
    assert info['params']['seed'] == 1 and info['params']['num_scenes'] == 3
    assert sorted(p.name for p in frames.glob('scene*')) == [f'scene000{i}_00' for i in range(3)]
    for room in frames.glob('scene*'):
        assert len(list((room / 'color').glob('*.jpg'))) == 2
        assert len(list((room / 'depth').glob('*.png'))) == 2


def frame_options(frames: Path) -> List[str]:
    """The 3 generated rooms (their own generation parameters: nothing is regenerated),
    loaded in the main process."""
    return [*loader_options(LOADERS, data_root=frames, **{'auto_generate.num_scenes': 3,
                                                         'auto_generate.frames_per_scene': 2}),
            *main_process_loading()]


@pytest.fixture(scope='module')
def teacher(frames, tmp_path_factory):
    """``train.py configs/ppkt/teacher2d/resnet18-w32_synthetic-seg_24rooms.py``: 2
    iterations of 2 crops (rooms 0-1 train, room 2 validates)."""
    work_dir = tmp_path_factory.mktemp('teacher')
    argv = page_argv(FINETUNING, 'resnet18-w32_synthetic-seg_24rooms.py')
    output = run([*argv, '--work-dir', str(work_dir), '--cfg-options', *frame_options(frames),
                  *iter_schedule(2, 1), 'train_dataloader.batch_size=2'])
    return work_dir, output


def test_teacher_trains_on_the_generated_rooms(teacher):
    work_dir, output = teacher
    assert (work_dir / 'iter_2.pth').is_file()
    miou = [r['seg2d/mIoU'] for r in scalars(work_dir) if 'seg2d/mIoU' in r]
    assert len(miou) == 1 and 0.0 <= miou[0] <= 100.0
    assert 'Iter(train) [2/2]' in output


def student(frames: Path, work_dir: Path, needle: str, teacher_file=None) -> str:
    """A 24-room PPKT command: 2 iterations of 1 frame, rooms 0-1 pre-train, room 2
    validates; ``teacher_file`` through CROSSPT_TEACHER (the config's default path is the
    page's teacher work dir)."""
    argv = set_option(page_argv(FINETUNING, 'train.py', needle), '--work-dir', str(work_dir))
    scenes = ['train_dataloader.dataset.scenes=[scene0000_00,scene0001_00]',
              'val_dataloader.dataset.scenes=[scene0002_00]',
              'test_dataloader.dataset.scenes=[scene0002_00]']
    env = dict(CROSSPT_TEACHER=str(teacher_file)) if teacher_file else None
    return run([*argv, '--cfg-options', *frame_options(frames), *scenes, *iter_schedule(2, 1),
                'train_dataloader.batch_size=1'], env=env)


@pytest.fixture(scope='module')
def ppkt_24rooms(frames, teacher, tmp_path_factory):
    """``train.py configs/ppkt/srunet34_synthetic-24rooms.py --work-dir ...`` with the
    teacher above."""
    work_dir = tmp_path_factory.mktemp('ppkt_24rooms')
    teacher_file = teacher[0] / 'iter_2.pth'
    output = student(frames, work_dir, 'srunet34_synthetic-24rooms.py', teacher_file)
    return work_dir / 'iter_2.pth', output, teacher_file


@pytest.fixture(scope='module')
def ppkt_random_teacher(frames, tmp_path_factory):
    """``train.py configs/ppkt/srunet34_synthetic-24rooms_random-teacher.py``."""
    work_dir = tmp_path_factory.mktemp('ppkt_24rooms_random-teacher')
    output = student(frames, work_dir, 'srunet34_synthetic-24rooms_random-teacher.py')
    return work_dir / 'iter_2.pth', output


def check_student(checkpoint: Path, output: str) -> None:
    """2 PPNCE steps over 1024 pairs, then retrieval on the held-out room."""
    assert checkpoint.is_file()
    rows = scalars(checkpoint.parent)
    assert [r['iter'] for r in rows if 'loss_ppnce' in r and 'lr' in r] == [1, 2]
    top1 = [r['ppkt/retrieval_top1'] for r in rows if 'ppkt/retrieval_top1' in r]
    assert len(top1) == 1 and 0.0 <= top1[0] <= 1.0
    assert 'num_pairs: 1024' in output


def test_ppkt_24rooms_distils_the_trained_teacher(ppkt_24rooms):
    checkpoint, output, teacher_file = ppkt_24rooms
    check_student(checkpoint, output)
    assert f'ImageTeacher checkpoint {teacher_file}' in output


def test_ppkt_24rooms_random_teacher_loads_no_teacher(ppkt_random_teacher):
    checkpoint, output = ppkt_random_teacher
    check_student(checkpoint, output)
    assert 'ImageTeacher checkpoint' not in output


@pytest.fixture(scope='module')
def rooms(tmp_path_factory):
    """2 training + 1 validation ScanNet-format rooms of 4,000 points (mmdet3d format)."""
    from crosspt.synthetic.scannet_mmdet3d import generate_synthetic_scannet_mmdet3d
    root = tmp_path_factory.mktemp('rooms') / 'scannet'
    generate_synthetic_scannet_mmdet3d(root, **ROOMS)
    return root


def finetune_log(run_dir: Path) -> str:
    """A scene fine-tuning run's log (what scene_transfer.py writes next to its dir)."""
    return run_dir.with_name(run_dir.name + '.log').read_text()


#: the scene_transfer.py lines: page, the two configs, whether they sample patches
SCENE_LINES = {
    'finetuning.md': (FINETUNING, 'srunet34_scratch_scannet-seg_synthetic.py',
                      'srunet34_ft_scannet-seg_synthetic.py', False),
    'configs/ppkt/README.md': (PPKT_README, 'srunet34_scratch_scannet-seg_patch_synthetic.py',
                               'srunet34_ft_scannet-seg_patch_synthetic.py', True)}


@pytest.mark.parametrize('line', list(SCENE_LINES))
def test_scene_transfer_lines(line, rooms, ppkt_24rooms, tmp_path):
    """scene_transfer.py (whole-scene and patch protocols): seed 0, 1 iteration of 1
    room, the 24-room student as --pretrained."""
    from mmengine.config import Config
    page, scratch, finetune, patch = SCENE_LINES[line]
    argv = page_argv(page, 'scene_transfer.py')
    assert argv[2:4] == [GAIN + scratch, GAIN + finetune], argv
    argv = swap(argv, 'work_dirs/ppkt_srunet34/iter_360.pth', str(ppkt_24rooms[0]))
    options = [*loader_options(LOADERS, data_root=f'{rooms}/', auto_generate=None),
               *main_process_loading(),
               'train_dataloader.batch_size=1', 'train_cfg.max_iters=1',
               'train_cfg.val_interval=1', 'param_scheduler.0.T_max=1',
               'param_scheduler.0.end=1', 'default_hooks.checkpoint.interval=1']
    run([*set_option(argv, '--seeds', '0'), '--work-dir', str(tmp_path),
         '--cfg-options', *options])
    record = json.loads((tmp_path / 'results.json').read_text())
    assert record['args']['scene_fraction'] == 0.25
    for arm, config in (('scratch', scratch), ('pretrained', finetune)):
        assert 0.0 <= record['results'][arm]['0'] <= 100.0
        log = finetune_log(tmp_path / f'{arm}_seed0')
        assert 'scene_fraction 0.25 keeps 1 of 2 scenes' in log
        assert ('loaded 372/372 tensors; missing 0' in log) == (arm == 'pretrained')
        ran = Config.fromfile(str(tmp_path / f'{arm}_seed0' / config))
        steps = [step['type'] for step in ran.train_dataloader.dataset.pipeline]
        assert ('IndoorPatchPointSample' in steps) == patch, steps
        # the final weights only: no best checkpoint, no optimizer state
        saved = sorted((tmp_path / f'{arm}_seed0').glob('*.pth'))
        assert [p.name for p in saved] == ['iter_1.pth'], saved
        state = load_checkpoint_file(str(saved[0]), map_location='cpu')
        assert 'state_dict' in state and 'optimizer' not in state, sorted(state)
    assert '| mean ± std |' in (tmp_path / 'results.md').read_text()


def gain_configs(rooms: Path, tmp: Path) -> dict:
    """Option -> tmp child of the page's gain_* config: the rooms above (not generated),
    no loader workers, 1 fine-tuning iteration of 1 room and no checkpoint (what
    scene_transfer.py keeps of each run: test_scene_transfer_lines), every labelled
    training point for the probe."""
    loader = dict(num_workers=0, persistent_workers=False,
                  dataset=dict(data_root=f'{rooms}/', auto_generate=None))
    schedule = dict(train_cfg=dict(max_iters=1, val_interval=1),
                    param_scheduler=[dict(type='CosineAnnealingLR', T_max=1, eta_min=1e-5,
                                          by_epoch=False, begin=0, end=1)],
                    default_hooks=dict(checkpoint=dict(interval=2, save_last=False),
                                       logger=dict(interval=1)))
    idxs = f'{rooms}/seg_info/train_resampled_scene_idxs.npy'
    train = dict(loader, batch_size=1, dataset=dict(loader['dataset'], scene_idxs=idxs))
    made = {}
    for flag, name in GAIN_CONFIGS.items():
        overrides = dict(train_dataloader=loader, val_dataloader=loader,
                         test_dataloader=loader)
        if 'linear-probe' in name:
            overrides.update(linear_probe=dict(max_points_per_scene=None))
        else:
            overrides.update(schedule, train_dataloader=train)
        made[flag] = child_config(tmp / name, GAIN + name, **overrides)
    return made


def scene_gain(needle: str, checkpoint: Path, rooms: Path, tmp: Path, seeds: tuple) -> tuple:
    """Run the scene_gain.py line holding ``needle`` with ``checkpoint``, ``seeds`` and
    the shrunk configs; returns (log, results.json, out dir)."""
    argv = page_argv(FINETUNING, 'scene_gain.py', needle)
    argv = swap(argv, argv[argv.index('--pretrained') + 1], str(checkpoint))
    for flag, config in gain_configs(rooms, tmp).items():
        argv = swap(argv, GAIN + GAIN_CONFIGS[flag], config)
    out = tmp / 'out'
    log = run([*set_option(set_option(argv, '--out', str(out)), '--seeds', *seeds)])
    return log, json.loads((out / 'results.json').read_text()), out


def check_probes(record: dict, out: Path, checkpoint: Path, seeds: tuple) -> None:
    """Both inits' per-point probes for ``seeds``, the pre-trained one from ``checkpoint``."""
    probes = record['per_seed']['linear_probe']
    assert {init: sorted(v) for init, v in probes.items()} == {
        'random': list(seeds), 'pretrained': list(seeds)}
    assert all(0.0 <= m <= 1.0 for v in probes.values() for m in v.values())
    for seed in seeds:
        saved = json.loads((out / 'linear_probe' / f'pretrained_seed{seed}.json').read_text())
        assert saved['checkpoint'] == str(checkpoint)
        assert saved['results']['miou'] == pytest.approx(probes['pretrained'][str(seed)])


def test_scene_gain_ppkt24_both_protocols(ppkt_24rooms, rooms, tmp_path):
    checkpoint = ppkt_24rooms[0]
    # 2 seeds: the tool's minimum (the spread needs them)
    log, record, out = scene_gain('--scene-fraction', checkpoint, rooms, tmp_path, ('0', '1'))
    check_probes(record, out, checkpoint, ('0', '1'))
    assert f'[scene_gain] wrote {out}/results.json' in log
    finetune = record['per_seed']['finetune']
    assert sorted(finetune['random']) == sorted(finetune['pretrained']) == ['0', '1']
    for seed in (0, 1):
        log_text = finetune_log(out / 'finetune' / f'pretrained_seed{seed}')
        assert 'loaded 372/372 tensors; missing 0' in log_text
        assert 'scene_fraction 0.1 keeps 1 of 2 scenes' in log_text
    table = (out / 'results.md').read_text()
    assert '| linear_probe | all train rooms | pretrained | 2 |' in table
    assert '| finetune | 10 % of the rooms | pretrained | 2 |' in table


def test_scene_gain_random_teacher_linear_probe(ppkt_random_teacher, rooms, tmp_path):
    checkpoint = ppkt_random_teacher[0]
    _, record, out = scene_gain('ppkt24_random-teacher', checkpoint, rooms, tmp_path,
                               ('0', '1'))
    assert set(record['per_seed']) == {'linear_probe'}
    check_probes(record, out, checkpoint, ('0', '1'))
    assert not (out / 'finetune').exists()
