"""Generate embedded synthetic data on first use, once per machine, in any launcher.

Rank 0 generates first; every rank reaches the barrier (whether to wait depends only on
the config, so ranks cannot disagree); then the other ranks call the generator too — a
no-op on a shared file system (the generators are lock-protected and idempotent), a
node-local copy otherwise.

A generator only ever replaces files its own manifest lists
(:func:`crosspt.fileio.atomic.write_dataset_once`): over a folder holding anything else it
raises :class:`crosspt.fileio.atomic.DataOwnershipError` listing those files, and nothing
is deleted.
"""
from typing import Callable


def generate_once(generate: Callable[[], object], needs_generation: Callable[[], bool]) -> None:
    """Call ``generate()`` on rank 0 when ``needs_generation()``, then on the other ranks
    after a barrier (when distributed)."""
    from mmengine.dist import barrier, get_dist_info

    rank, world_size = get_dist_info()
    if rank == 0 and needs_generation():
        generate()
    if world_size > 1:
        barrier()
        if rank != 0 and needs_generation():
            generate()
