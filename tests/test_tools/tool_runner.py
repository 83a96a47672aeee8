"""Run a repository tool in a subprocess and fail with its output's tail.

Threads: ``OMP_NUM_THREADS`` = 2, or 1 under pytest-xdist (two workers share the cores).
``PORT`` (read by tools/dist_train.sh and dist_test.sh) is a free loopback port, so
distributed runs of concurrent tests never collide.
"""
import os
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run(cmd, env=None, timeout=900) -> str:
    threads = '1' if os.environ.get('PYTEST_XDIST_WORKER') else '2'
    env = dict(os.environ, OMP_NUM_THREADS=threads, PORT=str(free_port()), **(env or {}))
    proc = subprocess.run([str(c) for c in cmd], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{" ".join(map(str, cmd))} failed:\n{output[-4000:]}'
    return output
