"""The tests' tool pre-loader (tests/test_tools/preloader.py) behaves like ``python``:
exit codes, output streams, environment, working directory, time-outs, and tools that
launch tools through ``CROSSPT_PYTHON`` (crosspt.utils.python_command)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crosspt.utils.python_command import python_command
from tool_runner import _preloading, call

#: how a launched script starts: with torch imported unless CROSSPT_TESTS_NO_PRELOAD=1
STARTS = 'preloaded' if _preloading() else 'fresh'
REPO = Path(__file__).resolve().parents[2]

NESTED = '''
import subprocess, sys
from crosspt.utils.python_command import python_command
with open(sys.argv[1], 'w') as log:
    proc = subprocess.run([*python_command(), sys.argv[2], 'child-arg'], stdout=log)
print('child exit', proc.returncode)
'''
CHILD = '''
import os, sys
print('preloaded' if 'torch' in sys.modules else 'fresh', sys.argv[1:], os.getcwd(),
      os.environ['SEEN'])
print('to stderr', file=sys.stderr)
sys.exit(4)
'''


def script(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_exit_code_streams_env_and_cwd(tmp_path):
    child = script(tmp_path, 'child.py', CHILD)
    proc = call([sys.executable, child, 'a'], env=dict(SEEN='yes'), cwd=tmp_path)
    assert proc.returncode == 4
    assert proc.stdout.split() == [STARTS, "['a']", str(tmp_path), 'yes']
    assert proc.stderr.strip() == 'to stderr'


def test_a_tool_launching_a_tool_runs_it_preloaded(tmp_path):
    """The launched script's output goes to the launching tool's file, its exit code back
    to it, and (unless CROSSPT_TESTS_NO_PRELOAD=1) it starts with torch already imported."""
    nested = script(tmp_path, 'nested.py', NESTED)
    child = script(tmp_path, 'child.py', CHILD)
    log = tmp_path / 'child.log'
    proc = call([sys.executable, nested, str(log), child], env=dict(SEEN='env'), cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == 'child exit 4', proc.stderr
    words = log.read_text().split()
    assert words[1:] == ["['child-arg']", str(tmp_path), 'env']
    assert words[0] == STARTS


def test_jobs_cache_bytecode_outside_the_checkout(tmp_path):
    """Under PYTHONDONTWRITEBYTECODE a preloaded job still caches the bytecode of what it
    imports afresh, in a folder under the temp dir; without it Python's own rule holds."""
    import tempfile
    child = script(tmp_path, 'child.py', 'import sys\n'
                   'print(sys.dont_write_bytecode, sys.pycache_prefix)\n')
    proc = call([sys.executable, child], env=dict(PYTHONDONTWRITEBYTECODE='1'), cwd=tmp_path)
    writes, prefix = proc.stdout.split()
    if not _preloading():                               # a fresh interpreter: the job's env
        assert (writes, prefix) == ('True', 'None')
        return
    if not os.environ.get('PYTHONDONTWRITEBYTECODE'):   # the pre-loader's env writes them
        assert (writes, prefix) == ('False', 'None')
        return
    assert writes == 'False' and prefix.startswith(tempfile.gettempdir()), proc.stdout
    assert not Path(prefix).is_relative_to(REPO)


EXIT_FUNCTIONS = '''
import atexit, sys, weakref
import torch.library
def mine():
    with open(sys.argv[1], 'w') as out:
        out.write('ran')
atexit.register(mine)
library = [f for f in weakref.finalize._registry
           if (f.peek() or (None, None))[1] is torch.library._del_library]
print(len(library), sum(f.atexit for f in library))
'''


def test_jobs_run_their_exit_functions_but_keep_torch_operator_registrations(tmp_path):
    """A job's own exit functions run; the finalizers of the libraries the pre-loader
    imported that deregister torch operators are not run at its exit."""
    child = script(tmp_path, 'child.py', EXIT_FUNCTIONS)
    proc = call([sys.executable, child, str(tmp_path / 'ran.txt')], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / 'ran.txt').read_text() == 'ran'
    registered, run_at_exit = map(int, proc.stdout.split())
    if _preloading():
        assert registered > 100 and run_at_exit == 0
    else:                                                # a fresh interpreter: Python's rule
        assert run_at_exit == registered


def test_time_out_kills_the_job(tmp_path):
    sleeper = script(tmp_path, 'sleeper.py', "import time\nprint('start', flush=True)\n"
                                             "time.sleep(60)\n")
    with pytest.raises(subprocess.TimeoutExpired) as info:
        call([sys.executable, sleeper], timeout=1.5)
    assert info.value.output.strip() in ('start', b'start')


def test_python_command_reads_crosspt_python(monkeypatch):
    monkeypatch.delenv('CROSSPT_PYTHON', raising=False)
    assert python_command() == [sys.executable]
    monkeypatch.setenv('CROSSPT_PYTHON', '/opt/py/bin/python -X "faulthandler"')
    assert python_command() == ['/opt/py/bin/python', '-X', 'faulthandler']


@pytest.mark.parametrize('script,args,tail', [
    ('dist_train.sh', ['cfg.py', '2', '--x'], ['tools/train.py', 'cfg.py', '--launcher',
                                              'pytorch', '--x']),
    ('dist_test.sh', ['cfg.py', 'ckpt.pth', '2'], ['tools/test.py', 'cfg.py', 'ckpt.pth',
                                                  '--launcher', 'pytorch'])])
def test_dist_launchers_start_each_process_with_crosspt_python(tmp_path, script, args, tail):
    """With CROSSPT_PYTHON, torchrun runs that command (--no-python) instead of python."""
    record, recorder = tmp_path / 'argv.txt', tmp_path / 'record_python.sh'
    recorder.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {record}\n')
    recorder.chmod(0o755)
    env = dict(os.environ, PYTHON=str(recorder), CROSSPT_PYTHON='/opt/py -X faulthandler')
    subprocess.run(['bash', f'tools/{script}', *args], cwd=REPO, env=env, check=True,
                   timeout=60)
    argv = record.read_text().splitlines()
    start = argv.index('--no-python')
    assert argv[start:] == ['--no-python', '/opt/py', '-X', 'faulthandler', *tail], argv


def test_the_preloader_ends_when_its_worker_does(tmp_path):
    """A pre-loader whose stdin closes (its pytest worker ended, even by SIGKILL) exits
    instead of serving forever."""
    proc = subprocess.Popen([sys.executable, str(REPO / 'tests/test_tools/preloader.py'),
                             str(tmp_path / 'socket'), '--bare'], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == 'ready'
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
