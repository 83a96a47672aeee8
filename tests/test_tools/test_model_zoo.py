"""tools/misc/generate_model_zoo.py: the tables of model_zoo.md and of the per-method
READMEs are rendered from the metafiles, so they cannot drift.

Checks: ``--check`` passes on the repository; on a copy, a changed metafile number, a
hand-edited table or a broken marker makes it fail (with a diff that shows the number,
or an error naming the file); invalid metafile entries are errors that name the
metafile and the model; and a few figures, written out by hand below (not read from the
metafiles), appear in the rendered model_zoo.md where they belong.
"""
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mmengine.config import Config

from tool_runner import run

REPO = Path(__file__).resolve().parents[2]
SCRIPT = 'tools/misc/generate_model_zoo.py'
METAFILES = ('configs/tap/metafile.yml', 'configs/ppkt/metafile.yml')


def _load_generator():
    spec = importlib.util.spec_from_file_location('generate_model_zoo', REPO / SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


def block(text: str, section: str) -> str:
    match = re.search(rf'<!-- generated:{section}:start -->\n(.*?)<!-- generated:{section}:end -->',
                      text, re.S)
    assert match, f'no generated block {section}'
    return match.group(1)


def rows(text: str) -> list:
    """Cells of every table line but the separator (the header is the first row)."""
    out = []
    for line in text.splitlines():
        if line.startswith('| ') and not line.startswith('|---'):
            out.append([c.strip() for c in line.strip()[1:-1].split(' | ')])
    return out


def outside_blocks(text: str) -> str:
    return re.sub(r'<!-- generated:([^ ]*):start -->\n.*?<!-- generated:\1:end -->', '',
                  text, flags=re.S)


@pytest.fixture
def repo_copy(tmp_path):
    """model-index.yml, model_zoo.md, configs/, the mmdet3d project's configs/ and the
    Code files the metafiles name."""
    root = tmp_path / 'repo'
    root.mkdir()
    for rel in ('model-index.yml', 'model_zoo.md'):
        shutil.copy(REPO / rel, root / rel)
    for rel in ('configs', 'projects/crosspt_mmdet3d/configs'):
        shutil.copytree(REPO / rel, root / rel,
                        ignore=shutil.ignore_patterns('__pycache__'))
    for rel in METAFILES:
        for coll in yaml.safe_load((REPO / rel).read_text())['Collections']:
            dst = root / coll['Code']['URL']
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / coll['Code']['URL'], dst)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding='utf-8')
    assert text.count(old) == 1, f'{old!r} is not unique in {path}'
    path.write_text(text.replace(old, new), encoding='utf-8')


def check(root: Path, capsys) -> tuple:
    code = generator.main(['--root', str(root), '--check'])
    out = capsys.readouterr()
    return code, out.out, out.err


# (a) ------------------------------------------------------------------------------------
def test_check_passes_on_the_repository():
    output = run([sys.executable, SCRIPT, '--check'])
    assert output == '', output


# (b) ------------------------------------------------------------------------------------
def test_changed_metric_is_a_diff_until_regenerated(repo_copy, capsys):
    edit(repo_copy / 'configs/tap/metafile.yml', 'OA: 88.5', 'OA: 88.7')
    proc = subprocess.run([sys.executable, SCRIPT, '--root', str(repo_copy), '--check'],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    removed = [line for line in proc.stdout.splitlines() if line.startswith('-|')]
    added = [line for line in proc.stdout.splitlines() if line.startswith('+|')]
    assert any('OA 88.5' in line for line in removed), proc.stdout
    assert any('OA 88.7' in line for line in added), proc.stdout
    assert '+++ b/model_zoo.md' in proc.stdout and '+++ b/configs/tap/README.md' in proc.stdout
    assert '+++ b/configs/ppkt/README.md' not in proc.stdout

    prose = outside_blocks((repo_copy / 'model_zoo.md').read_text())
    assert generator.main(['--root', str(repo_copy)]) == 0
    text = (repo_copy / 'model_zoo.md').read_text()
    assert outside_blocks(text) == prose                      # hand-written text kept
    row = next(r for r in rows(block(text, 'tap-main'))
               if r[1] == 'PointMLP' and 'PB_T50_RS' in r[4])
    assert row[5] == 'OA 88.7'
    assert check(repo_copy, capsys)[0] == 0


# (c) ------------------------------------------------------------------------------------
def test_hand_edited_table_fails_but_prose_edits_pass(repo_copy, capsys):
    zoo = repo_copy / 'model_zoo.md'
    edit(zoo, 'The difference is within the noise.', 'The difference is noise.')
    assert check(repo_copy, capsys)[0] == 0                   # prose is not generated
    edit(zoo, '| 0 | 15.8 | 25.0 |', '| 0 | 15.8 | 26.0 |')
    code, out, _ = check(repo_copy, capsys)
    assert code == 1
    assert '-| 0 | 15.8 | 26.0 |' in out and '+| 0 | 15.8 | 25.0 |' in out


def test_broken_or_unknown_markers_are_errors(repo_copy, capsys):
    zoo = repo_copy / 'model_zoo.md'
    original = zoo.read_text()
    edit(zoo, '<!-- generated:ppkt-transfer:end -->\n', '')
    code, _, err = check(repo_copy, capsys)
    assert code == 2 and 'model_zoo.md' in err and 'ppkt-transfer' in err
    zoo.write_text(original.replace('<!-- generated:ppkt-transfer:start -->\n', '')
                   .replace('<!-- generated:ppkt-transfer:end -->\n', ''))
    code, _, err = check(repo_copy, capsys)
    assert code == 2 and 'no generated block' in err and 'ppkt-transfer' in err
    zoo.write_text(original + '\n<!-- generated:nosuch:start -->\n<!-- generated:nosuch:end -->\n')
    code, _, err = check(repo_copy, capsys)
    assert code == 2 and "unknown section 'nosuch'" in err


# (d) ------------------------------------------------------------------------------------
def set_weights(path: Path, model: str, url: str) -> None:
    """Replace ``Weights: null`` of ``model`` in the metafile at ``path`` by ``url``."""
    text = path.read_text()
    start = text.index(f'- Name: {model}\n')
    end = text.index('    Weights: null\n', start)
    path.write_text(text[:end] + f'    Weights: {url}\n' + text[end + len('    Weights: null\n'):])


def _replace(metafile, old, new):
    return lambda root: edit(root / metafile, old, new)


@pytest.mark.parametrize('metafile,mutate,model,words', [
    ('configs/tap/metafile.yml',
     _replace('configs/tap/metafile.yml',
              'tap_pointmlp_ft_shapenetpart\n    In Collection: TAP\n'
              '    Config: configs/tap/benchmarks/pointmlp_ft_shapenetpart.py',
              'tap_pointmlp_ft_shapenetpart\n    In Collection: TAP\n'
              '    Config: configs/tap/benchmarks/pointmlp_ft_shapenetpart_typo.py'),
     'tap_pointmlp_ft_shapenetpart', ['pointmlp_ft_shapenetpart_typo.py', 'does not exist']),
    ('configs/ppkt/metafile.yml',
     _replace('configs/ppkt/metafile.yml', '        Source: paper\n', ''),
     'ppkt_srunet34_ft_scannet-seg', ['Source None']),
    ('configs/tap/metafile.yml',
     _replace('configs/tap/metafile.yml', '        Hardware: 2 idle CPU cores, torch 2.13.0+cpu\n'
              "        Date: '2026-12-02'\n", "        Date: '2026-12-02'\n"),
     'tap_pointmlp_synthetic', ['needs Hardware']),
    ('configs/ppkt/metafile.yml',
     _replace('configs/ppkt/metafile.yml', 'Metrics: {mIoU: 25.0}', 'Metrics: {mIoU: 29.0}'),
     'ppkt_srunet34_ft_scannet-seg_patch_synthetic', ['not the mean of the seeds']),
    ('configs/tap/metafile.yml',
     lambda root: set_weights(root / 'configs/tap/metafile.yml',
                              'tap_pointmlp_ft_scanobjectnn-pb-t50-rs',
                              'https://example.org/tap_pointmlp.pth'),
     'tap_pointmlp_ft_scanobjectnn-pb-t50-rs', ['sha256 prefix']),
], ids=['missing-config', 'no-source', 'run-without-hardware', 'seeds-vs-mean', 'weights-name'])
def test_invalid_entries_name_the_metafile_and_model(repo_copy, capsys, metafile, mutate,
                                                     model, words):
    mutate(repo_copy)
    code, _, err = check(repo_copy, capsys)
    assert code == 2, err
    line = next((ln for ln in err.splitlines() if f'model {model}:' in ln), '')
    assert re.match(rf'(error: )?{re.escape(metafile)}: model {re.escape(model)}: ', line), err
    for word in words:
        assert word in line, err


def test_published_weights_url_renders_as_a_link(repo_copy, capsys):
    url = 'https://example.org/crosspt/tap_pointmlp_ft-1a2b3c4d.pth'
    set_weights(repo_copy / 'configs/tap/metafile.yml', 'tap_pointmlp_ft_scanobjectnn-pb-t50-rs',
                url)
    assert generator.main(['--root', str(repo_copy)]) == 0
    capsys.readouterr()
    row = next(r for r in rows(block((repo_copy / 'model_zoo.md').read_text(), 'tap-main'))
               if r[1] == 'PointMLP' and 'PB_T50_RS' in r[4])
    assert row[8].startswith(f'[model]({url}) · —')          # the log is still unpublished


# (e) ------------------------------------------------------------------------------------
def test_known_figures_appear_where_expected():
    """Hand-written expectations, copied from the papers' and runs' records."""
    text = (REPO / 'model_zoo.md').read_text(encoding='utf-8')

    tap = rows(block(text, 'tap-main'))
    def tap_row(backbone, dataset):
        return next(r for r in tap if r[1] == backbone and dataset in r[4])
    for backbone, dataset, metric in [
            ('PointMLP', 'ScanObjectNN PB_T50_RS', 'OA 88.5'),
            ('PointNet++', 'ScanObjectNN PB_T50_RS', 'OA 86.8'),
            ('DGCNN', 'ScanObjectNN PB_T50_RS', 'OA 86.6'),
            ('Transformer', 'ScanObjectNN PB_T50_RS', 'OA 85.7'),
            ('Transformer', 'ScanObjectNN OBJ_BG', 'OA 90.4'),
            ('Transformer', 'ScanObjectNN OBJ_ONLY', 'OA 89.5'),
            ('PointMLP', 'ShapeNetPart', 'class mIoU 85.2 · instance mIoU 86.9')]:
        row = tap_row(backbone, dataset)
        assert row[5] == metric and row[6].startswith('*paper*'), row
        assert 'pointmlp_1xb32-100e_shapenet55.py' in row[7] or backbone != 'PointMLP'

    transfer = {r[0]: r for r in rows(block(text, 'tap-transfer'))}
    assert transfer['0'][1:3] == ['68.8', '59.4'] and transfer['1'][1:3] == ['62.5', '81.2']
    assert transfer['mean ± std (3 seeds, sample std)'][1:3] == ['64.6 ± 3.6', '67.7 ± 11.8']

    seg = {r[0]: r for r in rows(block(text, 'ppkt-transfer'))}
    assert seg['0'][1:4] == ['15.8', '25.0', '+9.2']
    assert seg['1'][1:4] == ['8.9', '14.2', '+5.3']
    assert seg['2'][1:4] == ['5.4', '7.2', '+1.8']
    assert seg['mean ± std (3 seeds, sample std)'][1:3] == ['10.1 ± 5.3', '15.4 ± 9.0']

    ppkt = block(text, 'ppkt-main')
    paper = next(r for r in rows(ppkt) if r[6].startswith('*paper*'))
    assert paper[5] == 'mIoU 69.56 (vs scratch: mIoU 69.49)'
    assert 'as transcribed by secondary reviews' in ppkt
    curve = rows(block(text, 'ppkt-pretrain'))
    assert ['PPNCE (10-iteration means)', '7.09', '5.02', '4.33', '4.01'] in curve
    assert ['retrieval ÷ chance, held-out room', '4.4', '9.5', '12.2', '16.2', '14.0',
            '15.4'] in curve

    det = {r[0]: r for r in rows(block(text, '3detr-synthetic'))}
    assert det['AP@0.25'][2] == '86.7' and det['AP@0.25'][-1] == 'mAP@0.25 **32.2**'
    assert det['AP@0.5'][-1] == 'mAP@0.5 **6.7**'
    scannet = [r for r in rows(block(text, '3detr-main')) if 'ScanNet v2 val' in r[4]]
    assert [(r[5], r[6].split(' [')[0]) for r in scannet] == [
        ('mAP@0.25 62.7 · mAP@0.5 37.5', '*paper*'),
        ('mAP@0.25 62.1 · mAP@0.5 37.9', 'official release'),
        ('mAP@0.25 65.0 · mAP@0.5 47.0', '*paper*')]

    pretrain = rows(block(text, 'tap-synthetic-pretrain'))[1]
    assert pretrain == ['val view/fg_iou (constant-image floor 0.358)', '0.474', '0.448',
                        '0.457', '0.502', '0.517', '0.532']


# metadata against the configs ----------------------------------------------------------
def test_metafile_schedules_match_the_configs():
    for rel in METAFILES:
        for model in yaml.safe_load((REPO / rel).read_text())['Models']:
            cfg = Config.fromfile(str(REPO / model['Config']), import_custom_modules=False)
            md = model['Metadata']
            if 'Epochs' in md:
                assert cfg.train_cfg.max_epochs == md['Epochs'], model['Name']
            else:
                assert cfg.train_cfg.max_iters == md['Iterations'], model['Name']


def test_metafile_parameters_are_the_documented_counts():
    """Parameters in the metafiles are counts that model_zoo.md's hand-written parameter
    table gives (crosspt's numel of the same models)."""
    text = (REPO / 'model_zoo.md').read_text(encoding='utf-8')
    counts = text[text.index('## Parameter counts'):]
    documented = {int(n.replace(',', ''))
                  for n in re.findall(r'\| (\d{1,3}(?:,\d{3})+) \|', counts)}
    found = 0
    for rel in METAFILES:
        for model in yaml.safe_load((REPO / rel).read_text())['Models']:
            if 'Parameters' in model['Metadata']:
                found += 1
                assert model['Metadata']['Parameters'] in documented, model['Name']
    assert found >= 3
