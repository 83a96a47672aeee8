"""README's two commands on a fresh machine: ``bash tools/quickstart.sh`` (set-up + the
quick-start training) and ``bash tools/run_tests.sh`` (set-up + the test suite), which
``.ci/run`` runs.

The scripts run from another working directory with ``CROSSPT_INSTALL_CHECK_ONLY=1``:
tools/install.sh then checks the environment (tools/misc/check_install.py) and never
installs, so the suite does not change the interpreter it runs in. The checkout is put on
PYTHONPATH, as tools/install.sh's editable install does. ``PYTHON`` is this interpreter
behind tests/test_tools/tool_runner.py's ``python_program``, which runs the scripts'
``python <script>.py`` steps (the environment check, the training) as pre-loader jobs.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tool_runner import preloader_env, python_program

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ['bash tools/quickstart.sh', 'bash tools/run_tests.sh']


def shell_commands(text: str) -> list:
    """Non-blank, non-comment lines of a shell text, stripped."""
    lines = (line.split('#', 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def quick_start_block() -> str:
    """The first ```bash block of README's '## Quick start' section."""
    readme = (REPO / 'README.md').read_text()
    section = re.search(r'^## Quick start\n(.*?)(?=^## )', readme, re.S | re.M)
    assert section, "README.md has no '## Quick start' section"
    block = re.search(r'```bash\n(.*?)```', section.group(1), re.S)
    assert block, "README.md '## Quick start' has no ```bash block"
    return block.group(1)


def test_readme_quick_start_is_exactly_the_two_commands():
    assert shell_commands(quick_start_block()) == COMMANDS


def test_ci_runs_the_second_command_and_nothing_else():
    lines = shell_commands((REPO / '.ci' / 'run').read_text())
    steps = [line for line in lines
             if not line.startswith(('#!', 'set ', 'cd "$(dirname "$0")/.."'))]
    assert steps == [COMMANDS[1]], lines


def script_env(tmp_path: Path, **extra) -> dict:
    """Environment for a script run: this interpreter, check-only set-up, one thread."""
    spconv = importlib.util.find_spec('spconv') is not None
    path = [str(REPO)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    env = dict(os.environ, PYTHON=python_program(), CROSSPT_INSTALL_CHECK_ONLY='1',
               CROSSPT_WITH_SPCONV='1' if spconv else '0', OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(path), **preloader_env())
    env.update(extra)
    return env


def run_script(script: str, args: list, env: dict, cwd: Path, timeout: int = 900):
    """``bash <REPO>/tools/<script> args`` from ``cwd``: (exit code, stdout + stderr)."""
    proc = subprocess.run(['bash', str(REPO / 'tools' / script), *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize('script', ['quickstart.sh', 'run_tests.sh'])
def test_a_missing_interpreter_fails_fast_naming_it(tmp_path, script):
    code, output = run_script(script, [], script_env(tmp_path, PYTHON=str(tmp_path / 'nopy')),
                              tmp_path, timeout=60)
    assert code != 0
    assert f"'{tmp_path / 'nopy'}' is not a runnable Python interpreter" in output, output
    assert 'tools/install.sh failed' in output and f're-run bash tools/{script}' in output


def test_an_incomplete_environment_is_listed_and_not_installed_in_check_only_mode(tmp_path):
    """A bare virtual environment (no pip, no packages) lacks torch and crosspt: the check
    lists both, and install.sh stops without touching it."""
    venv = tmp_path / 'bare'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True,
                   timeout=120)
    python = venv / 'bin' / 'python'
    env = script_env(tmp_path, PYTHON=str(python), PYTHONPATH='')
    proc = subprocess.run(['bash', str(REPO / 'tools' / 'install.sh')], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "missing: torch (ModuleNotFoundError: No module named 'torch')" in output
    assert "missing: crosspt (ModuleNotFoundError: No module named 'crosspt')" in output
    assert 'CROSSPT_INSTALL_CHECK_ONLY=1' in output and 'installing' not in output
    assert sorted(p.name for p in (venv / 'lib').glob('python3*/site-packages/*')) == []


def test_a_checkout_without_installed_metadata_is_incomplete(monkeypatch):
    """A fresh clone at the path of an earlier editable install imports, but has lost its
    crosspt.egg-info: the check must send install.sh to ``pip install -e .``."""
    spec = importlib.util.spec_from_file_location('_check_install',
                                                  REPO / 'tools' / 'misc' / 'check_install.py')
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    assert check.check_crosspt() is None            # this environment: installed here

    def no_metadata(name):
        raise check.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(check.metadata, 'version', no_metadata)
    assert 'no installed metadata' in check.check_crosspt()


def test_run_tests_refuses_an_unknown_path_before_setting_up(tmp_path):
    code, output = run_script('run_tests.sh', ['tests/no_such_dir', '-n', '0'],
                              script_env(tmp_path), tmp_path, timeout=60)
    assert code == 1
    assert "no test path 'tests/no_such_dir'" in output and '[crosspt-install]' not in output


@pytest.mark.slow
def test_run_tests_checks_the_set_up_and_runs_the_given_tests(tmp_path):
    target = 'tests/test_evaluation/test_silhouette_iou.py'
    code, output = run_script('run_tests.sh', [target, '-n', '0', '-p', 'no:cacheprovider'],
                              script_env(tmp_path), tmp_path)
    assert code == 0, output[-3000:]
    assert '[crosspt-install] everything is installed' in output
    assert f'-m pytest {target} -q -n 2 --dist loadfile -n 0' in output
    assert re.search(r'\b\d+ passed\b', output) and 'failed' not in output


@pytest.mark.slow
def test_quickstart_sets_up_trains_and_says_where_the_results_are(tmp_path):
    """The quick start shortened through its passthrough options: 3 training objects in
    one batch, one epoch, data and work dir in tmp_path."""
    data, work_dir = tmp_path / 'data', tmp_path / 'run'
    options = ['train_cfg.max_epochs=1', 'randomness.seed=0']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.dataset.data_root={data}', f'{loader}.batch_size=3',
                    f'{loader}.num_workers=0', f'{loader}.persistent_workers=False',
                    f'{loader}.dataset.auto_generate.num_train=2',
                    f'{loader}.dataset.auto_generate.num_val=1',
                    f'{loader}.dataset.auto_generate.num_test=1']
    # run from tmp_path; relative paths in the options would be taken from the repository
    code, output = run_script('quickstart.sh', ['--work-dir', work_dir, '--cfg-options',
                                                *options], script_env(tmp_path), tmp_path)
    assert code == 0, output[-4000:]
    assert '[crosspt-install] everything is installed' in output
    assert 'configs/tap/pointmlp_synthetic.py' in output and (data / 'pointclouds').is_dir()
    grids = re.search(r'training view grids: (\S+)/ \(last: (\S+)\)', output)
    scalars = re.search(r'scalars .*: (\S+scalars\.json)', output)
    assert grids and scalars, output[-2000:]
    assert Path(grids.group(1)) == work_dir / 'view_grids'
    assert Path(grids.group(2)) == work_dir / 'view_grids' / 'iter_000001.png'
    assert Path(grids.group(2)).is_file()
    # the validation after the last epoch: its IoU line and the held-out objects' grid
    assert re.search(r'validation view/fg_iou on held-out objects: 0\.\d{3} \(constant-image '
                     r'floor 0\.\d{3}, epoch 1\)', output), output[-2000:]
    val_grid = re.search(r"held-out objects' views .*: (\S+\.png)", output)
    assert val_grid and Path(val_grid.group(1)) == work_dir / 'view_grids' / 'val_iter_000001.png'
    assert Path(val_grid.group(1)).is_file()
    records = [json.loads(line) for line in Path(scalars.group(1)).read_text().splitlines()]
    assert Path(scalars.group(1)).parents[2] == work_dir
    assert [r['iter'] for r in records if 'loss' in r and 'lr' in r] == [1]   # 1 epoch
    assert any('view/loss' in r for r in records)          # validated after the last epoch
