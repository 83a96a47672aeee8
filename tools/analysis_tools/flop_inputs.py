"""Dummy batches for tools/analysis_tools/get_flops.py: the sample shapes a config's
training pipeline produces (:func:`input_spec`) and a batch of those shapes as
``pseudo_collate`` returns it (:func:`dummy_batch`)."""
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement
from torch import Tensor

#: width of each per-point feature key of the pack transforms
FEATURE_WIDTHS: Dict[str, int] = {'points': 3, 'normals': 3, 'height': 1,
                                  'height_augmented': 1, 'colors': 3, 'rgb': 3}
#: transforms whose ``num_points`` fixes the point count of a sample
POINT_COUNT_TRANSFORMS = ('LoadPointsFromPLY', 'TakeFirstPoints', 'RandomSamplePoints',
                          'FPSSamplePoints', 'FPSThenRandom', 'SampleVoxels')
PACK_KINDS = {'PackPointClsInputs': 'cls', 'PackPartSegInputs': 'partseg',
              'PackTAPInputs': 'tap', 'PackPPKTInputs': 'ppkt',
              'PackImageSegInputs': 'imageseg'}
DEFAULT_SPARSE_VOXELS = 16384


# ----------------------------------------------------------------------------- inputs
@dataclass
class InputSpec:
    """Shapes of one dummy sample.

    Attributes:
        kind: 'cls' | 'partseg' | 'tap' | 'ppkt' | 'imageseg' (from the pack transform).
        num_points: points (or voxels) per sample.
        feature_keys: per-point feature keys (their widths add up to ``feature_channels``).
        feature_channels: C of ``features (N, C)`` (PPKT: of ``feats``).
        num_views: TAP views per object.
        image_size: (H, W) of the TAP views / PPKT frame / 2D teacher crop.
        sparse: PPKT voxels for a sparse student (coordinates matter, not a fixed N).
        notes: how each figure was found (printed with the table).
    """
    kind: str
    num_points: int = 0
    feature_keys: Tuple[str, ...] = ()
    feature_channels: int = 0
    num_views: int = 0
    image_size: Tuple[int, int] = (0, 0)
    sparse: bool = False
    notes: List[str] = field(default_factory=list)

    def describe(self, batch_size: int) -> str:
        b = batch_size
        if self.kind in ('cls', 'partseg'):
            return (f'points ({b}, {self.num_points}, 3), features ({b}, {self.num_points}, '
                    f'{self.feature_channels})')
        if self.kind == 'tap':
            h, w = self.image_size
            return (f'points ({b}, {self.num_points}, 3), features ({b}, {self.num_points}, '
                    f'{self.feature_channels}), {self.num_views} views {h}x{w}')
        if self.kind == 'ppkt':
            h, w = self.image_size
            what = 'voxels' if self.sparse else 'points'
            return f'{self.num_points} {what} x {b} frames, image {h}x{w}'
        h, w = self.image_size
        return f'images ({b}, 3, {h}, {w})'


def find_pipeline(dataset_cfg: Any, where: str) -> List[dict]:
    """The ``pipeline`` of a dataset config, looking through wrappers (``dataset=``)."""
    node = dataset_cfg
    while isinstance(node, dict):
        if 'pipeline' in node:
            return list(node['pipeline'])
        node = node.get('dataset')
    raise KeyError(f'{where}: train_dataloader.dataset has no pipeline (looked through '
                   'dataset wrappers too)')


def _image_hw(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    return int(size[0]), int(size[1])


def input_spec(cfg: Config, where: str, num_points: Optional[int] = None) -> InputSpec:
    """Read the sample shapes from ``cfg.train_dataloader``'s pipeline.

    Args:
        cfg: the config; ``where`` names it in errors.
        num_points: overrides the point/voxel count of the pipeline.
    Raises:
        KeyError: no training pipeline, or no pack transform this tool knows.
        ValueError: a feature key of unknown width, or no point count anywhere.
    """
    if 'train_dataloader' not in cfg:
        raise KeyError(f'{where}: no train_dataloader, so no pipeline to read shapes from')
    pipeline = [t for t in find_pipeline(cfg.train_dataloader.get('dataset'), where)
                if isinstance(t, dict)]
    types = [str(t.get('type', '')).split('.')[-1] for t in pipeline]
    pack = next((t for t in reversed(types) if t in PACK_KINDS), None)
    if pack is None:
        raise KeyError(f'{where}: the training pipeline ends in none of '
                       f'{sorted(PACK_KINDS)} (transforms: {types})')
    spec = InputSpec(kind=PACK_KINDS[pack])
    by_type = dict(zip(types, pipeline))
    if spec.kind == 'imageseg':
        crop = next((t for t in pipeline if 'size' in t), None)
        if crop is None:
            raise KeyError(f'{where}: no transform of the training pipeline sets the image '
                           '`size`')
        spec.image_size = _image_hw(crop['size'])
        return spec

    counted = [(ty, t) for ty, t in zip(types, pipeline)
               if ty in POINT_COUNT_TRANSFORMS and 'num_points' in t]
    if spec.kind == 'ppkt':
        crop = by_type.get('RandomResizedCrop2D')
        if crop is None:
            raise KeyError(f'{where}: a PPKT pipeline needs RandomResizedCrop2D (its `size` '
                           'fixes the frame size of a batch)')
        spec.image_size = _image_hw(crop['size'])
        spec.sparse = not counted
        spec.feature_channels = 3          # VoxelizePairs: 'ones' and 'rgb' are both 3-d
        spec.feature_keys = ('feats',)
    else:
        keys = by_type[pack].get('feature_keys', ('points', 'normals', 'height')
                                 if spec.kind == 'partseg' else ('points', 'height'))
        keys = (keys,) if isinstance(keys, str) else tuple(keys)
        unknown = [k for k in keys if k not in FEATURE_WIDTHS]
        if unknown:
            raise ValueError(f'{where}: {pack}.feature_keys {unknown} have no known width '
                             f'(known: {FEATURE_WIDTHS})')
        spec.feature_keys = keys
        spec.feature_channels = sum(FEATURE_WIDTHS[k] for k in keys)
    if spec.kind == 'tap':
        views, images = by_type.get('RandomSampleViews'), by_type.get('LoadViewImages')
        if views is None or images is None:
            raise KeyError(f'{where}: a TAP pipeline needs RandomSampleViews and '
                           'LoadViewImages (views per object and their size)')
        spec.num_views = int(views.get('num_views', 6))
        spec.image_size = _image_hw(images.get('image_size', 224))

    if num_points is not None:
        spec.num_points = int(num_points)
        spec.notes.append(f'N = {num_points} from --num-points')
    elif counted:
        ty, t = counted[-1]
        spec.num_points = int(t['num_points'])
        spec.notes.append(f'N = {spec.num_points} from {ty}.num_points')
    elif spec.sparse:
        spec.num_points = DEFAULT_SPARSE_VOXELS
        spec.notes.append(f'the pipeline does not fix the voxel count; dummy scene of '
                          f'{DEFAULT_SPARSE_VOXELS} voxels (set --num-points)')
    else:
        raise ValueError(f'{where}: no transform of the training pipeline sets num_points '
                         f'(looked for {POINT_COUNT_TRANSFORMS}); pass --num-points')
    if spec.num_points < 1:
        raise ValueError(f'{where}: the point count must be >= 1, got {spec.num_points}')
    return spec


def _rotations(num: int, gen: torch.Generator) -> Tensor:
    """(num, 3, 3) float64 random proper rotations (QR of Gaussian matrices)."""
    q, r = torch.linalg.qr(torch.randn(num, 3, 3, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    det = torch.det(q)
    q[:, :, 0] *= det.unsqueeze(-1)
    return q


def surface_voxels(num: int) -> Tensor:
    """(num, 3) int64 distinct voxel coordinates on a wavy height field
    ``z = round(3 sin(x / 8) + 3 cos(y / 11))`` over a square patch: one voxel per (x, y)
    column, so every voxel has at most 9 occupied 3x3x3 neighbours (itself included)."""
    side = int(math.ceil(math.sqrt(num)))
    x, y = torch.meshgrid(torch.arange(side), torch.arange(side), indexing='ij')
    x, y = x.reshape(-1)[:num], y.reshape(-1)[:num]
    z = torch.round(3 * torch.sin(x / 8.0) + 3 * torch.cos(y / 11.0)).long()
    return torch.stack([x, y, z], dim=1)


def dummy_batch(spec: InputSpec, batch_size: int = 1, seed: int = 0) -> dict:
    """A batch as ``pseudo_collate`` returns it (``inputs`` = dict of per-sample lists,
    ``data_samples`` = list), with the shapes of ``spec`` and valid label/pair fields."""
    if batch_size < 1:
        raise ValueError(f'dummy_batch: batch_size must be >= 1, got {batch_size}')
    gen = torch.Generator().manual_seed(seed)
    n = spec.num_points
    inputs: Dict[str, list] = {}
    samples: List[BaseDataElement] = []
    if spec.kind == 'imageseg':
        h, w = spec.image_size
        images = [torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8)
                  for _ in range(batch_size)]
        samples = [BaseDataElement(gt_sem_seg=torch.zeros(h, w, dtype=torch.long))
                   for _ in range(batch_size)]
        return dict(inputs=images, data_samples=samples)
    if spec.kind == 'ppkt':
        h, w = spec.image_size
        for key in ('img', 'coords', 'points', 'feats'):
            inputs[key] = []
        num_pairs = min(n, h * w)
        for _ in range(batch_size):
            if spec.sparse:
                coords = surface_voxels(n)
            else:
                coords = torch.randint(0, 64, (n, 3), generator=gen)
            inputs['img'].append(torch.randint(0, 256, (3, h, w), generator=gen,
                                               dtype=torch.uint8))
            inputs['coords'].append(coords)
            inputs['points'].append(coords.float() * 0.05)
            inputs['feats'].append(torch.rand(n, spec.feature_channels, generator=gen))
            pixels = torch.randperm(h * w, generator=gen)[:num_pairs]
            voxels = torch.randperm(n, generator=gen)[:num_pairs]
            pairs = torch.stack([voxels, pixels // w, pixels % w], dim=1)
            samples.append(BaseDataElement(pairs=pairs))
        return dict(inputs=inputs, data_samples=samples)
    inputs['points'], inputs['features'] = [], []
    if spec.kind == 'partseg':
        inputs['category'] = []
    if spec.kind == 'tap':
        inputs['view_rotations'], inputs['images'] = [], []
    for _ in range(batch_size):
        points = torch.rand(n, 3, generator=gen) * 2 - 1
        inputs['points'].append(points)
        inputs['features'].append(torch.cat([
            points if key == 'points' else torch.rand(n, FEATURE_WIDTHS[key], generator=gen)
            for key in spec.feature_keys], dim=1))
        if spec.kind == 'cls':
            samples.append(BaseDataElement(gt_label=0))
        elif spec.kind == 'partseg':
            inputs['category'].append(torch.tensor(0, dtype=torch.long))
            samples.append(BaseDataElement(gt_part=torch.zeros(n, dtype=torch.long),
                                           category=0))
        else:
            h, w = spec.image_size
            inputs['view_rotations'].append(_rotations(spec.num_views, gen))
            inputs['images'].append(torch.randint(0, 256, (spec.num_views, 3, h, w),
                                                  generator=gen, dtype=torch.uint8))
            samples.append(BaseDataElement())
    return dict(inputs=inputs, data_samples=samples)
