"""PPKT: contrastive pixel-to-point knowledge transfer (Liu et al., arXiv 2104.04687).

A frozen 2D teacher (ImageNet ResNet-50, layer4) sees the RGB frame; the UpSampling
Projection Layer (UPL) lifts its stride-32 map to per-pixel 128-d features.  The 3D
student (SR-UNet34, or a point-based network) sees the back-projected depth of the same
frame; a projection maps its per-voxel features to 128-d.  Depth back-projection pairs
every voxel with the pixel it came from; the point-to-pixel InfoNCE (PPNCE) over K
sampled pairs pulls each point towards its pixel and away from the other K-1 pixels.
Trained: UPL, 3D network, 3D projection.  Kept for transfer: ``backbone.*``.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseDataPreprocessor, BaseModule
from mmengine.structures import BaseDataElement
from torch import Tensor, nn

from crosspt.registry import MODELS

from ..base import PointAlgorithm


@MODELS.register_module()
class PPKTDataPreprocessor(BaseDataPreprocessor):
    """Batches PPKT samples packed by ``PackPPKTInputs`` (``pseudo_collate`` lists).

    Per sample: ``img`` (3, H, W) uint8, ``coords`` (V, 3) int voxel coordinates,
    ``points`` (V, 3), ``feats`` (V, C) and ``data_samples.pairs`` (P, 3) =
    (voxel index, row, col).  Output ``inputs``:

    - ``img`` (B, 3, H, W) uint8 (the teacher normalises);
    - ``coords`` (N, 4) int64 = (batch, x, y, z) with N = sum V, ``points`` (N, 3),
      ``feats`` (N, C), ``batch`` (N,) int64;
    - ``pairs`` (P_total, 4) int64 = (voxel index into N, image index, row, col).
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs, samples = data['inputs'], data.get('data_samples')
        for key in ('img', 'coords', 'points', 'feats'):
            if key not in inputs:
                raise KeyError(f'PPKTDataPreprocessor: inputs lack {key!r} (pack samples '
                               'with PackPPKTInputs)')
        if samples is None or len(samples) != len(inputs['img']):
            raise ValueError('PPKTDataPreprocessor: every sample needs a data sample with '
                             '`pairs`')
        if isinstance(inputs['img'], Tensor):           # already batched
            return data
        shapes = {tuple(img.shape) for img in inputs['img']}
        if len(shapes) != 1:
            raise ValueError(f'PPKTDataPreprocessor: images of one batch must share a size '
                             f'(use RandomResizedCrop2D / a fixed size), got {sorted(shapes)}')
        coords, batch, pairs, offset = [], [], [], 0
        for b, (c, sample) in enumerate(zip(inputs['coords'], samples)):
            n = len(c)
            batch.append(torch.full((n,), b, dtype=torch.long, device=c.device))
            coords.append(c.long())
            p = sample.pairs.long()
            if len(p) and (int(p[:, 0].min()) < 0 or int(p[:, 0].max()) >= n):
                raise ValueError(f'PPKTDataPreprocessor: sample {b} has pair voxel indices '
                                 f'outside [0, {n})')
            pairs.append(torch.stack([p[:, 0] + offset, torch.full_like(p[:, 0], b),
                                      p[:, 1], p[:, 2]], dim=1))
            offset += n
        batch_t = torch.cat(batch)
        out = dict(img=torch.stack(inputs['img']),
                   coords=torch.cat([batch_t[:, None], torch.cat(coords)], dim=1),
                   points=torch.cat(inputs['points']).float(),
                   feats=torch.cat(inputs['feats']).float(),
                   batch=batch_t, pairs=torch.cat(pairs),
                   num_voxels=[len(c) for c in inputs['coords']])
        return dict(inputs=out, data_samples=samples)


@MODELS.register_module()
class PointStudent(BaseModule):
    """Adapts a point-based backbone (fixed N points per sample, per-point output) to the
    PPKT student interface (:meth:`point_features`: the packed voxel batch in,
    (N_total, C) out).

    Args:
        backbone: e.g. ``dict(type='PointMLPPartSeg', in_channels=3, num_categories=1)``;
            called as ``backbone(points (B, N, 3), feats (B, N, C)[, category (B,)])``.
        out_key: key of the per-point features (B, N, C) in the backbone's output dict.
        pass_category: give the backbone an all-zero category (PointMLPPartSeg's input).
        feature_mode: 'feats' (the packed voxel features) or 'xyz' (point coordinates,
            centred per sample) as the backbone's per-point input.
    """

    def __init__(self, backbone: dict, out_key: str = 'point_features',
                 pass_category: bool = False, feature_mode: str = 'feats',
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if feature_mode not in ('feats', 'xyz'):
            raise ValueError(f"PointStudent: feature_mode must be 'feats' or 'xyz', got "
                             f'{feature_mode!r}')
        self.net = MODELS.build(backbone)
        self.out_key, self.pass_category, self.feature_mode = out_key, pass_category, feature_mode
        self.out_channels = self.net.out_channels

    def point_features(self, inputs: Dict[str, Tensor]) -> Tensor:
        """The PPKT student interface: ``points`` (N_total, 3), ``feats`` (N_total, C) and
        ``num_voxels`` (the per-sample counts, all equal) -> (N_total, out_channels)."""
        return self(inputs['points'], inputs['feats'], inputs['num_voxels'])

    def forward(self, points: Tensor, feats: Tensor, num_voxels: Sequence[int]) -> Tensor:
        """points (N_total, 3), feats (N_total, C), B equal counts -> (N_total, C_out)."""
        sizes = set(num_voxels)
        if len(sizes) != 1:
            raise ValueError(f'PointStudent: a point-based student needs the same number of '
                             f'points per sample (add SampleVoxels(num_points=N) to the '
                             f'pipeline), got {list(num_voxels)}')
        b, n = len(num_voxels), sizes.pop()
        xyz = points.view(b, n, 3)
        xyz = xyz - xyz.mean(dim=1, keepdim=True)
        inp = xyz if self.feature_mode == 'xyz' else feats.view(b, n, -1)
        args = (xyz, inp)
        if self.pass_category:
            args += (torch.zeros(b, dtype=torch.long, device=points.device),)
        out = self.net(*args)
        out = out[self.out_key] if isinstance(out, dict) else out
        if out.shape[:2] != (b, n):
            raise ValueError(f'PointStudent: backbone output {self.out_key!r} must be '
                             f'(B, N, C) = ({b}, {n}, C), got {tuple(out.shape)}')
        return out.reshape(b * n, -1)


@MODELS.register_module()
class PPKT(PointAlgorithm):
    """PPKT pretrainer.

    Args:
        backbone: the 3D student, any module with ``out_channels`` (int) and
            ``point_features(inputs) -> (N_total, out_channels)`` on the packed batch of
            :class:`PPKTDataPreprocessor`: ``SRUNet(out_channels=None)`` (96-d per voxel,
            its own sparse tensor) or a :class:`PointStudent`.
        teacher: frozen 2D network returning (B, C_t, h, w) (``ImageTeacher``).
        upl: ``UpsamplingProjection`` (C_t -> 128, bilinear x32, trained).
        loss: ``PPNCELoss`` (tau = 0.04).
        projection_channels: width of the 3D projection (128).
        projection: 'linear' (one 96->128 layer, the simplest reading of the paper) or
            'mlp' (Linear-BN-ReLU-Linear); the form is [UNVERIFIED] (docs/methods/ppkt.md,
            '3D projection').
        num_pairs: K sampled pairs per batch (4096; [UNVERIFIED], PointContrast/SLidR's
            value); fewer when the batch has fewer pairs.
        one_pixel_per_voxel: sample at most one pixel per voxel (so duplicate pixels of
            a voxel never act as each other's negatives; docs/methods/ppkt.md, 'Pairing after
            voxelisation').
        voxel_size: metres per voxel of the packed coordinates (for reference only).
        eval_seed: seed of the pairs :meth:`predict` samples per frame (the same pairs at
            every validation, whatever the batch).
    """

    def __init__(self, backbone: dict, teacher: dict, upl: dict,
                 loss: Optional[dict] = None, projection_channels: int = 128,
                 projection: str = 'linear', num_pairs: int = 4096,
                 one_pixel_per_voxel: bool = True, voxel_size: float = 0.025,
                 eval_seed: int = 0, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='PPKTDataPreprocessor')
        super().__init__(data_preprocessor=MODELS.build(data_preprocessor), init_cfg=init_cfg)
        if num_pairs < 2:
            raise ValueError(f'PPKT: num_pairs must be >= 2, got {num_pairs}')
        self.backbone = MODELS.build(backbone)
        if not callable(getattr(self.backbone, 'point_features', None)):
            raise TypeError(f'PPKT: the student {type(self.backbone).__name__} has no '
                            f'point_features(inputs) method (the PPKT student interface; '
                            f'wrap a point-based network in PointStudent)')
        self.teacher = MODELS.build(teacher)
        self.upl = MODELS.build(upl)
        self.loss_module = MODELS.build(loss or dict(type='PPNCELoss', temperature=0.04))
        width = getattr(self.backbone, 'out_channels', None)
        if not isinstance(width, int):
            raise ValueError('PPKT: the backbone must expose an int `out_channels`')
        if projection == 'linear':
            self.projection = nn.Linear(width, projection_channels)
        elif projection == 'mlp':
            self.projection = nn.Sequential(
                nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True),
                nn.Linear(width, projection_channels))
        else:
            raise ValueError(f"PPKT: projection must be 'linear' or 'mlp', got {projection!r}")
        if self.upl.proj.out_channels != projection_channels:
            raise ValueError(f'PPKT: upl out_channels ({self.upl.proj.out_channels}) must '
                             f'equal projection_channels ({projection_channels})')
        self.num_pairs = int(num_pairs)
        self.one_pixel_per_voxel = one_pixel_per_voxel
        self.voxel_size = voxel_size
        self.eval_seed = int(eval_seed)

    # ---------------------------------------------------------------- 3D branch
    def extract_feat(self, inputs: Dict[str, Tensor]) -> Tensor:
        """Per-voxel student features (N, C) in the order of ``inputs['coords']``."""
        return self.backbone.point_features(inputs)

    def point_embeddings(self, inputs: Dict[str, Tensor]) -> Tensor:
        """(N, projection_channels) projected student features (not normalised)."""
        return self.projection(self.extract_feat(inputs))

    # ---------------------------------------------------------------- 2D branch
    def teacher_features(self, img: Tensor) -> Tensor:
        with torch.no_grad():
            return self.teacher(img)

    # ---------------------------------------------------------------- pairs + loss
    def sample_pairs(self, pairs: Tensor, generator: Optional[torch.Generator] = None,
                     keep_first: bool = False) -> Tensor:
        """At most ``num_pairs`` rows of ``pairs`` (P, 4), uniformly without replacement,
        after keeping one pixel per voxel if ``one_pixel_per_voxel``: a random one, or
        with ``keep_first`` the first in row order (the pixel of the voxel's kept point
        when ``VoxelizePairs(one_pixel_per_voxel=False, random_keep=False)`` made them).
        ``generator``: a CPU ``torch.Generator`` for reproducible draws (default: global)."""
        if len(pairs) < 2:
            raise ValueError(f'PPKT: the batch has {len(pairs)} pixel-point pairs; at least '
                             '2 are needed (check depth validity and the crop settings)')

        def perm(n: int) -> Tensor:
            if generator is None:
                return torch.randperm(n, device=pairs.device)
            return torch.randperm(n, generator=generator).to(pairs.device)

        if not keep_first:
            pairs = pairs[perm(len(pairs))]
        if self.one_pixel_per_voxel:            # sorting by voxel needs a new shuffle
            voxel = pairs[:, 0]
            sorted_voxel, idx = torch.sort(voxel, stable=True)
            first = torch.ones_like(sorted_voxel, dtype=torch.bool)
            first[1:] = sorted_voxel[1:] != sorted_voxel[:-1]
            pairs = pairs[idx[first]][perm(int(first.sum()))]
        elif keep_first:
            pairs = pairs[perm(len(pairs))]
        return pairs[:self.num_pairs]

    def pair_features(self, inputs: Dict[str, Tensor]) -> Tuple[Tensor, Tensor]:
        """(K, D) point and pixel embeddings of K sampled pairs (row a = one pair)."""
        pairs = self.sample_pairs(inputs['pairs'])
        point_emb = self.point_embeddings(inputs)[pairs[:, 0]]
        fmap = self.teacher_features(inputs['img'])
        pixel_emb = self.upl.sample(fmap, pairs[:, 1], pairs[:, 2], pairs[:, 3],
                                    image_size=tuple(inputs['img'].shape[-2:]))
        return point_emb, pixel_emb

    def loss(self, inputs: Dict[str, Tensor],
             data_samples: Optional[Sequence[BaseDataElement]] = None) -> Dict[str, Tensor]:
        point_emb, pixel_emb = self.pair_features(inputs)
        loss = self.loss_module(point_emb, pixel_emb)
        with torch.no_grad():   # logged only: top-1 point -> pixel retrieval among K
            sim = torch.nn.functional.normalize(point_emb, dim=1) @ \
                torch.nn.functional.normalize(pixel_emb, dim=1).t()
            acc = (sim.argmax(dim=1) == torch.arange(len(sim), device=sim.device)).float()
        return dict(loss_ppnce=loss, pair_acc=acc.mean(),
                    num_pairs=torch.tensor(float(len(sim)), device=sim.device))

    def predict(self, inputs: Dict[str, Tensor],
                data_samples: Optional[Sequence[BaseDataElement]] = None
                ) -> List[BaseDataElement]:
        """Each sample (frame) gets ``point_embeddings (V, D)`` (L2-normalised) and, for
        validation (``PPKTRetrievalMetric``), K pairs of its own drawn as in training
        (:meth:`sample_pairs`, first pixel per voxel, seeded by ``eval_seed``):
        ``sampled_pairs (K, 3)`` = (voxel index in the sample, row, col),
        ``pair_point_feats`` and ``pair_pixel_feats`` (K, D), normalised as the loss
        normalises them."""
        raw = self.point_embeddings(inputs)
        emb = torch.nn.functional.normalize(raw, dim=1)
        counts = list(inputs['num_voxels'])
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in counts]
        fmap = self.teacher_features(inputs['img'])
        image_size = tuple(inputs['img'].shape[-2:])
        offsets = [0]
        for n in counts[:-1]:
            offsets.append(offsets[-1] + n)
        for b, (sample, part) in enumerate(zip(data_samples, emb.split(counts))):
            sample.set_field(part, 'point_embeddings')
            own = inputs['pairs'][inputs['pairs'][:, 1] == b]
            generator = torch.Generator().manual_seed(self.eval_seed)
            pairs = self.sample_pairs(own, generator=generator, keep_first=True)
            point = raw[pairs[:, 0]]
            pixel = self.upl.sample(fmap, pairs[:, 1], pairs[:, 2], pairs[:, 3],
                                    image_size=image_size)
            if self.loss_module.normalize:
                point = torch.nn.functional.normalize(point, dim=1)
                pixel = torch.nn.functional.normalize(pixel, dim=1)
            sample.set_field(torch.stack([pairs[:, 0] - offsets[b], pairs[:, 2],
                                          pairs[:, 3]], dim=1), 'sampled_pairs')
            sample.set_field(point, 'pair_point_feats')
            sample.set_field(pixel, 'pair_pixel_feats')
        return list(data_samples)

    def tensor(self, inputs: Dict[str, Tensor]) -> Tensor:
        return self.extract_feat(inputs)
