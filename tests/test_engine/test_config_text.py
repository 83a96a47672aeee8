"""The Runner's config text: mmengine's content laid out without yapf, the same syntax
tree as mmengine's text (on one config of every config folder)."""
import ast
import copy
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.config import config as mmengine_config

from crosspt.engine.config_text import WIDTH, CompactTextConfig, compact_text, with_compact_text

REPO = Path(__file__).resolve().parents[2]
#: one config of every config folder (every kind of value the configs hold)
CONFIGS = ['configs/ppkt/srunet34_synthetic.py',
           'configs/ppkt/teacher2d/resnet18-w32_synthetic-seg.py',
           'configs/tap/pointmlp_1xb32-100e_shapenet55.py',
           'configs/tap/benchmarks/dgcnn_fewshot-5way10shot_modelnet40_synthetic.py',
           'projects/crosspt_mmdet3d/configs/ppkt/srunet34_ft_scannet-seg_synthetic.py',
           'projects/crosspt_mmdet3d/configs/tap/3detr-m_scratch_scannet-det.py']


@pytest.fixture
def no_yapf(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError('yapf called')
    monkeypatch.setattr(mmengine_config, 'FormatCode', refuse)


def plain_text(cfg: Config) -> str:
    return Config(cfg.to_dict(), format_python_code=False).pretty_text


def test_hand_laid_out_example(no_yapf):
    """Short values stay on one line; a long one splits one item per line, recursively;
    a one-element tuple keeps its comma; a string longer than the width stays whole."""
    cfg = Config(dict(model=dict(type='Net', depth=[1, 2, 3]), lr=0.1, one=('x',),
                      names=('a' * 30, 'b' * 30, 'c' * 30), path='p' * 90,
                      pipeline=[dict(type='Load', keys=['points', 'labels'], shift=-0.5),
                                dict(type='Pack', meta_keys=('a' * 36, 'b' * 36))]))
    assert with_compact_text(cfg).pretty_text == '\n'.join([
        "lr = 0.1",
        "model = dict(depth=[1, 2, 3], type='Net')",
        "names = (",
        f"    '{'a' * 30}',",
        f"    '{'b' * 30}',",
        f"    '{'c' * 30}',",
        ")",
        "one = ('x',)",
        f"path = '{'p' * 90}'",
        "pipeline = [",
        "    dict(keys=['points', 'labels'], shift=-0.5, type='Load'),",
        "    dict(",
        "        meta_keys=(",
        f"            '{'a' * 36}',",
        f"            '{'b' * 36}',",
        "        ),",
        "        type='Pack',",
        "    ),",
        "]", ""])


@pytest.mark.parametrize('path', CONFIGS)
def test_shipped_configs_keep_their_syntax_tree_and_width(path, no_yapf):
    cfg = Config.fromfile(str(REPO / path), import_custom_modules=False)
    plain = plain_text(cfg)
    text = with_compact_text(cfg).pretty_text
    assert ast.dump(ast.parse(text)) == ast.dump(ast.parse(plain))
    for line in text.splitlines():
        # a line may only be longer than the width when it holds a single value
        assert len(line) <= WIDTH or line.count("'") <= 2 and ', ' not in line, line


def test_dump_reads_back_to_the_same_dict(tmp_path, no_yapf):
    path = REPO / 'projects/crosspt_mmdet3d/configs/ppkt/srunet34_ft_scannet-seg_synthetic.py'
    cfg = with_compact_text(Config.fromfile(str(path), import_custom_modules=False))
    cfg.dump(str(tmp_path / 'dumped.py'))
    again = Config.fromfile(str(tmp_path / 'dumped.py'), import_custom_modules=False)
    assert again.to_dict() == cfg.to_dict()


def test_runner_copy_follows_changes(no_yapf):
    cfg = Config(dict(model=dict(type='Net'), lr=0.1))
    compact = copy.deepcopy(with_compact_text(cfg))     # the Runner deep-copies its cfg
    assert isinstance(compact, CompactTextConfig) and 'lr = 0.1\n' in compact.pretty_text
    compact.lr = 0.2
    assert 'lr = 0.2\n' in compact.pretty_text
    assert cfg.lr == 0.1 and compact.filename == cfg.filename


def test_other_statements_and_unformatted_configs_are_left_alone(no_yapf):
    assert compact_text('import os\na = 1\n') == 'import os\na = 1\n'
    cfg = Config(dict(a=1), format_python_code=False)
    assert with_compact_text(cfg).pretty_text == cfg.pretty_text == "a=1"
