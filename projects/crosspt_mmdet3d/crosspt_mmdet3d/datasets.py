"""Thin subclasses of mmdet3d's ScanNet datasets and a scene-validation transform.

``CrossptScanNetSegDataset`` / ``CrossptScanNetDataset`` read exactly what mmdet3d's
``ScanNetSegDataset`` / ``ScanNetDataset`` read (mmdet3d's ScanNet info format, e.g. the
synthetic scenes of :mod:`crosspt.synthetic.scannet_mmdet3d`) and add only:

- ``auto_generate``: kwargs of ``generate_synthetic_scannet_mmdet3d``; the synthetic data
  is generated once under ``data_root`` (through
  ``crosspt.datasets.auto_generate.AutoGenerateMixin``, which finds the generator by its
  ``FUNCTIONS`` name; lock protected and idempotent) before the infos are loaded. A
  ``data_root`` holding other data (no ``synthetic_info.json``) is never touched.
- ``scene_fraction`` / ``fraction_seed``: the limited-label protocol. A deterministic
  subset of ``max(1, ceil(scene_fraction * S))`` of the S scenes of ``ann_file`` is kept
  (the first k of ``numpy.random.default_rng(fraction_seed).permutation(S)``, so smaller
  fractions give nested subsets). The segmentation dataset keeps exactly the kept scenes'
  entries of ``scene_idxs`` (their repetitions), re-mapped to the shortened scene list.
- clear errors: a training segmentation dataset without ``scene_idxs`` (stock
  ``ScanNetSegDataset`` raises ``NotImplementedError('please provide re-sampled scene
  indexes for training')``, the base ``Seg3DDataset`` would silently use every scene once),
  a ``scene_idxs`` file that does not exist, and ``scene_idxs`` entries outside
  0..S-1 (stock: ``IndexError: list index out of range``, and negative entries silently
  pick scenes from the end of the list).

``scene_idxs='every_scene'`` takes every kept scene once per epoch (whole-scene training,
PointContrast's sparse-conv protocol) instead of mmdet3d's size-resampled indices.

``scene_idxs`` given as a relative path is looked up under ``data_root`` first (stock
behaviour) and then as given: mmdet3d's ``_base_/datasets/scannet-seg.py`` passes
``data_root + 'seg_info/...'``, which the stock class joins with ``data_root`` a second
time (``data/scannet/data/scannet/seg_info/...``) for a relative ``data_root``.

The ``ann_file`` info pickle (mmdet3d's format choice) is read with crosspt's restricted
unpickler (:mod:`crosspt.fileio.safe_pickle`: numpy arrays, scalars and plain containers
only) instead of mmengine's plain ``pickle.load``, so an info file that names any other
global is refused with an error naming the file and the global, and runs no code.

``ValidateScene3D`` (place it right after ``LoadAnnotations3D``) rejects empty scenes,
non-finite point values, per-point masks whose length differs from the point count and
NYU40 ids outside the dataset's ``seg_label_mapping``, naming the files.
"""
import inspect
import json
import math
import os
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmdet3d.datasets import ScanNetDataset, ScanNetSegDataset
from mmdet3d.registry import DATASETS, TRANSFORMS

from crosspt.datasets.auto_generate import AutoGenerateMixin, find_generator
from crosspt.datasets.packing import PackedDataListMixin
from crosspt.fileio.safe_pickle import restricted_pickle_loads

SCENE_IDXS_FILE = 'seg_info/train_resampled_scene_idxs.npy'
#: ``scene_idxs`` value for every (kept) scene once per epoch: whole-scene training
EVERY_SCENE = 'every_scene'
#: scene names listed in the scene_fraction log line
LOG_SCENES = 20

__all__ = ['EVERY_SCENE', 'kept_scene_indices', 'CrossptScanNetSegDataset',
           'CrossptScanNetDataset', 'ValidateScene3D']


def kept_scene_indices(num_scenes: int, scene_fraction: float, fraction_seed: int = 0
                       ) -> List[int]:
    """Sorted indices of the ``max(1, ceil(scene_fraction * num_scenes))`` kept scenes: the
    first ones of ``default_rng(fraction_seed).permutation(num_scenes)``.

    ``ceil`` ignores a rounding excess below 1e-9 (0.3 * 10 keeps 3, not 4)."""
    if isinstance(scene_fraction, bool) or not isinstance(scene_fraction, (int, float)) \
            or not 0 < scene_fraction <= 1:
        raise ValueError(f'scene_fraction must be a number in (0, 1], got {scene_fraction!r}')
    if num_scenes < 1:
        raise ValueError(f'kept_scene_indices: num_scenes must be >= 1, got {num_scenes}')
    count = min(num_scenes, max(1, math.ceil(scene_fraction * num_scenes - 1e-9)))
    order = np.random.default_rng(int(fraction_seed)).permutation(num_scenes)
    return sorted(int(i) for i in order[:count])


def _scene_label(info: dict) -> str:
    """Scene name of a data info (``sample_idx``, else the points file stem)."""
    if 'sample_idx' in info:
        return str(info['sample_idx'])
    path = info.get('lidar_points', {}).get('lidar_path', '?')
    return os.path.splitext(os.path.basename(path))[0]


class _CrossptScanNetMixin(PackedDataListMixin, AutoGenerateMixin):
    """auto_generate + scene_fraction shared by the two datasets (put first in the bases)."""

    GENERATOR = 'generate_synthetic_scannet_mmdet3d'
    #: how to create the data, named by the missing-``ann_file`` error
    CREATE_DATA_HINT = 'tools/create_data.py synthetic-scannet-mmdet3d'

    def _setup_crosspt(self, auto_generate: Optional[dict], scene_fraction: float,
                       fraction_seed: int) -> None:
        owner = type(self).__name__
        if isinstance(scene_fraction, bool) or not isinstance(scene_fraction, (int, float)) \
                or not 0 < scene_fraction <= 1:
            raise ValueError(f'{owner}: scene_fraction must be a number in (0, 1], got '
                             f'{scene_fraction!r}')
        if isinstance(fraction_seed, bool) or not isinstance(fraction_seed, (int, np.integer)):
            raise ValueError(f'{owner}: fraction_seed must be an int, got {fraction_seed!r}')
        self._init_auto_generate(auto_generate)
        if auto_generate is not None:
            accepted = set(inspect.signature(find_generator(self.GENERATOR)).parameters)
            unknown = sorted(set(auto_generate) - (accepted - {'data_root'}))
            if unknown:
                raise ValueError(f'{owner}: auto_generate has unknown keys {unknown}; '
                                 f'{self.GENERATOR} accepts {sorted(accepted - {"data_root"})}')
        self.scene_fraction = float(scene_fraction)
        self.fraction_seed = int(fraction_seed)
        self.kept_scenes: Optional[List[int]] = None
        self.num_all_scenes = 0

    # ------------------------------------------------------------------ generation
    def _data_present(self) -> bool:
        """``data_root`` exists and is not empty (a synthetic one is regenerated when
        needed: the generator checks its parameters and returns at once when they match)."""
        return os.path.isdir(self.data_root) and bool(os.listdir(self.data_root))

    def load_data_list(self) -> List[dict]:
        """Generate (``auto_generate``), load every info, keep the ``scene_fraction``
        subset."""
        owner = type(self).__name__
        if self.auto_generate is not None:
            if not self.data_root:
                raise ValueError(f'{owner}: auto_generate needs data_root (the folder to '
                                 'generate into)')
            self._maybe_generate()
        if not os.path.isfile(self.ann_file) and '://' not in str(self.ann_file):
            raise FileNotFoundError(
                f'{owner}: ann_file {self.ann_file} does not exist (create it with '
                f'{self.CREATE_DATA_HINT}, or set auto_generate=dict())')
        data_list = self._load_info_list()
        self.num_all_scenes = len(data_list)
        if self.scene_fraction >= 1:
            self.kept_scenes = list(range(len(data_list)))
            return data_list
        if not data_list:
            raise ValueError(f'{owner}: scene_fraction {self.scene_fraction} needs scenes, '
                             f'but {self.ann_file} has none')
        self.kept_scenes = kept_scene_indices(len(data_list), self.scene_fraction,
                                              self.fraction_seed)
        kept = [data_list[i] for i in self.kept_scenes]
        names = [_scene_label(info) for info in kept]
        shown = ', '.join(names[:LOG_SCENES]) + (', ...' if len(names) > LOG_SCENES else '')
        print_log(f'{owner}: scene_fraction {self.scene_fraction:g} keeps {len(kept)} of '
                  f'{len(data_list)} scenes: [{shown}] (fraction_seed {self.fraction_seed}, '
                  f'{self.ann_file})', logger='current')
        self._after_scene_fraction(kept)
        return kept

    def _after_scene_fraction(self, kept: List[dict]) -> None:
        """Hook run on the kept data infos."""

    def _read_ann_file(self) -> Any:
        """The content of ``ann_file`` without running code from it: ``.pkl`` / ``.pickle``
        through the restricted unpickler, ``.json`` with json, ``.yaml`` / ``.yml`` with
        ``yaml.safe_load`` (mmengine's own ``load`` would ``pickle.load`` / ``yaml.load``)."""
        from mmengine.fileio import get

        path = os.fspath(self.ann_file)
        data = get(path, backend_args=getattr(self, 'backend_args', None))
        suffix = os.path.splitext(path)[1].lower()
        if suffix in ('.pkl', '.pickle'):
            return restricted_pickle_loads(data, path)
        if suffix == '.json':
            return json.loads(data)
        if suffix in ('.yaml', '.yml'):
            import yaml
            return yaml.safe_load(data)
        raise ValueError(f'{type(self).__name__}: ann_file {path} must end in .pkl, .json or '
                         f'.yaml (mmdet3d info files are .pkl)')

    def _load_info_list(self) -> List[dict]:
        """mmengine ``BaseDataset.load_data_list`` with :meth:`_read_ann_file`: check the
        ``{'metainfo', 'data_list'}`` layout, merge the metainfo, parse every info."""
        owner, annotations = type(self).__name__, self._read_ann_file()
        if not isinstance(annotations, dict) or \
                not {'data_list', 'metainfo'} <= set(annotations) or \
                not isinstance(annotations['metainfo'], dict):
            found = sorted(map(str, annotations)) if isinstance(annotations, dict) else \
                type(annotations).__name__
            raise ValueError(f'{owner}: ann_file {self.ann_file} must hold a dict with the '
                             f"keys 'metainfo' (a dict) and 'data_list' (mmengine/mmdet3d v2 "
                             f'info format), got {found}')
        for key, value in annotations['metainfo'].items():
            self._metainfo.setdefault(key, value)
        data_list: List[dict] = []
        for raw in annotations['data_list']:
            info = self.parse_data_info(raw)
            infos = info if isinstance(info, list) else [info]
            if not all(isinstance(item, dict) for item in infos):
                raise TypeError(f'{owner}: parse_data_info must return a dict or a list of '
                                f'dicts, got {type(info).__name__}')
            data_list.extend(infos)
        return data_list


class _CrossptSegMixin(_CrossptScanNetMixin):
    """``scene_idxs`` handling of the segmentation datasets (module docstring); put first
    in the bases of an mmdet3d ``Seg3DDataset`` subclass."""

    #: where the converter writes the training split's resampled scene indices
    SCENE_IDXS_HINT = SCENE_IDXS_FILE

    def __init__(self, data_root: Optional[str] = None, ann_file: str = '', *,
                 scene_idxs: Optional[Union[str, np.ndarray, Sequence[int]]] = None,
                 test_mode: bool = False, auto_generate: Optional[dict] = None,
                 scene_fraction: float = 1.0, fraction_seed: int = 0, **kwargs) -> None:
        owner = type(self).__name__
        self._setup_crosspt(auto_generate, scene_fraction, fraction_seed)
        if not test_mode and scene_idxs is None:
            expected = os.path.join(data_root or '<data_root>', self.SCENE_IDXS_HINT)
            raise ValueError(
                f'{owner}: training (test_mode=False) needs the scene_idxs key: the resampled '
                f'scene indices, normally scene_idxs={self.SCENE_IDXS_HINT!r} (expected at '
                f'{expected}; written by tools/create_data.py or mmdet3d\'s '
                f'tools/create_data.py), or scene_idxs={EVERY_SCENE!r} for every scene '
                'once per epoch (whole-scene training)')
        super().__init__(data_root=data_root, ann_file=ann_file, scene_idxs=scene_idxs,
                         test_mode=test_mode, **kwargs)

    def _resolve_scene_idxs(self, path: str) -> str:
        """Existing local file for the ``scene_idxs`` path (module docstring)."""
        candidates = [os.path.join(self.data_root, path)] if self.data_root else []
        if path not in candidates:
            candidates.append(path)
        for candidate in candidates:
            if os.path.isfile(candidate):
                return candidate
        raise FileNotFoundError(
            f'{type(self).__name__}: scene_idxs file {path!r} does not exist (looked for '
            f'{" and ".join(candidates)}); the training split needs '
            f'<data_root>/{self.SCENE_IDXS_HINT} ({self.CREATE_DATA_HINT}, or mmdet3d\'s '
            'tools/create_data.py)')

    def get_scene_idxs(self, scene_idxs: Union[None, str, np.ndarray, Sequence[int]]
                       ) -> np.ndarray:
        """Load and check ``scene_idxs`` against the scenes of ``ann_file``, then keep the
        entries of the kept scenes re-mapped to the shortened list. (N,) int32."""
        owner = type(self).__name__
        if self.test_mode:
            return np.arange(len(self)).astype(np.int32)
        if isinstance(scene_idxs, str) and scene_idxs == EVERY_SCENE:
            return np.arange(len(self.kept_scenes), dtype=np.int32)
        if isinstance(scene_idxs, (str, os.PathLike)):
            path = os.fspath(scene_idxs)
            if '://' in path:  # remote storage: stock loading through the file backend
                source = path
                raw = super().get_scene_idxs(path)
            else:
                source = self._resolve_scene_idxs(path)
                try:
                    raw = np.load(source)
                except (ValueError, OSError) as err:
                    raise ValueError(f'{owner}: scene_idxs file {source} is not a readable '
                                     f'.npy array ({err})') from None
        else:
            source = 'the scene_idxs array'
            raw = np.asarray(scene_idxs)
        if raw.ndim != 1 or not (np.issubdtype(raw.dtype, np.integer) or raw.size == 0):
            raise ValueError(f'{owner}: scene_idxs ({source}) must be a 1-D integer array, '
                             f'got dtype {raw.dtype} shape {raw.shape}')
        n = self.num_all_scenes
        bad = (raw < 0) | (raw >= n)
        if bad.any():
            raise ValueError(
                f'{owner}: scene_idxs ({source}) has {int(bad.sum())} entries outside '
                f'0..{n - 1} (ann_file {self.ann_file} has {n} scenes), e.g. '
                f'{raw[bad][:5].tolist()}; was it written for another ann_file?')
        new_index = {old: new for new, old in enumerate(self.kept_scenes)}
        mapped = np.array([new_index[int(i)] for i in raw if int(i) in new_index], np.int32)
        if mapped.size == 0:
            raise ValueError(
                f'{owner}: scene_idxs ({source}) selects none of the kept scenes '
                f'{self.kept_scenes} (scene_fraction {self.scene_fraction:g}); the training '
                'split would be empty')
        if self.scene_fraction < 1:
            print_log(f'{owner}: scene_idxs ({source}) keeps {mapped.size} of {raw.size} '
                      'patch entries (the kept scenes\' repetitions)', logger='current')
        return mapped


class _CrossptDetectionMixin:
    """Box-label clean-up shared by the detection datasets (put first in the bases)."""

    def parse_ann_info(self, info: dict) -> dict:
        """Stock parsing, then drop the boxes whose class is outside ``metainfo.classes``.

        mmdet3d's ScanNetDataset and SUNRGBDDataset map such boxes to label -1 but keep
        them (unlike its KITTI / Waymo datasets, they never call ``_remove_dontcare``), so
        a class subset would hand -1 labels to the detector and to IndoorMetric's ground
        truth.
        """
        ann_info = super().parse_ann_info(info)
        keep = np.asarray(ann_info['gt_labels_3d']) > -1
        if not keep.all():
            ann_info['gt_bboxes_3d'] = ann_info['gt_bboxes_3d'][keep]
            ann_info['gt_labels_3d'] = ann_info['gt_labels_3d'][keep]
        return ann_info

    def _after_scene_fraction(self, kept: List[dict]) -> None:
        """Recount the per-class instances (Det3DDataset counted every scene's while
        parsing) over the kept scenes, for the table it logs."""
        self.num_ins_per_cat = [0] * len(self.num_ins_per_cat)
        for info in kept:
            ann = info.get('ann_info') or info.get('eval_ann_info') or {}
            for label in np.asarray(ann.get('gt_labels_3d', [])).tolist():
                if label != -1:
                    self.num_ins_per_cat[label] += 1


@DATASETS.register_module()
class CrossptScanNetSegDataset(_CrossptSegMixin, ScanNetSegDataset):
    """mmdet3d ``ScanNetSegDataset`` + ``auto_generate`` / ``scene_fraction`` / clear errors
    (module docstring). Every other argument is ``ScanNetSegDataset``'s.

    Args:
        scene_idxs: resampled scene indices of the training split, a ``.npy`` path
            (relative to ``data_root`` or as given) or an int array, or ``'every_scene'``
            (each kept scene once per epoch, for whole-scene training); required unless
            ``test_mode``.
        auto_generate: kwargs of ``generate_synthetic_scannet_mmdet3d`` or None.
        scene_fraction: fraction of the scenes to keep, in (0, 1].
        fraction_seed: seed of the kept subset.
    """


@DATASETS.register_module()
class CrossptScanNetDataset(_CrossptDetectionMixin, _CrossptScanNetMixin,
                            ScanNetDataset):
    """mmdet3d ``ScanNetDataset`` (detection) + ``auto_generate`` / ``scene_fraction``
    (module docstring). Every other argument is ``ScanNetDataset``'s."""

    def __init__(self, data_root: str, ann_file: str, *, auto_generate: Optional[dict] = None,
                 scene_fraction: float = 1.0, fraction_seed: int = 0, **kwargs) -> None:
        self._subset_mapping: Optional[np.ndarray] = None
        self._setup_crosspt(auto_generate, scene_fraction, fraction_seed)
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    def subset_seg_label_mapping(self) -> np.ndarray:
        """NYU40 id -> class index of ``metainfo.classes`` (K = len(classes) for every
        other id), i.e. the stock 18-class mapping re-indexed like the boxes when the
        classes are a subset (stock keeps the 18-class indices, so ``PointSegClassMapping``
        would disagree with ``gt_labels_3d`` and VoteNet's vote targets would follow the
        wrong instances)."""
        if self._subset_mapping is None:
            stock, classes = list(self.METAINFO['classes']), list(self.metainfo['classes'])
            mapping = self.seg_label_mapping
            if classes != stock:
                unknown = [c for c in classes if c not in stock]
                if unknown:
                    raise KeyError(f'CrossptScanNetDataset: metainfo classes {unknown} are not '
                                   f'ScanNet detection classes {stock}')
                mapping = np.full_like(self.seg_label_mapping, len(classes))
                for new, name in enumerate(classes):
                    mapping[self.seg_label_mapping == stock.index(name)] = new
            self._subset_mapping = mapping
        return self._subset_mapping

    def parse_data_info(self, info: dict) -> dict:
        """Stock parsing with :meth:`subset_seg_label_mapping` for
        ``PointSegClassMapping``."""
        info = super().parse_data_info(info)
        info['seg_label_mapping'] = self.subset_seg_label_mapping()
        return info


@TRANSFORMS.register_module()
class ValidateScene3D(BaseTransform):
    """Check a loaded scene; put right after ``LoadAnnotations3D``.

    Raises ValueError naming ``lidar_path`` (and the mask file) when the scene has 0 points,
    a non-finite point value, a ``pts_semantic_mask`` / ``pts_instance_mask`` whose length
    differs from the number of points, or (when ``seg_label_mapping`` is present, i.e.
    before ``PointSegClassMapping``) a semantic id outside ``0..len(seg_label_mapping)-1``.
    Stock mmdet3d does not check these: a short mask makes ``IndoorPatchPointSample`` /
    ``PointSample`` fail with a bare IndexError, a long one silently pairs points with the
    wrong labels, NaN coordinates propagate into the patch sampler, and a negative id is
    silently read from the end of the mapping. Results pass through unchanged.
    """

    MASKS = ('pts_semantic_mask', 'pts_instance_mask')

    def transform(self, results: dict) -> dict:
        """Validate ``results['points']`` and the per-point masks; returns ``results``."""
        name = type(self).__name__
        lidar_path = results.get('lidar_path',
                                 results.get('lidar_points', {}).get('lidar_path', '?'))
        if 'points' not in results:
            raise ValueError(f'{name}: no points in the results of {lidar_path}; put '
                             f'{name} after LoadPointsFromFile and LoadAnnotations3D')
        points = results['points']
        values = points.tensor if hasattr(points, 'tensor') else torch.as_tensor(
            np.asarray(points))
        num = int(values.shape[0])
        if num == 0:
            raise ValueError(f'{name}: scene {lidar_path} has 0 points (empty points file?)')
        finite = torch.isfinite(values).all(dim=1)
        if not bool(finite.all()):
            bad = torch.nonzero(~finite).flatten()
            raise ValueError(f'{name}: scene {lidar_path} has {bad.numel()} of {num} points '
                             f'with non-finite values (NaN/inf), first at index '
                             f'{int(bad[0])}: {values[bad[0]].tolist()}')
        for key in self.MASKS:
            if key not in results:
                continue
            mask = np.asarray(results[key])
            mask_path = results.get(f'{key}_path', '?')
            if mask.ndim != 1 or mask.shape[0] != num:
                raise ValueError(f'{name}: {key} {mask_path} has shape {mask.shape} but '
                                 f'scene {lidar_path} has {num} points')
        mapping = results.get('seg_label_mapping')
        if mapping is not None and 'pts_semantic_mask' in results:
            sem = np.asarray(results['pts_semantic_mask'])
            out = (sem < 0) | (sem >= len(mapping))
            if out.any():
                raise ValueError(
                    f"{name}: pts_semantic_mask {results.get('pts_semantic_mask_path', '?')} "
                    f'(scene {lidar_path}) has {int(out.sum())} ids outside '
                    f'0..{len(mapping) - 1} (seg_label_mapping), e.g. '
                    f'{np.unique(sem[out])[:5].tolist()}')
        return results
