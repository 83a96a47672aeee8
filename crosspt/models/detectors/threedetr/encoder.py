"""The 3DETR encoder (vanilla or masked 3DETR-m), usable alone as a backbone."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.registry import MODELS

from .layers import PointSetAbstraction, radius_attention_mask
from .transformer import EncoderLayer


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
