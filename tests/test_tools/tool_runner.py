"""Run a repository tool in a subprocess (2 threads) and fail with its output's tail."""
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(cmd, env=None, timeout=900) -> str:
    env = dict(os.environ, OMP_NUM_THREADS='2', **(env or {}))
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{" ".join(map(str, cmd))} failed:\n{output[-4000:]}'
    return output
