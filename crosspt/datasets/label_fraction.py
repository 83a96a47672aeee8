"""A class-balanced labelled subset of a classification dataset (limited-label
fine-tuning, e.g. the transfer benchmark's "10 % of the labels")."""
import math
from typing import List, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from crosspt.registry import DATASETS


@DATASETS.register_module()
class LabelFractionDataset:
    """Keeps ``ceil(fraction * n_c)`` samples of every class ``c`` (at least one), drawn
    without replacement by ``np.random.default_rng(seed)``; the kept indices are sorted.

    Args:
        dataset: the wrapped dataset (config or object); its data infos need
            ``label_key``.
        fraction: in (0, 1].
        seed: subset seed (same seed -> same subset).
        label_key: data-info key of the class label.
    """

    def __init__(self, dataset: Union[dict, BaseDataset], fraction: float, seed: int = 0,
                 label_key: str = 'label') -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        if not 0.0 < float(fraction) <= 1.0:
            raise ValueError(f'LabelFractionDataset: fraction must be in (0, 1], got '
                             f'{fraction!r}')
        self.fraction, self.seed, self.label_key = float(fraction), int(seed), label_key
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        labels = []
        for i in range(len(self.dataset)):
            info = self.dataset.get_data_info(i)
            if label_key not in info:
                raise KeyError(f'LabelFractionDataset: data info {i} of '
                               f'{type(self.dataset).__name__} has no {label_key!r} '
                               f'(keys {sorted(info)})')
            labels.append(int(info[label_key]))
        labels = np.asarray(labels)
        rng = np.random.default_rng(self.seed)
        keep: List[int] = []
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            count = max(1, math.ceil(self.fraction * len(members)))
            keep.extend(rng.choice(members, size=count, replace=False).tolist())
        self.indices = sorted(keep)
        self.metainfo = getattr(self.dataset, 'metainfo', {})
        print_log(f'LabelFractionDataset: {len(self.indices)} of {len(labels)} samples '
                  f'(fraction {self.fraction}, seed {self.seed}, '
                  f'{len(np.unique(labels))} classes)', logger='current')

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: int) -> dict:
        return self.dataset[self.indices[idx]]

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(self.indices[idx])

    def full_init(self) -> None:
        """Already initialised in ``__init__`` (mmengine calls this on datasets)."""
