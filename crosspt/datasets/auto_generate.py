"""Generate embedded synthetic data on first use, once per machine, in any launcher.

Every loader that accepts ``auto_generate=dict(...)`` mixes in :class:`AutoGenerateMixin`,
which finds its generator only by registry name (``crosspt.registry.FUNCTIONS``, whose
lazy location is :mod:`crosspt.synthetic`; importing ``crosspt.datasets`` does not import
the generators).

Rank 0 generates first; every rank reaches the barrier (whether to wait depends only on
the config, so ranks cannot disagree); then the other ranks call the generator too — a
no-op on a shared file system (the generators are lock-protected and idempotent), a
node-local copy otherwise.

A generator only ever replaces files its own manifest lists
(:func:`crosspt.fileio.atomic.write_dataset_once`): over a folder holding anything else it
raises :class:`crosspt.fileio.atomic.DataOwnershipError` listing those files, and nothing
is deleted.
"""
import os
from typing import Callable, Optional

from crosspt.fileio.synthetic_info import is_synthetic
from crosspt.registry import FUNCTIONS

__all__ = ['generate_once', 'find_generator', 'AutoGenerateMixin']


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


def find_generator(name: str) -> Callable:
    """The generator registered as ``name`` in ``FUNCTIONS`` (KeyError naming it if none)."""
    generator = FUNCTIONS.get(name)
    if generator is None:
        raise KeyError(f'no synthetic-data generator {name!r} in crosspt.registry.FUNCTIONS '
                       f'(registered by crosspt.synthetic)')
    return generator


class AutoGenerateMixin:
    """``auto_generate`` for a loader with a ``data_root``.

    Set ``GENERATOR`` (the generator's ``FUNCTIONS`` name), call
    :meth:`_init_auto_generate` in ``__init__`` and :meth:`_maybe_generate` before
    indexing. The generator runs when the data is missing (:meth:`_data_present`) or is
    synthetic (``synthetic_info.json``: the idempotent generator then only checks its
    parameters); real data is never touched.
    """

    GENERATOR: str = ''
    data_root: str
    auto_generate: Optional[dict] = None

    def _init_auto_generate(self, auto_generate: Optional[dict]) -> None:
        """Store a copy of ``auto_generate`` (ValueError naming the loader unless a dict
        or None)."""
        if auto_generate is not None and not isinstance(auto_generate, dict):
            raise ValueError(f'{type(self).__name__}: auto_generate must be a dict of '
                             f'{self.GENERATOR} arguments or None, got {auto_generate!r}')
        self.auto_generate = None if auto_generate is None else dict(auto_generate)

    def _data_present(self) -> bool:
        """True when the files this loader reads exist (default: ``data_root`` exists)."""
        return os.path.isdir(self.data_root)

    def _needs_generation(self) -> bool:
        return not self._data_present() or is_synthetic(self.data_root)

    def _generator_kwargs(self) -> dict:
        """Keyword arguments of the generator (default: ``auto_generate``)."""
        return dict(self.auto_generate)

    def _generate(self) -> None:
        find_generator(self.GENERATOR)(self.data_root, **self._generator_kwargs())

    def _maybe_generate(self) -> None:
        """Run the generator when ``auto_generate`` is set and it is needed
        (:func:`generate_once`)."""
        if self.auto_generate is not None:
            generate_once(self._generate, self._needs_generation)
