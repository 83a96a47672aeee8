"""Timing and memory helpers for the benchmark scripts (standard library only)."""
import resource
import statistics
import time
from typing import Callable


def timeit(fn: Callable[[], object], repeats: int, warmup: bool = True) -> float:
    """Median wall time in seconds of ``repeats`` calls of ``fn`` (after one untimed
    warm-up call when ``warmup``)."""
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def max_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
