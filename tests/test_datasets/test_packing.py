"""The packed data list (crosspt/datasets/packing.py) against mmengine's own packing."""
import gc

import numpy as np
import pytest
from mmengine.dataset import BaseDataset

from crosspt.datasets import (ModelNet40NormalDataset, ScanNetFramesDataset,
                              ScanNetImageSegDataset, ShapeNet55ViewsDataset)
from crosspt.datasets.packing import PackedDataListMixin, pack_data_list

INFOS = [dict(sample_idx=0, cloud=np.arange(12, dtype=np.float32).reshape(4, 3), label=3),
         dict(sample_idx=1, path='a/b.ply', views=['v0.png', 'v1.png']),
         dict(sample_idx=2, nested=dict(x=[1, 2, (3, 4)]))]


class ListDataset(BaseDataset):
    def load_data_list(self):
        return [dict(info) for info in INFOS]


class PackedListDataset(PackedDataListMixin, ListDataset):
    pass


@pytest.fixture
def collections(monkeypatch):
    calls = []
    real = gc.collect
    monkeypatch.setattr(gc, 'collect', lambda *args: calls.append(args) or real(*args))
    return calls


def test_packing_equals_mmengines_and_reads_back(collections):
    reference = ListDataset(serialize_data=True)          # mmengine's packing
    assert collections, 'mmengine packs and then collects'
    collections.clear()
    packed = PackedListDataset(serialize_data=True)
    assert collections == []
    assert np.array_equal(packed.data_bytes, reference.data_bytes)
    assert np.array_equal(packed.data_address, reference.data_address)
    assert packed.data_address.dtype == np.int64 and packed.data_list == []
    for i, info in enumerate(INFOS):
        got = packed.get_data_info(i)
        assert sorted(got) == sorted(info)
        assert all(np.array_equal(got[k], v) if isinstance(v, np.ndarray) else got[k] == v
                   for k, v in info.items())


def test_empty_list_packs_to_nothing():
    data, ends = pack_data_list([])
    assert data.dtype == np.uint8 and data.size == 0 and ends.size == 0


@pytest.mark.parametrize('cls', [ModelNet40NormalDataset, ScanNetFramesDataset,
                                 ScanNetImageSegDataset, ShapeNet55ViewsDataset])
def test_crosspt_datasets_pack_without_collecting(cls):
    mro = cls.__mro__
    assert mro.index(PackedDataListMixin) < mro.index(BaseDataset)
    assert cls._serialize_data is PackedDataListMixin._serialize_data
