"""The documentation (docs/) against the code.

- The mmdet3d worked example (docs/examples/mmdet3d_*.py, a stock mmdet3d config with a
  crosspt encoder swapped in) builds, loads a checkpoint published by
  tools/model_converters/publish_model.py with every key matched, and segments a scene
  written in mmdet3d's ScanNet format through the config's own test pipeline.
- The extension example (docs/examples/tiny_pointnet.py + its two configs) is imported
  through custom_imports, takes one TAP training step, is published and loads into the
  fine-tuning config.
- Every ``python tools/X.py`` / ``bash tools/X.sh`` command in the docs' bash blocks names
  an existing tool and is accepted by that tool's own argument parser; every repository
  path, ``mmdet3d::`` base and relative link in the docs exists; each tool's ``--help``
  runs.
"""
import importlib.util
import itertools
import json
import os
import re
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

import crosspt.models  # noqa: F401  (registers the reporting Pretrained initialiser)

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / 'docs'
EXAMPLES = DOCS / 'examples'
MMDET3D_EXAMPLE = EXAMPLES / 'mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py'
TAP_EXAMPLE = EXAMPLES / 'tap_tiny-pointnet_synthetic.py'
FT_EXAMPLE = EXAMPLES / 'tiny-pointnet_ft_modelnet40_synthetic.py'
PAGES = ('index.md', 'installation.md', 'data_preparation.md', 'pretraining.md',
         'finetuning.md', 'mmdet3d_integration.md', 'extending.md')

# The examples' custom_imports ('projects.crosspt_mmdet3d...', 'docs.examples...') are
# resolved from the repository root, as tools/train.py arranges it.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'tests' / 'test_tools'))
from tool_runner import call_script  # noqa: E402


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def publish(tmp_path: Path, name: str, state: dict) -> Path:
    """Write ``state`` as an mmengine training checkpoint and publish it with
    tools/model_converters/publish_model.py (backbone keys only, sha256-suffixed name)."""
    spec = importlib.util.spec_from_file_location(
        '_docs_publish_model', REPO / 'tools' / 'model_converters' / 'publish_model.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    training = tmp_path / f'{name}_epoch_1.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=1, iter=1, cfg='docs example'),
                    optimizer=dict(state={}, param_groups=[])), training)
    published = Path(module.publish(str(training), str(tmp_path / f'{name}.pth')))
    assert re.fullmatch(rf'{name}-[0-9a-f]{{8}}\.pth', published.name)
    return published


def assert_loaded(model: torch.nn.Module, reference: dict, reports: list, path: Path) -> None:
    """Every tensor of ``model`` equals ``reference`` and the key report says so."""
    own = model.state_dict()
    assert set(own) == set(reference)
    for key, value in reference.items():
        assert torch.equal(own[key], value), key
    n = len(reference)
    assert any(str(path) in m and f'loaded {n}/{n} tensors; missing 0; unexpected 0' in m
               for m in reports), reports


# --------------------------------------------------------------- mmdet3d worked example
def test_mmdet3d_example_loads_published_ppkt_weights_and_segments_a_scene(
        tmp_path, key_reports, one_thread, monkeypatch):
    pytest.importorskip('mmdet3d.models')
    from mmdet3d.evaluation.metrics import SegMetric
    from mmdet3d.registry import DATASETS
    from mmdet3d.registry import MODELS as MMDET3D_MODELS
    from mmengine.dataset import pseudo_collate

    from crosspt.datasets.scannet_image_seg import nyu40_to_scannet20
    from crosspt.synthetic.scannet_mmdet3d import generate_synthetic_scannet_mmdet3d
    from crosspt.models.backbones import SRUNet

    cfg = Config.fromfile(MMDET3D_EXAMPLE)
    # inherited from the stock mmdet3d file, not restated by the example
    assert cfg.default_scope == 'mmdet3d'
    assert cfg.train_dataloader.dataset.type == 'ScanNetSegDataset'
    assert cfg.optim_wrapper.optimizer.type == 'Adam' and cfg.train_cfg.max_epochs == 200
    assert cfg.model.type == 'EncoderDecoder3D'
    assert cfg.model.backbone.init_cfg.type == 'crosspt.Pretrained'

    # a PPKT pre-training checkpoint: the SR-UNet34 student of the PPKT config under
    # 'backbone.', with the projection / UPL weights that publishing drops
    student_args = dict(Config.fromfile(
        REPO / 'configs/_base_/models/ppkt_srunet34.py').model.backbone)
    assert student_args.pop('type') == 'SRUNet'
    torch.manual_seed(0)
    student = SRUNet(**student_args)
    for m in student.modules():                 # non-trivial BN statistics as well
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    reference = {k: v.clone() for k, v in student.state_dict().items()}
    state = {f'backbone.{k}': v for k, v in reference.items()}
    state.update({'projection.weight': torch.zeros(128, 96), 'upl.proj.weight': torch.zeros(1)})
    published = publish(tmp_path, 'ppkt_srunet34', state)
    assert all(k.startswith('backbone.')
               for k in torch.load(published, weights_only=True)['state_dict'])
    cfg.model.backbone.init_cfg.checkpoint = str(published)

    root = tmp_path / 'data' / 'synthetic_scannet_mmdet3d'    # the page's relative root
    generate_synthetic_scannet_mmdet3d(root, num_scenes=1, num_val_scenes=1, num_points=4000,
                                       num_points_per_sample=2048)
    cfg.test_dataloader.dataset.data_root = f'{root}/'

    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MMDET3D_MODELS.build(cfg.model)
        model.init_weights()
        assert_loaded(model.backbone, reference, key_reports, published)

        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        sample = dataset[0]
        model.eval()
        with torch.no_grad():
            pred = model.test_step(pseudo_collate([sample]))[0]

    raw = np.fromfile(root / 'semantic_mask' / 'scene0001_00.bin', dtype=np.int64)
    assert raw.max() > 20                    # NYU40 ids on disk
    # the example's test pipeline maps the evaluation labels (stock 1.4.0 does not)
    gt = sample['data_samples'].eval_ann_info['pts_semantic_mask']
    np.testing.assert_array_equal(gt, nyu40_to_scannet20(raw, ignore_index=20))
    labels = pred.pred_pts_seg.pts_semantic_mask
    assert labels.shape == (len(raw), ) and labels.dtype == torch.int64
    assert 0 <= int(labels.min()) and int(labels.max()) < 20
    metric = SegMetric()
    metric.dataset_meta = dataset.metainfo
    metric.process({}, [pred.to_dict()])
    with np.errstate(invalid='ignore', divide='ignore'):
        result = metric.compute_metrics(metric.results)
    assert 0.0 <= result['miou'] <= 1.0 and 0.0 <= result['acc'] <= 1.0

    # the page's "without ScanNet" command: its --cfg-options, run from a folder holding
    # its relative data root, build the training set (mmdet3d joins data_root to a
    # relative scene_idxs) and the test set
    cfg.merge_from_dict(documented_cfg_options(
        'tools/train.py docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py'))
    monkeypatch.chdir(tmp_path)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        train_set = DATASETS.build(cfg.train_dataloader.dataset)
        assert len(train_set) > 0 and train_set[0]['inputs']['points'].shape[0] > 0
        assert len(DATASETS.build(cfg.test_dataloader.dataset)) == 1


def documented_cfg_options(command: str) -> dict:
    """The ``--cfg-options`` of the one line of docs/mmdet3d_integration.md that runs
    ``command``, parsed as tools/train.py parses them."""
    from mmengine.config import DictAction
    page = (DOCS / 'mmdet3d_integration.md').read_text()
    lines = [ln for ln in page.splitlines() if command in ln and '--cfg-options' in ln]
    assert len(lines) == 1, lines
    options = {}
    for item in lines[0].split('--cfg-options', 1)[1].split():
        key, value = item.split('=', 1)
        options[key] = DictAction._parse_iterable(value)
    return options


# ------------------------------------------------------------- extension example
def tap_batch(num_objects: int = 2, num_points: int = 256, views=(0, 5), seed: int = 0):
    """A TAPDataPreprocessor input as PackTAPInputs + pseudo_collate give it."""
    from crosspt.rendering.poses import tap_view_rotations

    g = torch.Generator().manual_seed(seed)
    rotations = torch.from_numpy(tap_view_rotations()[list(views)])
    inputs = dict(points=[], features=[], view_rotations=[], images=[])
    for _ in range(num_objects):
        points = torch.nn.functional.normalize(torch.randn(num_points, 3, generator=g), dim=1)
        points = points * torch.rand(num_points, 1, generator=g)
        height = points[:, 2:] - points[:, 2:].min()
        inputs['points'].append(points)
        inputs['features'].append(torch.cat([points, height], 1))
        inputs['view_rotations'].append(rotations)
        images = torch.full((len(views), 3, 224, 224), 255, dtype=torch.uint8)
        images[:, :, 80:150, 60:170] = torch.randint(0, 255, (len(views), 3, 70, 110),
                                                     generator=g, dtype=torch.uint8)
        inputs['images'].append(images)
    return dict(inputs=inputs)


def test_extension_example_tap_step_publish_and_finetune(tmp_path, key_reports, one_thread):
    from crosspt.models.classifiers import PointClassifier
    from crosspt.models.tap import TAP
    from crosspt.registry import MODELS

    cfg = Config.fromfile(TAP_EXAMPLE)        # custom_imports runs here
    module = sys.modules['docs.examples.tiny_pointnet']
    assert MODELS.get('TinyPointNet') is module.TinyPointNet
    with DefaultScope.overwrite_default_scope('crosspt'):
        tap = MODELS.build(cfg.model)
        tap.init_weights()
    assert isinstance(tap, TAP) and isinstance(tap.backbone, module.TinyPointNet)
    tap.train()

    data = tap.data_preprocessor(tap_batch(), True)
    encoded = tap.extract_feat(data['inputs'])        # the backbone contract TAP relies on
    assert encoded['centers'].shape == (2, 64, 3)
    assert encoded['features'].shape == (2, 64, cfg.model.memory_builder.in_channels)
    assert encoded['global_features'].shape == (2, tap.backbone.global_channels)

    before = {k: v.clone() for k, v in tap.backbone.state_dict().items()}
    optimizer = torch.optim.AdamW(tap.parameters(), lr=1e-3)
    losses = tap(**data, mode='loss')
    assert {'loss_view', 'mse_fg', 'mse_bg'} <= set(losses)
    assert torch.isfinite(losses['loss_view'])
    losses['loss_view'].backward()
    for name, p in tap.backbone.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f'{name} got no gradient'
    optimizer.step()
    trained = {k: v.detach().clone() for k, v in tap.backbone.state_dict().items()}
    assert all(not torch.equal(before[k], trained[k]) for k in trained)

    published = publish(tmp_path, 'tap_tiny_pointnet', tap.state_dict())
    ft_cfg = Config.fromfile(FT_EXAMPLE)
    ft_cfg.model.backbone.init_cfg.checkpoint = str(published)
    # the Runner of tools/train.py works inside the config's default scope ('crosspt'),
    # where 'Pretrained' is crosspt's reporting initialiser
    with DefaultScope.overwrite_default_scope('crosspt'):
        classifier = MODELS.build(ft_cfg.model)
        classifier.init_weights()
    assert isinstance(classifier, PointClassifier)
    assert_loaded(classifier.backbone, trained, key_reports, published)

    classifier.train()
    batch = tap_batch(seed=1)
    batch = dict(inputs=dict(points=batch['inputs']['points'],
                             features=batch['inputs']['features']),
                 data_samples=[BaseDataElement(gt_label=3), BaseDataElement(gt_label=7)])
    out = classifier(**classifier.data_preprocessor(batch, True), mode='loss')
    assert torch.isfinite(out['loss_cls'])


def test_tiny_pointnet_against_a_brute_force_reference():
    """TinyPointNet = max over centres of max over kNN groups of MLP([p - c, f]) with
    the FPS centres; checked with loops on a cloud whose FPS order is hand-checkable."""
    module = importlib.import_module('docs.examples.tiny_pointnet')
    torch.manual_seed(0)
    net = module.TinyPointNet(in_channels=2, num_centers=2, k=2, channels=(5, )).eval()
    # four points on a line: FPS from index 0 picks 0, then the farthest one, 3;
    # the 2 nearest neighbours of point 0 are {0, 1}, of point 3 are {3, 2}
    points = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [3, 0, 0], [4, 0, 0]]])
    feats = torch.tensor([[[1.0, 0], [0, 1], [2, 2], [-1, 3]]])
    out = net(points, feats)
    torch.testing.assert_close(out['centers'], points[:, [0, 3]])
    expected = []
    for centre, group in ((0, (0, 1)), (3, (3, 2))):
        rows = [torch.cat([points[0, j] - points[0, centre], feats[0, j]]) for j in group]
        expected.append(torch.stack([net.mlp(r) for r in rows]).max(0).values)
    expected = torch.stack(expected)[None]
    torch.testing.assert_close(out['features'], expected)
    torch.testing.assert_close(out['global_features'], expected.max(1).values)
    with pytest.raises(ValueError, match=r'expected features \(B, N, 2\)'):
        net(points, feats[..., :1])


# ------------------------------------------------------------- docs vs repository
def doc_pages():
    """The user guides and the method notes (docs/methods/)."""
    return sorted(DOCS.glob('*.md')) + sorted((DOCS / 'methods').glob('*.md'))


def test_every_page_exists_and_the_index_links_them():
    index = (DOCS / 'index.md').read_text()
    for page in PAGES:
        assert (DOCS / page).is_file(), page
        if page != 'index.md':
            assert f']({page})' in index, f'index.md does not link {page}'
    assert '](conventions.md)' in index


def test_the_integration_page_shows_the_example_file_verbatim():
    page = (DOCS / 'mmdet3d_integration.md').read_text()
    assert '```python\n' + MMDET3D_EXAMPLE.read_text() + '```' in page


def expand_braces(text: str):
    """'a_{x,y}.py' -> ['a_x.py', 'a_y.py'] (non-nested groups, all combinations)."""
    parts = re.split(r'\{([^{}]*)\}', text)
    options = [[p] if i % 2 == 0 else p.split(',') for i, p in enumerate(parts)]
    return [''.join(c) for c in itertools.product(*options)]


PATH_RE = re.compile(r'(?<![\w./$-])((?:configs|tools|docs|projects|crosspt|tests|requirements)'
                     r'/[\w./{},<>*-]*)')


def test_repository_paths_in_the_docs_exist():
    checked, missing = 0, []
    for page in doc_pages():
        for match in PATH_RE.finditer(page.read_text()):
            path = match.group(1).rstrip('.,:')
            if any(c in path for c in '<>*') or path.endswith('.'):
                continue            # placeholders such as configs/tap/<backbone>_synthetic.py
            for candidate in expand_braces(path):
                checked += 1
                if not (REPO / candidate).exists():
                    missing.append(f'{page.name}: {candidate}')
    assert not missing, missing
    assert checked > 50      # the docs name many configs; an empty match means a broken regex


def test_mmdet3d_package_bases_exist():
    mmdet3d = pytest.importorskip('mmdet3d')
    root = Path(mmdet3d.__file__).parent / '.mim' / 'configs'
    texts = [p.read_text() for p in doc_pages() + sorted(EXAMPLES.glob('*.py'))]
    found = set(re.findall(r'mmdet3d::([\w./-]+\.py)', '\n'.join(texts)))
    assert found
    assert all((root / f).is_file() for f in found), sorted(f for f in found
                                                            if not (root / f).is_file())


def test_relative_links_resolve():
    broken = []
    for page in doc_pages():
        for target in re.findall(r'\]\(([^)\s]+)\)', page.read_text()):
            if re.match(r'[a-z]+://', target) or target.startswith('#'):
                continue
            if not (page.parent / target.split('#')[0]).exists():
                broken.append(f'{page.name}: {target}')
    assert not broken, broken


def documented_commands():
    """(page, tool, argv) of every ``python tools/...`` / ``bash tools/...`` command in the
    ```bash blocks (continuations joined, comments dropped, split at ';', '&&', '|')."""
    commands = []
    for page in doc_pages():
        for block in re.findall(r'```(?:bash|shell|sh)\n(.*?)```', page.read_text(), re.S):
            for line in block.replace('\\\n', ' ').splitlines():
                lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
                lexer.whitespace_split = True
                tokens, segments = list(lexer), [[]]
                for token in tokens:           # split at ; && || | & outside quotes
                    if token in (';', '&&', '||', '|', '&'):
                        segments.append([])
                    else:
                        segments[-1].append(token)
                for seg in segments:
                    for i, token in enumerate(seg[:-1]):
                        if token in ('python', 'bash') and seg[i + 1].startswith('tools/'):
                            commands.append((page.name, seg[i + 1], seg[i + 2:]))
                            break
    return commands


#: launcher script -> (number of positional arguments, python tool that gets the rest,
#: the arguments the script itself adds)
LAUNCHERS = {
    'tools/dist_train.sh': (2, 'tools/train.py', lambda a: [a[0], '--launcher', 'pytorch']),
    'tools/dist_test.sh': (3, 'tools/test.py', lambda a: [a[0], a[1], '--launcher', 'pytorch']),
    'tools/slurm_train.sh': (4, 'tools/train.py',
                             lambda a: [a[2], f'--work-dir={a[3]}', '--launcher=slurm']),
    'tools/slurm_test.sh': (4, 'tools/test.py', lambda a: [a[2], a[3], '--launcher=slurm']),
    # README's first command: tools/install.sh, then the quick-start training
    'tools/quickstart.sh': (0, 'tools/train.py',
                            lambda a: ['configs/tap/pointmlp_synthetic.py']),
}

#: run in ONE interpreter: each tool's --help, then each documented argument list through
#: the tool's own ArgumentParser (captured when main() asks it to parse)
PARSE_CHECK = r'''
import argparse, contextlib, io, json, os, runpy, sys
jobs = json.load(open(sys.argv[1]))
real_parse_args = argparse.ArgumentParser.parse_args
real_parse_known_args = argparse.ArgumentParser.parse_known_args

class Captured(Exception):
    pass

def run_main(tool, argv):
    sys.argv = [tool] + argv
    sys.path.insert(0, os.path.dirname(os.path.abspath(tool)))
    try:
        runpy.run_path(tool, run_name='__main__')
    finally:
        sys.path.pop(0)

results = {}
for tool, argvs in jobs.items():
    out, err = io.StringIO(), io.StringIO()
    code = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            run_main(tool, ['--help'])
        except SystemExit as exc:
            code = exc.code
    entry = dict(help_code=code, help=out.getvalue(), errors=[])

    def capture(self, args=None, namespace=None):
        raise Captured(self)
    for argv in argvs:
        # main() stops at its first parse: nothing of the tool runs past it
        argparse.ArgumentParser.parse_args = capture
        argparse.ArgumentParser.parse_known_args = capture
        try:
            run_main(tool, argv)
            entry['errors'].append([argv, 'main() did not parse arguments'])
            continue
        except Captured as exc:
            parser = exc.args[0]
        finally:
            argparse.ArgumentParser.parse_args = real_parse_args
            argparse.ArgumentParser.parse_known_args = real_parse_known_args
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                real_parse_args(parser, argv)
            except SystemExit as exc:
                if exc.code not in (0, None):       # 0: a documented --help
                    entry['errors'].append([argv, err.getvalue().strip()])
    results[tool] = entry
print('@@RESULTS@@' + json.dumps(results))
'''


def test_documented_commands_name_existing_tools_and_parse():
    commands = documented_commands()
    assert len(commands) >= 25, commands
    jobs, problems = {}, []
    for page, tool, argv in commands:
        if not (REPO / tool).is_file():
            problems.append(f'{page}: {tool} does not exist')
            continue
        if tool.endswith('.sh'):
            if tool not in LAUNCHERS:
                continue       # tools/install.sh: none; tools/run_tests.sh: pytest's
            count, target, fixed = LAUNCHERS[tool]
            if len(argv) < count:
                problems.append(f'{page}: {tool} needs {count} arguments, got {argv}')
                continue
            tool, argv = target, fixed(argv) + argv[count:]
        jobs.setdefault(tool, []).append(argv)
    # every python tool the docs use, including those reached through a launcher
    assert {'tools/train.py', 'tools/test.py', 'tools/create_data.py'} <= set(jobs)
    # the repository root importable as the editable install of tools/install.sh makes it
    path = [str(REPO)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    proc = call_script(PARSE_CHECK, jobs, env=dict(PYTHONPATH=os.pathsep.join(path)))
    assert '@@RESULTS@@' in proc.stdout, proc.stderr[-3000:]
    results = json.loads(proc.stdout.split('@@RESULTS@@')[-1])
    for tool, entry in results.items():
        if entry['help_code'] not in (0, None) or 'usage:' not in entry['help']:
            problems.append(f'{tool} --help failed (exit {entry["help_code"]})')
        problems += [f'{tool} {" ".join(argv)}: {error}' for argv, error in entry['errors']]
    assert not problems, '\n'.join(problems)
