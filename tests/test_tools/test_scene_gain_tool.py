"""tools/benchmarks/scene_gain.py: the per-seed numbers of both protocols become the table
with hand-worked mean, sample std, delta and pooled std.  The two runners it calls are
tested on real runs in test_linear_probe_tool.py and test_scene_benchmarks.py; here they
are replaced by fixed numbers so that only the aggregation is under test."""
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'benchmarks' / 'scene_gain.py'


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('scene_gain_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_from_per_seed_numbers(tool, tmp_path, monkeypatch):
    ckpt = tmp_path / 'ppkt.pth'
    ckpt.write_bytes(b'x')
    seen = {}

    def fake_probe(args):
        seen['probe_seeds'] = list(args.seeds)
        return {'random': {0: 0.10, 1: 0.12, 2: 0.14},
                'pretrained': {0: 0.30, 1: 0.32, 2: 0.34}}

    def fake_finetune(args):
        seen['fraction'] = args.scene_fraction
        return {'random': {0: 0.20, 1: 0.20, 2: 0.26},
                'pretrained': {0: 0.22, 1: 0.24, 2: 0.20}}

    monkeypatch.setattr(tool, 'run_linear_probe', fake_probe)
    monkeypatch.setattr(tool, 'run_finetune', fake_finetune)
    out = tmp_path / 'out'
    result = tool.main(['--pretrained', str(ckpt), '--linear-probe-config', 'a.py',
                        '--scratch-config', 'b.py', '--finetune-config', 'c.py',
                        '--seeds', '0', '1', '2', '--out', str(out)])
    assert seen == {'probe_seeds': [0, 1, 2], 'fraction': 0.1}
    probe = result['summaries']['linear_probe']['all train rooms']['pretrained']
    # means 0.32 vs 0.12, both sample stds 0.02 -> pooled 0.02, delta 0.20 > 0.04
    assert probe['delta'] == pytest.approx(0.20)
    assert probe['pooled_std'] == pytest.approx(0.02)
    assert probe['beats'] is True
    ft = result['summaries']['finetune']['10 % of the rooms']['pretrained']
    # random 0.22 +- sqrt(0.0012) ; pretrained 0.22 +- 0.02 -> delta 0, not beaten
    assert ft['delta'] == pytest.approx(0.0, abs=1e-12)
    assert ft['pooled_std'] == pytest.approx(((0.0012 + 0.0004) / 2) ** 0.5)
    assert ft['beats'] is False
    table = (out / 'results.md').read_text()
    assert '| linear_probe | all train rooms | pretrained | 3 | 32.0 ± 2.0 | +20.0 | 2.0 | yes |' \
        in table
    assert 'mIoU (%)' in table
    saved = json.loads((out / 'results.json').read_text())
    assert saved['per_seed']['finetune']['random']['2'] == pytest.approx(0.26)


def test_refuses_missing_checkpoint_and_single_seed(tool, tmp_path):
    common = ['--linear-probe-config', 'a.py', '--scratch-config', 'b.py',
              '--finetune-config', 'c.py', '--out', str(tmp_path)]
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        tool.main(['--pretrained', str(tmp_path / 'nope.pth')] + common)
    ckpt = tmp_path / 'ppkt.pth'
    ckpt.write_bytes(b'x')
    with pytest.raises(ValueError, match='at least 2 seeds'):
        tool.main(['--pretrained', str(ckpt), '--seeds', '0'] + common)


def test_linear_probe_reads_matching_earlier_runs_only(tool, tmp_path, monkeypatch):
    ckpt = str(tmp_path / 'ppkt.pth')
    calls = []

    def fake_main(argv):
        calls.append(argv)
        return dict(results=dict(miou=0.5))

    monkeypatch.setattr(tool.linear_probe, 'main', fake_main)
    out = tmp_path / 'out'
    (out / 'linear_probe').mkdir(parents=True)
    earlier = dict(config='lp.py', checkpoint=None, settings=dict(seed=0), cfg_options={},
                   results=dict(miou=0.25))
    (out / 'linear_probe' / 'random_seed0.json').write_text(json.dumps(earlier))
    other_seed = dict(earlier, settings=dict(seed=7))
    (out / 'linear_probe' / 'random_seed1.json').write_text(json.dumps(other_seed))
    args = tool.parse_args(['--pretrained', ckpt, '--linear-probe-config', 'lp.py',
                            '--scratch-config', 'b.py', '--finetune-config', 'c.py',
                            '--seeds', '0', '1', '--out', str(out)])
    results = tool.run_linear_probe(args)
    assert results == {'random': {0: 0.25, 1: 0.5}, 'pretrained': {0: 0.5, 1: 0.5}}
    # random seed 0 was read; random seed 1 (recorded with seed 7) and both pretrained
    # runs were made, the pretrained ones with the checkpoint
    made = [(Path(c[4]).name, '--checkpoint' in c) for c in calls]
    assert made == [('pretrained_seed0.json', True), ('random_seed1.json', False),
                    ('pretrained_seed1.json', True)]
