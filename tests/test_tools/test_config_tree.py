"""Shape of the config trees (issue 16): ``configs/`` and ``projects/*/configs/``.

- Every ``_base_`` a config names exists, and no config is more than 3 ``_base_`` levels
  deep (a config without ``_base_`` is level 0, one that inherits only such files level 1,
  ...).  The chains are read from the files' ``_base_`` assignments with ``ast``, not
  through mmengine.
- The published recipes carry mmpretrain-style names,
  ``<model>_<gpus>xb<batch>-<schedule>_<data>.py``, and the name agrees with the config:
  batch = ``train_dataloader.batch_size``, gpus x batch = ``auto_scale_lr.base_batch_size``,
  schedule = ``train_cfg.max_epochs`` ('100e') or ``max_iters`` in thousands ('60k').
- Each former name is a one-line config ``_base_ = './<new name>.py'`` that loads to the
  same config as its new name.
"""
import ast
import os.path as osp
import re
from pathlib import Path
from typing import Dict, List

import pytest
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
MAX_DEPTH = 3
#: former name -> new name of the renamed published recipes (both under configs/)
RENAMED = {
    'tap/pointmlp_shapenet.py': 'tap/pointmlp_1xb32-100e_shapenet55.py',
    'tap/dgcnn_shapenet.py': 'tap/dgcnn_1xb16-100e_shapenet55.py',
    'tap/pointnet2_shapenet.py': 'tap/pointnet2_1xb32-100e_shapenet55.py',
    'tap/transformer_shapenet.py': 'tap/transformer_1xb32-100e_shapenet55.py',
    'tap/3detr-encoder_shapenet.py': 'tap/3detr-encoder_1xb32-100e_shapenet55.py',
    'ppkt/srunet34_scannet.py': 'ppkt/srunet34_1xb24-60k_scannet.py',
}
NAME_RE = re.compile(r'^(?P<model>[\w-]+)_(?P<gpus>\d+)xb(?P<batch>\d+)-'
                     r'(?P<schedule>\d+[ek])_(?P<data>[\w-]+)\.py$')


def all_configs() -> List[Path]:
    """Every config file of configs/ and projects/*/configs/ (``_base_`` included)."""
    roots = [REPO / 'configs'] + sorted(REPO.glob('projects/*/configs'))
    return sorted(p for root in roots for p in root.rglob('*.py')
                  if '__pycache__' not in p.parts)


def bases_of(path: Path) -> List[Path]:
    """The files ``path``'s top-level ``_base_`` assignment names (resolved)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
            return [Path(osp.normpath(path.parent / name)) for name in names]
    return []


def depth(path: Path, memo: Dict[Path, int]) -> int:
    """Number of ``_base_`` levels below ``path`` (0: it inherits nothing)."""
    if path not in memo:
        bases = bases_of(path)
        missing = [str(b) for b in bases if not b.is_file()]
        if missing:
            raise FileNotFoundError(f'{path}: _base_ {missing} does not exist')
        memo[path] = 1 + max((depth(b, memo) for b in bases), default=-1)
    return memo[path]


def test_depth_counts_levels(tmp_path):
    (tmp_path / 'a.py').write_text('x = 1\n')
    for child, parent in (('b', 'a'), ('c', 'b'), ('d', 'c'), ('e', 'd')):
        (tmp_path / f'{child}.py').write_text(f"_base_ = ['./{parent}.py', './a.py']\n")
    levels = {name: depth(tmp_path / f'{name}.py', {}) for name in 'abcde'}
    assert levels == {'a': 0, 'b': 1, 'c': 2, 'd': 3, 'e': 4}
    (tmp_path / 'f.py').write_text("_base_ = './gone.py'\n")
    with pytest.raises(FileNotFoundError, match='gone.py'):
        depth(tmp_path / 'f.py', {})


def test_every_config_is_at_most_three_levels_deep():
    memo: Dict[Path, int] = {}
    configs = all_configs()
    assert len(configs) > 100
    deep = [f'{p.relative_to(REPO)}: {depth(p, memo)} levels' for p in configs
            if depth(p, memo) > MAX_DEPTH]
    assert not deep, '\n'.join(deep)


@pytest.mark.parametrize('new', sorted(RENAMED.values()))
def test_published_recipe_name_agrees_with_its_config(new):
    match = NAME_RE.match(Path(new).name)
    assert match, f'configs/{new}: not <model>_<gpus>xb<batch>-<schedule>_<data>.py'
    cfg = Config.fromfile(str(REPO / 'configs' / new))
    gpus, batch = int(match['gpus']), int(match['batch'])
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.auto_scale_lr.base_batch_size == gpus * batch
    schedule = match['schedule']
    if schedule.endswith('e'):
        assert cfg.train_cfg.max_epochs == int(schedule[:-1])
    else:
        assert cfg.train_cfg.max_iters == int(schedule[:-1]) * 1000


@pytest.mark.parametrize('old', sorted(RENAMED))
def test_former_name_is_a_one_line_alias_of_the_new_one(old):
    new = RENAMED[old]
    body = ast.parse((REPO / 'configs' / old).read_text()).body
    assert len(body) == 1 and bases_of(REPO / 'configs' / old) == [REPO / 'configs' / new]
    old_cfg = Config.fromfile(str(REPO / 'configs' / old)).to_dict()
    new_cfg = Config.fromfile(str(REPO / 'configs' / new)).to_dict()
    assert old_cfg == new_cfg
