"""The tests' tool pre-loader: a fork server that runs ``python <script>.py ...`` jobs.

``python tests/test_tools/preloader.py SOCKET`` imports the third-party libraries every
tool needs (torch, mmengine, mmcv, scipy, mmdet3d where installed, and what runs import
lazily; nothing of crosspt or the repository), listens on the Unix socket SOCKET and
prints ``ready``; it ends when its stdin closes (the test worker that started it ended,
however it ended).  ``preloader.py SOCKET --bare`` serves without those imports (the
serve loop's own tests).

Protocol (AF_UNIX, SOCK_SEQPACKET, so each message arrives whole): a job is one message,
JSON ``{"argv": [script, ...], "env": {...}, "cwd": ...}``, carrying three file
descriptors that become the job's stdin, stdout and stderr.  For each connection the
server forks a handler, which forks the job and replies ``{"pid": N}`` when it started
and ``{"code": C}`` (its exit code) when it ended.  Jobs run concurrently, so a job may
itself submit jobs (a benchmark tool launching tools/train.py through
tests/test_tools/preloaded_python.py).  The job is a fresh process of its own: it
imports crosspt, registers its modules and runs the script as ``__main__`` with the job's
argv, environment and working directory; only the third-party imports are shared.
"""
import atexit
import gc
import importlib
import json
import os
import runpy
import select
import signal
import socket
import sys
import tempfile
import time
import traceback

#: what every tool imports
SHARED = ('torch', 'mmcv.ops', 'mmengine.runner', 'numpy', 'scipy.spatial')
OPTIONAL = ('mmdet3d.models', 'mmdet3d.datasets',   # where installed
            # the visualizer of mmdet3d configs (trimesh, networkx: 0.43 s a run)
            'mmdet3d.visualization', 'mmdet3d.evaluation',
            # imported lazily by a run: the optimizer's first use (torch._dynamo),
            # mmengine's environment report (setuptools), pictures, point-op backends,
            # h5 object sets
            'torch._dynamo', 'setuptools', 'matplotlib.pyplot', 'PIL.Image',
            'fpsample', 'pykdtree.kdtree', 'h5py')


def preload() -> None:
    """Import the libraries the jobs share (5-12 s)."""
    for name in SHARED:
        importlib.import_module(name)
    for name in OPTIONAL:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    keep_operator_registrations()


def keep_operator_registrations() -> None:
    """The ~170 ``torch.library.Library`` objects the imports made deregister their
    operators in weakref finalizers run at exit, and a job runs its exit functions
    (:func:`handle`): in a forked job that took 30 ms a job (copy-on-write faults),
    4.6 s of the suite, to clean up a process that ends right after.  They stay
    registered; the jobs' other exit functions still run."""
    import weakref

    import torch.library
    for finalizer in list(weakref.finalize._registry):
        found = finalizer.peek()
        if found is not None and found[1] is torch.library._del_library:
            finalizer.atexit = False


sys.path.pop(0)   # this file's folder: a job's script folder takes its place
# Every job imports crosspt, tools/ and projects/ afresh; under PYTHONDONTWRITEBYTECODE
# each job compiled them again (0.21 s against 0.05 s from cached bytecode, measured
# 2026-12-03).  Their bytecode is cached under the temp dir, outside the checkout.
if sys.dont_write_bytecode:
    sys.pycache_prefix = os.path.join(tempfile.gettempdir(),
                                      f'crosspt-tests-pycache-{os.getuid()}')
    sys.dont_write_bytecode = False


def run_job(job: dict, fds: list) -> int:
    """Run the job in this (forked) process; returns its exit code."""
    for fd, target in zip(fds, (0, 1, 2)):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(job['env'])
    os.chdir(job['cwd'])
    import torch   # shared (preload)
    torch.set_num_threads(int(job['env'].get('OMP_NUM_THREADS', '1')))
    script = os.path.abspath(job['argv'][0])
    sys.argv = job['argv']
    sys.path.insert(0, os.path.dirname(script))
    try:
        runpy.run_path(script, run_name='__main__')
        return 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    return 1


def handle(conn: socket.socket) -> None:
    """A connection's handler (a forked process): fork the job, report pid and exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    job = json.loads(message)
    pid = os.fork()
    if pid == 0:
        conn.close()
        code = 1
        try:
            code = run_job(job, fds)
        finally:
            # what an interpreter's exit runs: among others multiprocessing's, which ends
            # daemonic children (DataLoader workers); skipped, they outlived the job by
            # up to 5 s (their parent check) holding its stdout, and a caller reading
            # that pipe (tools/dist_train.sh's) waited for them
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    for fd in fds:
        os.close(fd)
    conn.send(json.dumps(dict(pid=pid)).encode())
    start = time.monotonic()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    log_job(job, code, time.monotonic() - start)
    conn.send(json.dumps(dict(code=code)).encode())


def log_job(job: dict, code: int, seconds: float) -> None:
    """With ``CROSSPT_TESTS_JOB_LOG=FILE`` in the job's environment, append one JSON line
    (the test, argv, exit code, wall seconds) to FILE: where the suite's time goes."""
    path = job['env'].get('CROSSPT_TESTS_JOB_LOG')
    if path:
        record = dict(test=job['env'].get('PYTEST_CURRENT_TEST', ''), argv=job['argv'],
                      code=code, seconds=round(seconds, 2))
        with open(path, 'a') as log:
            log.write(json.dumps(record) + '\n')


def serve(path: str) -> None:
    """Serve jobs until stdin closes (the test worker that started this ended)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server.bind(path)
    server.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # handlers are reaped by the kernel
    print('ready', flush=True)
    while True:
        ready, _, _ = select.select([server, sys.stdin], [], [])
        if sys.stdin in ready and not sys.stdin.read(1):
            return
        if server not in ready:
            continue
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            try:
                handle(conn)
            finally:
                os._exit(0)
        conn.close()


if __name__ == '__main__':
    if sys.argv[2:] != ['--bare']:   # --bare: the serve loop alone (its own tests)
        preload()
    # The imports leave ~10^6 objects that every full collection in a job would walk
    # again (mmengine's datasets call gc.collect() once each: 0.85 s apiece here); frozen,
    # a job's collections only visit what the job itself made.
    gc.freeze()
    serve(sys.argv[1])
