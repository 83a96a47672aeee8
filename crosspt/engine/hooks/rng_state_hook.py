"""Bit-exact resume: every rank's RNG states go into each checkpoint and come back on
``--resume`` (see docs/pretraining.md, "Resume").

What decides the random numbers of a training step, and how the hook restores it:

- the main process's Python ``random``, NumPy global, torch CPU and CUDA generators
  (dropout, random sampling in the model, and the data pipeline when ``num_workers=0``):
  captured at every epoch end (epoch loops) or iteration end (iteration loops) and set
  again just before the next epoch's data loader starts (or the next batch is fetched);
  a resumed run sets the captured states at the same point.  Validation and hooks that
  run in between therefore never shift the training streams;
- the data-loader workers: mmengine seeds each worker from the config seed, rank and
  worker id when it starts, so a worker's streams depend only on how long it has run.
  Epoch loops start fresh workers every epoch; with ``persistent_workers=True`` the hook
  restarts them at each epoch start (a persistent worker's state cannot be saved).
  Iteration loops replay the data of the skipped iterations on resume (mmengine), which
  brings fresh workers to the same state;
- the sampler: its shuffle order is a function of its seed and the epoch (restored by
  mmengine); the hook stores the seed too, for runs whose seed was drawn at random.
"""
import random
from functools import partial
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import BaseLoop, IterBasedTrainLoop
from torch.utils.data import DataLoader

from crosspt.registry import HOOKS

#: checkpoint key holding :meth:`RNGStateHook.checkpoint_entry`
CHECKPOINT_KEY = 'rng_state'
FORMAT_VERSION = 1


def capture_rng_state() -> Dict[str, Any]:
    """This process's generator states as plain data that ``weights_only`` loading reads.

    Returns ``dict(python=dict(version, state (625,) int64, gauss_next),
    numpy=dict(keys (624,) int64, pos, has_gauss, cached_gaussian), torch (5056,) uint8,
    cuda=[(16,) uint8 per device])``.
    """
    version, internal, gauss_next = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    if kind != 'MT19937':
        raise RuntimeError(f'RNGStateHook: NumPy global generator is {kind}, expected MT19937')
    cuda = list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else []
    return {
        'python': {'version': int(version), 'gauss_next': gauss_next,
                   'state': torch.tensor(internal, dtype=torch.int64)},
        'numpy': {'keys': torch.from_numpy(keys.astype(np.int64)), 'pos': int(pos),
                  'has_gauss': int(has_gauss), 'cached_gaussian': float(cached)},
        'torch': torch.get_rng_state(),
        'cuda': cuda,
    }


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state` (CUDA: the devices both have)."""
    py = state['python']
    random.setstate((py['version'], tuple(int(v) for v in py['state'].tolist()),
                     py['gauss_next']))
    nps = state['numpy']
    np.random.set_state(('MT19937', nps['keys'].numpy().astype(np.uint32), nps['pos'],
                         nps['has_gauss'], nps['cached_gaussian']))
    torch.set_rng_state(state['torch'].to(torch.uint8).cpu())
    cuda = state.get('cuda') or []
    count = torch.cuda.device_count() if cuda and torch.cuda.is_available() else 0
    for device, device_state in enumerate(cuda[:count]):
        torch.cuda.set_rng_state(device_state.to(torch.uint8).cpu(), device)


def _train_sampler(loader: DataLoader) -> Any:
    """The index sampler of ``loader`` (mmengine passes it as ``sampler``; torch wraps
    it in a ``BatchSampler``)."""
    batch_sampler = getattr(loader, 'batch_sampler', None)
    return getattr(batch_sampler, 'sampler', None) or getattr(loader, 'sampler', None)


def _worker_seed(loader: DataLoader) -> Optional[int]:
    """The seed mmengine's default ``worker_init_fn`` gives this loader's workers."""
    init_fn = loader.worker_init_fn
    if isinstance(init_fn, partial) and init_fn.func is mmengine_worker_init_fn:
        return init_fn.keywords.get('seed')
    return None


def _seeds(loader: DataLoader) -> Dict[str, int]:
    """Per-rank seeds fixed when the loader was built (-1: none / not mmengine's)."""
    sampler_seed = getattr(_train_sampler(loader), 'seed', None)
    worker_seed = _worker_seed(loader)
    return {'sampler_seed': sampler_seed if isinstance(sampler_seed, int) else -1,
            'worker_seed': worker_seed if isinstance(worker_seed, int) else -1}


def _shutdown_workers(loader: DataLoader) -> bool:
    """Stop the worker processes a persistent ``loader`` keeps between epochs; the next
    ``iter(loader)`` starts new ones.  Returns whether there were any."""
    iterator = getattr(loader, '_iterator', None)
    if iterator is None or loader.num_workers == 0:
        return False
    iterator._shutdown_workers()
    loader._iterator = None
    return True


class _RestoringIterator:
    """Wraps ``IterBasedTrainLoop.dataloader_iterator``: before each batch fetch after
    the first ``skip`` (the batches a resumed loop replays), the hook sets the RNG states
    it holds for that batch."""

    def __init__(self, inner: Any, hook: 'RNGStateHook', skip: int) -> None:
        self._inner, self._hook, self._skip = inner, hook, skip

    def __iter__(self) -> '_RestoringIterator':
        return self

    def __next__(self) -> Any:
        if self._skip > 0:
            self._skip -= 1
        else:
            self._hook.apply_pending()
        return next(self._inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Store every rank's RNG states in each checkpoint; restore them on resume.

    On CPU with ``randomness.deterministic=True`` and a seed, a run resumed from an epoch
    checkpoint (epoch loops) or an iteration checkpoint (iteration loops) ends with the
    same weights as the uninterrupted run.  tools/train.py adds this hook unless the
    config already lists one.

    Args:
        restore: set the stored states when resuming (False: store only).
        restart_persistent_workers: epoch loops with ``persistent_workers=True``: start
            fresh train workers at each epoch (needed for an exact resume).
    """

    priority = 'VERY_HIGH'

    def __init__(self, restore: bool = True, restart_persistent_workers: bool = True) -> None:
        self.restore = bool(restore)
        self.restart_persistent_workers = bool(restart_persistent_workers)
        self._pending: Optional[Dict[str, Any]] = None   # states to set at the next start
        self._entry: Optional[Dict[str, Any]] = None     # what the next checkpoint stores
        self._rebuild_iterator = False
        self._restart_logged = False

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _iteration_loop(runner) -> bool:
        return isinstance(runner.train_loop, IterBasedTrainLoop)

    def apply_pending(self) -> None:
        """Set (once) the states captured at the last boundary or read on resume."""
        if self._pending is not None:
            restore_rng_state(self._pending)
            self._pending = None

    def _snapshot(self, runner, step: int, gather: bool) -> None:
        """Capture this rank's states at boundary ``step`` (epochs or iterations done);
        gather all ranks' (a collective: every rank calls it) when ``gather``."""
        state = dict(capture_rng_state(), **_seeds(runner.train_loop.dataloader))
        self._pending = state
        world_size = get_world_size()
        if world_size == 1:
            ranks = {0: state}
        elif gather:
            ranks = dict(enumerate(all_gather_object(state)))
        else:
            ranks = {get_rank(): state}
        self._entry = {'version': FORMAT_VERSION,
                       'loop': 'iter' if self._iteration_loop(runner) else 'epoch',
                       'step': step, 'world_size': world_size, 'ranks': ranks}

    def _save_due(self, runner) -> bool:
        """Iteration loops: will a checkpoint (regular, or best after validation) be
        written after this iteration?"""
        loop, done = runner.train_loop, runner.iter + 1
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or hook.by_epoch:
                continue
            if hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or (
                    hook.save_last and hook.is_last_train_iter(runner)):
                return True
            if hook.save_best is not None and runner.val_loop is not None and \
                    done >= loop.val_begin and \
                    (done % loop.val_interval == 0 or done == loop.max_iters):
                return True
        return False

    def _restart_workers(self, runner) -> None:
        """Shut down persistent train workers so the epoch starts fresh, seeded ones."""
        loader = runner.train_loop.dataloader
        if loader.persistent_workers and _shutdown_workers(loader) and \
                not self._restart_logged:
            runner.logger.info('RNGStateHook: restarting the persistent train workers at '
                               'each epoch so that a resumed run is exact '
                               '(restart_persistent_workers=False keeps them)')
            self._restart_logged = True

    # ------------------------------------------------------------------ save
    def after_train_epoch(self, runner) -> None:
        if not self._iteration_loop(runner):
            self._snapshot(runner, runner.epoch + 1, gather=True)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self._iteration_loop(runner):
            gather = get_world_size() > 1 and self._save_due(runner)
            self._snapshot(runner, runner.iter + 1, gather=gather)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._entry is not None:
            checkpoint[CHECKPOINT_KEY] = self._entry

    # ------------------------------------------------------------------ resume
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False) or \
                not isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return   # load_from (weights only) or not training: nothing to restore
        entry = checkpoint.get(CHECKPOINT_KEY)
        if entry is None:
            runner.logger.warning(
                f'RNGStateHook: the checkpoint has no {CHECKPOINT_KEY!r} (written without '
                'RNGStateHook): the resumed run continues with freshly seeded random '
                'streams and will not match an uninterrupted run exactly')
            return
        if not self.restore:
            runner.logger.info('RNGStateHook(restore=False): not restoring RNG states')
            return
        state = self._own_state(runner, entry, checkpoint.get('meta', {}))
        if state is not None:
            self._pending = state
            self._restore_seeds(runner, state)
            runner.logger.info(f'RNGStateHook: restored the RNG states of rank {get_rank()} '
                               f'at {entry["loop"]} {entry["step"]}')

    def _own_state(self, runner, entry: dict, meta: dict) -> Optional[Dict[str, Any]]:
        """This rank's stored state, or None (with a warning saying why)."""
        loop = 'iter' if self._iteration_loop(runner) else 'epoch'
        expected = meta.get(loop)
        if entry.get('version') != FORMAT_VERSION or entry.get('loop') != loop or \
                entry.get('step') != expected:
            runner.logger.warning(
                f'RNGStateHook: the stored RNG state (format {entry.get("version")}, '
                f'{entry.get("loop")} {entry.get("step")}) does not belong to this resume '
                f'point ({loop} {expected}, format {FORMAT_VERSION}); not restoring it')
            return None
        rank, world_size = get_rank(), get_world_size()
        if entry.get('world_size') != world_size:
            runner.logger.warning(
                f'RNGStateHook: the checkpoint was written by {entry.get("world_size")} '
                f'process(es), this run has {world_size}: the data is split differently, so '
                'the resume is not exact; restoring the states of the ranks it holds')
        elif loop == 'epoch' and \
                meta.get('iter') != expected * len(runner.train_loop.dataloader):
            runner.logger.warning(
                f'RNGStateHook: this checkpoint was written in the middle of epoch '
                f'{expected + 1} (iter {meta.get("iter")}); EpochBasedTrainLoop restarts that '
                'epoch from its first batch, so the resume is not exact (save by epoch)')
        state = entry.get('ranks', {}).get(rank)
        if state is None:
            runner.logger.warning(f'RNGStateHook: the checkpoint holds no RNG state for rank '
                                  f'{rank} (ranks {sorted(entry.get("ranks", {}))})')
            return None
        devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if len(state['cuda']) != devices:
            runner.logger.warning(f'RNGStateHook: the checkpoint holds CUDA RNG states of '
                                  f'{len(state["cuda"])} device(s), this process sees '
                                  f'{devices}; restoring those of the common devices')
        return state

    def _restore_seeds(self, runner, state: Dict[str, Any]) -> None:
        """Give the train sampler and workers the seeds the interrupted run used (they
        differ when the seed was drawn at random, ``randomness.seed=None``)."""
        loader = runner.train_loop.dataloader
        sampler = _train_sampler(loader)
        current = _seeds(loader)
        stored = state['sampler_seed']
        if stored >= 0 and current['sampler_seed'] not in (-1, stored):
            sampler.seed = stored
            self._rebuild_iterator = True
        if state['worker_seed'] >= 0 and current['worker_seed'] not in (-1, state['worker_seed']):
            loader.worker_init_fn = partial(loader.worker_init_fn.func,
                                            **dict(loader.worker_init_fn.keywords,
                                                   seed=state['worker_seed']))
            self._rebuild_iterator = True
        if self._rebuild_iterator:
            runner.logger.warning('RNGStateHook: this run drew other sampler/worker seeds '
                                  'than the checkpoint; using the checkpoint\'s')

    # ------------------------------------------------------------------ apply
    def before_train_epoch(self, runner) -> None:
        if self._iteration_loop(runner):
            self._wrap_iteration_loop(runner)
            return
        self.apply_pending()
        if self.restart_persistent_workers:
            self._restart_workers(runner)

    def _wrap_iteration_loop(self, runner) -> None:
        """Iteration loops fetch each batch through the wrapper (set states, then fetch);
        ``skip`` = the iterations a resumed loop replays first."""
        loop = runner.train_loop
        if self._rebuild_iterator:
            from mmengine.runner.loops import _InfiniteDataloaderIterator
            _shutdown_workers(loop.dataloader)
            loop.dataloader_iterator = _InfiniteDataloaderIterator(loop.dataloader)
            self._rebuild_iterator = False
        if not isinstance(loop.dataloader_iterator, _RestoringIterator):
            loop.dataloader_iterator = _RestoringIterator(loop.dataloader_iterator, self,
                                                          skip=int(loop.iter))
