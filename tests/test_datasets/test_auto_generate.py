"""AutoGenerateMixin: generators found only by FUNCTIONS name, run only when needed."""
import os

import pytest

from crosspt.datasets.auto_generate import AutoGenerateMixin, find_generator
from crosspt.registry import FUNCTIONS

GENERATORS = {
    'crosspt.synthetic.shapenet55': ['generate_synthetic_shapenet55'],
    'crosspt.synthetic.objects': ['generate_synthetic_scanobjectnn',
                                  'generate_synthetic_modelnet40',
                                  'generate_synthetic_shapenetpart',
                                  'generate_synthetic_fewshot', 'generate_synthetic_objects'],
    'crosspt.synthetic.scannet_frames': ['generate_synthetic_scannet_frames'],
    'crosspt.synthetic.scannet_mmdet3d': ['generate_synthetic_scannet_mmdet3d'],
    'crosspt.synthetic.s3dis_mmdet3d': ['generate_synthetic_s3dis_mmdet3d'],
    'crosspt.synthetic.sunrgbd_mmdet3d': ['generate_synthetic_sunrgbd_mmdet3d'],
}


def test_every_generator_is_registered_under_its_name():
    import importlib
    for module, names in GENERATORS.items():
        for name in names:
            assert find_generator(name) is getattr(importlib.import_module(module), name)
    assert sorted(n for n in FUNCTIONS.module_dict if n.startswith('generate_synthetic_')) == \
        sorted(n for names in GENERATORS.values() for n in names)


def test_unknown_generator_name_is_a_clear_error():
    with pytest.raises(KeyError, match="'generate_synthetic_nothing'"):
        find_generator('generate_synthetic_nothing')


class Loader(AutoGenerateMixin):
    GENERATOR = 'generate_synthetic_test_only'

    def __init__(self, data_root, auto_generate):
        self.data_root = str(data_root)
        self._init_auto_generate(auto_generate)


def test_mixin_runs_the_registered_generator_only_when_needed(tmp_path, monkeypatch):
    calls = []

    def fake(root, **kwargs):
        calls.append((root, kwargs))
        os.makedirs(root, exist_ok=True)

    monkeypatch.setitem(FUNCTIONS._module_dict, Loader.GENERATOR, fake)
    root = tmp_path / 'data'
    Loader(root, None)._maybe_generate()
    assert calls == []                                   # auto_generate not set
    Loader(root, dict(seed=3))._maybe_generate()
    assert calls == [(str(root), {'seed': 3})]           # missing: generated
    Loader(root, dict(seed=3))._maybe_generate()
    assert len(calls) == 1                               # real data present: untouched
    (root / 'synthetic_info.json').write_text('{}')
    Loader(root, dict(seed=3))._maybe_generate()
    assert len(calls) == 2                               # synthetic: generator re-checks
    with pytest.raises(ValueError, match='Loader: auto_generate must be a dict'):
        Loader(root, [1])
