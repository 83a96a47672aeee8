"""3DETR: an end-to-end Transformer detector for 3D point clouds (Misra et al., ICCV 2021).

Implements docs/methods/3detr.md ('Model' to 'Evaluation'); every number there is a
constructor argument with that value as default.  Pure PyTorch on ``crosspt.ops``.

Pipeline (shapes for the ScanNet defaults, ``B`` scenes of ``N`` points with ``C`` extra
feature channels after xyz):

1. :class:`ThreeDETREncoder` (usable alone as a backbone):
   pre-encoder set abstraction (FPS 2048 centres, ball radius 0.2, 64 neighbours, MLP
   3 + C -> 64 -> 128 -> 256 on ``[(p_j - p_i) / r, f_j]``, max-pool) then 3 pre-norm
   Transformer encoder layers (d 256, 4 heads, FFN 128, dropout 0.1, no positional
   embedding).  The masked variant (3DETR-m) restricts attention in layer ``i`` to points
   closer than ``masking_radius[i]`` and down-samples 2048 -> 1024 tokens with a second set
   abstraction (radius 0.4, 32 neighbours, MLP 256 + 3 -> 256 -> 256 -> 256) after layer 0.
2. encoder -> decoder projection: 1x1 conv MLP with BatchNorm + ReLU (hidden [256, 256]
   vanilla, [256] masked; output 256).
3. queries: FPS of ``nqueries`` (256) encoder points from any start (bucket FPS on CPU);
   Fourier positional encoding of the query xyz (normalised to [0, 1] by the scene
   min/max, times 2 pi, projected by a fixed N(0, 1) matrix ``B (3, 128)`` kept as a
   buffer, ``[sin, cos]`` -> 256) through an MLP 256 -> 256 -> 256 with ReLU; memory
   positions are the same encoding of the encoder xyz; the decoder input starts at zeros.
4. decoder: 8 pre-norm layers (d 256, 4 heads, FFN 256, dropout 0.1); the final LayerNorm
   is applied to every layer output, and all of them go through the heads.
5. heads (shared by all layers, 1x1 conv MLP 256 -> 256 -> 256 -> out with BatchNorm, ReLU,
   dropout 0.3): class logits (K + 1, last = no object), centre offset
   ``sigmoid - 0.5`` added to the query xyz in metres, size ``sigmoid * scene extent``
   (extent clamped >= 0.1), heading-bin logits and normalised residuals (``n_bins``;
   ScanNet 1 bin, angle forced to 0).  Objectness = 1 - p(no object).

:class:`ThreeDETRDetector` (an mmengine ``BaseModel``) ties these together with
:class:`~crosspt.models.detectors.threedetr_criterion.ThreeDETRCriterion` and the 3DETR
post-processing.  Its batch format is independent of mmdet3d (see
:meth:`ThreeDETRDetector.forward`).
"""
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.ops import ball_query, furthest_point_sample, gather_points, group_points
from crosspt.registry import MODELS

from ..backbones.pointnet2 import ConvBNReLU2d
from ..base import PointAlgorithm
from .threedetr_criterion import aligned_box3d_iou, bin_to_angle

HEAD_KEYS = ('sem_cls_logits', 'sem_cls_prob', 'objectness_prob', 'center_normalized',
             'center_unnormalized', 'size_normalized', 'size_unnormalized', 'angle_logits',
             'angle_residual_normalized', 'angle_continuous')

DEFAULT_TEST_CFG = dict(remove_empty_box=True, min_points_in_box=5, nms=True, cls_nms=True,
                        nms_iou=0.25, per_class_proposal=True, conf_thresh=0.05)


def _activation(name: str) -> nn.Module:
    if name == 'relu':
        return nn.ReLU(inplace=True)
    if name == 'gelu':
        return nn.GELU()
    raise ValueError(f"activation must be 'relu' or 'gelu', got {name!r}")


# ----------------------------------------------------------------------------- blocks


class PointSetAbstraction(nn.Module):
    """Single-scale set abstraction with a fixed number of centres (3DETR's SA layers).

    FPS picks ``num_points`` centres (first sample = point 0); a ball query takes up to
    ``num_samples`` neighbours within ``radius`` (``'first'``: PointNet++ order); each
    neighbour contributes ``[(p_j - p_i) / radius, f_j]`` (divided by the radius when
    ``normalize_xyz``), a shared 1x1 ``Conv2d -> BN -> ReLU`` MLP is applied and the
    result max-pooled over the neighbours.  Keys: ``mlp.{j}.conv.weight``,
    ``mlp.{j}.bn.*``.

    Args:
        in_channels: feature channels C of the incoming points (3 relative xyz are added).
        mlp: output widths of the shared MLP.
        num_points: number of centres M.
        radius: ball radius (metres).
        num_samples: neighbours per ball K.
        normalize_xyz: divide the relative xyz by ``radius``.
        ball_query_mode: ``'first'`` or ``'nearest'`` (see :func:`crosspt.ops.ball_query`).
    """

    def __init__(self, in_channels: int, mlp: Sequence[int], num_points: int, radius: float,
                 num_samples: int, normalize_xyz: bool = True,
                 ball_query_mode: str = 'first') -> None:
        super().__init__()
        if int(num_points) < 1 or float(radius) <= 0 or int(num_samples) < 1 or not mlp:
            raise ValueError(f'PointSetAbstraction: need num_points >= 1, radius > 0, '
                             f'num_samples >= 1 and a non-empty mlp, got {num_points}, '
                             f'{radius}, {num_samples}, {mlp}')
        self.in_channels = int(in_channels)
        self.out_channels = int(mlp[-1])
        self.num_points, self.radius, self.num_samples = int(num_points), float(radius), \
            int(num_samples)
        self.normalize_xyz = bool(normalize_xyz)
        self.ball_query_mode = ball_query_mode
        layers, channels = [], self.in_channels + 3
        for out in mlp:
            layers.append(ConvBNReLU2d(channels, int(out)))
            channels = int(out)
        self.mlp = nn.Sequential(*layers)

    def forward(self, xyz: Tensor, feats: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor, Tensor]:
        """xyz (B, N, 3), feats (B, N, C) or None (C = 0) ->
        centres (B, M, 3), features (B, M, C_out), centre indices (B, M) int64 into N."""
        if xyz.shape[1] < self.num_points:
            raise ValueError(f'PointSetAbstraction: {xyz.shape[1]} points, fewer than the '
                             f'{self.num_points} centres to sample')
        center_idx = furthest_point_sample(xyz.detach(), self.num_points)           # (B, M)
        centers = gather_points(xyz, center_idx)                                    # (B, M, 3)
        nbr_idx = ball_query(centers.detach(), xyz.detach(), self.radius, self.num_samples,
                             mode=self.ball_query_mode)                             # (B, M, K)
        rel = group_points(xyz, nbr_idx) - centers.unsqueeze(2)                     # (B, M, K, 3)
        if self.normalize_xyz:
            rel = rel / self.radius
        if feats is not None and feats.shape[-1] > 0:
            if feats.shape[-1] != self.in_channels:
                raise ValueError(f'PointSetAbstraction: expected {self.in_channels} feature '
                                 f'channels, got {feats.shape[-1]}')
            grouped = torch.cat([rel, group_points(feats.to(rel.dtype), nbr_idx)], dim=-1)
        else:
            if self.in_channels:
                raise ValueError(f'PointSetAbstraction: expected {self.in_channels} feature '
                                 f'channels, got none')
            grouped = rel
        out = self.mlp(grouped.permute(0, 3, 1, 2).contiguous())                    # (B, C', M, K)
        return centers, out.max(dim=-1).values.transpose(1, 2).contiguous(), center_idx


class ConvBlock1d(nn.Module):
    """1x1 ``Conv1d [-> BN] [-> act] [-> dropout]`` on ``(B, C, L)``; the conv has a bias
    only when no BatchNorm follows."""

    def __init__(self, in_channels: int, out_channels: int, norm: bool, act: bool,
                 dropout: float = 0.0, activation: str = 'relu') -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, 1, bias=not norm)
        self.bn = nn.BatchNorm1d(out_channels) if norm else nn.Identity()
        self.act = _activation(activation) if act else nn.Identity()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.act(self.bn(self.conv(x))))


def conv_mlp(in_channels: int, hidden: Sequence[int], out_channels: int, norm: bool,
             dropout: float = 0.0, output_norm_act: bool = False,
             activation: str = 'relu') -> nn.Sequential:
    """1x1 conv MLP ``in -> hidden... -> out`` on ``(B, C, L)``.  Hidden layers are
    ``conv [-> BN] -> act -> dropout``; the output layer is a plain conv (with bias) unless
    ``output_norm_act`` (then ``conv [-> BN] -> act``, no dropout)."""
    layers, channels = [], int(in_channels)
    for width in hidden:
        layers.append(ConvBlock1d(channels, int(width), norm, True, dropout, activation))
        channels = int(width)
    layers.append(ConvBlock1d(channels, int(out_channels), norm and output_norm_act,
                              output_norm_act, 0.0, activation))
    return nn.Sequential(*layers)


def radius_attention_mask(xyz: Tensor, radius: float) -> Tensor:
    """Attention mask of the masked encoder: point i may attend to point j only when their
    Euclidean distance is below ``radius`` (every point sees itself).

    Args:
        xyz: (B, N, 3).
        radius: metres.
    Returns:
        (B, N, N) bool, True where attention is **not** allowed (``dist >= radius``), the
        convention of ``nn.MultiheadAttention``'s boolean ``attn_mask``.
    """
    with torch.no_grad():
        return torch.cdist(xyz, xyz) >= radius


class EncoderLayer(nn.Module):
    """Pre-norm Transformer encoder layer on ``(B, L, D)`` (no positional embedding)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float,
                 activation: str = 'relu') -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout,
                                               batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, x: Tensor, attn_mask: Optional[Tensor] = None) -> Tensor:
        """x (B, L, D); attn_mask (B * nhead, L, L) bool (True = blocked) or None."""
        h = self.norm1(x)
        x = x + self.dropout1(self.self_attn(h, h, h, attn_mask=attn_mask,
                                             need_weights=False)[0])
        h = self.norm2(x)
        return x + self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(h)))))


class DecoderLayer(nn.Module):
    """Pre-norm Transformer decoder layer on ``(B, Q, D)`` queries and ``(B, M, D)`` memory.

    Self-attention uses ``q = k = LN(tgt) + query_pos``, ``v = LN(tgt)``; cross-attention
    ``q = LN(tgt) + query_pos``, ``k = memory + pos``, ``v = memory``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float,
                 activation: str = 'relu') -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout,
                                               batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout,
                                                batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, tgt: Tensor, memory: Tensor, query_pos: Tensor, pos: Tensor) -> Tensor:
        h = self.norm1(tgt)
        q = h + query_pos
        tgt = tgt + self.dropout1(self.self_attn(q, q, h, need_weights=False)[0])
        h = self.norm2(tgt)
        tgt = tgt + self.dropout2(self.cross_attn(h + query_pos, memory + pos, memory,
                                                  need_weights=False)[0])
        h = self.norm3(tgt)
        return tgt + self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(h)))))


class ThreeDETRDecoder(nn.Module):
    """Stack of :class:`DecoderLayer` returning every layer's output after the final norm.

    Keys: ``layers.{i}.*``, ``norm.*``.
    """

    def __init__(self, num_layers: int = 8, d_model: int = 256, nhead: int = 4,
                 dim_feedforward: int = 256, dropout: float = 0.1,
                 activation: str = 'relu') -> None:
        super().__init__()
        if int(num_layers) < 1:
            raise ValueError(f'ThreeDETRDecoder: num_layers must be >= 1, got {num_layers}')
        self.layers = nn.ModuleList(DecoderLayer(d_model, nhead, dim_feedforward, dropout,
                                                 activation) for _ in range(int(num_layers)))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, tgt: Tensor, memory: Tensor, query_pos: Tensor, pos: Tensor) -> Tensor:
        """tgt, query_pos (B, Q, D); memory, pos (B, M, D) -> (num_layers, B, Q, D)."""
        outputs = []
        for layer in self.layers:
            tgt = layer(tgt, memory, query_pos, pos)
            outputs.append(self.norm(tgt))
        return torch.stack(outputs)


class FourierPositionEmbedding(nn.Module):
    """Random Fourier features of xyz normalised to the scene box.

    ``emb = [sin(2 pi x' B), cos(2 pi x' B)]`` with ``x' = (x - scene_min) / extent`` in
    [0, 1] and ``B (3, dim / 2)`` drawn once from ``N(0, scale^2)`` with a fixed seed;
    ``B`` is a (non-trainable) buffer, saved in the state dict as ``gauss_B``.
    """

    def __init__(self, dim: int = 256, in_dims: int = 3, scale: float = 1.0,
                 seed: int = 0) -> None:
        super().__init__()
        if int(dim) % 2:
            raise ValueError(f'FourierPositionEmbedding: dim must be even, got {dim}')
        generator = torch.Generator().manual_seed(int(seed))
        self.dim = int(dim)
        self.register_buffer('gauss_B', torch.randn(int(in_dims), self.dim // 2,
                                                    generator=generator) * float(scale))

    def forward(self, xyz: Tensor, scene_min: Tensor, scene_extent: Tensor) -> Tensor:
        """xyz (B, N, 3), scene_min / scene_extent (B, 3) -> (B, N, dim)."""
        normed = (xyz - scene_min[:, None]) / scene_extent[:, None]
        proj = (2 * math.pi * normed) @ self.gauss_B.to(xyz.dtype)
        return torch.cat([proj.sin(), proj.cos()], dim=-1)


# ----------------------------------------------------------------------------- encoder


@MODELS.register_module()
class ThreeDETREncoder(BaseModule):
    """3DETR encoder: pre-encoder set abstraction + Transformer encoder (vanilla or masked).

    Keys: ``pre_encoder.mlp.{j}.{conv,bn}.*``, ``layers.{i}.{self_attn,linear1,linear2,
    norm1,norm2}.*`` and, for the masked variant, ``interim_downsample.mlp.{j}.*``.
    Load pre-trained weights with ``init_cfg=dict(type='Pretrained', checkpoint=...,
    prefix='backbone.')`` (or ``'encoder.'`` from a detector checkpoint).

    Args:
        in_channels: extra per-point feature channels C after xyz (0 = xyz only; 3 with
            colour).
        encoder_type: ``'vanilla'`` or ``'masked'`` (3DETR-m).
        preenc_npoints, preenc_radius, preenc_nsample, preenc_mlp: pre-encoder SA
            (2048, 0.2, 64, (64, 128, 256)); ``preenc_mlp[-1]`` must equal ``enc_dim``.
        normalize_xyz: divide relative xyz by the ball radius in the SA layers.
        ball_query_mode: ``'first'`` (PointNet++) or ``'nearest'``.
        enc_dim, enc_nhead, enc_ffn_dim, enc_dropout, enc_activation: layer dims
            (256, 4, 128, 0.1, relu).  3DETR-m trains with dropout 0.3.
        num_layers: encoder layers (3).
        masking_radius: per-layer attention radius in metres for the masked variant
            (0.16, 0.64, 1.44): point i attends to j only if ``|p_i - p_j| < radius``.
            These are the released 3DETR-m's radii: it squares 0.4 / 0.8 / 1.2 and
            compares the squares with the plain distance (docs/methods/3detr.md).
        interim_npoints, interim_radius, interim_nsample, interim_mlp: the masked
            variant's down-sampling SA (1024, 0.4, 32, (256, 256, 256)).
        downsample_after_layer: index of the encoder layer followed by that SA (0).
        final_norm: apply a LayerNorm to the encoder output (the release has none; off).
        output_format: ``'tuple'`` -> ``(xyz, feats, inds)``; ``'dict'`` ->
            ``dict(centers, features, global_features, indices)`` (the interface of
            crosspt's other backbones, e.g. for TAP pre-training).
    """

    def __init__(self,
                 in_channels: int = 0,
                 encoder_type: str = 'vanilla',
                 preenc_npoints: int = 2048,
                 preenc_radius: float = 0.2,
                 preenc_nsample: int = 64,
                 preenc_mlp: Sequence[int] = (64, 128, 256),
                 normalize_xyz: bool = True,
                 ball_query_mode: str = 'first',
                 enc_dim: int = 256,
                 enc_nhead: int = 4,
                 enc_ffn_dim: int = 128,
                 enc_dropout: float = 0.1,
                 enc_activation: str = 'relu',
                 num_layers: int = 3,
                 masking_radius: Sequence[float] = (0.16, 0.64, 1.44),
                 interim_npoints: int = 1024,
                 interim_radius: float = 0.4,
                 interim_nsample: int = 32,
                 interim_mlp: Sequence[int] = (256, 256, 256),
                 downsample_after_layer: int = 0,
                 final_norm: bool = False,
                 output_format: str = 'tuple',
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if encoder_type not in ('vanilla', 'masked'):
            raise ValueError(f"ThreeDETREncoder: encoder_type must be 'vanilla' or 'masked', "
                             f'got {encoder_type!r}')
        if output_format not in ('tuple', 'dict'):
            raise ValueError(f"ThreeDETREncoder: output_format must be 'tuple' or 'dict', "
                             f'got {output_format!r}')
        if int(preenc_mlp[-1]) != int(enc_dim):
            raise ValueError(f'ThreeDETREncoder: preenc_mlp[-1]={preenc_mlp[-1]} must equal '
                             f'enc_dim={enc_dim}')
        if int(enc_dim) % int(enc_nhead):
            raise ValueError(f'ThreeDETREncoder: enc_dim={enc_dim} is not divisible by '
                             f'enc_nhead={enc_nhead}')
        self.in_channels = int(in_channels)
        self.encoder_type = encoder_type
        self.enc_dim = self.out_channels = int(enc_dim)
        self.enc_nhead = int(enc_nhead)
        self.output_format = output_format
        self.pre_encoder = PointSetAbstraction(self.in_channels, preenc_mlp, preenc_npoints,
                                               preenc_radius, preenc_nsample, normalize_xyz,
                                               ball_query_mode)
        self.layers = nn.ModuleList(
            EncoderLayer(self.enc_dim, self.enc_nhead, int(enc_ffn_dim), float(enc_dropout),
                         enc_activation) for _ in range(int(num_layers)))
        self.masking_radius: Tuple[float, ...] = ()
        self.downsample_after_layer = None
        if encoder_type == 'masked':
            if len(masking_radius) != int(num_layers):
                raise ValueError(f'ThreeDETREncoder: masking_radius needs one radius per layer '
                                 f'({num_layers}), got {masking_radius}')
            if int(interim_mlp[-1]) != self.enc_dim:
                raise ValueError(f'ThreeDETREncoder: interim_mlp[-1]={interim_mlp[-1]} must '
                                 f'equal enc_dim={enc_dim}')
            if not 0 <= int(downsample_after_layer) < int(num_layers):
                raise ValueError(f'ThreeDETREncoder: downsample_after_layer must be in '
                                 f'[0, {num_layers}), got {downsample_after_layer}')
            self.masking_radius = tuple(float(r) for r in masking_radius)
            self.downsample_after_layer = int(downsample_after_layer)
            self.interim_downsample = PointSetAbstraction(
                self.enc_dim, interim_mlp, interim_npoints, interim_radius, interim_nsample,
                normalize_xyz, ball_query_mode)
        self.norm = nn.LayerNorm(self.enc_dim) if final_norm else None

    def forward(self, points: Tensor, features: Optional[Tensor] = None
                ) -> Union[Tuple[Tensor, Tensor, Tensor], Dict[str, Tensor]]:
        """Encode a batch of scenes.

        Args:
            points: (B, N, 3 + C) xyz then ``in_channels`` features; or (B, N, 3) xyz
                when ``features`` is given.
            features: optional (B, N, C) features (replaces ``points[..., 3:]``).
        Returns:
            ``output_format='tuple'``: xyz (B, M, 3), feats (B, M, enc_dim), inds (B, M)
            int64 indices of the output points into the N input points
            (M = preenc_npoints, or interim_npoints for the masked variant).
        """
        if not isinstance(points, Tensor) or points.dim() != 3 or points.shape[-1] < 3:
            raise ValueError(f'ThreeDETREncoder: points must be a (B, N, 3 + C) tensor, got '
                             f'{getattr(points, "shape", type(points).__name__)}')
        xyz = points[..., :3].contiguous()
        feats = points[..., 3:] if features is None else features
        if feats.shape[-1] != self.in_channels:
            raise ValueError(f'ThreeDETREncoder: expected {self.in_channels} feature channels '
                             f'after xyz, got {feats.shape[-1]}')
        xyz, x, inds = self.pre_encoder(xyz, feats)
        for i, layer in enumerate(self.layers):
            mask = None
            if self.encoder_type == 'masked':
                mask = radius_attention_mask(xyz, self.masking_radius[i])
                mask = mask.repeat_interleave(self.enc_nhead, dim=0)
            x = layer(x, attn_mask=mask)
            if i == self.downsample_after_layer:
                xyz, x, sub = self.interim_downsample(xyz, x)
                inds = inds.gather(1, sub)
        if self.norm is not None:
            x = self.norm(x)
        if self.output_format == 'dict':
            return dict(centers=xyz, features=x, global_features=x.max(dim=1).values,
                        indices=inds)
        return xyz, x, inds


# ----------------------------------------------------------------------------- heads


class ThreeDETRHeads(nn.Module):
    """Box prediction heads shared by all decoder layers.

    Keys: ``{sem_cls,center,size,angle_cls,angle_reg}.{j}.{conv,bn}.*``.

    Args:
        num_classes: K (the class head has K + 1 outputs, last = no object).
        d_model: decoder width.
        hidden: hidden widths of every head MLP ((256, 256)).
        dropout: head dropout (0.3).
        num_angle_bins: heading bins (1: angle forced to 0).
    """

    def __init__(self, num_classes: int, d_model: int = 256, hidden: Sequence[int] = (256, 256),
                 dropout: float = 0.3, num_angle_bins: int = 1) -> None:
        super().__init__()
        self.num_classes, self.num_angle_bins = int(num_classes), int(num_angle_bins)
        if self.num_angle_bins < 1:
            raise ValueError(f'ThreeDETRHeads: num_angle_bins must be >= 1, got {num_angle_bins}')

        def head(out: int) -> nn.Sequential:
            return conv_mlp(d_model, hidden, out, norm=True, dropout=dropout)

        self.sem_cls = head(self.num_classes + 1)
        self.center = head(3)
        self.size = head(3)
        self.angle_cls = head(self.num_angle_bins)
        self.angle_reg = head(self.num_angle_bins)

    def forward(self, hs: Tensor, query_xyz: Tensor, scene_min: Tensor,
                scene_extent: Tensor) -> Dict[str, Tensor]:
        """Decode boxes from every layer's query features.

        Args:
            hs: (L, B, Q, D) decoder outputs.
            query_xyz: (B, Q, 3) query positions in metres.
            scene_min, scene_extent: (B, 3) (extent already clamped).
        Returns:
            dict of (L, B, Q, ...) tensors, keys :data:`HEAD_KEYS`: ``sem_cls_logits (K+1)``,
            ``sem_cls_prob (K)`` (softmax over K + 1, no-object column dropped),
            ``objectness_prob ()``, ``center_normalized (3)``, ``center_unnormalized (3)``,
            ``size_normalized (3)``, ``size_unnormalized (3)``, ``angle_logits (n_bins)``,
            ``angle_residual_normalized (n_bins)``, ``angle_continuous ()`` (radians).
        """
        nl, b, q, d = hs.shape
        x = hs.reshape(nl * b, q, d).transpose(1, 2)                             # (LB, D, Q)

        def run(head: nn.Module) -> Tensor:
            return head(x).transpose(1, 2).reshape(nl, b, q, -1)

        logits = run(self.sem_cls)
        center_unnorm = query_xyz[None] + (run(self.center).sigmoid() - 0.5)
        center_norm = (center_unnorm - scene_min[None, :, None]) / scene_extent[None, :, None]
        size_norm = run(self.size).sigmoid()
        size_unnorm = size_norm * scene_extent[None, :, None]
        angle_logits = run(self.angle_cls)
        angle_res = run(self.angle_reg)
        if self.num_angle_bins == 1:
            angle = center_unnorm.new_zeros(nl, b, q)
        else:
            cls = angle_logits.argmax(-1, keepdim=True)
            angle = bin_to_angle(cls.squeeze(-1), angle_res.gather(-1, cls).squeeze(-1),
                                 self.num_angle_bins)
        prob = logits.softmax(-1)
        return dict(sem_cls_logits=logits, sem_cls_prob=prob[..., :-1],
                    objectness_prob=1 - prob[..., -1], center_normalized=center_norm,
                    center_unnormalized=center_unnorm, size_normalized=size_norm,
                    size_unnormalized=size_unnorm, angle_logits=angle_logits,
                    angle_residual_normalized=angle_res, angle_continuous=angle)


# ----------------------------------------------------------------------------- post-processing


def points_in_boxes_count(points: Tensor, boxes: Tensor, chunk: int = 64) -> Tensor:
    """Number of points inside each box (rotation about z by the yaw column if present).

    Args:
        points: (N, 3).
        boxes: (Q, 6 or 7) ``[cx, cy, cz, dx, dy, dz(, yaw)]``.
    Returns:
        (Q,) int64; a point is inside when ``|local| < size / 2`` on every axis.
    """
    counts = []
    for start in range(0, len(boxes), chunk):
        bx = boxes[start:start + chunk]
        rel = points[None] - bx[:, None, :3]                                   # (q, N, 3)
        if bx.shape[-1] > 6:
            cos, sin = bx[:, 6].cos()[:, None], bx[:, 6].sin()[:, None]
            x = rel[..., 0] * cos + rel[..., 1] * sin
            y = -rel[..., 0] * sin + rel[..., 1] * cos
            rel = torch.stack([x, y, rel[..., 2]], dim=-1)
        inside = (rel.abs() < bx[:, None, 3:6] / 2).all(-1)
        counts.append(inside.sum(-1))
    return torch.cat(counts) if counts else boxes.new_zeros(0, dtype=torch.long)


def aligned_nms_3d(boxes: Tensor, scores: Tensor, iou_thr: float,
                   labels: Optional[Tensor] = None) -> Tensor:
    """Greedy 3D NMS of axis-aligned boxes (yaw ignored), class-aware when ``labels`` given.

    Boxes are visited by decreasing score; a box is kept unless a kept box (of the same
    label) overlaps it with IoU > ``iou_thr``.

    Args:
        boxes: (P, >=6); scores: (P,); labels: (P,) or None.
    Returns:
        kept indices (k,) int64, by decreasing score.
    """
    if len(boxes) == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    iou = aligned_box3d_iou(boxes, boxes)
    suppress_pair = iou > iou_thr
    if labels is not None:
        suppress_pair &= labels[:, None] == labels[None]
    order = scores.argsort(descending=True)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool, device=boxes.device)
    keep = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= suppress_pair[i]
    return torch.as_tensor(keep, dtype=torch.long, device=boxes.device)


def threedetr_post_process(boxes: Tensor, sem_cls_prob: Tensor, objectness: Tensor,
                           points: Tensor, cfg: Optional[dict] = None) -> Dict[str, Tensor]:
    """3DETR evaluation post-processing of one scene.

    1. ``remove_empty_box``: drop boxes holding fewer than ``min_points_in_box`` (5) input
       points; if none remain keep the most objectness-confident one.
    2. 3D NMS (IoU ``nms_iou`` 0.25), class-aware (``cls_nms``: the class is the argmax of
       ``sem_cls_prob``), ranked by objectness.
    3. keep boxes with objectness > ``conf_thresh`` (0.05); with ``per_class_proposal`` each
       is emitted once per class with score ``p_cls * objectness``, else once with its
       argmax class and the objectness as score.

    Args:
        boxes: (Q, 7) metres; sem_cls_prob: (Q, K); objectness: (Q,); points: (N, 3).
        cfg: overrides of :data:`DEFAULT_TEST_CFG`.
    Returns:
        dict(boxes (P, 7), scores (P,), labels (P,) int64).
    """
    cfg = dict(DEFAULT_TEST_CFG, **(cfg or {}))
    num_classes = sem_cls_prob.shape[-1]
    keep = torch.arange(len(boxes), device=boxes.device)
    if cfg['remove_empty_box'] and len(boxes):
        nonempty = points_in_boxes_count(points, boxes) >= cfg['min_points_in_box']
        keep = nonempty.nonzero().squeeze(1) if nonempty.any() \
            else objectness.argmax().reshape(1)
    pred_cls = sem_cls_prob.argmax(-1)
    if cfg['nms'] and len(keep):
        picked = aligned_nms_3d(boxes[keep], objectness[keep], cfg['nms_iou'],
                                pred_cls[keep] if cfg['cls_nms'] else None)
        keep = keep[picked]
    keep = keep[objectness[keep] > cfg['conf_thresh']]
    if cfg['per_class_proposal']:
        out_boxes = boxes[keep].repeat_interleave(num_classes, dim=0)
        scores = (sem_cls_prob[keep] * objectness[keep, None]).reshape(-1)
        labels = torch.arange(num_classes, device=boxes.device).repeat(len(keep))
    else:
        out_boxes, scores, labels = boxes[keep], objectness[keep], pred_cls[keep]
    return dict(boxes=out_boxes, scores=scores, labels=labels.long())


# ----------------------------------------------------------------------------- data samples


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def unpack_det_samples(data_samples: Sequence[Any], device: Union[str, torch.device]
                       ) -> List[Dict[str, Tensor]]:
    """Ground truth of a batch as ``[dict(boxes (M, 7), labels (M,) int64)]``.

    Accepted per sample (duck-typed, no mmdet3d import):

    - a dict or object with ``gt_bboxes`` (M, 6 or 7) ``[cx, cy, cz, dx, dy, dz(, yaw)]``
      (box **centre**) and ``gt_labels`` (M,);
    - an object with ``gt_instances_3d.bboxes_3d`` and ``gt_instances_3d.labels_3d``
      (mmdet3d ``Det3DDataSample``).  If ``bboxes_3d`` has ``gravity_center`` (mmdet3d box
      classes store the bottom centre in ``.tensor``), the centre is taken from it and
      the sizes/yaw from ``.tensor[:, 3:]``; otherwise ``.tensor`` (or the tensor itself)
      is read as centre boxes.

    6-column boxes get a zero yaw.
    """
    if data_samples is None:
        raise ValueError('ThreeDETRDetector: data_samples with ground truth are required')
    targets = []
    for i, sample in enumerate(data_samples):
        boxes, labels = _get(sample, 'gt_bboxes'), _get(sample, 'gt_labels')
        if boxes is None:
            inst = _get(sample, 'gt_instances_3d')
            if inst is None:
                raise KeyError(f'ThreeDETRDetector: data sample {i} has neither gt_bboxes / '
                               f'gt_labels nor gt_instances_3d')
            bboxes, labels = _get(inst, 'bboxes_3d'), _get(inst, 'labels_3d')
            raw = bboxes.tensor if hasattr(bboxes, 'tensor') else bboxes
            raw = torch.as_tensor(raw)
            if hasattr(bboxes, 'gravity_center'):
                boxes = torch.cat([torch.as_tensor(bboxes.gravity_center), raw[:, 3:]], dim=-1)
            else:
                boxes = raw
        if labels is None:
            raise KeyError(f'ThreeDETRDetector: data sample {i} has boxes but no labels')
        boxes = torch.as_tensor(boxes, dtype=torch.float32, device=device)
        if boxes.numel() == 0:
            boxes = boxes.reshape(0, 7)
        labels = torch.as_tensor(labels, device=device).long().reshape(-1)
        if boxes.shape[-1] == 6:
            boxes = torch.cat([boxes, boxes.new_zeros(len(boxes), 1)], dim=-1)
        if boxes.shape[-1] != 7 or len(boxes) != len(labels):
            raise ValueError(f'ThreeDETRDetector: data sample {i}: boxes must be (M, 6 or 7) '
                             f'with M labels, got {tuple(boxes.shape)} and {len(labels)} labels')
        targets.append(dict(boxes=boxes, labels=labels))
    return targets


# ----------------------------------------------------------------------------- detector


@MODELS.register_module()
class ThreeDETRDetector(PointAlgorithm):
    """3DETR detector (mmengine ``BaseModel``).

    Batch format (independent of mmdet3d):

    - ``inputs = dict(points=(B, N, 3 + C) float)`` (xyz in metres, then C features), or a
      list of (N, 3 + C) tensors that the data preprocessor stacks;
    - ``data_samples``: one per scene, see :func:`unpack_det_samples` (``gt_bboxes``
      (M, 6 or 7) centre boxes + ``gt_labels`` (M,), or mmdet3d-style
      ``gt_instances_3d``).

    Modes: ``'loss'`` -> dict of losses; ``'predict'`` -> list of
    ``dict(boxes (P, 7), scores (P,), labels (P,))`` per scene after post-processing;
    ``'tensor'`` -> raw head outputs of all layers (see :meth:`tensor`).

    Args:
        num_classes: K object classes (ScanNet 18).
        encoder: :class:`ThreeDETREncoder` config (``type`` optional).
        enc_proj_hidden: hidden widths of the encoder -> decoder projection; None ->
            ``[256, 256]`` (vanilla) or ``[256]`` (masked), as wide as ``enc_dim``.
        dec_dim, dec_nhead, dec_ffn_dim, dec_dropout, dec_activation, num_decoder_layers:
            decoder (256, 4, 256, 0.1, relu, 8).
        nqueries: number of queries (ScanNet 256).
        pos_scale, pos_seed: Fourier matrix ``B ~ N(0, pos_scale^2)`` drawn with this seed.
        head_hidden, head_dropout: head MLP widths and dropout ((dec_dim, dec_dim), 0.3).
        num_angle_bins: heading bins (ScanNet 1: angle forced to 0).
        min_extent: lower clamp of the per-scene extent used to scale sizes (0.1).
        criterion: :class:`ThreeDETRCriterion` overrides (matcher / loss weights).
        test_cfg: post-processing overrides of :data:`DEFAULT_TEST_CFG`.
    """

    def __init__(self,
                 num_classes: int = 18,
                 encoder: Optional[dict] = None,
                 enc_proj_hidden: Optional[Sequence[int]] = None,
                 dec_dim: int = 256,
                 dec_nhead: int = 4,
                 dec_ffn_dim: int = 256,
                 dec_dropout: float = 0.1,
                 dec_activation: str = 'relu',
                 num_decoder_layers: int = 8,
                 nqueries: int = 256,
                 pos_scale: float = 1.0,
                 pos_seed: int = 0,
                 head_hidden: Optional[Sequence[int]] = None,
                 head_dropout: float = 0.3,
                 num_angle_bins: int = 1,
                 min_extent: float = 0.1,
                 criterion: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(data_preprocessor=MODELS.build(
            data_preprocessor or dict(type='PointDataPreprocessor')), init_cfg=init_cfg)
        encoder = dict(encoder or {})
        encoder.setdefault('type', 'ThreeDETREncoder')
        self.encoder = MODELS.build(encoder)
        enc_dim = int(self.encoder.out_channels)
        if enc_proj_hidden is None:
            masked = getattr(self.encoder, 'encoder_type', 'vanilla') == 'masked'
            enc_proj_hidden = [enc_dim] if masked else [enc_dim, enc_dim]
        self.num_classes = int(num_classes)
        self.nqueries = int(nqueries)
        self.num_angle_bins = int(num_angle_bins)
        self.min_extent = float(min_extent)
        self.encoder_to_decoder = conv_mlp(enc_dim, enc_proj_hidden, dec_dim, norm=True,
                                           output_norm_act=True)
        self.pos_embedding = FourierPositionEmbedding(dec_dim, 3, pos_scale, pos_seed)
        self.query_projection = conv_mlp(dec_dim, [dec_dim], dec_dim, norm=False,
                                         output_norm_act=True)
        self.decoder = ThreeDETRDecoder(num_decoder_layers, dec_dim, dec_nhead, dec_ffn_dim,
                                        dec_dropout, dec_activation)
        self.heads = ThreeDETRHeads(self.num_classes, dec_dim,
                                    head_hidden if head_hidden is not None
                                    else (dec_dim, dec_dim), head_dropout, num_angle_bins)
        criterion = dict(criterion or {})
        criterion.pop('type', None)
        criterion.setdefault('num_classes', self.num_classes)
        criterion.setdefault('num_angle_bins', self.num_angle_bins)
        if criterion['num_classes'] != self.num_classes or \
                criterion['num_angle_bins'] != self.num_angle_bins:
            raise ValueError('ThreeDETRDetector: criterion num_classes / num_angle_bins must '
                             'match the model')
        self.criterion = MODELS.build(dict(type='ThreeDETRCriterion', **criterion))
        unknown = set(test_cfg or {}) - set(DEFAULT_TEST_CFG)
        if unknown:
            raise KeyError(f'ThreeDETRDetector: unknown test_cfg keys {sorted(unknown)}; '
                           f'expected {sorted(DEFAULT_TEST_CFG)}')
        self.test_cfg = dict(DEFAULT_TEST_CFG, **(test_cfg or {}))

    # ------------------------------------------------------------------ core

    def _points(self, inputs: Union[Dict[str, Tensor], Tensor]) -> Tensor:
        points = inputs['points'] if isinstance(inputs, dict) else inputs
        if not isinstance(points, Tensor) or points.dim() != 3 or points.shape[-1] < 3:
            raise ValueError(f'ThreeDETRDetector: inputs["points"] must be (B, N, 3 + C), got '
                             f'{getattr(points, "shape", type(points).__name__)}')
        return points

    def scene_bounds(self, xyz: Tensor) -> Tuple[Tensor, Tensor]:
        """xyz (B, N, 3) -> scene_min (B, 3), scene_extent (B, 3) clamped >= min_extent."""
        lo, hi = xyz.min(dim=1).values, xyz.max(dim=1).values
        return lo, (hi - lo).clamp(min=self.min_extent)

    def tensor(self, inputs: Union[Dict[str, Tensor], Tensor]) -> Dict[str, Tensor]:
        """Run the network.

        Returns:
            head outputs (:data:`HEAD_KEYS`) as ``(L, B, Q, ...)`` tensors for the
            ``L = num_decoder_layers`` layers (the last is the final prediction), plus
            ``query_xyz (B, Q, 3)``, ``scene_min (B, 3)``, ``scene_extent (B, 3)``,
            ``encoder_xyz (B, M, 3)`` and ``encoder_inds (B, M)``.
        """
        points = self._points(inputs)
        xyz = points[..., :3]
        scene_min, scene_extent = self.scene_bounds(xyz)
        encoded = self.encoder(points)
        if isinstance(encoded, dict):
            enc_xyz, enc_feats, enc_inds = (encoded['centers'], encoded['features'],
                                            encoded['indices'])
        else:
            enc_xyz, enc_feats, enc_inds = encoded
        if enc_xyz.shape[1] < self.nqueries:
            raise ValueError(f'ThreeDETRDetector: nqueries={self.nqueries} exceeds the '
                             f'{enc_xyz.shape[1]} encoder points')
        memory = self.encoder_to_decoder(enc_feats.transpose(1, 2)).transpose(1, 2)  # (B, M, D)
        query_inds = furthest_point_sample(enc_xyz.detach(), self.nqueries, free_start=True)
        query_xyz = gather_points(enc_xyz, query_inds)                                 # (B, Q, 3)
        query_pos = self.pos_embedding(query_xyz, scene_min, scene_extent)
        query_pos = self.query_projection(query_pos.transpose(1, 2)).transpose(1, 2)
        memory_pos = self.pos_embedding(enc_xyz, scene_min, scene_extent)
        hs = self.decoder(torch.zeros_like(query_pos), memory, query_pos, memory_pos)
        out = self.heads(hs, query_xyz, scene_min, scene_extent)
        out.update(query_xyz=query_xyz, scene_min=scene_min, scene_extent=scene_extent,
                   encoder_xyz=enc_xyz, encoder_inds=enc_inds)
        return out

    def loss(self, inputs: Dict[str, Tensor], data_samples: Sequence[Any]
             ) -> Dict[str, Tensor]:
        """Weighted losses summed over decoder layers (see :class:`ThreeDETRCriterion`)."""
        out = self.tensor(inputs)
        targets = self._unpack(data_samples, out['scene_min'].device)
        layers = [{k: out[k][i] for k in HEAD_KEYS} for i in range(out[HEAD_KEYS[0]].shape[0])]
        return self.criterion(layers, targets, out['scene_min'], out['scene_extent'])

    @torch.no_grad()
    def predict(self, inputs: Dict[str, Tensor], data_samples: Optional[Sequence[Any]] = None
                ) -> List[Dict[str, Tensor]]:
        """Final-layer boxes after 3DETR post-processing, one dict per scene:
        ``boxes (P, 7)`` ``[cx, cy, cz, dx, dy, dz, yaw]`` metres, ``scores (P,)``,
        ``labels (P,)`` int64."""
        points = self._points(inputs)
        out = self.tensor(points)
        boxes = torch.cat([out['center_unnormalized'][-1], out['size_unnormalized'][-1],
                           out['angle_continuous'][-1, ..., None]], dim=-1)       # (B, Q, 7)
        return [threedetr_post_process(boxes[b], out['sem_cls_prob'][-1, b],
                                       out['objectness_prob'][-1, b], points[b, :, :3],
                                       self.test_cfg) for b in range(len(boxes))]

    def _unpack(self, data_samples: Sequence[Any], device) -> List[Dict[str, Tensor]]:
        """Conversion boundary: data samples -> ``[dict(boxes (M, 7), labels (M,))]``."""
        return unpack_det_samples(data_samples, device)
