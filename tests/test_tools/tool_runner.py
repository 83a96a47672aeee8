"""Run a repository tool as its command line would, and fail with its output's tail.

Threads: ``OMP_NUM_THREADS`` = 2, or 1 under pytest-xdist (two workers share the cores).
``PORT`` (read by tools/dist_train.sh and dist_test.sh) is a free loopback port, so
distributed runs of concurrent tests never collide.

``python <script>.py ...`` commands run in a child forked from a per-worker *pre-loader*
process, which has imported the third-party libraries every tool needs (torch, mmengine,
mmcv, scipy, and mmdet3d where installed) and nothing of crosspt or the repository. The
child then runs the script as ``__main__`` with the command's argv, environment and
working directory, in a fresh process of its own, so each run still imports crosspt,
registers its modules and executes the script from scratch: only the 5-9 s of third-party
imports are shared. ``CROSSPT_TESTS_NO_PRELOAD=1`` runs every command as a plain
subprocess instead. Anything else (bash launchers, other executables) is a subprocess.
"""
import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[2]

#: the pre-loader: imports, then for each job line forks a child that runs the script
PRELOADER = r'''
import json, os, runpy, sys
import numpy, scipy.spatial, torch, mmengine.runner, mmcv.ops  # noqa: F401
try:
    import mmdet3d.models, mmdet3d.datasets  # noqa: F401
except ImportError:
    pass
sys.path.remove('')          # what -c added: a script's own folder replaces it
reply = os.fdopen(os.dup(1), 'w')
for line in sys.stdin:
    job = json.loads(line)
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for fd, name in ((1, 'out'), (2, 'err')):
                os.dup2(os.open(job[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
            os.environ.clear(); os.environ.update(job['env'])
            os.chdir(job['cwd'])
            torch.set_num_threads(int(job['env'].get('OMP_NUM_THREADS', '1')))
            script = os.path.abspath(job['argv'][0])
            sys.argv = job['argv']
            sys.path.insert(0, os.path.dirname(script))
            runpy.run_path(script, run_name='__main__')
            code = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
    reply.write(json.dumps(dict(pid=pid)) + '\n'); reply.flush()
    _, status = os.waitpid(pid, 0)
    reply.write(json.dumps(dict(code=os.waitstatus_to_exitcode(status))) + '\n'); reply.flush()
'''

_preloader: Optional[subprocess.Popen] = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _preloader_process() -> subprocess.Popen:
    """The worker's pre-loader, started on first use (its own environment: 1 thread)."""
    global _preloader
    if _preloader is None or _preloader.poll() is not None:
        env = dict(os.environ, OMP_NUM_THREADS='1')
        _preloader = subprocess.Popen([sys.executable, '-c', PRELOADER], cwd=REPO, env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True)
        atexit.register(_preloader.kill)
    return _preloader


def _read_reply(proc: subprocess.Popen, timeout: Optional[float]) -> Optional[dict]:
    """The pre-loader's next JSON line, or None after ``timeout`` seconds."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        return None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f'the tool pre-loader died (exit {proc.wait()})')
    return json.loads(line)


def _run_preloaded(argv: list, env: dict, cwd: str, timeout: float) -> tuple:
    """(exit code, stdout, stderr) of ``python argv...`` run in a child of the pre-loader."""
    proc = _preloader_process()
    with tempfile.TemporaryDirectory() as logs:
        out, err = os.path.join(logs, 'out'), os.path.join(logs, 'err')
        job = dict(argv=argv, env=env, cwd=cwd, out=out, err=err)
        proc.stdin.write(json.dumps(job) + '\n')
        proc.stdin.flush()
        pid = _read_reply(proc, None)['pid']
        done = _read_reply(proc, timeout)
        if done is None:
            os.kill(pid, signal.SIGKILL)
            _read_reply(proc, None)
        texts = [Path(path).read_text(errors='replace') for path in (out, err)]
        if done is None:
            raise subprocess.TimeoutExpired(argv, timeout, output=texts[0], stderr=texts[1])
        return (done['code'], *texts)


def _is_python_script(cmd: list) -> bool:
    return (len(cmd) >= 2 and cmd[0] == sys.executable and cmd[1].endswith('.py')
            and os.environ.get('CROSSPT_TESTS_NO_PRELOAD', '0') in ('', '0'))


def call(cmd, env=None, timeout=900, cwd=REPO) -> subprocess.CompletedProcess:
    """Run ``cmd`` (from ``cwd``) and return its exit code, stdout and stderr."""
    threads = '1' if os.environ.get('PYTEST_XDIST_WORKER') else '2'
    env = {**os.environ, 'OMP_NUM_THREADS': threads, 'PORT': str(free_port()), **(env or {})}
    cmd = [str(c) for c in cmd]
    if _is_python_script(cmd):
        code, out, err = _run_preloaded(cmd[1:], env, str(cwd), timeout)
        return subprocess.CompletedProcess(cmd, code, out, err)
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


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
