"""--cfg-options that shrink a config's clouds (shared by the tests that run shipped
configs on fewer points)."""
import math
from typing import List

from mmengine.config import Config

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def fewer_points_options(cfg: Config, n: int) -> List[str]:
    """Items giving every sampling step (a ``num_points`` key) of ``cfg``'s loaders and
    ``tta_pipeline`` ``n`` points; an ``fps_points`` pre-sample is scaled alike."""
    pipelines = {f'{loader}.dataset.pipeline': cfg[loader].dataset.pipeline
                 for loader in LOADERS if loader in cfg}
    pipelines.update({'tta_pipeline': cfg.tta_pipeline} if 'tta_pipeline' in cfg else {})
    options = []
    for prefix, pipeline in pipelines.items():
        for i, step in enumerate(pipeline):
            if 'num_points' in step:
                options.append(f'{prefix}.{i}.num_points={n}')
            if 'fps_points' in step:
                scaled = math.ceil(step['fps_points'] * n / step['num_points'])
                options.append(f'{prefix}.{i}.fps_points={scaled}')
    return options


def main_process_loading(loaders=LOADERS) -> List[str]:
    """Items that load every batch of ``loaders`` in the main process (``num_workers=0``).

    A short test run does not gain from worker processes, and it pays for each one it
    starts: the fork, then a copy of every page the parent writes while the worker
    lives (the weights, gradients and optimizer state). Epoch loops and non-persistent
    iteration loops start new workers for every pass over a tiny data set. On a scene
    run of one iteration this cut 5.2-6.9 s to 4.4-4.9 s. Worker loading stays covered
    by the PPKT and TAP end-to-end runs and the exact-resume tests, which keep the
    configs' workers.
    """
    return [f'{loader}.{key}' for loader in loaders
            for key in ('num_workers=0', 'persistent_workers=False')]
