"""Refusals and acceptances before the first iteration (issue 13, faults 3, 6, 7).

- fault 3: a dataloader that yields no batch (split smaller than the batch with
  drop_last=True) is refused with the numbers, before anything is trained or saved;
- fault 6: a misspelt hook argument (``default_hooks.checkpoint.intervl``) is refused
  with the config key before the Runner is built;
- fault 7: mmengine's documented Runner keys (``randomness.deterministic``, ...) are
  accepted by ``--cfg-options`` although the config does not hold them.
"""
import ast
import copy
import functools
import inspect
import subprocess
import textwrap
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from mmengine.config import Config
from mmengine.dataset import DefaultSampler, InfiniteSampler
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from crosspt.engine.preflight import (DataloaderSizeCheckHook, check_dataloader,
                                      check_hooks, forwarded_hook_params)
from crosspt.utils import check_cfg_options, load_tool_config
from crosspt.utils.config_utils import source_tree
from tool_runner import call

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'configs/tap/pointmlp_synthetic.py'


def runtime_cfg() -> Config:
    """A config holding a few of mmengine's runtime keys, as default_runtime.py does."""
    return Config(dict(
        model=dict(type='TAP'), randomness=dict(seed=0, diff_rank_seed=True),
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl')),
        train_dataloader=dict(batch_size=4, dataset=dict(type='X')),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1))))


# ----------------------------------------------------------------------- fault 7: keys
# mmengine's documentation of Runner(randomness=..., env_cfg=...) and of the dataloader
# and Runner keys it reads from the config, written out by hand as the reference
@pytest.mark.parametrize('key', [
    'randomness.deterministic', 'randomness.diff_rank_seed', 'randomness.seed',
    'env_cfg.mp_cfg.mp_start_method', 'env_cfg.mp_cfg.opencv_num_threads',
    'env_cfg.resource_limit', 'env_cfg.dist_cfg.timeout', 'train_dataloader.pin_memory',
    'train_dataloader.persistent_workers', 'resume', 'load_from', 'find_unused_parameters',
    'model_wrapper_cfg.type', 'auto_scale_lr.base_batch_size', 'train_cfg.max_epochs',
    'log_processor.window_size', 'default_hooks.logger.type'])
def test_documented_runner_keys_are_accepted(key):
    check_cfg_options(runtime_cfg(), {key: 1})


@pytest.mark.parametrize('key, message', [
    ('randomnes.seed', "unknown key 'randomnes' in the config; did you mean 'randomness'?"),
    ('randomness.determinstic', "did you mean 'deterministic'?"),
    ('env_cfg.cudnn_benchmrk', "did you mean 'cudnn_benchmark'?"),
    # mmengine passes `distributed` to set_multi_processing itself
    ('env_cfg.mp_cfg.distributed', "unknown key 'distributed' in env_cfg.mp_cfg"),
    ('default_hooks.chekpoint.interval', "did you mean 'checkpoint'?"),
    ('train_dataloader.batchsize', "did you mean 'batch_size'?"),
    ('trian_cfg.max_epochs', "did you mean 'train_cfg'?"),
])
def test_misspelt_keys_are_refused_with_the_closest_key(key, message):
    with pytest.raises(KeyError) as error:
        check_cfg_options(runtime_cfg(), {key: 1})
    assert message in error.value.args[0]


def test_keys_of_runner_subclasses_are_accepted():
    with pytest.raises(KeyError, match="unknown key 'preflight_test_key'"):
        check_cfg_options(runtime_cfg(), {'preflight_test_key': 1})

    class _ReadsAKey(Runner):
        @classmethod
        def from_cfg(cls, cfg):
            runner = super().from_cfg(cfg)
            runner.extra = cfg.get('preflight_test_key')
            return runner

    check_cfg_options(runtime_cfg(), {'preflight_test_key': 1})


def test_deterministic_reaches_the_config(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text("model = dict(type='TAP')\nrandomness = dict(seed=0)\n")
    cfg = load_tool_config(str(config), {'randomness.deterministic': True}, None)
    assert cfg.randomness.to_dict() == dict(seed=0, deterministic=True)
    # the merged dict binds to the function mmengine hands it to
    inspect.signature(Runner.set_randomness).bind(None, **cfg.randomness)


# ---------------------------------------------------------------------- fault 6: hooks
def test_misspelt_checkpoint_argument_is_refused_by_key():
    cfg = Config.fromfile(str(REPO / CONFIG))
    check_hooks(cfg)  # the config as shipped is fine
    cfg.merge_from_dict({'default_hooks.checkpoint.intervl': 1})
    with pytest.raises(TypeError) as error:
        check_hooks(cfg)
    message = str(error.value)
    assert message.startswith('default_hooks.checkpoint (CheckpointHook)')
    assert "unknown argument 'intervl' (did you mean 'interval'?)" in message
    assert 'interval, less_keys, max_keep_ckpts' in message  # the accepted arguments
    # without the check the hook builds and only the first save fails
    hook = CheckpointHook(interval=1, intervl=1)
    with pytest.raises(TypeError, match='intervl'):
        inspect.signature(Runner.save_checkpoint).bind(None, 'dir', 'epoch_1.pth',
                                                       **hook.args)


def test_custom_hook_and_registration_keys():
    cfg = Config(dict(default_scope='crosspt', default_hooks=dict(timer=None),
                      custom_hooks=[dict(type='TAPViewGridHook', interval=3, priority=60),
                                    dict(type='TAPViewGridHook', intervall=3)]))
    with pytest.raises(TypeError, match=r"^custom_hooks\.1 \(TAPViewGridHook\): unknown "
                                        r"argument 'intervall'"):
        check_hooks(cfg)
    cfg.custom_hooks[1] = dict(type='CheckpointHok', interval=1)
    with pytest.raises(KeyError, match="custom_hooks.1: hook type 'CheckpointHok' is not "
                                       "registered.*did you mean 'CheckpointHook'"):
        check_hooks(cfg)
    cfg.custom_hooks[1] = dict(interval=1)
    with pytest.raises(KeyError, match="custom_hooks.1 has no 'type'"):
        check_hooks(cfg)


class _NeedsPath:
    def __init__(self, path: str, every: int = 1) -> None:
        self.path, self.every = path, every


class _OpaqueKwargs:
    def __init__(self, interval: int = 1, **kwargs) -> None:
        self.extra = dict(kwargs)


class _SavesWithKwargs:
    def __init__(self, interval: int = 1, **kwargs) -> None:
        self.args = kwargs

    def after_train_epoch(self, runner) -> None:
        runner.save_checkpoint('out', 'name.pth', save_optimizer=False, **self.args)


def test_hook_signatures():
    def check(hook: dict) -> None:
        check_hooks(Config(dict(custom_hooks=[hook])))

    with pytest.raises(TypeError, match="missing required argument 'path'"):
        check(dict(type=_NeedsPath, every=2))
    check(dict(type=_NeedsPath, path='x'))
    check(dict(type=_OpaqueKwargs, anything=1))  # **kwargs kept privately: not checkable
    # **kwargs passed on to Runner.save_checkpoint: its parameters the call leaves free
    assert forwarded_hook_params(_SavesWithKwargs) == {
        'file_client_args', 'save_param_scheduler', 'meta', 'by_epoch', 'backend_args'}
    check(dict(type=_SavesWithKwargs, meta=dict(a=1)))
    with pytest.raises(TypeError, match="unknown argument 'save_optimizer'"):
        check(dict(type=_SavesWithKwargs, save_optimizer=True))
    # mmengine's CheckpointHook passes every save_checkpoint argument itself
    assert forwarded_hook_params(CheckpointHook) == set()


def _decorated(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)
    return wrapper


class _Outer:
    class Inner:
        @_decorated
        def method(self, cfg) -> int:
            return cfg.get('a')

    @staticmethod
    def method(cfg) -> int:   # same name as Inner.method, another line
        return cfg['b']


@pytest.mark.parametrize('obj', [
    _Outer, _Outer.Inner, _Outer.Inner.method, _Outer.method, _decorated, Runner,
    Runner.build_dataloader, Runner.setup_env, CheckpointHook, CheckpointHook.__init__],
    ids=lambda obj: obj.__qualname__)
def test_source_tree_is_the_parsed_source(obj):
    """source_tree (each file parsed once, the node found by line or qualified name) gives
    the syntax tree of parsing ``inspect.getsource`` (unwrapped, as getsource does);
    docstrings aside, whose indentation dedenting the source changes."""
    def without_docstrings(tree: ast.AST) -> str:
        for node in ast.walk(tree):
            body = getattr(node, 'body', None)
            if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)):
                body[0].value.value = ''
        return ast.dump(tree)

    expected = ast.parse(textwrap.dedent(inspect.getsource(obj))).body[0]
    assert without_docstrings(copy.deepcopy(source_tree(obj))) == without_docstrings(expected)


def test_shipped_configs_pass_the_hook_check():
    configs = sorted(p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)
    checked = 0
    for path in configs:
        try:
            cfg = Config.fromfile(str(path))
        except ImportError:  # the mmdet3d configs without mmdet3d installed
            continue
        check_hooks(cfg)
        checked += 1
    assert checked >= 30


# ------------------------------------------------------------------ fault 3: batches
def loader(num_samples: int, batch_size: int, drop_last: bool, sampler=DefaultSampler):
    dataset = list(range(num_samples))
    return DataLoader(dataset, batch_size=batch_size, drop_last=drop_last,
                      sampler=sampler(dataset, shuffle=False))


def test_split_smaller_than_batch_is_refused_with_the_numbers():
    small = loader(3, 4, drop_last=True)
    assert list(small) == []  # brute force: no batch at all
    with pytest.raises(ValueError) as error:
        check_dataloader('train_dataloader', small)
    message = str(error.value)
    for part in ('train_dataloader yields no batch', 'the split has 3 samples',
                 '3 per process at world size 1', 'batch_size=4 per process',
                 'drop_last=True', 'train_dataloader.batch_size=3 or less',
                 'train_dataloader.drop_last=False', 'at least 4 samples'):
        assert part in message, (part, message)
    kept = loader(3, 4, drop_last=False)
    assert [len(batch) for batch in kept] == [3]
    check_dataloader('train_dataloader', kept)
    check_dataloader('train_dataloader', loader(4, 4, drop_last=True))


def test_world_size_counts(monkeypatch):
    # 4 processes: DefaultSampler gives each ceil(10 / 4) = 3 samples (padded)
    import mmengine.dataset.sampler as sampler_module
    monkeypatch.setattr(sampler_module, 'get_dist_info', lambda: (0, 4))
    small = loader(10, 4, drop_last=True)
    assert list(small) == []  # rank 0 gets indices 0, 4, 8: no full batch
    with pytest.raises(ValueError) as error:
        check_dataloader('train_dataloader', small)
    assert ('the split has 10 samples, 3 per process at world size 4; batch_size=4 per '
            'process, drop_last=True') in str(error.value)
    assert 'at least 16 samples (batch_size x world size)' in str(error.value)
    enough = loader(13, 4, drop_last=True)  # ceil(13 / 4) = 4 per process
    assert [len(b) for b in enough] == [4]
    check_dataloader('train_dataloader', enough)


def test_infinite_sampler_repeats_the_split_but_an_empty_split_hangs():
    repeated = loader(2, 4, drop_last=True, sampler=InfiniteSampler)
    assert len(next(iter(repeated))) == 4  # a full batch from 2 samples
    check_dataloader('train_dataloader', repeated)
    with pytest.raises(ValueError, match='the split has 0 samples.*at least 1 samples'):
        check_dataloader('train_dataloader', loader(0, 4, True, sampler=InfiniteSampler))


def test_hook_checks_train_val_and_test_loaders():
    hook = DataloaderSizeCheckHook()
    runner = SimpleNamespace(train_dataloader=loader(8, 4, True), val_loop=None,
                             test_loop=SimpleNamespace(dataloader=loader(2, 4, True)))
    hook.before_train(runner)
    runner.val_loop = SimpleNamespace(dataloader=loader(2, 4, True))
    with pytest.raises(ValueError, match='^val_dataloader yields no batch.*2 samples'):
        hook.before_train(runner)
    with pytest.raises(ValueError, match='^test_dataloader yields no batch'):
        hook.before_test(runner)


# ------------------------------------------------------------ end to end: tools/train.py
def tiny_options(tmp_path: Path, num_train: int) -> list:
    """Options for CONFIG: data generated under tmp_path, batch 4, one epoch."""
    options = []
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{name}.dataset.data_root={tmp_path / "data"}',
                    f'{name}.dataset.auto_generate.num_train={num_train}',
                    f'{name}.dataset.auto_generate.num_val=1',
                    f'{name}.dataset.auto_generate.num_test=4',
                    f'{name}.batch_size=4', f'{name}.num_workers=0',
                    f'{name}.persistent_workers=False']
    return ['--work-dir', str(tmp_path / 'work'), '--cfg-options', *options,
            'train_cfg.max_epochs=1']


def train(*options: str) -> subprocess.CompletedProcess:
    """tools/train.py CONFIG with ``options``, as its command line runs it."""
    return call([sys.executable, 'tools/train.py', CONFIG, *options], timeout=600,
                env=dict(OMP_NUM_THREADS='1'))


@pytest.mark.slow
def test_train_refuses_before_training(tmp_path):
    # 2 train + 1 val objects = 3 samples in split 'train', batch 4, drop_last=True;
    # randomness.deterministic is a documented mmengine key the config does not hold
    proc = train(*tiny_options(tmp_path, num_train=2),
                 'randomness.deterministic=True')
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert 'deterministic: True' in output  # accepted and handed to the Runner
    assert ('train_dataloader yields no batch per epoch, so it would run 0 iterations: the '
            'split has 3 samples, 3 per process at world size 1; batch_size=4 per process, '
            'drop_last=True') in output, output[-3000:]
    assert 'Epoch(train)' not in output
    assert list((tmp_path / 'work').rglob('*.pth')) == []

    # a misspelt hook argument: refused before the Runner exists, nothing generated
    proc = train(*tiny_options(tmp_path / 'hook', num_train=4),
                 'default_hooks.checkpoint.intervl=1')
    assert proc.returncode != 0
    assert ("TypeError: default_hooks.checkpoint (CheckpointHook): unknown argument "
            "'intervl' (did you mean 'interval'?)") in proc.stderr, proc.stderr[-3000:]
    assert 'Epoch(train)' not in proc.stdout + proc.stderr
    assert not (tmp_path / 'hook' / 'data').exists()
    assert list((tmp_path / 'hook').rglob('*.pth')) == []
