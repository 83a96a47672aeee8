"""End to end: README's "Use the released TAP weights" commands against a loopback copy of
the official files, on the embedded ScanObjectNN-format data.

The served file is in the official fine-tuned layout (written from a crosspt DGCNN
classifier's state renamed to openpoints names); tools/test.py with its official URL must
score exactly what tools/test.py scores with the file converted beforehand by
tools/model_converters/tap_to_crosspt.py, and init_model(URL) must give the logits of a
direct strict load of that converted file.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from crosspt.apis import init_model
from crosspt.apis.inference import prepare_object_inputs
from crosspt.synthetic.objects import generate_synthetic_scanobjectnn
from official_weights_helpers import (TSINGHUA, LoopbackServer, official_classifier,
                                      randomized, sha256, to_bytes)

REPO = Path(__file__).resolve().parents[2]
SECTION = '## Use the released TAP weights'
DGCNN_ID = '5fa20c80d9c04cf482d2'
POINTMLP_ID = '5c5eccb0ee0f4cc2b324'

pytestmark = pytest.mark.slow


def readme_section() -> str:
    text = (REPO / 'README.md').read_text(encoding='utf-8')
    start = text.index(SECTION)
    return text[start:text.index('\n## ', start + 1)]


def readme_commands() -> list:
    """(config, url, figure) of every tools/test.py line of the section."""
    return re.findall(r"^python tools/test\.py (\S+) '(\S+)'(?: --tta)?  # paper: (.+)$",
                      readme_section(), re.M)


def test_readme_commands_match_the_metafile():
    models = yaml.safe_load((REPO / 'configs/tap/metafile.yml').read_text())['Models']
    finetuned = {m['Weights']: m for m in models
                 if 'Official Weights' in m and 'Pretrained' in m['Metadata']}
    commands = readme_commands()
    assert len(commands) == len(finetuned) == 7
    for config, url, figure in commands:
        entry = finetuned[url]
        assert entry['Config'] == config and (REPO / config).is_file()
        numbers = re.findall(r'\d+\.\d', figure)
        assert numbers and numbers == re.findall(r'\d+\.\d',
                                                 entry['Official Weights']['Paper Figure'])


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp('official_e2e')
    # the embedded ScanObjectNN-format set (real on-disk layout): 15 classes x 2 test objects
    generate_synthetic_scanobjectnn(root / 'data', num_train_per_class=1,
                                    num_test_per_class=2, seed=0)
    cls_config = 'configs/tap/benchmarks/dgcnn_ft_scanobjectnn-pb-t50-rs.py'
    state = randomized(init_model(str(REPO / cls_config)).state_dict(), 7)
    dgcnn = to_bytes(official_classifier(state))
    (root / 'dgcnn_official.pth').write_bytes(dgcnn)
    mlp_state = randomized(init_model(
        str(REPO / 'configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs.py')).state_dict(), 8)
    server = LoopbackServer({f'/f/{DGCNN_ID}/': dgcnn,
                             f'/f/{POINTMLP_ID}/': to_bytes(official_classifier(mlp_state))})
    env = dict(os.environ, OMP_NUM_THREADS='1', CROSSPT_HOME=str(root / 'home'),
               CROSSPT_DOWNLOAD_MIRROR=server.url)
    yield dict(root=root, server=server, env=env, state=state, mlp_state=mlp_state,
               dgcnn=dgcnn)
    server.stop()


def _run_test_tool(served, config: str, checkpoint: str, tag: str) -> str:
    options = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.dataset.data_root={served["root"] / "data"}',
                    f'{loader}.batch_size=6', f'{loader}.num_workers=0',
                    f'{loader}.persistent_workers=False']
    # the README's config reads the real data: data_root points it at the embedded set
    cmd = [sys.executable, 'tools/test.py', config, checkpoint, '--work-dir',
           str(served['root'] / tag), '--cfg-options', *options]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900,
                          env=served['env'])
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def _metrics(output: str) -> str:
    found = re.findall(r'test metrics: (\{.*\})', output)
    assert found, output[-3000:]
    return found[-1]


def test_readme_test_command_with_url_equals_converted_file(served):
    config, url, _ = next(c for c in readme_commands() if DGCNN_ID in c[1])
    by_url = _run_test_tool(served, config, url, 'url')
    digest = sha256(served['dgcnn'])
    assert 'unpinned' in by_url and digest in by_url
    assert "format 'finetuned'" in by_url
    converted = served['root'] / 'converted.pth'
    proc = subprocess.run([sys.executable, 'tools/model_converters/tap_to_crosspt.py',
                           str(served['root'] / 'dgcnn_official.pth'), str(converted)],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=served['env'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    by_file = _run_test_tool(served, config, str(converted), 'file')
    assert _metrics(by_url) == _metrics(by_file)
    assert 'cls/oa' in _metrics(by_url)

    # logits: init_model(URL) vs a strict load of the converted file
    os.environ.update({k: served['env'][k] for k in
                       ('CROSSPT_HOME', 'CROSSPT_DOWNLOAD_MIRROR')})
    try:
        by_url_model = init_model(str(REPO / config), url)
    finally:
        for key in ('CROSSPT_HOME', 'CROSSPT_DOWNLOAD_MIRROR'):
            os.environ.pop(key, None)
    direct = init_model(str(REPO / config))
    direct.load_state_dict(torch.load(converted, weights_only=True)['state_dict'], strict=True)
    points = np.random.default_rng(0).normal(size=(2048, 3)).astype(np.float32)
    with torch.no_grad():
        logits = by_url_model.tensor(prepare_object_inputs(by_url_model, points))
        expected = direct.tensor(prepare_object_inputs(direct, points))
    assert logits.shape == (1, 15) and torch.equal(logits, expected)


def test_readme_python_snippet_and_download_command(served, tmp_path):
    section = readme_section()
    snippet = re.search(r'```python\n(.*?)```', section, re.S).group(1)
    script = tmp_path / 'snippet.py'
    script.write_text(snippet + '\nimport torch\nprint("LOADED", sum(float(v.double().sum()) '
                      'for v in model.state_dict().values() if v.is_floating_point()))\n')
    proc = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env=served['env'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = sum(float(v.double().sum()) for v in served['mlp_state'].values()
                   if v.is_floating_point())
    loaded = float(re.search(r'LOADED (\S+)', proc.stdout).group(1))
    assert loaded == pytest.approx(expected, rel=1e-9)

    line = re.search(r'^python (tools/misc/download_checkpoint\.py .*)$', section, re.M)
    args = line.group(1).split()
    proc = subprocess.run([sys.executable, *args[:2], '--dest', str(tmp_path / 'ckpt')],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=served['env'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / 'ckpt' / f'{args[1]}.pth').is_file()
