"""Config helpers shared by the tools: read a config and apply checked ``--cfg-options``.

The key check knows the keys mmengine's Runner reads, taken from mmengine itself rather
than from a hand-written list: the parameters of ``Runner.__init__``, the keys Runner
methods read from a config dict (``env_cfg``, ``auto_scale_lr``, loop and dataloader
dicts, ``self.cfg``) and the parameters of the functions a dict is forwarded to as
``**kwargs`` (``randomness`` -> ``Runner.set_randomness``, ``env_cfg.mp_cfg`` ->
``set_multi_processing``, ``train_dataloader`` -> ``torch.utils.data.DataLoader``, ...).
"""
import ast
import difflib
import functools
import inspect
import os.path as osp
import textwrap
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple

from mmengine.config import Config

KeySet = Optional[FrozenSet[str]]  # None: any key is accepted (the target takes **kwargs)
_MISSING = object()  # below a key the config does not have yet


@functools.lru_cache(maxsize=None)
def _file_tree(filename: str) -> ast.Module:
    """The syntax tree of a source file, parsed once per process."""
    with open(filename, encoding='utf-8') as f:
        return ast.parse(f.read(), filename)


def _find_def(tree: ast.AST, obj: Any) -> Optional[ast.AST]:
    """The ``def`` / ``class`` node of ``obj`` in its file's ``tree``: a function by its
    first line (``co_firstlineno``: the first decorator's or the ``def``'s), a class by
    its qualified name; None when not found."""
    code = getattr(obj, '__code__', None)
    if code is not None:
        for node in ast.walk(tree):
            if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and node.name == code.co_name
                    and code.co_firstlineno in (node.lineno, *(d.lineno for d in
                                                                node.decorator_list))):
                return node
        return None
    node = tree
    for name in obj.__qualname__.split('.'):
        node = next((n for n in getattr(node, 'body', []) if isinstance(
            n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name), None)
        if node is None:
            return None
    return node


def source_tree(obj: Any) -> ast.AST:
    """Parsed source of a function or class: its node in its file's syntax tree (each file
    is parsed once; ``inspect.getsource`` re-tokenises, and for a class re-parses the whole
    file, on every call).  Raises OSError / TypeError as ``inspect.getsource`` does."""
    obj = inspect.unwrap(obj)
    try:
        filename = inspect.getsourcefile(obj)
        node = _find_def(_file_tree(filename), obj) if filename else None
    except (OSError, TypeError, SyntaxError, UnicodeDecodeError):
        node = None
    if node is None:
        node = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    return node


def _str_const(node: ast.AST) -> Optional[str]:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def keys_read(obj: Any, var: str) -> FrozenSet[str]:
    """String keys the source of ``obj`` reads from the dict expression ``var`` (e.g.
    ``'env_cfg'``, ``'self.cfg'``): ``var.get('k')``, ``var.pop('k')``, ``var['k']``,
    ``'k' in var``."""
    keys = set()
    for node in ast.walk(source_tree(obj)):
        key = None
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ('get', 'pop', 'setdefault') and node.args
                and ast.unparse(node.func.value) == var):
            key = _str_const(node.args[0])
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == var:
            key = _str_const(node.slice)
        elif (isinstance(node, ast.Compare) and len(node.ops) == 1
              and isinstance(node.ops[0], ast.In) and ast.unparse(node.comparators[0]) == var):
            key = _str_const(node.left)
        if key is not None:
            keys.add(key)
    return frozenset(keys)


def parameters(func: Callable, skip: Iterable[str] = ('self',)) -> KeySet:
    """Names ``func`` accepts as keyword arguments, minus ``skip``; None if it takes
    ``**kwargs``."""
    params = list(inspect.signature(func).parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    named = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return frozenset(named - set(skip))


def call_leftover(call: ast.Call, target: Callable) -> KeySet:
    """Parameters of ``target`` that the ``call`` (which unpacks a dict into it) leaves
    free: those not passed positionally or by keyword; None if ``target`` takes
    ``**kwargs``."""
    if parameters(target) is None:
        return None
    names = [p.name for p in inspect.signature(target).parameters.values()
             if p.name != 'self' and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                p.KEYWORD_ONLY)]
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    passed = set(names[:len(positional)]) | {kw.arg for kw in call.keywords if kw.arg}
    return frozenset(set(names) - passed)


def forwarded_params(caller: Callable, callee: str) -> KeySet:
    """Keys a dict may hold that ``caller`` unpacks as ``**cfg`` into its call of the
    global ``callee`` (e.g. ``set_multi_processing(**mp_cfg, distributed=...)``)."""
    target = caller.__globals__[callee]
    calls = [node for node in ast.walk(source_tree(caller))
             if isinstance(node, ast.Call) and ast.unparse(node.func) == callee]
    if not calls:
        raise LookupError(f'{caller.__qualname__} does not call {callee}')
    return call_leftover(calls[0], target)


def dict_literal_keys(func: Callable, var: str) -> FrozenSet[str]:
    """Keywords of the ``var = dict(...)`` assignment in ``func`` (e.g. mmengine's default
    hooks)."""
    for node in ast.walk(source_tree(func)):
        target = getattr(node, 'target', None) or (getattr(node, 'targets', None) or [None])[0]
        value = getattr(node, 'value', None)
        if (isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(target, ast.Name)
                and target.id == var and isinstance(value, ast.Call)
                and ast.unparse(value.func) == 'dict'):
            return frozenset(kw.arg for kw in value.keywords if kw.arg)
    raise LookupError(f'{func.__qualname__} assigns no {var} = dict(...)')


def _union(*sets: KeySet) -> KeySet:
    return None if any(s is None for s in sets) else frozenset().union(*sets)


def _subclasses(cls: type) -> List[type]:
    """Every subclass of ``cls`` imported so far, depth first."""
    return [c for sub in cls.__subclasses__() for c in [sub, *_subclasses(sub)]]


@functools.lru_cache(maxsize=None)
def _runner_subclass_keys(runners: Tuple[type, ...]) -> FrozenSet[str]:
    """Top-level keys that Runner subclasses (e.g. crosspt's) read in ``from_cfg`` or take
    as named ``__init__`` arguments."""
    keys = set()
    for cls in runners:
        if 'from_cfg' in vars(cls):
            from_cfg = vars(cls)['from_cfg']
            try:
                keys |= keys_read(getattr(from_cfg, '__func__', from_cfg), 'cfg')
            except (OSError, TypeError):  # no source (built at run time): nothing to read
                pass
        if '__init__' in vars(cls):
            keys |= {p.name for p in inspect.signature(cls.__init__).parameters.values()
                     if p.kind is p.KEYWORD_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD
                                                     and p.default is not p.empty)}
    return frozenset(keys)


def runner_schema() -> Dict[Tuple[str, ...], KeySet]:
    """Config path -> the keys mmengine's Runner (and any imported subclass of it)
    accepts below it (None: any)."""
    from mmengine.runner import Runner
    schema = dict(_mmengine_schema())
    schema[()] = _union(schema[()], _runner_subclass_keys(tuple(_subclasses(Runner))))
    return schema


@functools.lru_cache(maxsize=None)
def _mmengine_schema() -> Dict[Tuple[str, ...], KeySet]:
    """Config path -> the keys mmengine's Runner accepts below it (None: any)."""
    from mmengine.runner import Runner
    loops = {'train_cfg': ['EpochBasedTrainLoop', 'IterBasedTrainLoop'],
             'val_cfg': ['ValLoop'], 'test_cfg': ['TestLoop']}
    builders = {'train_cfg': Runner.build_train_loop, 'val_cfg': Runner.build_val_loop,
                'test_cfg': Runner.build_test_loop}
    loader = _union(keys_read(Runner.build_dataloader, 'dataloader_cfg'),
                    forwarded_params(Runner.build_dataloader, 'DataLoader'))
    schema: Dict[Tuple[str, ...], KeySet] = {
        (): _union(parameters(Runner.__init__, skip=('self', 'cfg')),
                   keys_read(Runner, 'self.cfg')),
        ('randomness',): parameters(Runner.set_randomness),
        ('env_cfg',): keys_read(Runner.setup_env, 'env_cfg'),
        ('env_cfg', 'mp_cfg'): forwarded_params(Runner.setup_env, 'set_multi_processing'),
        ('env_cfg', 'dist_cfg'): forwarded_params(Runner.setup_env, 'init_dist'),
        ('auto_scale_lr',): keys_read(Runner.scale_lr, 'auto_scale_lr'),
        ('log_processor',): forwarded_params(Runner.build_log_processor, 'LogProcessor'),
        ('default_hooks',): dict_literal_keys(Runner.register_default_hooks, 'default_hooks'),
    }
    for key, classes in loops.items():
        schema[(key,)] = _union(keys_read(builders[key], 'loop_cfg'),
                                *(forwarded_params(builders[key], c) for c in classes))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        schema[(key,)] = loader
    return schema


def _unknown_key(full_key: str, part: str, where: str, known: Iterable[str]) -> str:
    """The error message for an unknown key, with the closest known key if any."""
    known = sorted(str(k) for k in known)
    close = difflib.get_close_matches(part, known, n=1, cutoff=0.6)
    hint = f'; did you mean {close[0]!r}?' if close else ''
    scope = ("the config's keys and the arguments of mmengine's Runner"
             if where == 'the config' else 'known keys')
    return (f'--cfg-options {full_key}: unknown key {part!r} in {where}{hint} '
            f'({scope}: {", ".join(known)})')


def _check_key(cfg: Config, full_key: str, schema: Dict[Tuple[str, ...], KeySet]) -> None:
    """Raise KeyError when ``full_key`` names a key neither the config nor mmengine knows."""
    node: Any = cfg
    parts = full_key.split('.')
    for depth, part in enumerate(parts):
        path = tuple(parts[:depth])
        where = '.'.join(path) or 'the config'
        if isinstance(node, (list, tuple)):
            if not part.isdigit() or int(part) >= len(node):
                raise KeyError(f'--cfg-options {full_key}: {where} is a list of {len(node)} '
                               f'items; {part!r} is not an index')
            node = node[int(part)]
            continue
        accepted = schema.get(path, frozenset())
        if node is _MISSING:
            if path not in schema or accepted is None:
                return  # nothing known below this new key: its consumer validates it
            known = set(accepted)
        else:
            if not hasattr(node, 'keys'):
                raise KeyError(f'--cfg-options {full_key}: {where} is not a dict, so it has '
                               f'no key {part!r}')
            if part in node:
                node = node[part]
                continue
            if accepted is None or ('type' in node and depth == len(parts) - 1):
                return  # a built object: its constructor rejects unknown arguments by name
            known = set(node.keys()) | set(accepted)
        if part not in known:
            raise KeyError(_unknown_key(full_key, part, where, known))
        node = _MISSING


def check_cfg_options(cfg: Config, options: Dict[str, Any]) -> None:
    """Refuse ``--cfg-options`` keys that neither the config nor mmengine's Runner knows.

    A key is accepted when its path exists in the config, or when mmengine documents it
    (:func:`runner_schema`: e.g. ``randomness.deterministic``, ``env_cfg.mp_cfg``,
    ``train_dataloader.pin_memory``, ``find_unused_parameters``; plus the top-level keys
    an imported Runner subclass reads, e.g. crosspt's ``load_strict``).  A new last component
    is also accepted in a dict that is built into an object (it has a ``type``): its
    constructor rejects unknown arguments by name (hooks: ``crosspt.engine.preflight``).
    An unknown key is refused with the closest known key and the list of known keys.
    """
    schema = runner_schema()
    for full_key in options:
        _check_key(cfg, full_key, schema)


def load_tool_config(config: str, cfg_options: Optional[Dict[str, Any]],
                     work_dir: Optional[str]) -> Config:
    """Read ``config``, apply checked ``--cfg-options`` and pick the work dir
    (``--work-dir``, else the config's ``work_dir``, else ``work_dirs/<config name>``)."""
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    cfg.work_dir = work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg
