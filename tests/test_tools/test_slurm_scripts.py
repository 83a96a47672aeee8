"""tools/slurm_train.sh and tools/slurm_test.sh against a stand-in ``srun``.

The stand-in (first on PATH) records the arguments it receives and the PYTHONPATH it
sees.  Each script must hand slurm the documented task layout (``GPUS`` tasks,
``GPUS_PER_NODE`` per node, ``CPUS_PER_TASK``, ``SRUN_ARGS``) and run the matching
python tool with ``--launcher=slurm`` and the extra options; the tool's own argument
parser must accept what it gets.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

REPO = Path(__file__).resolve().parents[2]
FAKE_SRUN = """#!/usr/bin/env bash
printf '%s\\0' "$@" > "$SRUN_RECORD"
printf '%s' "$PYTHONPATH" > "$SRUN_RECORD.pythonpath"
"""


def run_script(tmp_path: Path, script: str, args: List[str], env: dict
               ) -> Tuple[subprocess.CompletedProcess, List[str], str]:
    """Run ``bash tools/<script> args`` with the stand-in srun; returns the process, the
    srun arguments and the PYTHONPATH srun saw."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    srun = bin_dir / 'srun'
    srun.write_text(FAKE_SRUN)
    srun.chmod(0o755)
    record = tmp_path / 'srun_args'
    full_env = dict(os.environ, PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
                    SRUN_RECORD=str(record), PYTHON=sys.executable, **env)
    for key in ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS'):
        if key not in env:
            full_env.pop(key, None)
    proc = subprocess.run(['bash', f'tools/{script}', *args], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=60)
    if not record.exists():
        return proc, [], ''
    srun_args = record.read_bytes().decode().split('\0')[:-1]
    return proc, srun_args, Path(f'{record}.pythonpath').read_text()


def parse_with_tool(tool: str, argv: List[str], monkeypatch):
    """``argv`` through ``tools/<tool>``'s own parse_args()."""
    spec = importlib.util.spec_from_file_location(f'_slurm_{Path(tool).stem}', REPO / tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, 'argv', [tool, *argv])
    monkeypatch.setenv('LOCAL_RANK', '0')   # parse_args() sets it when missing
    return module.parse_args()


LAYOUT = dict(GPUS='16', GPUS_PER_NODE='4', CPUS_PER_TASK='3', SRUN_ARGS='--qos=low --x=1')
SRUN_OPTIONS = ['-p', 'gpu-part', '--job-name=job', '--gres=gpu:4', '--ntasks=16',
                '--ntasks-per-node=4', '--cpus-per-task=3', '--kill-on-bad-exit=1',
                '--qos=low', '--x=1']


def test_slurm_test_runs_test_py_with_the_slurm_launcher(tmp_path, monkeypatch):
    config = 'configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs.py'
    proc, srun, pythonpath = run_script(
        tmp_path, 'slurm_test.sh',
        ['gpu-part', 'job', config, 'work/epoch_300.pth', '--tta',
         '--cfg-options', 'test_dataloader.batch_size=4'], LAYOUT)
    assert proc.returncode == 0, proc.stderr
    n = len(SRUN_OPTIONS)
    assert srun[:n + 2] == SRUN_OPTIONS + [sys.executable, '-u'], srun
    assert (REPO / srun[n + 2]).resolve() == REPO / 'tools' / 'test.py'
    assert srun[n + 3:] == [config, 'work/epoch_300.pth', '--launcher=slurm', '--tta',
                            '--cfg-options', 'test_dataloader.batch_size=4']
    assert (REPO / pythonpath.split(os.pathsep)[0]).resolve() == REPO
    args = parse_with_tool('tools/test.py', srun[n + 3:], monkeypatch)
    assert (args.config, args.checkpoint, args.launcher, args.tta) == (
        config, 'work/epoch_300.pth', 'slurm', True)
    assert args.cfg_options == {'test_dataloader.batch_size': 4}


def test_slurm_train_runs_train_py_with_the_slurm_launcher(tmp_path, monkeypatch):
    config = 'configs/tap/pointmlp_1xb32-100e_shapenet55.py'
    proc, srun, _ = run_script(tmp_path, 'slurm_train.sh',
                               ['gpu-part', 'job', config, 'work_dirs/tap', '--auto-scale-lr'],
                               LAYOUT)
    assert proc.returncode == 0, proc.stderr
    n = len(SRUN_OPTIONS)
    assert srun[:n + 2] == SRUN_OPTIONS + [sys.executable, '-u'], srun
    assert (REPO / srun[n + 2]).resolve() == REPO / 'tools' / 'train.py'
    assert srun[n + 3:] == [config, '--work-dir=work_dirs/tap', '--launcher=slurm',
                            '--auto-scale-lr']
    args = parse_with_tool('tools/train.py', srun[n + 3:], monkeypatch)
    assert (args.config, args.work_dir, args.launcher, args.auto_scale_lr) == (
        config, 'work_dirs/tap', 'slurm', True)


@pytest.mark.parametrize('script', ['slurm_test.sh', 'slurm_train.sh'])
def test_defaults_and_usage(tmp_path, script):
    proc, srun, _ = run_script(tmp_path, script, ['p', 'j', 'c.py', 'x'], {})
    assert proc.returncode == 0, proc.stderr
    assert srun[:8] == ['-p', 'p', '--job-name=j', '--gres=gpu:8', '--ntasks=8',
                        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1']
    (tmp_path / 'short').mkdir()
    proc, srun, _ = run_script(tmp_path / 'short', script, ['p', 'j', 'c.py'], {})
    assert proc.returncode == 2 and srun == []
    assert 'usage:' in proc.stderr
