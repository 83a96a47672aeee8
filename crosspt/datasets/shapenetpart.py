"""ShapeNetPart (16 categories, 50 parts) in the ``_normal`` release
(docs/methods/benchmarks.md, 'ShapeNetPart').

Layout (``data_root`` is the folder itself or its parent)::

    shapenetcore_partanno_segmentation_benchmark_v0_normal/
        synsetoffset2category.txt                       "Airplane\t02691156" per line
        <synset>/<model_id>.txt                          rows "x y z nx ny nz part" (part =
                                                         float-formatted global id 0..49)
        train_test_split/shuffled_{train,val,test}_file_list.json
                                                         ["shape_data/<synset>/<model_id>", ...]

The category index is the position of the category in
``crosspt.evaluation.part_seg_metric.SHAPENETPART_PARTS`` (alphabetical), whatever the
line order of ``synsetoffset2category.txt``.
"""
import json
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from crosspt.fileio.object_classes import SHAPENETPART_PARTS
from crosspt.ops import furthest_point_sample_numpy
from crosspt.registry import DATASETS

from .object_datasets import (BaseObjectDataset, cache_location, cached_arrays,
                              find_data_dir, log, source_fingerprint)

SHAPENETPART_DIR = 'shapenetcore_partanno_segmentation_benchmark_v0_normal'
CATEGORY_FILE = 'synsetoffset2category.txt'
SPLIT_FILES = {'train': ['train'], 'val': ['val'], 'test': ['test'],
               'trainval': ['train', 'val']}
CATEGORIES: Tuple[str, ...] = tuple(SHAPENETPART_PARTS)


def read_shapenetpart_txt(path: str, parts: Sequence[int], owner: str
                          ) -> Tuple[np.ndarray, np.ndarray]:
    """One shape file -> ((R, 6) float32 xyz+normals, (R,) int64 part ids), checking that
    every part id is one of ``parts`` (errors name the file and row)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{owner}: shape file not found: {path}')
    try:
        rows = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise ValueError(f'{owner}: cannot parse {path} as space-separated '
                         f'"x y z nx ny nz part" rows: {exc}') from exc
    if rows.shape[1] != 7 or len(rows) == 0:
        raise ValueError(f'{owner}: {path} must hold rows of 7 values x y z nx ny nz part, '
                         f'got shape {rows.shape}')
    bad = ~np.isfinite(rows).all(axis=1)
    if bad.any():
        raise ValueError(f'{owner}: {path}: row {int(np.argmax(bad))} contains NaN or inf')
    labels = rows[:, 6]
    bad = (labels != np.round(labels)) | ~np.isin(np.round(labels), list(parts))
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f'{owner}: {path}: row {row} has part label {float(labels[row])}, outside '
                         f"its category's parts {min(parts)}..{max(parts)}")
    return rows[:, :6].astype(np.float32), np.round(labels).astype(np.int64)


def fps_or_repeat(points: np.ndarray, num: int) -> np.ndarray:
    """Exact FPS indices (start 0) of ``num`` points; a cloud with fewer points keeps all
    of them in FPS order and repeats that order cyclically up to ``num``."""
    idx = furthest_point_sample_numpy(points, min(num, len(points)))
    return np.resize(idx, num)


@DATASETS.register_module()
class ShapeNetPartDataset(BaseObjectDataset):
    """ShapeNetPart part segmentation.

    Data info: ``{'sample_idx': int, 'source': <txt path>, 'category': int (index into
    SHAPENETPART_PARTS), 'category_name': str, 'synset': str, 'model_id': str}``;
    :meth:`get_data_info` adds ``'cloud'`` ((R, 6) xyz+normals, or (R, 3) with
    ``use_normals=False``) and ``'part_labels'`` ((R,) int64 global part ids), read lazily
    from the file and checked to lie within the category's parts.

    Args:
        data_root: folder holding ``shapenetcore_partanno_segmentation_benchmark_v0_normal``
            or that folder.
        split: ``'trainval'`` (train + val lists; TAP's training split), ``'train'``,
            ``'val'`` or ``'test'``.
        pipeline: transform configs or callables.
        use_normals: keep the normals columns.
        test_fps_cache: test split only: presample every shape once with exact FPS to
            ``test_fps_points`` (openpoints' processed test set) and cache it as
            ``processed/test_<n>_fps_crosspt.npz`` (or in ``cache_dir``): ``points``
            (S, n, 6) float32, ``labels`` (S, n) int64 and every shape file's size and
            mtime (``cached_arrays`` in ``object_datasets.py``; the ``.pkl`` cache of
            older crosspt versions is ignored and left alone).
        test_fps_points: points per presampled test shape (2048).
        cache_dir: cache folder when the data folder is read-only.
        rebuild_stale_cache: rebuild a cache whose file list / sizes / mtimes do not match
            (else raise ValueError).
        auto_generate: kwargs of ``generate_synthetic_shapenetpart``.
    """

    METAINFO: dict = dict(classes=CATEGORIES, dataset_name='ShapeNetPart',
                          parts=dict(SHAPENETPART_PARTS))
    GENERATOR = 'generate_synthetic_shapenetpart'
    CREATE_COMMAND = 'synthetic-shapenetpart'
    DATA_HELP = ('Get shapenetcore_partanno_segmentation_benchmark_v0_normal.zip (the '
                 'PointNet++ release) and unpack it under data_root.')
    SPLITS = tuple(SPLIT_FILES)

    def __init__(self, data_root: str, split: str = 'trainval',
                 pipeline: Sequence[Union[dict, Callable]] = (), use_normals: bool = True,
                 test_fps_cache: bool = False, test_fps_points: int = 2048,
                 cache_dir: Optional[str] = None, rebuild_stale_cache: bool = True,
                 auto_generate: Optional[dict] = None, **kwargs) -> None:
        if test_fps_cache and split != 'test':
            raise ValueError(f"ShapeNetPartDataset: test_fps_cache=True applies to split='test' "
                             f'only, got split={split!r}')
        if isinstance(test_fps_points, bool) or not isinstance(test_fps_points, int) \
                or test_fps_points < 1:
            raise ValueError(f'ShapeNetPartDataset: test_fps_points must be a positive int, '
                             f'got {test_fps_points!r}')
        self.use_normals = bool(use_normals)
        self.test_fps_cache = bool(test_fps_cache)
        self.test_fps_points = test_fps_points
        self.cache_dir = None if cache_dir is None else os.fspath(cache_dir)
        self.rebuild_stale_cache = bool(rebuild_stale_cache)
        self.folder: Optional[str] = None
        self.fps_cache_path: Optional[str] = None
        super().__init__(data_root, split=split, pipeline=pipeline,
                         auto_generate=auto_generate, **kwargs)

    def _data_present(self) -> bool:
        folder = find_data_dir(self.data_root, CATEGORY_FILE, (SHAPENETPART_DIR, ''))
        return folder is not None and all(
            os.path.isfile(self._split_file(folder, s)) for s in SPLIT_FILES[self.split])

    @staticmethod
    def _split_file(folder: str, name: str) -> str:
        return os.path.join(folder, 'train_test_split', f'shuffled_{name}_file_list.json')

    def _read_synsets(self, folder: str) -> Dict[str, str]:
        """synset -> category name, checked against SHAPENETPART_PARTS."""
        path = os.path.join(folder, CATEGORY_FILE)
        synsets: Dict[str, str] = {}
        with open(path) as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                fields = line.split()
                if len(fields) != 2 or fields[0] not in SHAPENETPART_PARTS:
                    raise ValueError(f'{type(self).__name__}: {path}: line {line_no} {line!r} '
                                     f'must be "<Category> <synset>" with a category of '
                                     f'{list(CATEGORIES)}')
                synsets[fields[1]] = fields[0]
        return synsets

    def _read_split(self, folder: str, synsets: Dict[str, str]) -> List[dict]:
        owner, infos = type(self).__name__, []
        for name in SPLIT_FILES[self.split]:
            path = self._split_file(folder, name)
            if not os.path.isfile(path):
                raise self.missing(path, 'split file not found')
            try:
                with open(path) as f:
                    entries = json.load(f)
            except ValueError as exc:
                raise ValueError(f'{owner}: {path} is not valid JSON: {exc}') from exc
            if not isinstance(entries, list):
                raise ValueError(f'{owner}: {path} must hold a JSON list of strings')
            for i, entry in enumerate(entries):
                fields = entry.split('/') if isinstance(entry, str) else []
                if len(fields) != 3 or fields[0] != 'shape_data' or fields[1] not in synsets:
                    raise ValueError(f'{owner}: {path}: entry {i} {entry!r} must be '
                                     f'"shape_data/<synset>/<model_id>" with a synset of '
                                     f'{CATEGORY_FILE}')
                synset, model_id = fields[1], fields[2]
                txt = os.path.join(folder, synset, f'{model_id}.txt')
                if not os.path.isfile(txt):
                    raise self.missing(txt, f'shape file listed in {path} does not exist')
                category = synsets[synset]
                infos.append(dict(sample_idx=len(infos), source=txt,
                                  category=CATEGORIES.index(category), category_name=category,
                                  synset=synset, model_id=model_id))
        return infos

    def _read_shape(self, info: dict) -> Tuple[np.ndarray, np.ndarray]:
        return read_shapenetpart_txt(info['source'], SHAPENETPART_PARTS[info['category_name']],
                                     type(self).__name__)

    def _build_cache(self, infos: List[dict]) -> Dict[str, np.ndarray]:
        """``points`` (S, n, 6) float32 and ``labels`` (S, n) int64 of the FPS subsamples."""
        n = self.test_fps_points
        points = np.empty((len(infos), n, 6), dtype=np.float32)
        labels = np.empty((len(infos), n), dtype=np.int64)
        for i, info in enumerate(infos):
            cloud, parts = self._read_shape(info)
            idx = fps_or_repeat(cloud[:, :3], n)
            points[i], labels[i] = cloud[idx], parts[idx]
        return dict(points=points, labels=labels)

    def _apply_cache(self, infos: List[dict]) -> None:
        owner, n = type(self).__name__, self.test_fps_points

        def validate(arrays: Dict[str, np.ndarray]) -> Optional[str]:
            points, labels = arrays.get('points'), arrays.get('labels')
            if points is None or labels is None or points.shape != (len(infos), n, 6) \
                    or labels.shape != (len(infos), n):
                return f'expected points ({len(infos)}, {n}, 6) and labels ({len(infos)}, {n})'
            return None

        name = f'test_{n}_fps_crosspt'
        processed = os.path.join(self.folder, 'processed')
        if self.cache_dir is None and os.access(self.folder, os.W_OK):
            os.makedirs(processed, exist_ok=True)
        path = cache_location(processed, self.cache_dir, f'{name}.npz', owner)
        self.fps_cache_path = path
        if path is None:
            cache = self._build_cache(infos)
        else:
            key = dict(params=dict(num_points=n, fps='exact, start index 0, cyclic repeat'),
                       sources=source_fingerprint([i['source'] for i in infos], self.folder))
            legacy = [os.path.join(os.path.dirname(path), f'{name}.pkl')]
            cache = cached_arrays(path, lambda: self._build_cache(infos), key, owner,
                                  validate, self.rebuild_stale_cache, legacy)
        for info, pts, parts in zip(infos, cache['points'], cache['labels']):
            info['cloud'] = pts if self.use_normals else np.ascontiguousarray(pts[:, :3])
            info['part_labels'] = parts

    def load_data_list(self) -> List[dict]:
        self._maybe_generate()
        if not os.path.isdir(self.data_root):
            raise self.missing(self.data_root, 'data_root does not exist')
        folder = find_data_dir(self.data_root, CATEGORY_FILE, (SHAPENETPART_DIR, ''))
        if folder is None:
            raise self.missing(os.path.join(self.data_root, SHAPENETPART_DIR, CATEGORY_FILE),
                               'category file not found')
        self.folder = folder
        log(f'ShapeNetPartDataset: reading {folder}')
        infos = self._read_split(folder, self._read_synsets(folder))
        if self.test_fps_cache:
            self._apply_cache(infos)
        return infos

    def get_data_info(self, idx: int) -> dict:
        """The data info of sample ``idx`` with ``cloud`` and ``part_labels`` read."""
        info = super().get_data_info(idx)
        if 'cloud' not in info:
            cloud, parts = self._read_shape(info)
            info['cloud'] = cloud if self.use_normals else np.ascontiguousarray(cloud[:, :3])
            info['part_labels'] = parts
        return info
