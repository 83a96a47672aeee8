"""The TAP authors' released checkpoints in one line: official URL -> cache -> conversion ->
load, for every layout, through ``crosspt.Pretrained``, ``load_from`` (mmengine's loader),
``init_model`` and ``tools/misc/download_checkpoint.py``; sha256 pinning and the unpinned
warning.  Everything is served from 127.0.0.1: ``$CROSSPT_DOWNLOAD_MIRROR`` sends the
metafile's Tsinghua URLs there.
"""
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import CheckpointLoader

import crosspt.engine  # noqa: F401  (registers the checkpoint loaders)
from crosspt.apis import init_model, render_views
from crosspt.registry import MODELS
from official_weights_helpers import (IDS, TSINGHUA, official_classifier, official_clean,
                                      official_partseg, official_pretrain_full, randomized,
                                      serve_as_mirror, sha256, to_bytes)

REPO = Path(__file__).resolve().parents[2]
DGCNN_FT = 'configs/tap/benchmarks/dgcnn_ft_scanobjectnn-pb-t50-rs.py'
PARTSEG_FT = 'configs/tap/benchmarks/pointmlp_ft_shapenetpart.py'
DGCNN_PRETRAIN = 'configs/tap/dgcnn_1xb16-100e_shapenet55.py'


def crosspt_state(config: str, seed: int) -> dict:
    return randomized(init_model(str(REPO / config)).state_dict(), seed)


@pytest.fixture(scope='module')
def files():
    """Official-layout files (bytes) and the crosspt states they were written from."""
    cls = crosspt_state(DGCNN_FT, 1)
    seg = crosspt_state(PARTSEG_FT, 2)
    full = crosspt_state(DGCNN_PRETRAIN, 3)
    data = dict(dgcnn_ft=to_bytes(official_classifier(cls)),
                dgcnn_ft_module=to_bytes(official_classifier(cls, module_prefix=True)),
                dgcnn_clean=to_bytes(official_clean(cls)),
                dgcnn_clean_module=to_bytes(official_clean(cls, module_prefix=True)),
                partseg=to_bytes(official_partseg(seg)),
                full=to_bytes(official_pretrain_full(full)))
    return dict(data=data, cls=cls, seg=seg, full=full)


@pytest.fixture
def serve(tmp_path, monkeypatch):
    """``serve({official id: bytes, other path: bytes})`` starts a loopback server, points
    the download mirror at it and gives an empty crosspt home."""
    yield from serve_as_mirror(tmp_path, monkeypatch,
                               lambda k: k if k.startswith('/') else f'/f/{k}/')


def cache(tmp_path) -> Path:
    return tmp_path / 'home' / 'checkpoints'


def assert_equal_states(model_state: dict, expected: dict, prefix: str = '') -> None:
    for key, value in expected.items():
        assert torch.equal(model_state[prefix + key], value), key


# ------------------------------------------------------------------------------- layouts
def test_finetuned_url_through_init_model_unpinned_and_cached(files, serve, tmp_path, caplog):
    server = serve({IDS['dgcnn_ft']: files['data']['dgcnn_ft']})
    url = TSINGHUA.format(IDS['dgcnn_ft'])
    with caplog.at_level(logging.WARNING):
        model = init_model(str(REPO / DGCNN_FT), url)
    assert_equal_states(model.state_dict(), files['cls'])
    assert model.checkpoint_report['missing'] == [] and model.checkpoint_report['unexpected'] == []
    digest = sha256(files['data']['dgcnn_ft'])
    assert any('unpinned' in r.getMessage() and digest in r.getMessage() for r in caplog.records)
    name = 'tap_dgcnn_ft_scanobjectnn-pb-t50-rs_official'
    record = json.loads((cache(tmp_path) / 'downloads.json').read_text())[f'{name}.pth']
    assert record == dict(url=url, sha256=digest, size=len(files['data']['dgcnn_ft']),
                          pinned=False)
    converted = torch.load(cache(tmp_path) / f'{name}.crosspt.pth', weights_only=True)
    assert converted['meta']['format'] == 'finetuned'
    assert converted['meta']['source_sha256'] == digest
    # a second load is served from the cache: no new request
    init_model(str(REPO / DGCNN_FT), url)
    assert server.hits == {f"/f/{IDS['dgcnn_ft']}/": 1}


def test_clean_file_through_crosspt_pretrained_init(files, serve):
    serve({IDS['dgcnn_clean']: files['data']['dgcnn_clean']})
    url = TSINGHUA.format(IDS['dgcnn_clean'])
    with DefaultScope.overwrite_default_scope('crosspt'):
        classifier = MODELS.build(dict(
            type='PointClassifier', backbone=dict(
                type='DGCNN', in_channels=4, k=20, init_cfg=dict(
                    type='crosspt.Pretrained', checkpoint=url, prefix='backbone.')),
            head=dict(type='ClsHead', in_channels=2048, num_classes=15)))
        classifier.init_weights()
    backbone = {k: v for k, v in files['cls'].items() if k.startswith('backbone.')}
    assert_equal_states(classifier.state_dict(), backbone)


@pytest.mark.parametrize('layout', ['dgcnn_ft_module', 'dgcnn_clean_module'])
def test_module_prefixed_files_through_load_from(files, serve, layout):
    """mmengine's loader (what ``load_from=URL`` and ``resume`` use)."""
    official_id = IDS['dgcnn_ft' if layout == 'dgcnn_ft_module' else 'dgcnn_clean']
    serve({official_id: files['data'][layout]})
    checkpoint = CheckpointLoader.load_checkpoint(TSINGHUA.format(official_id), 'cpu')
    assert checkpoint['meta']['module_prefix_stripped']
    expected = files['cls'] if layout == 'dgcnn_ft_module' else \
        {k: v for k, v in files['cls'].items() if k.startswith('backbone.')}
    assert set(checkpoint['state_dict']) == set(expected)
    assert_equal_states(checkpoint['state_dict'], expected)


def test_partseg_url_through_init_model(files, serve):
    serve({IDS['partseg_ft']: files['data']['partseg']})
    model = init_model(str(REPO / PARTSEG_FT), TSINGHUA.format(IDS['partseg_ft']))
    assert_equal_states(model.state_dict(), files['seg'])
    assert model.checkpoint_report['missing'] == []


def test_full_pretraining_converts_whole_and_renders_views(files, serve, tmp_path):
    """A pre-training checkpoint (not released, so published under a sha256-suffixed
    name) loads into the whole TAP model: render_views uses the official generator."""
    data = files['data']['full']
    name = f'tap_dgcnn_full-{sha256(data)[:8]}.pth'
    server = serve({f'/files/{name}': data})
    model = init_model(str(REPO / DGCNN_PRETRAIN), f'{server.url}/files/{name}')
    assert_equal_states(model.state_dict(), files['full'])
    assert model.checkpoint_report['unexpected'] == []
    direct = init_model(str(REPO / DGCNN_PRETRAIN))
    direct.load_state_dict(files['full'], strict=True)
    points = torch.rand(1024, 3, generator=torch.Generator().manual_seed(0)) - 0.5
    views = render_views(model, points, poses=[0, 6])
    assert views.shape == (2, 3, 224, 224)
    assert np.array_equal(views, render_views(direct, points, poses=[0, 6]))


# ----------------------------------------------------------------------------- pinning
def _index_with_sha(tmp_path, digest: str) -> Path:
    """A model index holding the official DGCNN fine-tuned entry with SHA256 ``digest``."""
    metafile = yaml.safe_load((REPO / 'configs/tap/metafile.yml').read_text())
    entry = next(m for m in metafile['Models']
                 if m['Name'] == 'tap_dgcnn_ft_scanobjectnn-pb-t50-rs_official')
    entry['Official Weights']['SHA256'] = digest
    (tmp_path / 'meta.yml').write_text(yaml.safe_dump(dict(Models=[entry])))
    (tmp_path / 'model-index.yml').write_text(yaml.safe_dump(dict(Import=['meta.yml'])))
    return tmp_path / 'model-index.yml'


def test_pinned_hash_must_match(files, serve, tmp_path, monkeypatch, caplog):
    data = files['data']['dgcnn_ft']
    serve({IDS['dgcnn_ft']: data})
    url = TSINGHUA.format(IDS['dgcnn_ft'])
    monkeypatch.setenv('CROSSPT_MODEL_INDEX', str(_index_with_sha(tmp_path, '0' * 64)))
    with pytest.raises(ValueError, match='tampered or corrupted') as info:
        init_model(str(REPO / DGCNN_FT), url)
    assert url in str(info.value) and sha256(data) in str(info.value)
    assert not (cache(tmp_path) / 'tap_dgcnn_ft_scanobjectnn-pb-t50-rs_official.pth').exists()
    monkeypatch.setenv('CROSSPT_MODEL_INDEX', str(_index_with_sha(tmp_path, sha256(data))))
    with caplog.at_level(logging.WARNING):
        model = init_model(str(REPO / DGCNN_FT), url)
    assert_equal_states(model.state_dict(), files['cls'])
    assert not any('unpinned' in r.getMessage() for r in caplog.records)
    record = json.loads((cache(tmp_path) / 'downloads.json').read_text())
    assert record['tap_dgcnn_ft_scanobjectnn-pb-t50-rs_official.pth']['pinned'] is True


# ------------------------------------------------------------------------------ errors
def test_not_a_checkpoint_and_misfit_are_errors_naming_the_file(files, serve):
    serve({IDS['dgcnn_ft']: b'<!DOCTYPE html><html>quota exceeded</html>',
           IDS['pointmlp_ft']: files['data']['dgcnn_ft']})
    bad = TSINGHUA.format(IDS['dgcnn_ft'])
    with pytest.raises(RuntimeError, match='not a PyTorch checkpoint') as info:
        init_model(str(REPO / DGCNN_FT), bad)
    assert 'tap_dgcnn_ft_scanobjectnn-pb-t50-rs_official.pth' in str(info.value)
    # a DGCNN file behind the PointMLP link does not fit the PointMLP config
    misfit = TSINGHUA.format(IDS['pointmlp_ft'])
    with pytest.raises((KeyError, ValueError), match=r'does not fit|shares no key') as info:
        init_model(str(REPO / 'configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs.py'),
                   misfit)
    assert misfit in str(info.value)


# ----------------------------------------------------------------------- download tool
def test_download_tool_against_loopback(files, serve, tmp_path):
    server = serve({IDS['dgcnn_ft']: files['data']['dgcnn_ft']})
    name = 'tap_dgcnn_ft_scanobjectnn-pb-t50-rs_official'
    cmd = [sys.executable, 'tools/misc/download_checkpoint.py', name, '--dest',
           str(tmp_path / 'dest'), '--no-progress']
    env = {'CROSSPT_DOWNLOAD_MIRROR': server.url, 'CROSSPT_HOME': str(tmp_path / 'home'),
           'OMP_NUM_THREADS': '1', 'PATH': '/usr/bin:/bin'}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = tmp_path / 'dest' / f'{name}.pth'
    assert path.read_bytes() == files['data']['dgcnn_ft']
    digest = sha256(files['data']['dgcnn_ft'])
    assert f'sha256 {digest}' in proc.stdout and 'unpinned' in proc.stderr
    assert json.loads((tmp_path / 'dest' / 'downloads.json').read_text())[f'{name}.pth'][
        'sha256'] == digest
    proc = subprocess.run(cmd[:2] + ['no_such_model'], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 1 and name in proc.stderr
    listing = subprocess.run(cmd[:2] + ['--list'], cwd=REPO, capture_output=True, text=True,
                             timeout=300, env=env).stdout
    assert listing.count('_official\t') == 12


# ------------------------------------------------------------------- metafile and zoo
def test_twelve_official_entries_in_metafile_and_model_zoo():
    """Hand-copied from the TAP README's Tsinghua Cloud column."""
    expected = {'13da92866ff64db0b4bc', '5fa20c80d9c04cf482d2', 'ac4d24ea53394c0fae2e',
                'c6a271c790504189a723', '29a4b2b621a240939ec0', '5c5eccb0ee0f4cc2b324',
                'baf369d8adef4056a9b2', '0cad6c787907405d8e0a', 'a636efb6f6174dfda76a',
                'fa5ae69b4f6741608804', 'f77e1bf353f9495298eb', '653d296b772b4bd9a0f9'}
    models = yaml.safe_load((REPO / 'configs/tap/metafile.yml').read_text())['Models']
    official = [m for m in models if 'Official Weights' in m]
    assert {m['Weights'] for m in official} == {TSINGHUA.format(i) for i in expected}
    figures = {m['Config'].split('/')[-1]: m['Official Weights']['Paper Figure']
               for m in official if 'Pretrained' in m['Metadata']}
    assert figures['pointmlp_ft_scanobjectnn-pb-t50-rs.py'].endswith('OA 88.5')
    assert figures['transformer_ft_scanobjectnn-obj-bg.py'].endswith('OA 90.4')
    assert figures['pointmlp_ft_shapenetpart.py'].endswith('85.2 / instance mIoU 86.9')
    zoo = (REPO / 'model_zoo.md').read_text()
    block = zoo[zoo.index('generated:tap-weights:start'):zoo.index('generated:tap-weights:end')]
    for official_id in expected:
        assert f'[model]({TSINGHUA.format(official_id)})' in block
    assert block.count('unpinned') == 12
