"""Run a repository tool as its command line would, and fail with its output's tail.

Threads: ``OMP_NUM_THREADS`` = 2, or 1 under pytest-xdist (two workers share the cores).
``PORT`` (read by tools/dist_train.sh and dist_test.sh) is a free loopback port, so
distributed runs of concurrent tests never collide.

``python <script>.py ...`` commands run as jobs of a per-worker *pre-loader*
(tests/test_tools/preloader.py), a fork server that has imported the third-party libraries
every tool needs (torch, mmengine, mmcv, scipy, and mmdet3d where installed) and nothing of
crosspt or the repository. Each job is a fresh forked process that runs the script as
``__main__`` with the command's argv, environment and working directory, so each run still
imports crosspt, registers its modules and executes the script from scratch: only the 5-12 s
of third-party imports are shared. Tools that launch tools (tools/benchmarks/transfer.py,
scene_transfer.py, scene_gain.py) and tools/dist_train.sh / dist_test.sh (each process)
read ``CROSSPT_PYTHON`` (crosspt.utils.python_command), which points them at
tests/test_tools/preloaded_python.py: their launches become pre-loader jobs too; scripts
that take their interpreter from ``PYTHON`` get :func:`python_program`.
``CROSSPT_TESTS_NO_PRELOAD=1`` runs every command as a plain subprocess instead.
``CROSSPT_TESTS_JOB_LOG=FILE`` makes the pre-loader append one JSON line per job (test,
argv, exit code, seconds) to FILE.
Anything else (bash launchers, other executables) is a subprocess.
"""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

from preload_client import submit, wait

REPO = Path(__file__).resolve().parents[2]

#: --cfg-options item for runs whose checkpoints feed only weights (a later test, tools/test.py,
#: a fine-tuning run): no optimizer state, so an SR-UNet34 checkpoint is 0.15 GB, not 0.45 GB,
#: and is written in about a third of the time
WEIGHTS_ONLY = 'default_hooks.checkpoint.save_optimizer=False'

_preloader: Optional[subprocess.Popen] = None
_SOCKET = os.path.join(tempfile.mkdtemp(prefix='crosspt-preloader-'), 'socket')
atexit.register(shutil.rmtree, os.path.dirname(_SOCKET), True)   # this module's own dir
#: how a tool launched by a test launches another tool (crosspt.utils.python_command)
PRELOADED_PYTHON = f'{sys.executable} {REPO}/tests/test_tools/preloaded_python.py'


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _preloader_socket() -> str:
    """The worker's pre-loader's socket; the server is started on first use."""
    global _preloader
    if _preloader is None or _preloader.poll() is not None:
        if os.path.exists(_SOCKET):
            os.remove(_SOCKET)                 # the socket of a pre-loader that died
        env = dict(os.environ, OMP_NUM_THREADS='1')
        _preloader = subprocess.Popen(
            [sys.executable, str(REPO / 'tests' / 'test_tools' / 'preloader.py'), _SOCKET],
            cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        atexit.register(_preloader.kill)
        if _preloader.stdout.readline().strip() != 'ready':
            raise RuntimeError(f'the tool pre-loader failed to start (exit {_preloader.wait()})')
    return _SOCKET


def _run_preloaded(argv: list, env: dict, cwd: str, timeout: float) -> tuple:
    """(exit code, stdout, stderr) of ``python argv...`` run as a pre-loader job."""
    path = _preloader_socket()
    with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err, \
            open(os.devnull) as stdin:
        conn, pid = submit(path, argv, env, cwd, (stdin.fileno(), out.fileno(), err.fileno()))
        with conn:
            code = wait(conn, timeout)
            if code is None:
                os.kill(pid, signal.SIGKILL)
                wait(conn, None)
        texts = []
        for stream in (out, err):
            stream.seek(0)
            texts.append(stream.read())
    if code is None:
        raise subprocess.TimeoutExpired(argv, timeout, output=texts[0], stderr=texts[1])
    return (code, *texts)


def _preloading() -> bool:
    return os.environ.get('CROSSPT_TESTS_NO_PRELOAD', '0') in ('', '0')


def _is_python_script(cmd: list) -> bool:
    return (len(cmd) >= 2 and cmd[0] == sys.executable and cmd[1].endswith('.py')
            and _preloading())


def call(cmd, env=None, timeout=900, cwd=REPO) -> subprocess.CompletedProcess:
    """Run ``cmd`` (from ``cwd``) and return its exit code, stdout and stderr."""
    threads = '1' if os.environ.get('PYTEST_XDIST_WORKER') else '2'
    env = {**os.environ, 'OMP_NUM_THREADS': threads, 'PORT': str(free_port()),
           **preloader_env(), **(env or {})}
    cmd = [str(c) for c in cmd]
    if _is_python_script(cmd):
        code, out, err = _run_preloaded(cmd[1:], env, str(cwd), timeout)
        return subprocess.CompletedProcess(cmd, code, out, err)
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


def call_script(code: str, payload, env=None, timeout=300, cwd=REPO
                ) -> subprocess.CompletedProcess:
    """Run the Python ``code`` as a script (a pre-loader job: the third-party imports
    shared) whose ``sys.argv[1]`` names a JSON file holding ``payload``."""
    with tempfile.TemporaryDirectory() as tmp:
        script, data = Path(tmp) / 'script.py', Path(tmp) / 'payload.json'
        script.write_text(code)
        data.write_text(json.dumps(payload))
        return call([sys.executable, script, data], env, timeout, cwd)


def preloader_env() -> dict:
    """The environment that makes tools launched by tools pre-loader jobs (empty with
    CROSSPT_TESTS_NO_PRELOAD=1)."""
    if not _preloading():
        return {}
    return dict(CROSSPT_PYTHON=PRELOADED_PYTHON, CROSSPT_TESTS_PRELOADER=_preloader_socket())


def python_program() -> str:
    """An executable for launchers that take their interpreter from ``PYTHON``
    (tools/install.sh, quickstart.sh, run_tests.sh): it runs as ``python``, ``<script>.py``
    commands as pre-loader jobs (with :func:`preloader_env`); ``sys.executable`` with
    CROSSPT_TESTS_NO_PRELOAD=1."""
    if not _preloading():
        return sys.executable
    program = Path(_SOCKET).with_name('python')
    if not program.exists():
        program.write_text(f'#!/bin/sh\nexec {PRELOADED_PYTHON} "$@"\n')
        program.chmod(0o755)
    return str(program)


def one_rank_world() -> dict:
    """The environment of rank 0 of a 1-process ``--launcher pytorch`` world (what
    tools/dist_train.sh's torchrun gives each rank, for one rank)."""
    return dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                MASTER_PORT=str(free_port()))


def run(cmd, env=None, timeout=900, cwd=REPO) -> str:
    """Run ``cmd`` from ``cwd`` (default: the repository root); fail with its output's tail
    unless it exits 0. Returns stdout + stderr."""
    proc = call(cmd, env, timeout, cwd)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{" ".join(proc.args)} failed:\n{output[-4000:]}'
    return output
