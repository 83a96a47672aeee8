"""ScanObjectNN in its h5 release (docs/methods/benchmarks.md, 'ScanObjectNN'; TAP
fine-tuning: docs/methods/tap.md, 'ScanObjectNN fine-tuning').

Layout (``data_root`` is either the folder holding ``main_split/`` or its parent holding
``h5_files/main_split/``: TAP's configs and README disagree on this)::

    main_split/training_objectdataset_augmentedrot_scale75.h5   PB_T50_RS (variant pb_t50_rs)
    main_split/test_objectdataset_augmentedrot_scale75.h5
    main_split/{training,test}_objectdataset.h5                   OBJ_BG    (variant obj_bg)
    main_split_nobg/{training,test}_objectdataset.h5              OBJ_ONLY  (variant obj_only)

Each h5 holds ``data`` (N, 2048, 3) float32 and ``label`` (N,) int ((N, 1) accepted).

Test-time sampling as TAP: the test clouds are reduced once by furthest point sampling
(start index 0, exact) to ``test_fps_points`` and cached next to the h5 as
``test_objectdataset_augmentedrot_scale75_1024_fps_crosspt.npz`` (``points`` (N, 1024, 3)
float32 plus a record of the h5's size and mtime; see ``cached_arrays`` in
``object_datasets.py``); the pipeline then takes the first 1024.  TAP's own pickle cache
``..._1024_fps.pkl`` is never read (a pickle can run code) nor touched.
"""
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from crosspt.fileio.object_classes import (SCANOBJECTNN_CLASSES, SCANOBJECTNN_VARIANTS,
                                           scanobjectnn_h5_name)
from crosspt.ops import furthest_point_sample_numpy
from crosspt.registry import DATASETS

from .object_datasets import (BaseObjectDataset, cache_location, cached_arrays, log,
                              read_h5_cloud_file, source_fingerprint)

#: openpoints/TAP mode names accepted as aliases
VARIANT_ALIASES = {'hardest': 'pb_t50_rs', 'objectbg': 'obj_bg', 'objectonly': 'obj_only'}
ROOT_CANDIDATES = ('', 'h5_files')


def fps_subsample_clouds(data: np.ndarray, num_points: int) -> np.ndarray:
    """Exact FPS (``furthest_point_sample_numpy``: start index 0, lowest index on ties) of
    every cloud: (N, P, 3) -> (N, num_points, 3) float32."""
    out = np.empty((len(data), num_points, 3), dtype=np.float32)
    for i, cloud in enumerate(data):
        out[i] = cloud[furthest_point_sample_numpy(cloud, num_points)]
    return out


@DATASETS.register_module()
class ScanObjectNNDataset(BaseObjectDataset):
    """ScanObjectNN object classification (15 classes) from the h5 release.

    Data info: ``{'cloud': (P, 3) float32, 'label': int, 'sample_idx': int,
    'source': '<h5 path>[row <i>]', 'h5_path': str, 'row': int}``; with the test FPS
    cache ``cloud`` is the cached (test_fps_points, 3) subsample and ``fps_cache`` names
    the cache file (None when it could only be computed in memory).

    Args:
        data_root: folder with ``main_split/`` (and ``main_split_nobg/``), or its parent
            with ``h5_files/main_split/``; the one used is logged.
        split: ``'train'`` (``training_*.h5``) or ``'test'`` (``test_*.h5``).
        variant: ``'pb_t50_rs'`` (hardest, default), ``'obj_bg'`` or ``'obj_only'``
            (openpoints names ``hardest``/``objectbg``/``objectonly`` are accepted).
        pipeline: transform configs (crosspt TRANSFORMS) or callables.
        test_fps_cache: test split only: replace each cloud by its exact FPS subsample
            of ``test_fps_points`` points (start index 0), computed once and cached.
        test_fps_points: points kept by the test FPS (TAP: 1024).
        cache_dir: where the cache goes when the data folder is read-only (default: next
            to the h5, TAP's place).
        rebuild_stale_cache: rebuild a cache whose build parameters, h5 size/mtime,
            shape or first points do not match (else raise ValueError).
        auto_generate: kwargs of ``crosspt.synthetic.objects.
            generate_synthetic_scanobjectnn``; generates synthetic data in ``data_root``
            on first use (never touches real data).
        **kwargs: ``BaseDataset`` arguments (``test_mode``, ``indices``, ...).
    """

    METAINFO: dict = dict(classes=SCANOBJECTNN_CLASSES, dataset_name='ScanObjectNN')
    GENERATOR = 'generate_synthetic_scanobjectnn'
    CREATE_COMMAND = 'synthetic-scanobjectnn'
    DATA_HELP = ('Get ScanObjectNN h5_files from the ScanObjectNN authors (download form on '
                 'the project page) and point data_root at the folder holding main_split/.')

    def __init__(self, data_root: str, split: str = 'train', variant: str = 'pb_t50_rs',
                 pipeline: Sequence[Union[dict, Callable]] = (), test_fps_cache: bool = False,
                 test_fps_points: int = 1024, cache_dir: Optional[str] = None,
                 rebuild_stale_cache: bool = True, auto_generate: Optional[dict] = None,
                 **kwargs) -> None:
        variant = VARIANT_ALIASES.get(variant, variant)
        if variant not in SCANOBJECTNN_VARIANTS:
            raise ValueError(f'ScanObjectNNDataset: variant must be one of '
                             f'{list(SCANOBJECTNN_VARIANTS)} '
                             f'(or {list(VARIANT_ALIASES)}), got {variant!r}')
        if test_fps_cache and split != 'test':
            raise ValueError(f"ScanObjectNNDataset: test_fps_cache=True applies to split='test' "
                             f'only, got split={split!r} (training uses FPSThenRandom)')
        if isinstance(test_fps_points, bool) or not isinstance(test_fps_points, int) \
                or test_fps_points < 1:
            raise ValueError(f'ScanObjectNNDataset: test_fps_points must be a positive int, '
                             f'got {test_fps_points!r}')
        self.variant = variant
        self.test_fps_cache = bool(test_fps_cache)
        self.test_fps_points = test_fps_points
        self.cache_dir = None if cache_dir is None else os.fspath(cache_dir)
        self.rebuild_stale_cache = bool(rebuild_stale_cache)
        self.h5_path: Optional[str] = None
        self.fps_cache_path: Optional[str] = None
        super().__init__(data_root, split=split, pipeline=pipeline,
                         auto_generate=auto_generate, **kwargs)

    def _find_h5(self) -> Tuple[Optional[str], List[str]]:
        folder, name = scanobjectnn_h5_name(self.split, self.variant)
        tried = [os.path.join(self.data_root, sub, folder, name) if sub else
                 os.path.join(self.data_root, folder, name) for sub in ROOT_CANDIDATES]
        for path in tried:
            if os.path.isfile(path):
                return path, tried
        return None, tried

    def _data_present(self) -> bool:
        return self._find_h5()[0] is not None

    def _fps_cache_name(self, suffix: str = '_crosspt.npz') -> str:
        """Cache file name; ``suffix='.pkl'`` gives the pickle name of TAP and older crosspt."""
        stem = os.path.splitext(os.path.basename(self.h5_path))[0]
        return f'{stem}_{self.test_fps_points}_fps{suffix}'

    def _load_fps(self, data: np.ndarray) -> np.ndarray:
        """(N, test_fps_points, 3) FPS subsample of ``data``, from or into the cache."""
        owner = type(self).__name__
        if data.shape[1] < self.test_fps_points:
            raise ValueError(f'{owner}: {self.h5_path} has {data.shape[1]} points per cloud, '
                             f'fewer than test_fps_points={self.test_fps_points}')
        expected = (len(data), self.test_fps_points, 3)

        def validate(arrays: Dict[str, np.ndarray]) -> Optional[str]:
            points = arrays.get('points')
            if points is None or points.shape != expected or points.dtype != np.float32:
                desc = 'nothing' if points is None else f'{points.dtype} {points.shape}'
                return f'holds {desc}, expected float32 points {expected} for {self.h5_path}'
            # FPS starts at index 0, so row i must begin with the h5's first point of row i
            mismatch = np.nonzero(~np.all(points[:, 0] == data[:, 0], axis=1))[0]
            if len(mismatch):
                return (f'row {int(mismatch[0])} does not start with the first point of the '
                        f'h5 cloud (the h5 changed since the cache was written)')
            return None

        def build() -> Dict[str, np.ndarray]:
            return dict(points=fps_subsample_clouds(data, self.test_fps_points))

        folder = os.path.dirname(self.h5_path)
        path = cache_location(folder, self.cache_dir, self._fps_cache_name(), owner)
        self.fps_cache_path = path
        if path is None:
            return build()['points']
        key = dict(params=dict(num_points=self.test_fps_points, fps='exact, start index 0'),
                   sources=source_fingerprint([self.h5_path], folder))
        legacy = sorted({os.path.join(d, self._fps_cache_name('.pkl'))
                         for d in (folder, os.path.dirname(path))})
        return cached_arrays(path, build, key, owner, validate, self.rebuild_stale_cache,
                             legacy)['points']

    def load_data_list(self) -> List[dict]:
        """One data info per h5 row (see the class docstring)."""
        self._maybe_generate()
        if not os.path.isdir(self.data_root):
            raise self.missing(self.data_root, 'data_root does not exist')
        path, tried = self._find_h5()
        if path is None:
            raise self.missing(' or '.join(tried), f'{self.variant} {self.split} h5 not found')
        self.h5_path = path
        layout = 'data_root/h5_files/' if tried.index(path) else 'data_root/'
        log(f'ScanObjectNNDataset: reading {path} (layout: {layout}'
            f'{os.path.basename(os.path.dirname(path))}/)')
        data, labels, _ = read_h5_cloud_file(path, len(SCANOBJECTNN_CLASSES),
                                             type(self).__name__)
        if self.test_fps_cache:
            data = self._load_fps(data)
        data_list = []
        for row in range(len(data)):
            info = dict(cloud=data[row], label=int(labels[row]), sample_idx=row,
                        source=f'{path}[row {row}]', h5_path=path, row=row)
            if self.test_fps_cache:
                info['fps_cache'] = self.fps_cache_path
            data_list.append(info)
        return data_list
