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
