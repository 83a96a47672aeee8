"""ModelNet40 in its two public forms (docs/methods/benchmarks.md, 'ModelNet40').

``ModelNet40H5Dataset`` (PointNet/DGCNN/PointMLP)::

    modelnet40_ply_hdf5_2048/ply_data_{train,test}<k>.h5   data (N, 2048, 3), label (N, 1)
    modelnet40_ply_hdf5_2048/{train,test}_files.txt        optional index of the h5 files
    modelnet40_ply_hdf5_2048/shape_names.txt               optional, 40 names (line = id)

``ModelNet40NormalDataset`` (PointNet++/Point-BERT)::

    modelnet40_normal_resampled/modelnet40_shape_names.txt   40 names (line = id)
    modelnet40_normal_resampled/modelnet40_{train,test}.txt  ids like airplane_0001
    modelnet40_normal_resampled/<class>/<id>.txt             rows x,y,z,nx,ny,nz (10,000)

``data_root`` may be the folder itself or its parent; the one used is logged.
"""
import os
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from crosspt.fileio.object_classes import MODELNET40_CLASSES
from crosspt.fileio.safe_pickle import restricted_pickle_load
from crosspt.ops import furthest_point_sample_numpy
from crosspt.registry import DATASETS

from .object_datasets import (BaseObjectDataset, cache_location, cached_arrays,
                              find_data_dir, log, read_h5_cloud_file, read_name_list,
                              source_fingerprint)

H5_DIR = 'modelnet40_ply_hdf5_2048'
NORMAL_DIR = 'modelnet40_normal_resampled'
NORMAL_NAMES = 'modelnet40_shape_names.txt'


def read_modelnet_txt(path: str, owner: str) -> np.ndarray:
    """One ``modelnet40_normal_resampled`` file -> (R, 6) float32 (errors name the file)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{owner}: point file not found: {path}')
    try:
        cloud = np.loadtxt(path, delimiter=',', dtype=np.float32, ndmin=2)
    except ValueError as exc:
        raise ValueError(f'{owner}: cannot parse {path} as comma-separated x,y,z,nx,ny,nz '
                         f'rows: {exc}') from exc
    if cloud.ndim != 2 or cloud.shape[1] != 6 or len(cloud) == 0:
        raise ValueError(f'{owner}: {path} must hold rows of 6 values x,y,z,nx,ny,nz, got '
                         f'shape {cloud.shape}')
    bad = ~np.isfinite(cloud).all(axis=1)
    if bad.any():
        raise ValueError(f'{owner}: {path}: row {int(np.argmax(bad))} contains NaN or inf')
    return cloud


@DATASETS.register_module()
class ModelNet40H5Dataset(BaseObjectDataset):
    """ModelNet40 classification from the 2048-point h5 files.

    Files are read in sorted order, or in the order of ``{split}_files.txt`` when that
    index exists (its lines are matched by base name inside the h5 folder).  Class names
    come from ``shape_names.txt`` when present, else :data:`MODELNET40_CLASSES`.

    Data info: ``{'cloud': (2048, 3) float32, 'label': int, 'sample_idx': int,
    'source': '<h5>[row <i>]', 'h5_path': str, 'row': int}``.

    Args:
        data_root: folder holding ``modelnet40_ply_hdf5_2048/``, or that folder.
        split: ``'train'`` or ``'test'``.
        pipeline: transform configs or callables.
        auto_generate: kwargs of ``generate_synthetic_modelnet40`` (see
            :class:`crosspt.datasets.ScanObjectNNDataset`).
    """

    METAINFO: dict = dict(classes=MODELNET40_CLASSES, dataset_name='ModelNet40 (h5, 2048)')
    GENERATOR = 'generate_synthetic_modelnet40'
    CREATE_COMMAND = 'synthetic-modelnet40'
    DATA_HELP = ("Get PointNet's modelnet40_ply_hdf5_2048.zip and unpack it under data_root.")

    def __init__(self, data_root: str, split: str = 'train',
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 auto_generate: Optional[dict] = None, **kwargs) -> None:
        self.h5_files: List[str] = []
        super().__init__(data_root, split=split, pipeline=pipeline,
                         auto_generate=auto_generate, **kwargs)

    def _folder(self) -> Optional[str]:
        for folder in (os.path.join(self.data_root, H5_DIR), self.data_root):
            if os.path.isdir(folder) and any(
                    n.startswith(f'ply_data_{self.split}') and n.endswith('.h5')
                    for n in os.listdir(folder)):
                return folder
        return None

    def _data_present(self) -> bool:
        return os.path.isdir(self.data_root) and self._folder() is not None

    def _list_files(self, folder: str) -> List[str]:
        index = os.path.join(folder, f'{self.split}_files.txt')
        if os.path.isfile(index):
            paths = [os.path.join(folder, os.path.basename(line))
                     for line in read_name_list(index, type(self).__name__)]
            for path in paths:
                if not os.path.isfile(path):
                    raise self.missing(path, f'h5 file listed in {index} does not exist')
            return paths
        return sorted(os.path.join(folder, n) for n in os.listdir(folder)
                      if n.startswith(f'ply_data_{self.split}') and n.endswith('.h5'))

    def load_data_list(self) -> List[dict]:
        self._maybe_generate()
        if not os.path.isdir(self.data_root):
            raise self.missing(self.data_root, 'data_root does not exist')
        folder = self._folder()
        if folder is None:
            raise self.missing(os.path.join(self.data_root, H5_DIR, f'ply_data_{self.split}*.h5'),
                               'no h5 file of this split')
        log(f'ModelNet40H5Dataset: reading {folder}')
        names_path = os.path.join(folder, 'shape_names.txt')
        classes = (read_name_list(names_path, type(self).__name__)
                   if os.path.isfile(names_path) else list(MODELNET40_CLASSES))
        self.set_classes(classes)
        self.h5_files = self._list_files(folder)
        data_list: List[dict] = []
        for path in self.h5_files:
            data, labels, _ = read_h5_cloud_file(path, len(classes), type(self).__name__)
            for row in range(len(data)):
                data_list.append(dict(cloud=data[row], label=int(labels[row]),
                                      sample_idx=len(data_list), source=f'{path}[row {row}]',
                                      h5_path=path, row=row))
        return data_list


@DATASETS.register_module()
class ModelNet40NormalDataset(BaseObjectDataset):
    """ModelNet40 classification from ``modelnet40_normal_resampled`` text files.

    Files are read lazily, one per sample (the constructor only lists the ids and checks
    the files exist).  With ``fps_cache_points`` every file is read once at start-up and
    reduced by exact FPS (start index 0; Point-BERT starts at a random point) to that many
    points, and the result is cached as ``modelnet40_{split}_{n}pts_fps_crosspt.npz``
    (``points`` (S, n, 6) float32, ``labels`` (S,) int64 and a record of every source
    file's size and mtime; see ``cached_arrays`` in ``object_datasets.py``).  This is slow
    on CPU for n = 8192 (about 12k shapes).

    Point-BERT's own presampled file ``modelnet40_{split}_{n}pts_fps.dat`` (a pickle
    ``[list of (n, 6) float32, list of (1,) int32 labels]``, its format's choice) is used
    instead when there is no crosspt cache and it matches the split (length, shapes,
    labels); it is read with :class:`crosspt.fileio.safe_pickle.RestrictedUnpickler`, which
    refuses (ValueError naming the file and the global) a pickle that names anything but
    numpy arrays and plain containers.  crosspt never writes or deletes that file.

    Data info: ``{'label': int, 'sample_idx': int, 'source': <txt path>, 'shape_id':
    'airplane_0001'}`` plus ``'cloud'`` ((R, 6) or (R, 3) float32 without normals), which
    :meth:`get_data_info` adds when it reads the file (or takes it from the cache).

    Args:
        data_root: folder holding ``modelnet40_normal_resampled/``, or that folder.
        split: ``'train'`` or ``'test'``.
        pipeline: transform configs or callables.
        use_normals: keep the normals (cloud (R, 6)); else only xyz.
        fps_cache_points: None (read files lazily) or the FPS size of the cache (8192).
        cache_dir: cache folder when the data folder is read-only.
        rebuild_stale_cache: rebuild a cache whose build parameters, source files (size,
            mtime), shapes or labels do not match (else raise ValueError).
        auto_generate: kwargs of ``generate_synthetic_modelnet40``.
    """

    METAINFO: dict = dict(classes=MODELNET40_CLASSES, dataset_name='ModelNet40 (normal)')
    GENERATOR = 'generate_synthetic_modelnet40'
    CREATE_COMMAND = 'synthetic-modelnet40'
    DATA_HELP = ('Get modelnet40_normal_resampled.zip (PointNet++ / Point-BERT) and unpack it '
                 'under data_root.')

    def __init__(self, data_root: str, split: str = 'train',
                 pipeline: Sequence[Union[dict, Callable]] = (), use_normals: bool = False,
                 fps_cache_points: Optional[int] = None, cache_dir: Optional[str] = None,
                 rebuild_stale_cache: bool = True, auto_generate: Optional[dict] = None,
                 **kwargs) -> None:
        if fps_cache_points is not None and (isinstance(fps_cache_points, bool) or not
                                             isinstance(fps_cache_points, int) or
                                             fps_cache_points < 1):
            raise ValueError(f'ModelNet40NormalDataset: fps_cache_points must be None or a '
                             f'positive int, got {fps_cache_points!r}')
        self.use_normals = bool(use_normals)
        self.fps_cache_points = fps_cache_points
        self.cache_dir = None if cache_dir is None else os.fspath(cache_dir)
        self.rebuild_stale_cache = bool(rebuild_stale_cache)
        self.folder: Optional[str] = None
        self.fps_cache_path: Optional[str] = None
        super().__init__(data_root, split=split, pipeline=pipeline,
                         auto_generate=auto_generate, **kwargs)

    def _data_present(self) -> bool:
        folder = find_data_dir(self.data_root, NORMAL_NAMES, (NORMAL_DIR, ''))
        return folder is not None and \
            os.path.isfile(os.path.join(folder, f'modelnet40_{self.split}.txt'))

    def _build_cache(self, infos: List[dict]) -> Dict[str, np.ndarray]:
        """``points`` (S, n, 6) float32 exact-FPS subsamples and ``labels`` (S,) int64."""
        owner, n = type(self).__name__, self.fps_cache_points
        points = np.empty((len(infos), n, 6), dtype=np.float32)
        for i, info in enumerate(infos):
            cloud = read_modelnet_txt(info['source'], owner)
            if len(cloud) < n:
                raise ValueError(f'{owner}: {info["source"]} has {len(cloud)} rows, fewer than '
                                 f'fps_cache_points={n}')
            points[i] = cloud[furthest_point_sample_numpy(cloud[:, :3], n)]
        return dict(points=points, labels=np.array([i['label'] for i in infos], np.int64))

    def _check_dat(self, obj: object, infos: List[dict]) -> Optional[str]:
        """Why a Point-BERT ``.dat`` object does not fit ``infos`` (None: it fits)."""
        n = self.fps_cache_points
        if not (isinstance(obj, (list, tuple)) and len(obj) == 2 and
                all(isinstance(x, (list, tuple)) and len(x) == len(infos) for x in obj)):
            return f'expected [points, labels] lists of {len(infos)} entries'
        for i, (pts, lab) in enumerate(zip(*obj)):
            if not isinstance(pts, np.ndarray) or pts.shape != (n, 6) or pts.dtype.kind != 'f':
                return f'entry {i} is not a ({n}, 6) float array'
            label = np.asarray(lab).reshape(-1)
            if label.size != 1 or label.dtype.kind not in 'iu' or \
                    int(label[0]) != infos[i]['label']:
                return f'entry {i} has label {lab!r}, the split file says {infos[i]["label"]}'
        return None

    def _read_pointbert_dat(self, folders: Sequence[str], infos: List[dict]
                            ) -> Optional[np.ndarray]:
        """(S, n, 6) float32 points of the first fitting Point-BERT ``.dat`` in ``folders``
        (its path becomes ``fps_cache_path``), else None.  A pickle naming code raises
        UnsafePickleError (file + global named)."""
        owner = type(self).__name__
        name = f'modelnet40_{self.split}_{self.fps_cache_points}pts_fps.dat'
        for path in dict.fromkeys(os.path.join(folder, name) for folder in folders):
            if not os.path.isfile(path):
                continue
            try:
                obj = restricted_pickle_load(path)
            except ValueError as exc:  # corrupt; UnsafePickleError is not a ValueError
                log(f'{owner}: ignoring {path} (left alone): {exc}')
                continue
            reason = self._check_dat(obj, infos)
            if reason is None:
                log(f'{owner}: using the presampled file {path} (Point-BERT format)')
                self.fps_cache_path = path
                return np.stack(obj[0]).astype(np.float32, copy=False)
            log(f'{owner}: ignoring {path} (left alone): it does not match the '
                f'{self.split} split: {reason}')
        return None

    def _apply_cache(self, infos: List[dict]) -> None:
        owner, n = type(self).__name__, self.fps_cache_points
        expected = np.array([info['label'] for info in infos], np.int64)

        def validate(arrays: Dict[str, np.ndarray]) -> Optional[str]:
            points, labels = arrays.get('points'), arrays.get('labels')
            if points is None or labels is None or points.shape != (len(infos), n, 6) \
                    or labels.shape != expected.shape:
                return f'expected points ({len(infos)}, {n}, 6) and labels ({len(infos)},)'
            if (labels != expected).any():
                i = int(np.argmax(labels != expected))
                return f'entry {i} has label {labels[i]}, the split file says {expected[i]}'
            return None

        name = f'modelnet40_{self.split}_{n}pts_fps_crosspt.npz'
        path = cache_location(self.folder, self.cache_dir, name, owner)
        self.fps_cache_path = path
        points = None
        if path is None or not os.path.isfile(path):
            folders = [self.folder] + ([os.path.dirname(path)] if path else [])
            points = self._read_pointbert_dat(folders, infos)
        if points is None and path is None:
            points = self._build_cache(infos)['points']
        elif points is None:
            key = dict(params=dict(num_points=n, fps='exact, start index 0'),
                       sources=source_fingerprint([i['source'] for i in infos], self.folder))
            points = cached_arrays(path, lambda: self._build_cache(infos), key, owner,
                                   validate, self.rebuild_stale_cache)['points']
        for info, pts in zip(infos, points):
            info['cloud'] = np.ascontiguousarray(pts[:, :6 if self.use_normals else 3],
                                                 dtype=np.float32)

    def load_data_list(self) -> List[dict]:
        self._maybe_generate()
        owner = type(self).__name__
        if not os.path.isdir(self.data_root):
            raise self.missing(self.data_root, 'data_root does not exist')
        folder = find_data_dir(self.data_root, NORMAL_NAMES, (NORMAL_DIR, ''))
        if folder is None:
            raise self.missing(os.path.join(self.data_root, NORMAL_DIR, NORMAL_NAMES),
                               'class-name file not found')
        self.folder = folder
        log(f'{owner}: reading {folder}')
        classes = read_name_list(os.path.join(folder, NORMAL_NAMES), owner)
        self.set_classes(classes)
        split_file = os.path.join(folder, f'modelnet40_{self.split}.txt')
        if not os.path.isfile(split_file):
            raise self.missing(split_file, 'split file not found')
        class_ids = {name: i for i, name in enumerate(classes)}
        infos: List[dict] = []
        for line_no, shape_id in enumerate(read_name_list(split_file, owner), 1):
            name = shape_id.rsplit('_', 1)[0]
            if '_' not in shape_id or not shape_id.rsplit('_', 1)[1].isdigit() \
                    or name not in class_ids:
                raise ValueError(f'{owner}: {split_file}: line {line_no} {shape_id!r} is not '
                                 f'<class>_<number> with a class of {NORMAL_NAMES}')
            path = os.path.join(folder, name, f'{shape_id}.txt')
            if not os.path.isfile(path):
                raise self.missing(path, f'point file of {shape_id} (listed in {split_file}) '
                                         f'does not exist')
            infos.append(dict(label=class_ids[name], sample_idx=len(infos), source=path,
                              shape_id=shape_id))
        if self.fps_cache_points is not None:
            self._apply_cache(infos)
        return infos

    def get_data_info(self, idx: int) -> dict:
        """The data info of sample ``idx`` with its ``cloud`` read from the file."""
        info = super().get_data_info(idx)
        if 'cloud' not in info:
            cloud = read_modelnet_txt(info['source'], type(self).__name__)
            info['cloud'] = cloud if self.use_normals else np.ascontiguousarray(cloud[:, :3])
        return info
