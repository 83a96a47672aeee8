"""LabelFractionDataset: class-balanced subsets, deterministic per seed."""
import math

import pytest

from crosspt.datasets.label_fraction import LabelFractionDataset


class Labelled:
    def __init__(self, labels):
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def get_data_info(self, i):
        return {'label': self.labels[i], 'sample_idx': i}

    def __getitem__(self, i):
        return ('sample', i)


def test_keeps_ceil_fraction_of_every_class():
    labels = [0] * 10 + [1] * 4 + [2] * 1
    subset = LabelFractionDataset(Labelled(labels), fraction=0.3, seed=1)
    kept = [labels[i] for i in subset.indices]
    assert kept.count(0) == math.ceil(3.0) == 3
    assert kept.count(1) == math.ceil(1.2) == 2
    assert kept.count(2) == 1                      # at least one per class
    assert len(subset) == 6 and subset.indices == sorted(subset.indices)
    assert subset[0] == ('sample', subset.indices[0])
    assert subset.get_data_info(1)['sample_idx'] == subset.indices[1]


def test_seed_decides_the_subset():
    labels = [i % 3 for i in range(60)]
    a = LabelFractionDataset(Labelled(labels), 0.2, seed=0).indices
    assert a == LabelFractionDataset(Labelled(labels), 0.2, seed=0).indices
    assert a != LabelFractionDataset(Labelled(labels), 0.2, seed=1).indices
    assert LabelFractionDataset(Labelled(labels), 1.0).indices == list(range(60))


def test_bad_arguments():
    with pytest.raises(ValueError, match='fraction'):
        LabelFractionDataset(Labelled([0, 1]), 0.0)
    with pytest.raises(KeyError, match="'category'"):
        LabelFractionDataset(Labelled([0, 1]), 0.5, label_key='category')
