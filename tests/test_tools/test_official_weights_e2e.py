"""End to end: README's "Use the released TAP weights" commands against a loopback copy of
the official files, on the embedded ScanObjectNN-format data.

The served file is in the official fine-tuned layout (written from a crosspt DGCNN
classifier's state renamed to openpoints names); tools/test.py with its official URL must
score exactly what tools/test.py scores with the file converted beforehand by
tools/model_converters/tap_to_crosspt.py, and init_model(URL) must give the logits of a
direct strict load of that converted file.

The other six tools/test.py lines of the section run too, each on a file in its own
official layout whose last head layer predicts one class (zero weights, one-hot bias): the
classification score must be the share of that class among the test objects, read from the
h5 file. The runs are tiny (2 test objects; 1 part-segmentation shape, 2 votes) and go
through tool_runner's pre-loader (no interpreter start-up per command); the heavy backbones
cost ~0.7 s per object at one thread.
"""
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Callable, Optional

import h5py
import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config

from crosspt.apis import init_model
from crosspt.apis.inference import prepare_object_inputs
from crosspt.synthetic.objects import (generate_synthetic_scanobjectnn,
                                       generate_synthetic_shapenetpart)
from official_weights_helpers import (TSINGHUA, LoopbackServer, official_classifier,
                                      official_partseg, randomized, sha256, to_bytes)
from tool_runner import call

REPO = Path(__file__).resolve().parents[2]
SECTION = '## Use the released TAP weights'
DGCNN_ID = '5fa20c80d9c04cf482d2'
POINTMLP_ID = '5c5eccb0ee0f4cc2b324'
#: the section's tools/test.py lines other than DGCNN's (run against a converted file too)
OTHER_LINES = ('pointnet2_ft_scanobjectnn-pb-t50-rs.py', 'pointmlp_ft_scanobjectnn-pb-t50-rs.py',
               'transformer_ft_scanobjectnn-obj-bg.py', 'transformer_ft_scanobjectnn-obj-only.py',
               'transformer_ft_scanobjectnn-pb-t50-rs.py', 'pointmlp_ft_shapenetpart.py')
#: crosspt PointNet++ names; openpoints' (crosspt.models.tap.checkpoint_convert's docstring):
#: SA_modules.{i}.local_aggregations.0.SA_CONFIG_operator.convs.{j}.{0: conv, 1: bn}
PN2_KEY = re.compile(r'^backbone\.sa_modules\.(\d+)\.mlp\.(\d+)\.(conv|bn)\.')
#: the test file of each ScanObjectNN variant (docs/data_preparation.md)
VARIANT_FILES = {'pb_t50_rs': 'main_split/test_objectdataset_augmentedrot_scale75.h5',
                 'obj_bg': 'main_split/test_objectdataset.h5',
                 'obj_only': 'main_split_nobg/test_objectdataset.h5'}

pytestmark = pytest.mark.slow


def readme_section() -> str:
    text = (REPO / 'README.md').read_text(encoding='utf-8')
    start = text.index(SECTION)
    return text[start:text.index('\n## ', start + 1)]


def readme_commands() -> list:
    """(config, url, figure) of every tools/test.py line of the section."""
    return re.findall(r"^python tools/test\.py (\S+) '(\S+)'(?: --tta[^#]*)?  # paper: (.+)$",
                      readme_section(), re.M)


def test_readme_commands_match_the_metafile():
    models = yaml.safe_load((REPO / 'configs/tap/metafile.yml').read_text())['Models']
    finetuned = {m['Weights']: m for m in models
                 if 'Official Weights' in m and 'Pretrained' in m['Metadata']}
    commands = readme_commands()
    assert len(commands) == len(finetuned) == 7
    assert sorted(Path(config).name for config, _, _ in commands) == \
        sorted(OTHER_LINES + ('dgcnn_ft_scanobjectnn-pb-t50-rs.py', ))
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
    generate_synthetic_shapenetpart(root / 'shapenetpart', num_train_per_class=1,
                                    num_val_per_class=1, num_test_per_class=1, seed=0)
    cls_config = 'configs/tap/benchmarks/dgcnn_ft_scanobjectnn-pb-t50-rs.py'
    state = randomized(init_model(str(REPO / cls_config)).state_dict(), 7)
    dgcnn = to_bytes(official_classifier(state))
    (root / 'dgcnn_official.pth').write_bytes(dgcnn)
    mlp_state = randomized(init_model(
        str(REPO / 'configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs.py')).state_dict(), 8)
    server = LoopbackServer({f'/f/{DGCNN_ID}/': dgcnn,
                             f'/f/{POINTMLP_ID}/': to_bytes(official_classifier(mlp_state))})
    mirror = dict(CROSSPT_HOME=str(root / 'home'), CROSSPT_DOWNLOAD_MIRROR=server.url)
    env = dict(os.environ, OMP_NUM_THREADS='1', **mirror)
    yield dict(root=root, server=server, env=env, mirror=mirror, state=state,
               mlp_state=mlp_state, dgcnn=dgcnn)
    server.stop()


def _run_test_tool(served, argv: list, tag: str, data_root: Path, objects: int = 2,
                   options: tuple = (), mirror: Optional[dict] = None) -> str:
    """tools/test.py ``argv`` (config, checkpoint, flags) on the first ``objects`` test
    objects of the embedded set at ``data_root`` (the README's configs read the real
    data), the URLs served by the loopback ``mirror`` (default: the fixture's)."""
    loader = [f'test_dataloader.{key}' for key in (
        f'dataset.data_root={data_root}', f'dataset.indices={objects}',
        f'batch_size={objects}', 'num_workers=0', 'persistent_workers=False')]
    if '--cfg-options' not in argv:
        argv = [*argv, '--cfg-options']
    proc = call([sys.executable, 'tools/test.py', *argv, *loader, *options, '--work-dir',
                 str(served['root'] / tag)],
                env=mirror or served['mirror'])
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def _metrics(output: str) -> str:
    found = re.findall(r'test metrics: (\{.*\})', output)
    assert found, output[-3000:]
    return found[-1]


def test_readme_test_command_with_url_equals_converted_file(served):
    config, url, _ = next(c for c in readme_commands() if DGCNN_ID in c[1])
    by_url = _run_test_tool(served, [config, url], 'url', served['root'] / 'data')
    digest = sha256(served['dgcnn'])
    assert 'unpinned' in by_url and digest in by_url
    assert "format 'finetuned'" in by_url
    converted = served['root'] / 'converted.pth'
    proc = call([sys.executable, 'tools/model_converters/tap_to_crosspt.py',
                 str(served['root'] / 'dgcnn_official.pth'), str(converted)],
                env=served['mirror'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    by_file = _run_test_tool(served, [config, str(converted)], 'file', served['root'] / 'data')
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


def readme_argv(config_name: str) -> list:
    """argv of the section's tools/test.py line of configs/tap/benchmarks/<config_name>."""
    lines = [shlex.split(line, comments=True) for line in readme_section().splitlines()
             if line.startswith('python tools/test.py ')]
    found = [argv for argv in lines if argv[2] == f'configs/tap/benchmarks/{config_name}']
    assert len(found) == 1, (config_name, lines)
    return found[0]


def one_class_file(config: str, official: Callable[[dict], dict], index: int) -> bytes:
    """An official-layout file of ``config``'s model whose last head layer (zero weights,
    one-hot bias) predicts class / part ``index`` whatever the input."""
    state = randomized(init_model(str(REPO / config)).state_dict(), 9)
    last = [k for k in state if k.startswith('head.') and k.endswith('.weight')][-1]
    state[last].zero_()
    bias = state[last[:-len('weight')] + 'bias']
    bias.zero_()
    bias[index] = 5.0
    if 'pointnet2' in config:
        state = {PN2_KEY.sub(lambda m: f'backbone.SA_modules.{m[1]}.local_aggregations.0.'
                             f'SA_CONFIG_operator.convs.{m[2]}.{int(m[3] == "bn")}.', k): v
                 for k, v in state.items()}
    return to_bytes(official(state))


@pytest.mark.parametrize('config_name', OTHER_LINES)
def test_readme_test_lines_score_the_served_official_file(served, config_name, tmp_path):
    argv = readme_argv(config_name)
    config, url = argv[2], argv[3]
    if config_name == 'pointmlp_ft_shapenetpart.py':
        data_root, objects = served['root'] / 'shapenetpart', 1
        data = one_class_file(config, official_partseg, 0)
        options = ('tta_pipeline.2.num_votes=2', )       # --tta: 2 votes instead of 10
    else:
        variant = Config.fromfile(REPO / config).test_dataloader.dataset.variant
        data_root, objects, options = served['root'] / 'data', 2, ()
        with h5py.File(data_root / VARIANT_FILES[variant], 'r') as f:
            labels = f['label'][:objects]
        data = one_class_file(config, official_classifier, int(labels[0]))
    # a server and download cache of its own: the fixture's serve the random PointMLP
    server = LoopbackServer({url.split('cloud.tsinghua.edu.cn', 1)[1].split('?')[0]: data})
    mirror = dict(CROSSPT_HOME=str(tmp_path / 'home'), CROSSPT_DOWNLOAD_MIRROR=server.url)
    try:
        output = _run_test_tool(served, argv[2:], config_name, data_root, objects, options,
                                mirror)
    finally:
        server.stop()
    assert 'unpinned' in output and sha256(data) in output, output[-3000:]
    assert re.search(r'-> Point(Classifier|PartSegmentor): loaded all \d+ tensors', output)
    metrics = _metrics(output)
    if config_name == 'pointmlp_ft_shapenetpart.py':
        for key in ('partseg/class_miou', 'partseg/instance_miou'):
            value = float(re.search(rf"'{key}': ([0-9.]+)", metrics).group(1))
            assert 0 < value <= 100, metrics
    else:       # every object scored as labels[0]: OA = that class's share, exactly
        oa = float(re.search(r"'cls/oa': ([0-9.]+)", metrics).group(1))
        assert oa == pytest.approx(100 * np.mean(labels == labels[0]), abs=1e-3), metrics


def test_readme_python_snippet_and_download_command(served, tmp_path):
    section = readme_section()
    snippet = re.search(r'```python\n(.*?)```', section, re.S).group(1)
    script = tmp_path / 'snippet.py'
    script.write_text(snippet + '\nimport torch\nprint("LOADED", sum(float(v.double().sum()) '
                      'for v in model.state_dict().values() if v.is_floating_point()))\n')
    proc = call([sys.executable, str(script)], env=served['mirror'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = sum(float(v.double().sum()) for v in served['mlp_state'].values()
                   if v.is_floating_point())
    loaded = float(re.search(r'LOADED (\S+)', proc.stdout).group(1))
    assert loaded == pytest.approx(expected, rel=1e-9)

    line = re.search(r'^python (tools/misc/download_checkpoint\.py .*)$', section, re.M)
    args = line.group(1).split()
    proc = call([sys.executable, *args[:2], '--dest', str(tmp_path / 'ckpt')],
                env=served['mirror'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / 'ckpt' / f'{args[1]}.pth').is_file()
