"""crosspt encoders as backbones of mmdet3d's stock ``EncoderDecoder3D`` segmentor.

mmdet3d's segmentor hands its backbone ONE tensor ``points (B, N, 3 + C)``:

- training (``loss``): the stacked ``IndoorPatchPointSample`` patches, xyz with x and y
  centred on the patch centre (z not centred), then the attributes (ScanNet: rgb in
  [0, 1] after ``NormalizePointsColor``; + xyz / scene max with ``use_normalized_coord``);
- ``test_cfg.mode='slide'``: (K, num_points, 3 + C) patches built the same way;
- ``test_cfg.mode='whole'``: (1, N_scene, 3 + C), the raw scene.

Both backbones return ``dict(point_features=(B, C_out, N))`` (channels first, like
mmdet3d's point features), which :class:`PointFeatureSegHead` classifies.

The backbones SUBCLASS the crosspt modules and add no parameter, so their state dicts are
exactly those of :class:`~crosspt.models.backbones.SRUNet` /
:class:`~crosspt.models.backbones.PointMLPPartSeg`, and pre-trained weights load by name:

- PPKT (SR-UNet student): ``init_cfg=dict(type='crosspt.Pretrained', checkpoint=...,
  prefix='backbone.')`` with ``out_channels=None`` (PPKT keeps no 1x1 ``head``);
- PPKT (point student): ``prefix='backbone.net.'``;
- TAP (PointMLP encoder): ``prefix='backbone.'``, ``feature_keys=('xyz', 'height')`` for
  the pre-trained 4-d embedding (else add ``ignore_keys=['embedding.net.0.weight']``).

``type='crosspt.Pretrained'`` resolves to crosspt's reporting initialiser from the
mmdet3d scope; plain ``'Pretrained'`` there is mmengine's silent one.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import ConvModule
from mmdet3d.models.decode_heads.decode_head import Base3DDecodeHead
from mmdet3d.registry import MODELS
from torch import Tensor, nn

from crosspt.models.backbones.pointmlp_partseg import PointMLPPartSeg
from crosspt.models.backbones.srunet import SRUNet
from crosspt.ops.sparse_conv import SparseTensor

#: Per-point input features the backbones can build from ``points (B, N, 3 + C)`` and
#: their widths (None: all attribute columns, width known only at run time).
FEATURE_WIDTHS: Dict[str, Optional[int]] = {
    'xyz': 3,          # xyz minus the per-sample mean
    'rgb': 3,          # columns 3:6 (mmdet3d ScanNet: colour / 255)
    'height': 1,       # z minus the per-sample minimum z
    'ones': 3,         # constant 1 (PointContrast's dummy features, VoxelizePairs 'ones')
    'attributes': None,  # every column after xyz (rgb [+ normalised xyz])
}


def check_feature_keys(owner: str, feature_keys: Sequence[str],
                       in_channels: int) -> Tuple[str, ...]:
    """Validate ``feature_keys`` against :data:`FEATURE_WIDTHS` and ``in_channels``."""
    if isinstance(feature_keys, str):
        feature_keys = (feature_keys, )
    keys = tuple(feature_keys)
    if not keys:
        raise ValueError(f'{owner}: feature_keys is empty; choose from {list(FEATURE_WIDTHS)}')
    unknown = [k for k in keys if k not in FEATURE_WIDTHS]
    if unknown:
        raise KeyError(f'{owner}: unknown feature_keys {unknown}; choose from '
                       f'{list(FEATURE_WIDTHS)}')
    if 'attributes' not in keys:
        width = sum(FEATURE_WIDTHS[k] for k in keys)
        if width != in_channels:
            raise ValueError(f'{owner}: feature_keys {list(keys)} give {width} channels but '
                             f'in_channels={in_channels}')
    return keys


def build_point_features(owner: str, points: Tensor, feature_keys: Sequence[str],
                         in_channels: int) -> Tensor:
    """points (B, N, 3 + C) -> per-point input features (B, N, in_channels), the
    ``feature_keys`` concatenated in order (see :data:`FEATURE_WIDTHS`)."""
    xyz = points[..., :3]
    parts = []
    for key in feature_keys:
        if key == 'xyz':
            parts.append(xyz - xyz.mean(dim=1, keepdim=True))
        elif key == 'rgb':
            if points.shape[-1] < 6:
                raise ValueError(f"{owner}: feature 'rgb' needs points (B, N, >= 6) "
                                 f'(xyz + rgb), got {tuple(points.shape)}')
            parts.append(points[..., 3:6])
        elif key == 'height':
            parts.append(xyz[..., 2:3] - xyz[..., 2:3].min(dim=1, keepdim=True).values)
        elif key == 'ones':
            parts.append(points.new_ones(*points.shape[:2], 3))
        else:  # 'attributes'
            parts.append(points[..., 3:])
    feats = torch.cat(parts, dim=-1)
    if feats.shape[-1] != in_channels:
        raise ValueError(f'{owner}: feature_keys {list(feature_keys)} give {feats.shape[-1]} '
                         f'channels for points {tuple(points.shape)}, but '
                         f'in_channels={in_channels}')
    return feats


def check_points_input(owner: str, points: Tensor) -> None:
    if not isinstance(points, Tensor) or points.dim() != 3 or points.shape[-1] < 3 \
            or not points.is_floating_point():
        got = (f'{tuple(points.shape)} {points.dtype}' if isinstance(points, Tensor)
               else type(points).__name__)
        raise ValueError(f'{owner}: expected points (B, N, 3 + C) float, as '
                         f'EncoderDecoder3D.extract_feat passes them, got {got}')


@MODELS.register_module()
class SRUNetSegBackbone(SRUNet):
    """crosspt's SR-UNet (defaults: SR-UNet34) on mmdet3d point batches.

    Voxelises every sample (``floor(xyz / voxel_size)``, features averaged per voxel),
    runs the sparse U-Net and gathers the voxel features back to the points, so points
    sharing a voxel get identical features.  A SparseTensor input runs the plain
    :class:`SRUNet` forward (which :meth:`forward_points` uses).

    Args:
        voxel_size: voxel edge in metres (0.02, the usual ScanNet SR-UNet setting; PPKT
            pre-trains at 0.025).
        in_channels: voxel feature width; must equal the width of ``feature_keys``.
        feature_keys: per-point features, see :data:`FEATURE_WIDTHS` (default rgb, as
            PPKT's ``VoxelizePairs(feat_mode='rgb')``; ``('ones',)`` for dummy features).
        out_channels: None (default) keeps the 96-d decoder features and builds no 1x1
            ``head``, exactly the PPKT student, so a PPKT checkpoint matches every key;
            the decode head classifies.
        Others: as :class:`SRUNet` (``bn_momentum``, ``planes``, ``layers``, ...).

    Forward: points (B, N, 3 + C) -> ``dict(point_features=(B, out_channels, N))``.
    """

    def __init__(self, voxel_size: float = 0.02, in_channels: int = 3,
                 feature_keys: Sequence[str] = ('rgb', ),
                 out_channels: Optional[int] = None, stem_channels: int = 32,
                 planes: Sequence[int] = (32, 64, 128, 256, 256, 128, 96, 96),
                 layers: Sequence[int] = (2, 3, 4, 6, 2, 2, 2, 2), stem_kernel_size: int = 3,
                 bn_momentum: float = 0.05, backend: str = 'torch',
                 init_cfg: Optional[Union[Dict, list]] = None) -> None:
        super().__init__(in_channels=in_channels, out_channels=out_channels,
                         stem_channels=stem_channels, planes=planes, layers=layers,
                         stem_kernel_size=stem_kernel_size, bn_momentum=bn_momentum,
                         backend=backend, init_cfg=init_cfg)
        if not voxel_size > 0:
            raise ValueError(f'SRUNetSegBackbone: voxel_size must be > 0, got {voxel_size}')
        self.voxel_size = float(voxel_size)
        self.feature_keys = check_feature_keys('SRUNetSegBackbone', feature_keys, in_channels)

    def forward(self, points: Union[Tensor, List[Tensor], SparseTensor]
                ) -> Union[Dict[str, Tensor], SparseTensor]:
        """points (B, N, 3 + C) -> dict(point_features (B, out_channels, N)); a list of
        B scenes (N_i, 3 + C) -> dict(point_features (1, out_channels, sum N_i)), the
        scenes' points concatenated in order (each voxelised on its own); a
        SparseTensor -> SparseTensor (SRUNet's forward)."""
        if isinstance(points, SparseTensor):
            return super().forward(points)
        if isinstance(points, (list, tuple)):
            return self._forward_scenes(list(points))
        check_points_input('SRUNetSegBackbone', points)
        b, n = points.shape[:2]
        feats = build_point_features('SRUNetSegBackbone', points, self.feature_keys,
                                     self.in_channels)
        batch = torch.arange(b, device=points.device).repeat_interleave(n)
        point_feats, _, _ = self.forward_points(points[..., :3].reshape(b * n, 3), batch,
                                                self.voxel_size, feats.reshape(b * n, -1))
        return dict(point_features=point_feats.view(b, n, -1).transpose(1, 2).contiguous())

    def _forward_scenes(self, scenes: List[Tensor]) -> Dict[str, Tensor]:
        """B scenes (N_i, 3 + C) -> dict(point_features (1, out_channels, sum N_i))."""
        if not scenes:
            raise ValueError('SRUNetSegBackbone: got an empty list of scenes')
        feats, xyz = [], []
        for scene in scenes:
            check_points_input('SRUNetSegBackbone', scene.unsqueeze(0))
            feats.append(build_point_features('SRUNetSegBackbone', scene.unsqueeze(0),
                                              self.feature_keys, self.in_channels)[0])
            xyz.append(scene[:, :3])
        sizes = torch.tensor([len(s) for s in scenes], device=scenes[0].device)
        batch = torch.arange(len(scenes), device=scenes[0].device).repeat_interleave(sizes)
        point_feats, _, _ = self.forward_points(torch.cat(xyz), batch, self.voxel_size,
                                                torch.cat(feats))
        return dict(point_features=point_feats.t().unsqueeze(0).contiguous())


@MODELS.register_module()
class PointMLPSegBackbone(PointMLPPartSeg):
    """crosspt's PointMLP encoder-decoder (:class:`PointMLPPartSeg`) on mmdet3d batches.

    xyz is centred per sample (minus its mean, as PPKT's ``PointStudent``) for both the
    geometry (FPS, kNN, interpolation) and the ``'xyz'`` feature; the category input is
    all zeros (one dummy category, ``num_categories=1``, as the PPKT point student).

    Args:
        in_channels: embedding input width; must equal the width of ``feature_keys``.
        feature_keys: per-point features, see :data:`FEATURE_WIDTHS`.  ``('xyz', 'rgb')``
            (default, 6-d); ``('xyz', )`` = the PPKT point student's input;
            ``('xyz', 'height')`` = TAP's pre-training input (4-d embedding loads).
        num_categories: width of the category one-hot (1: PPKT student; the category
            branch is then a learned constant).
        Others: as :class:`PointMLPPartSeg`.

    Forward: points (B, N, 3 + C) -> ``dict(point_features=(B, out_channels, N))``;
    N must be at least ``prod(reducers)`` and every level at least its ``k_neighbors``.
    """

    def __init__(self, in_channels: int = 6, feature_keys: Sequence[str] = ('xyz', 'rgb'),
                 num_categories: int = 1, **kwargs) -> None:
        super().__init__(in_channels=in_channels, num_categories=num_categories, **kwargs)
        self.feature_keys = check_feature_keys('PointMLPSegBackbone', feature_keys,
                                               in_channels)

    def forward(self, points: Tensor) -> Dict[str, Tensor]:
        """points (B, N, 3 + C) -> dict(point_features (B, out_channels, N))."""
        check_points_input('PointMLPSegBackbone', points)
        feats = build_point_features('PointMLPSegBackbone', points, self.feature_keys,
                                     self.in_channels)
        xyz = points[..., :3]
        xyz = xyz - xyz.mean(dim=1, keepdim=True)
        category = torch.zeros(points.shape[0], dtype=torch.long, device=points.device)
        out = super().forward(xyz, feats, category)
        return dict(point_features=out['point_features'].transpose(1, 2).contiguous())


@MODELS.register_module()
class PointFeatureSegHead(Base3DDecodeHead):
    """Per-point classifier: optional 1x1 Conv-BN-ReLU layers, dropout, ``conv_seg``.

    Args:
        in_channels: width of ``inputs[in_key]`` (96 for SR-UNet34, 256 for the
            PointMLP part-seg decoder).
        channels: width before ``conv_seg``; without ``mlp_channels`` it must equal
            ``in_channels``.
        num_classes: 20 for ScanNet.
        mlp_channels: hidden widths of the 1x1 conv layers; the last layer maps to
            ``channels``, e.g. ``(256,)`` with channels 128 is 256 -> 256 -> 128.
        in_key: key of the (B, C, N) features in the backbone's output dict.
        ignore_index: label ignored by the loss; None (default) means ``num_classes``,
            which is what mmdet3d's ``PointSegClassMapping`` gives unannotated points
            (20 on ScanNet).
        Others (dropout_ratio, conv/norm/act cfg, loss_decode with optional
            ``class_weight``): as :class:`Base3DDecodeHead`.

    Forward: inputs dict -> logits (B, num_classes, N).
    """

    def __init__(self, in_channels: int, channels: int, num_classes: int,
                 mlp_channels: Sequence[int] = (), in_key: str = 'point_features',
                 ignore_index: Optional[int] = None, **kwargs) -> None:
        super().__init__(channels=channels, num_classes=num_classes,
                         ignore_index=num_classes if ignore_index is None else ignore_index,
                         **kwargs)
        widths = [in_channels, *mlp_channels]
        if not mlp_channels and channels != in_channels:
            raise ValueError(f'PointFeatureSegHead: channels ({channels}) must equal '
                             f'in_channels ({in_channels}) when mlp_channels is empty')
        if mlp_channels:
            widths.append(channels)
        self.in_channels = in_channels
        self.in_key = in_key
        self.mlp = nn.Sequential(*[
            ConvModule(c_in, c_out, 1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                       act_cfg=self.act_cfg)
            for c_in, c_out in zip(widths[:-1], widths[1:])])

    def forward(self, feats_dict: dict) -> Tensor:
        """feats_dict[in_key] (B, in_channels, N) -> logits (B, num_classes, N)."""
        if not isinstance(feats_dict, dict) or self.in_key not in feats_dict:
            keys = list(feats_dict) if isinstance(feats_dict, dict) else type(feats_dict)
            raise KeyError(f'PointFeatureSegHead: backbone output lacks {self.in_key!r} '
                           f'(got {keys})')
        x = feats_dict[self.in_key]
        if x.dim() != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f'PointFeatureSegHead: {self.in_key!r} must be (B, '
                             f'{self.in_channels}, N), got {tuple(x.shape)}')
        return self.cls_seg(self.mlp(x))
