"""2D semantic segmentation over extracted ScanNet frames (layout of
``crosspt.fileio.scannet_layout``)::

    <data_root>/<scene>/color/<i>.jpg         RGB (resized to the label resolution)
    <data_root>/<scene>/label-filt/<i>.png    16-bit per-pixel class ids

Label ids are NYU40 ids (what ScanNet's 2D helper scripts and the pre-processed
``scannet_frames_25k`` release write, and what crosspt's synthetic scenes write), or raw
ScanNet ids (the ``*_2d-label-filt.zip`` files) when ``label_map_file`` names
``scannetv2-labels.combined.tsv`` (columns ``id`` and ``nyu40id``).  They are mapped to
the 20 ScanNet benchmark classes 0..19 (docs/methods/benchmarks.md, 'Classes and ignore
index'); every other id becomes
``ignore_index`` (255).

Each sample is ``dict(inputs=(3, H, W) uint8 RGB tensor, data_samples=BaseDataElement(
gt_sem_seg=(H, W) int64 tensor, metainfo=scene/frame/paths))`` after the default pipeline.
"""
import csv
import os
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.structures import BaseDataElement

from crosspt.fileio.scannet_classes import (MAX_NYU40_ID, SCANNET20_CLASSES,
                                            SCANNET20_NYU40_IDS)
from crosspt.fileio.scannet_layout import frame_ids, frame_path, read_color, read_label
from crosspt.registry import DATASETS, TRANSFORMS

from .auto_generate import AutoGenerateMixin
from .packing import PackedDataListMixin
from .transforms.builder import build_transforms


def nyu40_to_scannet20(labels: np.ndarray, ignore_index: int = 255,
                       source: str = 'labels') -> np.ndarray:
    """(H, W) NYU40 ids (0 = unannotated, 1..40) -> int64 train ids 0..19 or
    ``ignore_index``.  Ids above 40 raise a ValueError naming ``source`` (raw ScanNet ids
    need ``label_map_file``)."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() > MAX_NYU40_ID):
        raise ValueError(f'{source}: label ids must be NYU40 ids in 0..{MAX_NYU40_ID}, found '
                         f'{int(labels.min())}..{int(labels.max())}; raw ScanNet label ids '
                         'need label_map_file=scannetv2-labels.combined.tsv')
    table = np.full(MAX_NYU40_ID + 1, ignore_index, dtype=np.int64)
    table[list(SCANNET20_NYU40_IDS)] = np.arange(len(SCANNET20_NYU40_IDS))
    return table[labels.astype(np.int64)]


def read_scannet_label_map(path: str) -> Dict[int, int]:
    """``scannetv2-labels.combined.tsv`` -> {raw ScanNet id: NYU40 id}."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'ScanNetImageSegDataset: label map file not found: {path}')
    with open(path, newline='') as handle:
        reader = csv.DictReader(handle, delimiter='\t')
        if not reader.fieldnames or 'id' not in reader.fieldnames \
                or 'nyu40id' not in reader.fieldnames:
            raise ValueError(f'{path}: expected a tab-separated file with columns "id" and '
                             f'"nyu40id", got columns {reader.fieldnames}')
        mapping = {}
        for line, row in enumerate(reader, start=2):
            try:
                mapping[int(row['id'])] = int(row['nyu40id'])
            except (TypeError, ValueError):
                raise ValueError(f'{path}: line {line}: id {row.get("id")!r} / nyu40id '
                                 f'{row.get("nyu40id")!r} are not integers') from None
    return mapping


@TRANSFORMS.register_module()
class RandomImageSegFlip:
    """Horizontal flip of ``img`` (H, W, 3) and ``gt_sem_seg`` (H, W) with probability
    ``prob``; sets ``results['flip']``."""

    def __init__(self, prob: float = 0.5) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'RandomImageSegFlip: prob must lie in [0, 1], got {prob}')
        self.prob = prob

    def __call__(self, results: dict) -> dict:
        flip = bool(np.random.rand() < self.prob)
        if flip:
            results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
            if 'gt_sem_seg' in results:
                results['gt_sem_seg'] = np.ascontiguousarray(results['gt_sem_seg'][:, ::-1])
        results['flip'] = flip
        return results

    def __repr__(self) -> str:
        return f'RandomImageSegFlip(prob={self.prob})'


@TRANSFORMS.register_module()
class RandomImageSegCrop:
    """Crop ``img`` (H, W, 3) and ``gt_sem_seg`` (H, W) to ``size`` = (h, w) at a uniform
    random position (no rescaling, so objects keep their pixel scale); an image smaller
    than ``size`` raises.  Sets ``results['crop']`` = (top, left, h, w)."""

    def __init__(self, size: Sequence[int]) -> None:
        size = tuple(int(v) for v in size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f'RandomImageSegCrop: size must be (h, w) >= 1, got {size}')
        self.size = size

    def __call__(self, results: dict) -> dict:
        img = results['img']
        (h, w), (big_h, big_w) = self.size, img.shape[:2]
        if h > big_h or w > big_w:
            raise ValueError(f'RandomImageSegCrop: crop {h}x{w} is larger than the image '
                             f'{big_h}x{big_w} ({results.get("img_path", "?")})')
        top = int(np.random.randint(0, big_h - h + 1))
        left = int(np.random.randint(0, big_w - w + 1))
        results['img'] = np.ascontiguousarray(img[top:top + h, left:left + w])
        if 'gt_sem_seg' in results:
            results['gt_sem_seg'] = np.ascontiguousarray(
                results['gt_sem_seg'][top:top + h, left:left + w])
        results['crop'] = (top, left, h, w)
        return results

    def __repr__(self) -> str:
        return f'RandomImageSegCrop(size={self.size})'


@TRANSFORMS.register_module()
class PackImageSegInputs:
    """``img`` (H, W, 3) uint8 -> ``inputs`` (3, H, W) uint8 tensor; ``gt_sem_seg`` (H, W)
    -> ``data_samples.gt_sem_seg`` int64 tensor; ``meta_keys`` present in the results go
    to the data sample's metainfo."""

    def __init__(self, meta_keys: Sequence[str] = ('sample_idx', 'scene', 'frame', 'img_path',
                                                   'label_path', 'ori_shape', 'flip')) -> None:
        self.meta_keys = tuple(meta_keys)

    def __call__(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError('PackImageSegInputs: results have no "img" (H, W, 3) uint8 image')
        img = np.asarray(results['img'])
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f'PackImageSegInputs: img must be (H, W, 3) uint8, got {img.dtype} '
                             f'{img.shape}')
        sample = BaseDataElement(metainfo={k: results[k] for k in self.meta_keys if k in results})
        if 'gt_sem_seg' in results:
            sample.gt_sem_seg = torch.from_numpy(np.ascontiguousarray(results['gt_sem_seg'])
                                                 .astype(np.int64))
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'PackImageSegInputs(meta_keys={self.meta_keys})'


@DATASETS.register_module()
class ScanNetImageSegDataset(PackedDataListMixin, AutoGenerateMixin, BaseDataset):
    """Frames of ScanNet-layout scenes with per-pixel labels for 2D segmentation.

    Args:
        data_root: folder holding the ``<scene>/`` folders.
        scenes: scene names (list), a split file with one name per line (absolute, or
            relative to the working directory or to ``data_root``), or None for every
            sub-folder of ``data_root`` that has a ``color/`` folder (sorted).
        scene_slice: (start, stop) applied to that scene list (Python slice semantics),
            e.g. ``(0, 6)`` / ``(6, None)`` to split the listed scenes into train / val.
        frame_step: keep every ``frame_step``-th frame of a scene (in frame-id order).
        img_size: (H, W) to resize both image (bilinear) and labels (nearest) to; None
            keeps the label resolution (the colour image is always resized to it).
        label_map_file: ``scannetv2-labels.combined.tsv`` when the label PNGs hold raw
            ScanNet ids; None when they hold NYU40 ids.
        ignore_index: train id of unlabelled / non-benchmark pixels.
        auto_generate: keyword arguments of
            ``crosspt.synthetic.scannet_frames.generate_synthetic_scannet_frames`` (found
            by its ``FUNCTIONS`` name; ``progress`` defaults to False): write (or reuse,
            the generator is idempotent) synthetic scenes at ``data_root`` before indexing
            it when it is missing or synthetic; rank 0 first under distributed training.
        pipeline: transform configs (crosspt TRANSFORMS) or callables applied to
            ``dict(img (H, W, 3) uint8, gt_sem_seg (H, W) int64, scene, frame, img_path,
            label_path, ori_shape, sample_idx)``; default packs it unchanged.

    A frame whose label file is missing raises FileNotFoundError naming that file when
    the dataset is built.
    """

    METAINFO: dict = dict(classes=SCANNET20_CLASSES, nyu40_ids=SCANNET20_NYU40_IDS,
                          dataset_name='ScanNet 2D semantic segmentation (20 classes)')
    GENERATOR = 'generate_synthetic_scannet_frames'

    def __init__(self, data_root: str, scenes: Optional[Union[str, Sequence[str]]] = None,
                 scene_slice: Optional[Sequence[Optional[int]]] = None,
                 frame_step: int = 1, img_size: Optional[Sequence[int]] = None,
                 label_map_file: Optional[str] = None, ignore_index: int = 255,
                 auto_generate: Optional[dict] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (dict(type='PackImageSegInputs'),),
                 test_mode: bool = False, **kwargs) -> None:
        if not data_root:
            raise ValueError('ScanNetImageSegDataset: data_root must be a non-empty path')
        if isinstance(frame_step, bool) or not isinstance(frame_step, int) or frame_step < 1:
            raise ValueError(f'ScanNetImageSegDataset: frame_step must be a positive int, got '
                             f'{frame_step!r}')
        if img_size is not None:
            img_size = tuple(int(v) for v in img_size)
            if len(img_size) != 2 or min(img_size) < 1:
                raise ValueError(f'ScanNetImageSegDataset: img_size must be (H, W), got '
                                 f'{img_size}')
        if 0 <= ignore_index < len(SCANNET20_CLASSES):
            raise ValueError(f'ScanNetImageSegDataset: ignore_index {ignore_index} is a class id')
        if scene_slice is not None:
            scene_slice = tuple(scene_slice)
            if len(scene_slice) != 2 or not all(v is None or (isinstance(v, int) and
                                                              not isinstance(v, bool))
                                                for v in scene_slice):
                raise ValueError(f'ScanNetImageSegDataset: scene_slice must be (start, stop) '
                                 f'ints or None, got {scene_slice!r}')
        self._init_auto_generate(auto_generate)
        self.scenes_arg, self.scene_slice = scenes, scene_slice
        self.frame_step, self.img_size = frame_step, img_size
        self.ignore_index = int(ignore_index)
        self.label_map_file = label_map_file
        self._raw_to_nyu40: Optional[np.ndarray] = None
        if label_map_file is not None:
            mapping = read_scannet_label_map(label_map_file)
            table = np.zeros(max(max(mapping), 0) + 1, dtype=np.int64)
            for raw, nyu in mapping.items():
                if raw >= 0:
                    table[raw] = nyu
            self._raw_to_nyu40 = table
        super().__init__(data_root=os.fspath(data_root), pipeline=build_transforms(pipeline),
                         test_mode=test_mode, **kwargs)

    # ------------------------------------------------------------------ index
    def _generator_kwargs(self) -> dict:
        return {'progress': False, **self.auto_generate}

    def _scene_names(self) -> List[str]:
        scenes = self.scenes_arg
        if scenes is None:
            if not os.path.isdir(self.data_root):
                raise FileNotFoundError(
                    f'ScanNetImageSegDataset: data_root not found: {self.data_root}. Extract '
                    'ScanNet .sens files with tools/dataset_converters/scannet_sens.py, or write '
                    'the synthetic scenes with `python tools/create_data.py synthetic-scenes '
                    f'--out {self.data_root}`')
            return sorted(name for name in os.listdir(self.data_root)
                          if os.path.isdir(os.path.join(self.data_root, name, 'color')))
        if isinstance(scenes, (str, os.PathLike)):
            path = os.fspath(scenes)
            candidates = [path] if os.path.isabs(path) else \
                [path, os.path.join(self.data_root, path)]
            found = next((p for p in candidates if os.path.isfile(p)), None)
            if found is None:
                raise FileNotFoundError(f'ScanNetImageSegDataset: scene split file not found: '
                                        f'{" or ".join(candidates)}')
            with open(found) as handle:
                names = [line.strip() for line in handle if line.strip()]
            if not names:
                raise ValueError(f'ScanNetImageSegDataset: split file {found} lists no scenes')
            return names
        return [str(s) for s in scenes]

    def load_data_list(self) -> List[dict]:
        self._maybe_generate()
        scenes = self._scene_names()
        listed = len(scenes)
        if self.scene_slice is not None:
            scenes = scenes[slice(*self.scene_slice)]
        if not scenes:
            raise FileNotFoundError(f'ScanNetImageSegDataset: no scene selected in '
                                    f'{self.data_root} ({listed} listed, scene_slice='
                                    f'{self.scene_slice})')
        data_list = []
        for scene in scenes:
            scene_dir = os.path.join(self.data_root, scene)
            if not os.path.isdir(scene_dir):
                raise FileNotFoundError(f'ScanNetImageSegDataset: scene folder not found: '
                                        f'{scene_dir}')
            ids = frame_ids(scene_dir)[::self.frame_step]
            if not ids:
                raise FileNotFoundError(f'ScanNetImageSegDataset: no colour frames in '
                                        f'{os.path.join(scene_dir, "color")}')
            for frame in ids:
                label_path = frame_path(scene_dir, 'label-filt', frame)
                if not os.path.isfile(label_path):
                    raise FileNotFoundError(f'ScanNetImageSegDataset: missing label file '
                                            f'{label_path} for colour frame '
                                            f'{frame_path(scene_dir, "color", frame)}')
                data_list.append(dict(scene=scene, frame=frame, label_path=label_path,
                                      img_path=frame_path(scene_dir, 'color', frame)))
        return data_list

    # ------------------------------------------------------------------ loading
    def map_labels(self, raw: np.ndarray, source: str) -> np.ndarray:
        """Label PNG ids -> train ids 0..19 / ``ignore_index`` (int64, same shape)."""
        if self._raw_to_nyu40 is not None:
            raw = np.asarray(raw, dtype=np.int64)
            if raw.size and raw.min() < 0:
                raise ValueError(f'{source}: negative label id {int(raw.min())}')
            table = self._raw_to_nyu40
            inside = raw < len(table)
            raw = np.where(inside, table[np.where(inside, raw, 0)], 0)  # unknown raw id -> 0
        return nyu40_to_scannet20(raw, self.ignore_index, source)

    def load_frame(self, info: dict) -> dict:
        """Reads one frame: ``img`` (H, W, 3) uint8 at the label (or ``img_size``)
        resolution, ``gt_sem_seg`` (H, W) int64 train ids, ``ori_shape`` of the labels."""
        raw = read_label(info['label_path'])
        ori_shape = tuple(raw.shape)
        if self.img_size is not None and ori_shape != self.img_size:
            from PIL import Image
            resized = Image.fromarray(raw.astype(np.int32)).resize(
                (self.img_size[1], self.img_size[0]), Image.NEAREST)
            raw = np.asarray(resized).astype(np.int64)
        img = read_color(info['img_path'], size=raw.shape)
        return dict(img=img, gt_sem_seg=self.map_labels(raw, info['label_path']),
                    ori_shape=ori_shape)

    def prepare_data(self, idx: int):
        info = self.get_data_info(idx)
        info.update(self.load_frame(info))
        return self.pipeline(info)

    def __repr__(self) -> str:
        size = f', num_frames={len(self)}' if self._fully_initialized else ''
        return f'ScanNetImageSegDataset(data_root={self.data_root!r}{size})'
