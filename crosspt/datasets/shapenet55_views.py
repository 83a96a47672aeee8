"""ShapeNet55 point clouds with the 12 MVCNN views, as used by TAP pre-training
(docs/methods/tap.md, 'Pre-training data').

Layout under ``data_root``::

    pointclouds/{train,val,test}/model_<id>.ply            (1024 points each)
    shapenet55v1/{train,val,test}/model_<id>_<view>.jpg        (<view> = 001..012, 224x224)

TAP derives an image path from the cloud path by replacing ``pointclouds`` with
``shapenet55v1`` and ``.ply`` with ``_{v+1:03d}.jpg``; here the same path is built from
the parts (``data_root``, subset, file stem), so a ``data_root`` that itself contains the
word ``pointclouds`` is not rewritten.

Split quirk kept from TAP: ``split='train'`` reads the ``train`` and ``val`` subsets;
``split='val'`` and ``split='test'`` both read the ``test`` subset, i.e. the pre-training
"validation" (loss monitoring, best checkpoint) runs on the test subset.
"""
import os
from typing import Callable, Dict, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from crosspt.fileio.synthetic_info import SYNTHETIC_INFO, is_synthetic
from crosspt.registry import DATASETS

from .auto_generate import AutoGenerateMixin
from .packing import PackedDataListMixin
from .transforms.builder import build_transforms

SPLIT_SUBSETS: Dict[str, List[str]] = {
    'train': ['train', 'val'],
    'val': ['test'],
    'test': ['test'],
}
POINT_DIR = 'pointclouds'
IMAGE_DIR = 'shapenet55v1'

DATA_HELP = (
    'Get the data either (a) real: the TAP README links the pre-sampled ShapeNet55 point '
    'clouds (pointclouds/{train,val,test}/*.ply) and the MVCNN shapenet55v1 rendered views '
    '(shapenet55v1/{train,val,test}/*_001..012.jpg); unpack both under data_root; or '
    '(b) synthetic stand-in data in the same layout: '
    '`python tools/create_data.py synthetic-shapenet55 --out-dir <data_root>` '
    '(or give the dataset `auto_generate=dict(...)`); or (c) your own meshes: '
    '`python tools/dataset_converters/render_views.py MESH_DIR <data_root> '
    '--val-fraction 0.1 --test-fraction 0.1` (writes train, val and test).')


def view_image_path(data_root: str, subset: str, ply_name: str, view: int) -> str:
    """Path of view ``view`` (0-based) of cloud ``ply_name`` in ``subset``:
    ``{data_root}/shapenet55v1/{subset}/{stem}_{view+1:03d}.jpg``."""
    stem = ply_name[:-len('.ply')] if ply_name.endswith('.ply') else ply_name
    return os.path.join(data_root, IMAGE_DIR, subset, f'{stem}_{view + 1:03d}.jpg')


@DATASETS.register_module()
class ShapeNet55ViewsDataset(PackedDataListMixin, AutoGenerateMixin, BaseDataset):
    """TAP pre-training data: one sample = one ``.ply`` cloud + its 12 view images.

    Each data info is ``{'ply_path': str, 'image_paths': [num_views_total str],
    'sample_idx': int, 'subset': str}``; the pipeline (see
    ``crosspt.datasets.transforms.tap_transforms``) turns it into packed tensors.

    Args:
        data_root: folder holding ``pointclouds/`` and ``shapenet55v1/``.
        split: ``'train'`` (subsets train + val), ``'val'`` or ``'test'`` (subset test).
        pipeline: transform configs or callables; dict entries are built from the
            crosspt TRANSFORMS registry (its parents are searched too).
        num_views_total: rendered views per object (12 in MVCNN).
        test_mode: mmengine ``BaseDataset`` test mode (no re-fetch on ``None``).
        auto_generate: if given, call
            ``crosspt.synthetic.shapenet55.generate_synthetic_shapenet55(data_root,
            **auto_generate)`` (found by its ``FUNCTIONS`` name) before listing files
            when the data is missing or is synthetic data (it then only checks the
            parameters; real data is never touched: a non-empty folder without
            ``synthetic_info.json`` that lacks a subset raises FileNotFoundError naming
            the subset). Rank 0 first, then the other ranks after
            a barrier.
        **kwargs: passed to ``BaseDataset`` (``lazy_init``, ``indices``,
            ``serialize_data``, ``max_refetch``, ``metainfo``, ...).
    Raises:
        FileNotFoundError: missing ``data_root`` / subset folder / view image, or no
            ``.ply`` file; the message names the path and how to get the data.
        ValueError: unknown ``split`` or bad ``num_views_total``.
    """

    METAINFO: dict = dict(dataset_name='ShapeNet55 (TAP views)')
    GENERATOR = 'generate_synthetic_shapenet55'

    def __init__(self, data_root: str, split: str = 'train',
                 pipeline: Sequence[Union[dict, Callable]] = (), num_views_total: int = 12,
                 test_mode: bool = False, auto_generate: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in SPLIT_SUBSETS:
            raise ValueError(f'ShapeNet55ViewsDataset: split must be one of '
                             f'{sorted(SPLIT_SUBSETS)}, got {split!r}')
        if isinstance(num_views_total, bool) or not isinstance(num_views_total, int) \
                or num_views_total < 1:
            raise ValueError(f'ShapeNet55ViewsDataset: num_views_total must be a positive int, '
                             f'got {num_views_total!r}')
        self._init_auto_generate(auto_generate)
        if not data_root:
            raise ValueError('ShapeNet55ViewsDataset: data_root must be a non-empty path')
        self.split = split
        self.subsets = list(SPLIT_SUBSETS[split])
        self.num_views_total = num_views_total
        super().__init__(data_root=os.fspath(data_root), pipeline=build_transforms(pipeline),
                         test_mode=test_mode, **kwargs)

    def _missing_subsets(self) -> List[str]:
        """Subsets of this split without a point folder holding a .ply or an image folder."""
        missing = []
        for subset in self.subsets:
            point_dir = os.path.join(self.data_root, POINT_DIR, subset)
            image_dir = os.path.join(self.data_root, IMAGE_DIR, subset)
            if not (os.path.isdir(point_dir) and os.path.isdir(image_dir)) or \
                    not any(name.endswith('.ply') for name in os.listdir(point_dir)):
                missing.append(subset)
        return missing

    def _data_present(self) -> bool:
        """True when every subset of this split has a non-empty point and image folder."""
        return not self._missing_subsets()

    def _generate(self) -> None:
        self._check_not_real_data()
        super()._generate()

    def _check_not_real_data(self) -> None:
        """A non-empty ``data_root`` without ``synthetic_info.json`` holds real data, which
        ``auto_generate`` never replaces: name the subsets it lacks instead."""
        root = self.data_root
        if not os.path.isdir(root) or not os.listdir(root) or is_synthetic(root):
            return
        missing = self._missing_subsets()
        if not missing:
            return
        wanted = ' and '.join(f'{POINT_DIR}/{s}/*.ply + {IMAGE_DIR}/{s}/' for s in missing)
        raise FileNotFoundError(
            f'ShapeNet55ViewsDataset(split={self.split!r}): no {" / ".join(missing)} subset in '
            f'{root} (split {self.split!r} reads subsets {self.subsets}; expected {wanted}). '
            f'The folder holds real data (no {SYNTHETIC_INFO}), so auto_generate does not touch '
            f'it: write the missing subset with `python tools/dataset_converters/'
            f'render_views.py MESH_DIR {root} --val-fraction 0.1 --test-fraction 0.1` '
            f'(or --split {missing[0]} on other meshes), or point data_root at an empty or '
            f'new folder for synthetic data.')

    def _missing(self, path: str, what: str) -> FileNotFoundError:
        return FileNotFoundError(
            f'ShapeNet55ViewsDataset(split={self.split!r}): {what}: {path}. {DATA_HELP}')

    def load_data_list(self) -> List[dict]:
        """Sorted ``.ply`` files of the split's subsets, each with its view image paths."""
        self._maybe_generate()
        root = self.data_root
        if not os.path.isdir(root):
            raise self._missing(root, 'data_root does not exist')
        data_list: List[dict] = []
        for subset in self.subsets:
            point_dir = os.path.join(root, POINT_DIR, subset)
            if not os.path.isdir(point_dir):
                raise self._missing(point_dir, f'point cloud folder of subset {subset!r} '
                                               f'does not exist')
            image_dir = os.path.join(root, IMAGE_DIR, subset)
            if not os.path.isdir(image_dir):
                raise self._missing(image_dir, f'view image folder of subset {subset!r} '
                                               f'does not exist')
            names = sorted(name for name in os.listdir(point_dir) if name.endswith('.ply'))
            if not names:
                raise self._missing(point_dir, f'no .ply file in subset {subset!r}')
            for name in names:
                image_paths = [view_image_path(root, subset, name, v)
                               for v in range(self.num_views_total)]
                for image_path in image_paths:
                    if not os.path.isfile(image_path):
                        raise self._missing(
                            image_path,
                            f'view image of {os.path.join(point_dir, name)} is missing '
                            f'(every cloud needs all {self.num_views_total} views)')
                data_list.append(dict(ply_path=os.path.join(point_dir, name),
                                      image_paths=image_paths, sample_idx=len(data_list),
                                      subset=subset))
        return data_list

    def __repr__(self) -> str:
        head = (f'{type(self).__name__}(data_root={self.data_root!r}, split={self.split!r}, '
                f'subsets={self.subsets}, num_views_total={self.num_views_total}')
        size = f', num_samples={len(self)}' if self._fully_initialized else ''
        return f'{head}{size})'
