"""``python``, as far as a tool launching another tool needs it, for the tests: with
``CROSSPT_PYTHON="<python> tests/test_tools/preloaded_python.py"`` a benchmark tool's
``tools/train.py ...`` launch runs as a job of the worker's pre-loader (its stdin, stdout,
stderr, environment and working directory are this process's).  Other invocations
(``-m``, ``-c``) run the real interpreter.  The exit code is the job's; SIGTERM / SIGINT
are passed on to the job."""
import os
import signal
import sys

from preload_client import submit, wait


def main() -> int:
    argv = sys.argv[1:]
    if not argv or not argv[0].endswith('.py'):
        os.execv(sys.executable, [sys.executable, *argv])
    conn, pid = submit(os.environ['CROSSPT_TESTS_PRELOADER'], argv, dict(os.environ),
                       os.getcwd(), (0, 1, 2))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda sig, _: os.kill(pid, sig))
    code = wait(conn, None)
    return 1 if code is None else code


if __name__ == '__main__':
    sys.exit(main())
