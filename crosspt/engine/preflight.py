"""Checks that refuse a run before its first iteration (tools/train.py, tools/test.py).

- :func:`check_hooks` (before the Runner is built): every hook of ``default_hooks`` and
  ``custom_hooks`` names a registered class, and its arguments fit the class's signature.
  A hook that takes ``**kwargs`` and hands them to a Runner method (mmengine's
  ``CheckpointHook`` -> ``Runner.save_checkpoint``) is checked against that method, so a
  misspelt ``default_hooks.checkpoint.intervl`` fails now, not at the first save.  Hooks
  whose ``**kwargs`` go elsewhere are built by the Runner's constructor, which is also
  before the first iteration.
- :class:`DataloaderSizeCheckHook` (``before_train`` / ``before_test``): refuse a
  dataloader that yields no batch, e.g. a split with fewer samples than ``batch_size``
  under ``drop_last=True``, which would otherwise train 0 iterations and still write
  checkpoints.
"""
import ast
import difflib
import inspect
from typing import Any, Dict, FrozenSet, Iterator, Optional, Tuple

from mmengine.config import Config
from mmengine.dataset import InfiniteSampler
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.runner import Runner

from crosspt.registry import HOOKS
from crosspt.utils.config_utils import call_leftover, parameters, source_tree

BUILD_KEYS = frozenset({'type', '_scope_'})  # read by mmengine's Registry.build


def _hook_entries(cfg: Config) -> Iterator[Tuple[str, Any]]:
    """(config key, hook config) of every default and custom hook."""
    for name, hook in (cfg.get('default_hooks') or {}).items():
        yield f'default_hooks.{name}', hook
    for index, hook in enumerate(cfg.get('custom_hooks') or []):
        yield f'custom_hooks.{index}', hook


def _hook_class(key: str, hook_cfg: dict, scope: Optional[str]) -> type:
    """The class ``hook_cfg['type']`` names in the registry of ``scope``."""
    hook_type = hook_cfg.get('type')
    if hook_type is None:
        raise KeyError(f"{key} has no 'type': give the hook class, e.g. "
                       f"{key}.type=CheckpointHook")
    if inspect.isclass(hook_type):
        return hook_type
    with MMENGINE_HOOKS.switch_scope_and_registry(scope) as registry:
        cls = registry.get(hook_type)
        names = set(registry.module_dict) | set(MMENGINE_HOOKS.module_dict)
    if cls is None:
        close = difflib.get_close_matches(str(hook_type), sorted(names), n=1)
        hint = f'; did you mean {close[0]!r}?' if close else ''
        raise KeyError(f'{key}: hook type {hook_type!r} is not registered (scope '
                       f'{scope!r}){hint} (registered hooks: {", ".join(sorted(names))})')
    return cls


def forwarded_hook_params(cls: type) -> Optional[FrozenSet[str]]:
    """Arguments a hook's ``**kwargs`` may hold when it keeps them (``self.X = kwargs``)
    and passes them on as ``runner.<method>(..., **self.X)``: the Runner method's
    parameters that the call leaves free.  None when the source does not show this."""
    varkw = [p.name for p in inspect.signature(cls).parameters.values()
             if p.kind is p.VAR_KEYWORD]
    try:
        tree = source_tree(cls)
    except (OSError, TypeError):
        return None
    kept = {f'self.{t.attr}' for node in ast.walk(tree) if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Name) and node.value.id in varkw
            for t in node.targets if isinstance(t, ast.Attribute)
            and ast.unparse(t.value) == 'self'}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and ast.unparse(node.func.value) == 'runner'
                and any(kw.arg is None and ast.unparse(kw.value) in kept
                        for kw in node.keywords)):
            target = getattr(Runner, node.func.attr, None)
            return None if target is None else call_leftover(node, target)
    return None


def check_hook_args(key: str, cls: type, kwargs: Dict[str, Any]) -> None:
    """Raise TypeError naming ``key`` when ``kwargs`` do not fit ``cls``'s constructor."""
    accepted = parameters(cls)
    named = {p.name for p in inspect.signature(cls).parameters.values()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    if accepted is None:  # **kwargs: checkable only where the hook passes them on
        forwarded = forwarded_hook_params(cls)
        if forwarded is None:
            return
        accepted = frozenset(named) | forwarded
    unknown = sorted(set(kwargs) - accepted)
    required = [p.name for p in inspect.signature(cls).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                       p.KEYWORD_ONLY)]
    missing = [name for name in required if name not in kwargs]
    if not unknown and not missing:
        return
    problems = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(accepted), n=1)
        problems.append(f'unknown argument {name!r}' +
                        (f' (did you mean {close[0]!r}?)' if close else ''))
    problems += [f'missing required argument {name!r}' for name in missing]
    raise TypeError(f'{key} ({cls.__name__}): {"; ".join(problems)}. {cls.__name__} '
                    f'accepts: {", ".join(sorted(accepted))}; change the config or '
                    f'--cfg-options {key}.<argument>')


def check_hooks(cfg: Config) -> None:
    """Check every hook config of ``default_hooks`` and ``custom_hooks`` (see module doc).

    Raises:
        KeyError: a hook without ``type`` or with an unregistered one.
        TypeError: an unknown or missing argument; the message names the config key.
    """
    scope = cfg.get('default_scope')
    registration = parameters(Runner.register_hook, skip=('self', 'hook')) or frozenset()
    for key, hook_cfg in _hook_entries(cfg):
        if not isinstance(hook_cfg, dict):
            continue  # None removes a default hook; a built Hook is already checked
        cls = _hook_class(key, hook_cfg, scope)
        kwargs = {k: v for k, v in hook_cfg.items() if k not in BUILD_KEYS | registration}
        check_hook_args(key, cls, kwargs)


def _batch_numbers(loader: Any) -> Dict[str, Any]:
    """Samples, batch size, world size, drop_last and batches per process of ``loader``."""
    sampler = getattr(loader, 'sampler', None)
    batch_sampler = getattr(loader, 'batch_sampler', None)
    batch_size = loader.batch_size or getattr(batch_sampler, 'batch_size', None)
    drop_last = loader.drop_last if loader.batch_size else getattr(batch_sampler,
                                                                     'drop_last', None)
    return dict(samples=len(loader.dataset),
                per_process=len(sampler) if hasattr(sampler, '__len__') else None,
                batch_size=batch_size, drop_last=drop_last,
                world_size=getattr(sampler, 'world_size', None) or get_world_size(),
                batches=len(loader))


def check_dataloader(key: str, loader: Any) -> None:
    """Raise ValueError when ``loader`` (the dataloader of config key ``key``) yields no
    batch in an epoch; the message gives the numbers and what to change.

    An ``InfiniteSampler`` repeats the split, so only an empty split is refused (it would
    hang); a loader whose dataset has no length is not checked.
    """
    try:
        n = _batch_numbers(loader)
    except TypeError:
        return  # an iterable-style dataset or sampler without a length
    infinite = isinstance(getattr(loader, 'sampler', None), InfiniteSampler)
    if n['samples'] > 0 and (infinite or n['batches'] > 0):
        return
    numbers = (f"the split has {n['samples']} samples, {n['per_process']} per process at "
               f"world size {n['world_size']}; batch_size={n['batch_size']} per process, "
               f"drop_last={n['drop_last']}")
    if n['samples'] == 0 or not n['per_process']:
        fix = (f'give the split at least {n["world_size"]} samples (one per process): check '
               f'{key}.dataset (data_root, split, ann_file)')
    else:
        fix = (f"set {key}.batch_size={n['per_process']} or less, {key}.drop_last=False, or "
               f"give the split at least {n['batch_size'] * n['world_size']} samples "
               f"(batch_size x world size)")
    raise ValueError(f'{key} yields no batch per epoch, so it would run 0 iterations: '
                     f'{numbers}. Change one of: {fix}.')


@HOOKS.register_module()
class DataloaderSizeCheckHook(Hook):
    """Refuse, before the first iteration, a train/val/test dataloader that yields no
    batch (:func:`check_dataloader`).  tools/train.py and tools/test.py register it."""

    priority = 'HIGHEST'

    def before_train(self, runner) -> None:
        """Check the train loader and, when validation is on, the val loader."""
        check_dataloader('train_dataloader', runner.train_dataloader)
        if runner.val_loop is not None:
            check_dataloader('val_dataloader', runner.val_loop.dataloader)

    def before_val(self, runner) -> None:
        """Check the val loader (also reached during training; cheap)."""
        check_dataloader('val_dataloader', runner.val_loop.dataloader)

    def before_test(self, runner) -> None:
        """Check the test loader."""
        check_dataloader('test_dataloader', runner.test_loop.dataloader)


def add_dataloader_check(runner: Runner) -> None:
    """Register :class:`DataloaderSizeCheckHook` on ``runner`` (before its first loop)."""
    runner.register_hook(DataloaderSizeCheckHook(), priority='HIGHEST')
