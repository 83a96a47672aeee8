"""``configs/`` builds with torch + mmengine + mmcv alone (issue 16, part 3).

A child interpreter hides mmdet3d, mmdet and the mmdet3d project (``crosspt_mmdet3d``,
``projects.crosspt_mmdet3d``) behind a meta-path finder that raises ImportError, then, for
every config under ``configs/`` (``_base_`` included):

- loads it with ``Config.fromfile`` (its ``custom_imports`` are imported);
- looks every ``type`` string of the config up in crosspt's registries (scope 'crosspt',
  which falls back to mmengine's);
- builds ``model`` with crosspt's ``MODELS`` under the config's ``default_scope`` (outside
  ``_base_``, whose models are partial; build only, no forward; a PPKT image teacher is
  built with random weights instead of reading its checkpoint file).

The control runs the same child on a config of ``projects/crosspt_mmdet3d/configs/`` and
on one that asks for an mmdet3d type, and expects both to be reported.

Run by hand: ``python tests/test_tools/test_configs_without_mmdet3d.py CONFIG ...`` prints
one JSON line per config (``{"config": ..., "error": null or the message}``).
"""
import importlib.abc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
#: top-level packages the child interpreter cannot import
HIDDEN = ('mmdet3d', 'mmdet', 'crosspt_mmdet3d')
PROJECT_PACKAGE = 'projects.crosspt_mmdet3d'


class HideMmdet3d(importlib.abc.MetaPathFinder):
    """Meta-path finder that makes :data:`HIDDEN` and the mmdet3d project unimportable."""

    def find_spec(self, name: str, path=None, target=None):
        if name.split('.')[0] in HIDDEN or name.startswith(PROJECT_PACKAGE):
            raise ImportError(f'{name} is hidden (tests/test_tools/'
                              f'test_configs_without_mmdet3d.py)')
        return None


def type_strings(node) -> Iterator[str]:
    """Every string ``type`` value in a (nested) config."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield node['type']
        for value in node.values():
            yield from type_strings(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from type_strings(value)


#: type names a crosspt registry resolved (a miss tries imports, so each name is asked
#: once; misses are asked again, as a later config's custom_imports may register them)
_RESOLVED: set = set()


def resolves(name: str) -> bool:
    """Whether a crosspt registry resolves ``name``."""
    from mmengine.registry import Registry

    import crosspt.registry as registries
    if name not in _RESOLVED:
        found = [r for r in vars(registries).values() if isinstance(r, Registry)]
        if any(r.get(name) is not None for r in found):
            _RESOLVED.add(name)
    return name in _RESOLVED


def unresolved_types(cfg) -> List[str]:
    """The ``type`` strings of ``cfg`` that no crosspt registry resolves."""
    return sorted({name for name in type_strings(cfg.to_dict()) if not resolves(name)})


def error_chain(err: BaseException) -> List[BaseException]:
    """``err`` and the exceptions it was raised from (``__cause__`` / ``__context__``)."""
    chain = [err]
    while (chain[-1].__cause__ or chain[-1].__context__) is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
    return chain


def check_config(path: str) -> Optional[str]:
    """None if ``path`` loads, resolves and builds its model without mmdet3d, else why."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from crosspt.registry import MODELS
    try:
        cfg = Config.fromfile(path)
        missing = unresolved_types(cfg)
        if missing:
            return f'types no crosspt registry knows: {missing}'
        if 'model' not in cfg or '_base_' in Path(path).parts:   # a base: partial model
            return None
        model = cfg.model
        if isinstance(model.get('teacher'), dict):   # no teacher checkpoint file needed
            model.teacher.update(checkpoint=None, prefix=None, allow_random_init=True)
        # on the meta device: every constructor runs, no weight is allocated or drawn
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'crosspt')), \
                torch.device('meta'):
            MODELS.build(model)
    except Exception as err:   # reported to the parent test, which names the config
        return ' <- '.join(f'{type(e).__name__}: {e}' for e in error_chain(err))
    return None


def run_child(configs: List[str]) -> List[dict]:
    """Check ``configs`` in a fresh interpreter with mmdet3d hidden; one dict a config."""
    proc = subprocess.run([sys.executable, __file__, *configs], cwd=REPO, text=True,
                          capture_output=True, timeout=900,
                          env=dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{')]


def core_configs() -> List[str]:
    """Repo-relative paths of every config file under configs/."""
    return sorted(str(p.relative_to(REPO)) for p in (REPO / 'configs').rglob('*.py')
                  if '__pycache__' not in p.parts)


#: a project config: its custom_imports need mmdet3d
PROJECT = 'projects/crosspt_mmdet3d/configs/ppkt/srunet34_scratch_scannet-seg_synthetic.py'
#: the tmp config that names mmdet3d types without custom_imports
SCOPED = 'mmdet3d_type.py'


@pytest.fixture(scope='module')
def checked(tmp_path_factory) -> dict:
    """config -> error (None: fine) for every core config, the project config and a
    config naming mmdet3d types without custom_imports (key ``SCOPED``), all in one
    child interpreter."""
    scoped = tmp_path_factory.mktemp('configs') / 'mmdet3d_type.py'
    scoped.write_text("model = dict(type='EncoderDecoder3D',\n"
                      "             backbone=dict(type='PointNet2SASSG'))\n")
    configs = core_configs() + [PROJECT, str(scoped)]
    results = run_child(configs)
    assert [r['config'] for r in results] == configs
    errors = {r['config']: r['error'] for r in results}
    errors[SCOPED] = errors.pop(str(scoped))
    return errors


def test_every_core_config_builds_without_mmdet3d(checked):
    configs = core_configs()
    assert len(configs) >= 80, configs
    problems = [f'{config}: {checked[config]}' for config in configs if checked[config]]
    assert not problems, '\n'.join(problems)


def test_the_check_reports_a_config_that_needs_mmdet3d(checked):
    assert 'ImportError' in checked[PROJECT] and 'hidden' in checked[PROJECT]
    scoped = checked[SCOPED]
    assert 'EncoderDecoder3D' in scoped and 'PointNet2SASSG' in scoped


if __name__ == '__main__':
    sys.meta_path.insert(0, HideMmdet3d())
    import crosspt.models  # noqa: F401  (registers crosspt's modules)
    for config in sys.argv[1:]:
        print(json.dumps({'config': config, 'error': check_config(config)}), flush=True)
