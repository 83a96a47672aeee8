"""ModelNet40 in its two public forms (downstream.md §3.1).

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
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from crosspt.ops import furthest_point_sample_numpy
from crosspt.registry import DATASETS

from .object_datasets import (BaseObjectDataset, cache_location, cached_pickle,
                              find_data_dir, log, read_h5_cloud_file, read_name_list)

#: the standard alphabetical ModelNet40 class list, index = label id
MODELNET40_CLASSES: Tuple[str, ...] = (
    'airplane', 'bathtub', 'bed', 'bench', 'bookshelf', 'bottle', 'bowl', 'car', 'chair',
    'cone', 'cup', 'curtain', 'desk', 'door', 'dresser', 'flower_pot', 'glass_box', 'guitar',
    'keyboard', 'lamp', 'laptop', 'mantel', 'monitor', 'night_stand', 'person', 'piano',
    'plant', 'radio', 'range_hood', 'sink', 'sofa', 'stairs', 'stool', 'table', 'tent',
    'toilet', 'tv_stand', 'vase', 'wardrobe', 'xbox')
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
    points, and the result is cached like Point-BERT as
    ``modelnet40_{split}_{n}pts_fps.dat`` = pickle ``[list of (n, 6) float32, list of (1,)
    int32 labels]``.  This is slow on CPU for n = 8192 (about 12k shapes).

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
        rebuild_stale_cache: rebuild a cache whose length/shape/labels do not match.
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

    def _build_cache(self, infos: List[dict]) -> list:
        owner, n = type(self).__name__, self.fps_cache_points
        points, labels = [], []
        for info in infos:
            cloud = read_modelnet_txt(info['source'], owner)
            if len(cloud) < n:
                raise ValueError(f'{owner}: {info["source"]} has {len(cloud)} rows, fewer than '
                                 f'fps_cache_points={n}')
            points.append(cloud[furthest_point_sample_numpy(cloud[:, :3], n)])
            labels.append(np.array([info['label']], dtype=np.int32))
        return [points, labels]

    def _apply_cache(self, infos: List[dict]) -> None:
        owner, n = type(self).__name__, self.fps_cache_points
        expected = [info['label'] for info in infos]

        def validate(obj: object) -> Optional[str]:
            if not (isinstance(obj, (list, tuple)) and len(obj) == 2 and
                    len(obj[0]) == len(infos) and len(obj[1]) == len(infos)):
                return f'expected [points, labels] lists of {len(infos)} entries'
            for i, (pts, lab) in enumerate(zip(*obj)):
                if np.shape(pts) != (n, 6):
                    return f'entry {i} has shape {np.shape(pts)}, expected ({n}, 6)'
                if int(np.asarray(lab).reshape(-1)[0]) != expected[i]:
                    return f'entry {i} has label {lab}, the split file says {expected[i]}'
            return None

        name = f'modelnet40_{self.split}_{n}pts_fps.dat'
        path = cache_location(self.folder, self.cache_dir, name, owner)
        self.fps_cache_path = path
        cache = self._build_cache(infos) if path is None else cached_pickle(
            path, lambda: self._build_cache(infos), validate, owner, self.rebuild_stale_cache)
        for info, pts in zip(infos, cache[0]):
            info['cloud'] = np.asarray(pts, dtype=np.float32)[:, :6 if self.use_normals else 3]

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
