"""Run a function on N CPU processes joined in a gloo process group (loopback TCP).

``run_ranks(fn, args)`` forks ``world_size`` processes; each sets torchrun's ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE``, initialises ``torch.distributed`` (gloo,
``tcp://127.0.0.1:<free port>``, short timeouts), calls ``fn(rank, *args)`` with one
compute thread and returns its result (tensors, lists and dicts of them) to the caller.
A worker's exception fails the caller with the worker's traceback; a run that exceeds
``timeout`` seconds is killed and fails.  Forked, the ranks inherit the test's imports
(spawned, each re-imported torch, mmengine and crosspt: 3-5 s a test); ``fn`` must still
be a module-level function (``torch.multiprocessing`` pickles it by name).
"""
import os
import socket
import tempfile
import time
from datetime import timedelta
from typing import Any, Callable, List, Sequence

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _entry(rank: int, fn: Callable, world_size: int, port: int, out_dir: str,
           args: Sequence, collective_timeout: float) -> None:
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size))
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=world_size,
                            timeout=timedelta(seconds=collective_timeout))
    try:
        result = fn(rank, *args)
        torch.save(result, os.path.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


def run_ranks(fn: Callable, args: Sequence = (), world_size: int = 2, timeout: float = 60,
              collective_timeout: float = 15) -> List[Any]:
    """``[fn(0, *args), ..., fn(world_size - 1, *args)]``, each run in its own process."""
    with tempfile.TemporaryDirectory() as out_dir:
        ctx = mp.start_processes(
            _entry, args=(fn, world_size, free_port(), out_dir, tuple(args),
                          collective_timeout),
            nprocs=world_size, join=False, start_method='fork')
        deadline = time.monotonic() + timeout
        try:
            while not ctx.join(timeout=0.5):
                if time.monotonic() > deadline:
                    raise TimeoutError(f'run_ranks: {fn.__name__} did not finish on '
                                       f'{world_size} processes within {timeout} s')
        finally:
            for proc in ctx.processes:
                if proc.is_alive():
                    proc.kill()
        return [torch.load(os.path.join(out_dir, f'rank{r}.pt'), weights_only=True)
                for r in range(world_size)]
