"""The published-size recipes of the pages run, 1-2 iterations each, on the embedded twins.

Each command is read from the pages (docs/pretraining.md, docs/finetuning.md, README.md,
configs/tap/README.md, configs/ppkt/README.md) and run from a work folder that holds
``configs`` and ``tools`` (links to the repository) and, under the ``data/...`` path
each published config reads, a link to the embedded synthetic twin in the same on-disk
format (ShapeNet55 views, ScanNet frames, ScanObjectNN / ModelNet40 h5, ShapeNetPart
text, ModelNetFewshot episodes).  The configs keep their published model sizes; only
shrink options are appended: one or two samples per step, one epoch or iteration, no
validation where the page's command does not need one, fewer TTA votes, 256 points per
cloud for PointMLP (its stages take any N divisible by 16).

- ``bash tools/dist_train.sh`` / ``dist_test.sh`` lines (with their ``NNODES``,
  ``NODE_RANK``, ``MASTER_ADDR``, ``PORT``, ``CROSSPT_*`` prefixes) run through the
  script itself with a recording ``PYTHON``: the torchrun options must follow the
  prefix; the argv the script hands each rank then runs as a one-process world.
  (dist_train.sh on 2 real processes: tests/test_tools/test_resume_exact.py.)
- Placeholders: a ``-1a2b3c4d`` / ``-<sha>`` file name becomes the real sha256-suffixed
  name of the file put there (publish_model.py's naming, which loading checks),
  ``/path/to/`` a folder of the work folder, ``CKPT`` a file of that name.
- The checkpoints: the TAP run's ``epoch_1.pth`` published as the pages chain it; a
  1-step ModelNet40 fine-tuning's ``epoch_1.pth`` for the ModelNet40 test
  lines; random published backbones (PointMLP-elite, Transformer) and a random
  ResNet-50 teacher, ShapeNetPart segmentor written in process.
"""
import functools
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import torch
from mmengine.config import Config

from test_command_coverage import collect

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests' / 'test_tools'))
from config_shrink import fewer_points_options  # noqa: E402
from tool_runner import one_rank_world, run  # noqa: E402

pytestmark = pytest.mark.slow

CACHE = REPO / 'data' / 'test_cache'
OBJECTS = CACHE / 'synthetic_objects'
#: the data_root of each published config -> its embedded twin
TWINS = {
    'data/ShapeNet55': CACHE / 'synthetic_shapenet55_small',
    'data/scannet/frames': CACHE / 'synthetic_scannet',
    'data/ScanObjectNN/h5_files': OBJECTS / 'scanobjectnn',
    'data/synthetic_objects': OBJECTS,
    'data/modelnet40_ply_hdf5_2048': OBJECTS / 'modelnet40' / 'modelnet40_ply_hdf5_2048',
    'data/shapenetcore_partanno_segmentation_benchmark_v0_normal':
        OBJECTS / 'shapenetpart' / 'shapenetcore_partanno_segmentation_benchmark_v0_normal',
    'data/ModelNetFewshot': OBJECTS / 'modelnet_fewshot' / 'ModelNetFewshot',
}
#: a sha-suffixed file name of a page (placeholder or another file's sha)
PLACEHOLDER = re.compile(r'-([0-9a-f]{8}|<sha>)\.pth$')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
TAP_DIST = ('pointmlp_1xb32-100e_shapenet55.py', 'transformer_1xb32-100e_shapenet55.py',
            '3detr-encoder_1xb32-100e_shapenet55.py')
#: recipe -> its former name, a one-line ``_base_`` child (configs/tap/pointmlp_shapenet.py)
ALIASES = {'pointmlp_1xb32-100e_shapenet55.py': 'pointmlp_shapenet.py'}
SONN = 'configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs.py'
MN40 = 'configs/tap/benchmarks/pointmlp_ft_modelnet40.py'
METRIC = r'cls/oa: \d'


# ----------------------------------------------------------------------------- pages


@functools.lru_cache(maxsize=1)
def documented() -> Dict[str, List[str]]:
    """Command key -> pages (tests/test_docs/test_command_coverage.py's collector)."""
    return collect()


def commands(*needles: str, count: int) -> List[str]:
    """The documented commands holding every needle (exactly ``count`` of them)."""
    found = sorted(key for key in documented() if all(n in key for n in needles))
    assert len(found) == count, (needles, found)
    return found


def split_env(command: str) -> Tuple[Dict[str, str], List[str]]:
    """(``VAR=value`` prefix, the rest of the argv) of a command line."""
    argv = shlex.split(command)
    env = {}
    while argv and re.match(r'^[A-Z_]+=', argv[0]):
        name, _, value = argv.pop(0).partition('=')
        env[name] = value
    return env, argv


def differ_only_in_files(first: str, second: str) -> bool:
    """Whether two commands differ only in the ``.pth`` files they name."""
    def shape(command: str) -> List[str]:
        return [re.sub(r'[^=\s]+\.pth$', 'FILE', token) for token in command.split()]
    return shape(first) == shape(second)


# ----------------------------------------------------------------------------- work folder


def make_workspace(path: Path) -> Path:
    """``path`` holding links to configs/, tools/ and every twin under its data_root."""
    from crosspt import synthetic as gen
    # the cached twins (idempotent, lock-protected: a no-op once written)
    gen.generate_synthetic_shapenet55(TWINS['data/ShapeNet55'], num_train=12, num_val=4,
                                      num_test=4, seed=0, progress=False)
    gen.generate_synthetic_scannet_frames(TWINS['data/scannet/frames'], num_scenes=4,
                                          frames_per_scene=12, seed=0, progress=False)
    for name in ('scanobjectnn', 'modelnet40', 'shapenetpart', 'fewshot'):
        folder = 'modelnet_fewshot' if name == 'fewshot' else name
        getattr(gen, f'generate_synthetic_{name}')(OBJECTS / folder, seed=0)
    for name in ('configs', 'tools'):
        (path / name).symlink_to(REPO / name)
    for link, target in TWINS.items():
        (path / link).parent.mkdir(parents=True, exist_ok=True)
        (path / link).symlink_to(target)
    return path


@pytest.fixture(scope='module')
def workspace(tmp_path_factory) -> Path:
    """The work folder the module's runs share (their work_dirs/ side by side)."""
    return make_workspace(tmp_path_factory.mktemp('recipes'))


def launch(cwd: Path, argv: List[str], env: Optional[dict] = None) -> str:
    """Run a page's argv (``python ...`` / ``bash ...``) from ``cwd``; its output."""
    program = [sys.executable] if argv[0] == 'python' else [argv[0]]
    return run(program + argv[1:], env=env, cwd=cwd)


def one_rank(cwd: Path, rank_argv: List[str], env: dict) -> str:
    """A rank's argv (``tools/train.py CONFIG --launcher pytorch ...``) as a 1-process
    world."""
    output = launch(cwd, ['python', *rank_argv], env={**env, **one_rank_world()})
    assert 'Distributed training: True' in output
    return output


def torchrun_argv(cwd: Path, command: str, env: dict) -> List[str]:
    """Run the page's ``bash tools/dist_*.sh`` line with a ``PYTHON`` that records its
    arguments; check the torchrun options against the line's prefix and return the argv
    each rank gets."""
    prefix, argv = split_env(command)
    record, recorder = cwd / 'torchrun_argv.txt', cwd / 'record_python.sh'
    recorder.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {record}\n')
    recorder.chmod(0o755)
    # the user's launch: no CROSSPT_PYTHON worker command (tests/test_tools/test_preloader.py)
    launch(cwd, argv, env={**prefix, **env, 'PYTHON': str(recorder), 'CROSSPT_PYTHON': ''})
    recorded = record.read_text().splitlines()
    record.unlink()
    tool = next(i for i, arg in enumerate(recorded) if arg.startswith('tools/'))
    options = dict(arg[2:].split('=', 1) for arg in recorded[2:tool])
    assert recorded[:2] == ['-m', 'torch.distributed.run'], recorded
    nproc = argv[4] if argv[1] == 'tools/dist_test.sh' else argv[3]
    expected = dict(nnodes=prefix.get('NNODES', '1'), node_rank=prefix.get('NODE_RANK', '0'),
                    master_addr=prefix.get('MASTER_ADDR', '127.0.0.1'), nproc_per_node=nproc)
    if 'PORT' in prefix:
        expected['master_port'] = prefix['PORT']
    assert {k: options[k] for k in expected} == expected, (command, options)
    return recorded[tool:]


def place(cwd: Path, page_path: str, source: Path) -> str:
    """Put ``source`` (a published file) where the page names it; a placeholder sha
    suffix becomes ``source``'s own.  Returns the path to pass."""
    own = re.search(r'-[0-9a-f]{8}\.pth$', source.name)
    assert own, f'{source} has no sha256 suffix to put in {page_path}'
    name = PLACEHOLDER.sub(own.group(0), page_path) if PLACEHOLDER.search(page_path) \
        else page_path
    target = cwd / name.lstrip('/')
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(source, target)
    return str(target) if page_path.startswith('/') else name


def published_random_backbone(cwd: Path, tap_config: str, out: str) -> Path:
    """publish_model.py's file of a randomly initialised TAP model of ``tap_config``."""
    from crosspt.registry import MODELS
    publish = load_publish()
    torch.manual_seed(0)
    backbone = MODELS.build(Config.fromfile(str(REPO / tap_config)).model.backbone)
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    (cwd / out).parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict=state, meta=dict(epoch=1)), cwd / (out + '.full'))
    return Path(publish(str(cwd / (out + '.full')), str(cwd / out)))


def load_publish():
    """tools/model_converters/publish_model.py's ``publish``."""
    import runpy
    return runpy.run_path(str(REPO / 'tools/model_converters/publish_model.py'))['publish']


# ----------------------------------------------------------------------------- shrinking


#: the checkpoints the tests read need the weights only
LIGHT_CHECKPOINT = ['default_hooks.checkpoint.save_optimizer=False',
                    'default_hooks.checkpoint.save_param_scheduler=False']


def loader_options(loaders: Tuple[str, ...], samples: int) -> List[str]:
    """The first ``samples`` samples of each loader's set in one batch, no workers."""
    return [f'{loader}.{key}' for loader in loaders for key in (
        f'dataset.indices={samples}', f'batch_size={samples}', 'num_workers=0',
        'persistent_workers=False')]


#: points per cloud in the shrunk PointMLP runs (the recipes take 1024): a PointMLP step's
#: cost grows with the points; one ScanObjectNN step on 2 clouds took 3.1 s at 1024 points
#: and 0.85 s at 256 (1 thread, 2026-12-03).  Its reducers halve N four times: 256 -> 16.
FEW_POINTS = 256


def fewer_points(config: str, n: int = FEW_POINTS) -> List[str]:
    """Items giving every sampling step of ``config``'s loaders and ``tta_pipeline`` ``n``
    points (an FPS pre-sample scaled alike); only for PointMLP configs, whose stages take
    any N divisible by 16."""
    cfg = Config.fromfile(str(REPO / config))
    assert cfg.model.get('module', cfg.model).backbone.type == 'PointMLP', config
    options = fewer_points_options(cfg, n)
    assert options, f'{config}: no sampling step'
    return options


def tap_shrink(config: str, save: bool) -> List[str]:
    """One object, one iteration, no validation; a checkpoint only when ``save``; a PointMLP
    ``config`` on :data:`FEW_POINTS` points."""
    keep = LIGHT_CHECKPOINT if save else ['default_hooks.checkpoint.interval=2',
                                          'default_hooks.checkpoint.save_last=False']
    points = fewer_points(config) if 'pointmlp' in Path(config).name else []
    return ['--cfg-options', *loader_options(('train_dataloader', ), 1),
            'train_cfg.max_epochs=1', 'train_cfg.val_begin=2',
            'default_hooks.logger.interval=1', 'randomness.seed=0', *keep, *points]


def finetune_shrink(config: Optional[str], validate: bool = True, save: bool = True
                    ) -> List[str]:
    """Two objects, one step; then (when asked) one validation on two objects and the
    epoch's checkpoint; clouds of :data:`FEW_POINTS` points for a PointMLP ``config`` (None:
    the config's points)."""
    quiet = ([] if validate else ['train_cfg.val_begin=2']) + (LIGHT_CHECKPOINT if save else [
        'default_hooks.checkpoint.interval=2', 'default_hooks.checkpoint.save_last=False',
        'default_hooks.checkpoint.save_best=None'])
    points = fewer_points(config) if config else []
    return ['--cfg-options', *loader_options(LOADERS[:2], 2), 'train_cfg.max_epochs=1',
            'default_hooks.logger.interval=1', 'randomness.seed=0', *quiet, *points]


def small_test_options(config: Optional[str], votes_option: str = '') -> List[str]:
    """Two test objects (and fewer TTA votes); clouds of :data:`FEW_POINTS` points for a
    PointMLP ``config`` (None: the config's points)."""
    return ['--cfg-options', *loader_options(('test_dataloader', ), 2),
            *([votes_option] if votes_option else []), *(fewer_points(config) if config else [])]


def trained_one_step(output: str, epoch_based: bool = True) -> None:
    pattern = r'Epoch\(train\) \[1\]\[1/1\].* loss: [\d.]+' if epoch_based \
        else r'Iter\(train\) \[1/1\].* loss: [\d.]+'
    assert re.search(pattern, output), output[-3000:]


def sha_named(path: Path) -> Path:
    """``path`` renamed ``<stem>-<its sha256[:8]>.pth`` (what a hash-suffixed name means)."""
    import hashlib
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    return path.rename(path.with_name(f'{path.stem}-{digest}.pth'))


# ----------------------------------------------------------------------------- TAP


@pytest.fixture(scope='module')
def tap_pointmlp(workspace) -> Tuple[str, Path]:
    """docs/pretraining.md's ``tools/train.py`` line (one step) and the page's next step,
    publish_model.py on its checkpoint: (the run's output, the published file)."""
    (command, ) = commands('tools/train.py configs/tap/pointmlp_1xb32-100e_shapenet55.py',
                           count=1)
    _, argv = split_env(command)
    output = launch(workspace, argv + tap_shrink(argv[2], save=True))
    work_dir = workspace / argv[argv.index('--work-dir') + 1]
    published = load_publish()(str(work_dir / 'epoch_1.pth'), str(work_dir / 'tap_pointmlp.pth'))
    return output, Path(published)


def test_tap_recipe_trains_with_tools_train(workspace, tap_pointmlp):
    """One step of the published PointMLP recipe writes the view grid and the checkpoint,
    whose backbone publish_model.py keeps."""
    from crosspt.engine import load_checkpoint_file
    output, published = tap_pointmlp
    trained_one_step(output)
    work_dir = workspace / 'work_dirs' / 'tap_pointmlp'
    assert (work_dir / 'view_grids' / 'iter_000001.png').is_file()
    full = load_checkpoint_file(str(work_dir / 'epoch_1.pth'))['state_dict']
    backbone = torch.load(published, weights_only=True)['state_dict']
    assert sorted(backbone) == sorted(k for k in full if k.startswith('backbone.'))
    assert all(torch.equal(full[k], v) for k, v in backbone.items())


@pytest.mark.parametrize('config', TAP_DIST)
def test_tap_recipe_dist_train_lines(workspace, config):
    """Every ``dist_train.sh configs/tap/<config> 8`` line of the pages (single node and
    both nodes of the two-node launch) hands each rank the same argv; one rank of it
    takes a step of the published model and writes its view grid.  The former name's
    line hands the former name, which resolves to the same config: the run stands for
    it."""
    lines = commands(f'bash tools/dist_train.sh configs/tap/{config} 8',
                     count=4 if config in ALIASES else 1)
    ranks = {tuple(torchrun_argv(workspace, line, {})) for line in lines}
    assert len(ranks) == 1, ranks
    rank = list(ranks.pop())
    if config in ALIASES:
        alias = ALIASES[config]
        (line, ) = commands(f'bash tools/dist_train.sh configs/tap/{alias} 8', count=1)
        assert torchrun_argv(workspace, line, {}) == [a.replace(config, alias) for a in rank]
        assert Config.fromfile(str(REPO / 'configs/tap' / alias)).to_dict() == \
            Config.fromfile(str(REPO / 'configs/tap' / config)).to_dict()
    output = one_rank(workspace, rank + tap_shrink(f'configs/tap/{config}', save=False), {})
    trained_one_step(output)
    grid = workspace / 'work_dirs' / Path(config).stem / 'view_grids' / 'iter_000001.png'
    assert grid.is_file()


# ----------------------------------------------------------------------------- PPKT


def test_ppkt_recipe_dist_train_lines(workspace):
    """The PPKT recipe (SR-UNet34 student, ResNet-50 teacher at 480x640) with a random
    teacher file in CROSSPT_TEACHER takes one step on the frames twin."""
    from crosspt.models.image import ResNet
    lines = commands('tools/dist_train.sh configs/ppkt/srunet34_1xb24-60k_scannet.py 8', count=2)
    assert differ_only_in_files(*lines), lines
    torch.manual_seed(0)
    torch.save(ResNet(depth=50).state_dict(), workspace / 'resnet50.pth')
    teacher = sha_named(workspace / 'resnet50.pth')
    ranks = set()
    for line in lines:
        prefix, _ = split_env(line)
        env = {'CROSSPT_TEACHER': place(workspace, prefix['CROSSPT_TEACHER'], teacher)}
        ranks.add(tuple(torchrun_argv(workspace, line, env)))
    assert len(ranks) == 1, ranks
    rank = list(ranks.pop())
    assert rank[rank.index('--cfg-options') + 1] == 'train_dataloader.batch_size=3'
    output = one_rank(workspace, rank + [
        '--cfg-options', 'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_iters=1',
        'default_hooks.logger.interval=1', 'default_hooks.checkpoint.save_last=False',
        'randomness.seed=0'], env)
    assert re.search(rf'ImageTeacher checkpoint {re.escape(env["CROSSPT_TEACHER"])}: loaded '
                     r'\d+ tensors', output), output[-3000:]
    trained_one_step(output, epoch_based=False)
    assert re.search(r'loss_ppnce: [\d.]+', output)


# ----------------------------------------------------------------------------- fine-tuning


def test_scanobjectnn_recipe_dist_train_from_the_published_tap_backbone(workspace,
                                                                        tap_pointmlp):
    """CROSSPT_PRETRAINED = the TAP run's published backbone (at each page's path): the
    recipe loads it, steps and validates."""
    lines = commands(f'bash tools/dist_train.sh {SONN} 8', count=2)
    assert differ_only_in_files(*lines), lines
    ranks = set()
    for line in lines:
        prefix, _ = split_env(line)
        env = {'CROSSPT_PRETRAINED': place(workspace, prefix['CROSSPT_PRETRAINED'],
                                           tap_pointmlp[1])}
        ranks.add(tuple(torchrun_argv(workspace, line, env)))
    assert len(ranks) == 1, ranks
    output = one_rank(workspace, list(ranks.pop()) + finetune_shrink(SONN), env)
    assert f'Pretrained checkpoint {env["CROSSPT_PRETRAINED"]}' in output
    trained_one_step(output)
    assert re.search(METRIC, output), output[-3000:]


def test_scanobjectnn_recipe_train_with_a_checkpoint_option(workspace, tap_pointmlp):
    """``--cfg-options model.backbone.init_cfg.checkpoint=FILE`` (the pages differ in the
    file's name only): the recipe loads FILE."""
    lines = commands(f'python tools/train.py {SONN} --cfg-options '
                     'model.backbone.init_cfg.checkpoint=', count=2)
    assert differ_only_in_files(*lines), lines
    (line, ) = [line for line in lines if not PLACEHOLDER.search(line)]
    _, argv = split_env(line)
    checkpoint = argv[-1].split('=', 1)[1]
    place(workspace, checkpoint, tap_pointmlp[1])
    output = launch(workspace, argv + finetune_shrink(SONN, validate=False, save=False))
    assert f'Pretrained checkpoint {checkpoint}' in output
    trained_one_step(output)


def test_scanobjectnn_recipe_trains_from_scratch(workspace):
    """``init_cfg=None``: no checkpoint is loaded, the recipe steps."""
    (line, ) = commands(f'{SONN} --cfg-options model.backbone.init_cfg=None', count=1)
    output = launch(workspace, split_env(line)[1] + finetune_shrink(SONN, validate=False, save=False))
    assert 'Pretrained checkpoint' not in output
    trained_one_step(output)


def test_scanobjectnn_twin_trains_from_a_published_elite_backbone(workspace):
    """The twin config's line (README's and docs/finetuning.md's: the same path once the
    sha is filled in) with a published PointMLP-elite backbone."""
    lines = commands('tools/train.py configs/tap/benchmarks/'
                     'pointmlp_ft_scanobjectnn-pb-t50-rs_synthetic.py', count=2)
    published = published_random_backbone(workspace, 'configs/tap/pointmlp_synthetic.py',
                                          'work_dirs/tap_pointmlp/backbone.pth')
    runs = set()
    for line in lines:
        prefix, argv = split_env(line)
        runs.add((place(workspace, prefix['CROSSPT_PRETRAINED'], published), tuple(argv)))
    assert len(runs) == 1, runs
    ((pretrained, argv), ) = runs
    output = launch(workspace, list(argv) + finetune_shrink(None),
                    env={'CROSSPT_PRETRAINED': pretrained})
    assert f'Pretrained checkpoint {pretrained}' in output
    assert re.search(METRIC, output), output[-3000:]


@pytest.fixture(scope='module')
def modelnet40_checkpoint(workspace) -> Path:
    """One step of the ModelNet40 recipe from scratch (tools/train.py, its own work dir):
    its checkpoint, linked under the page's name and as ``CKPT``."""
    launch(workspace, ['python', 'tools/train.py', MN40, *finetune_shrink(MN40, validate=False),
                       'model.backbone.init_cfg=None'])
    checkpoint = workspace / 'work_dirs' / 'pointmlp_ft_modelnet40' / 'epoch_1.pth'
    (line, ) = commands(f'python tools/test.py {MN40} work_dirs/', count=1)
    os.link(checkpoint, workspace / shlex.split(line)[3])
    os.link(checkpoint, workspace / 'CKPT')
    return checkpoint


@pytest.fixture(scope='module')
def modelnet40_test_output(workspace, modelnet40_checkpoint) -> str:
    """docs/finetuning.md's tools/test.py line on the documented checkpoint path."""
    (line, ) = commands(f'python tools/test.py {MN40} work_dirs/', count=1)
    return launch(workspace, shlex.split(line) + small_test_options(MN40))


def ran_config(cwd: Path, config: str) -> Config:
    """The config a tool run of ``config`` dumped into its default work dir."""
    stem = Path(config).stem
    return Config.fromfile(str(cwd / 'work_dirs' / stem / f'{stem}.py'))


def oa(output: str) -> float:
    """The last overall accuracy a tool logged."""
    return float(re.findall(r'cls/oa: ([\d.]+)', output)[-1])


def test_modelnet40_recipe_tests_the_documented_checkpoint(modelnet40_test_output):
    """The checkpoint at the page's path loads and gives an accuracy."""
    assert re.search(METRIC, modelnet40_test_output), modelnet40_test_output[-3000:]


def test_modelnet40_recipe_tests_with_tta(workspace, modelnet40_checkpoint):
    """``CKPT --tta`` (2 votes instead of 10) gives an accuracy."""
    (line, ) = commands(f'python tools/test.py {MN40} CKPT --tta', count=1)
    votes = 'tta_pipeline.3.num_votes=2'
    output = launch(workspace, shlex.split(line) + small_test_options(MN40, votes))
    assert re.search(METRIC, output), output[-3000:]
    model = ran_config(workspace, MN40).model
    assert model.type == 'PointClsTTAModel' and model.module.type == 'PointClassifier'


def test_modelnet40_recipe_dist_test_line(workspace, modelnet40_test_output):
    """One rank of ``dist_test.sh ... CKPT 8`` gives tools/test.py's number."""
    (line, ) = commands(f'bash tools/dist_test.sh {MN40} CKPT 8', count=1)
    rank = torchrun_argv(workspace, line, {})
    output = one_rank(workspace, rank + small_test_options(MN40), {})
    assert oa(output) == oa(modelnet40_test_output)


def test_shapenetpart_recipe_tests_with_tta(tmp_path):
    """``CKPT``: the recipe's part segmentor (random weights) saved as a checkpoint."""
    from crosspt.registry import MODELS
    cwd = make_workspace(tmp_path)
    (line, ) = commands('tools/test.py configs/tap/benchmarks/pointmlp_ft_shapenetpart.py '
                        'CKPT --tta', count=1)
    argv = shlex.split(line)
    cfg = Config.fromfile(str(REPO / argv[2]))
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    state = MODELS.build(cfg.model).state_dict()
    torch.save(dict(state_dict=state, meta=dict(epoch=1)), cwd / argv[3])
    output = launch(cwd, argv + small_test_options(None, 'tta_pipeline.2.num_votes=2'))
    assert re.search(r'partseg/instance_miou: \d', output), output[-3000:]
    model = ran_config(cwd, argv[2]).model
    assert model.type == 'PartSegTTAModel' and model.module.refine is False


def test_fewshot_fold_loop(workspace):
    """docs/finetuning.md's loop over the folds, its first two: each fold trains on its
    own episode with the published Transformer backbone (random weights)."""
    (line, ) = commands('for F in ', 'transformer_fewshot-5way10shot_modelnet40.py', count=1)
    var, folds, body = re.fullmatch(r'for (\w+) in ([\d ]+); do (.+); done', line).groups()
    assert folds.split() == [str(f) for f in range(10)]
    published = published_random_backbone(
        workspace, 'configs/tap/transformer_1xb32-100e_shapenet55.py', 'tap_transformer.pth')
    for fold in folds.split()[:2]:
        prefix, argv = split_env(body.replace(f'${var}', fold))
        env = {'CROSSPT_PRETRAINED': place(workspace, prefix['CROSSPT_PRETRAINED'], published)}
        output = launch(workspace, argv + finetune_shrink(None, validate=False, save=False), env=env)
        assert f'Pretrained checkpoint {env["CROSSPT_PRETRAINED"]}' in output
        trained_one_step(output)
        work_dir = workspace / argv[argv.index('--work-dir') + 1]
        dumped = Config.fromfile(str(work_dir / Path(argv[2]).name))
        assert dumped.train_dataloader.dataset.fold == dumped.val_dataloader.dataset.fold \
            == int(fold)
