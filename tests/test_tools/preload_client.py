"""Submitting a ``python <script>.py ...`` job to the tests' pre-loader
(tests/test_tools/preloader.py, whose docstring describes the protocol)."""
import json
import socket
from typing import Optional, Sequence, Tuple


def submit(path: str, argv: Sequence[str], env: dict, cwd: str,
           fds: Sequence[int]) -> Tuple[socket.socket, int]:
    """Start ``argv`` (script first) with stdin/stdout/stderr ``fds``; returns the
    connection (for :func:`wait`) and the job's pid."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    conn.connect(path)
    job = json.dumps(dict(argv=list(argv), env=env, cwd=cwd)).encode()
    socket.send_fds(conn, [job], list(fds))
    return conn, _receive(conn, None)['pid']


def wait(conn: socket.socket, timeout: Optional[float]) -> Optional[int]:
    """The job's exit code, or None when it has not ended within ``timeout`` seconds."""
    try:
        return _receive(conn, timeout)['code']
    except socket.timeout:
        return None


def _receive(conn: socket.socket, timeout: Optional[float]) -> dict:
    conn.settimeout(timeout)
    message = conn.recv(4096)
    if not message:
        raise RuntimeError('the tool pre-loader closed the connection')
    return json.loads(message)
