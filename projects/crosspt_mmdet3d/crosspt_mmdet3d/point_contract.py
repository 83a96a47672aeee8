"""Any crosspt encoder behind mmdet3d's point-backbone output contract.

mmdet3d's point heads read a backbone's dict by key:

- ``VoteHead`` (VoteNet): ``fp_xyz[-1]`` (B, M, 3) seed coordinates, ``fp_features[-1]``
  (B, C, M) seed features and ``fp_indices[-1]`` (B, M) int64 indices of the seeds into
  the N input points (its vote loss gathers the per-point vote targets with them);
- ``DGCNNHead`` (segmentation): ``fa_points`` (B, N, C) per-point features;
- heads built on PointNet2SASSG also find ``sa_xyz`` / ``sa_features`` / ``sa_indices``
  (one entry per level, level 0 the input points).

:class:`PointBackboneAdapter` builds a crosspt encoder from its config, runs it on the
stacked (B, N, 3 + C) points that mmdet3d's detectors and segmentors pass, and returns
all of these keys.  A per-point encoder (``SRUNetSegBackbone``, ``PointMLPSegBackbone``:
``dict(point_features=(B, C, N))``) gets ``num_seeds`` seed points by furthest point
sampling of the input xyz (crosspt's CPU FPS, free start); an encoder that already
sub-samples (crosspt's ``ThreeDETREncoder``: ``(xyz, feats, inds)``) keeps its points,
down-sampled by FPS when it returns more than ``num_seeds``.

The encoder sits at ``<adapter>.encoder``, so a checkpoint loads through the encoder's
own ``init_cfg`` (e.g. ``dict(type='crosspt.Pretrained', checkpoint=..., prefix=
'backbone.')`` for a PPKT SR-UNet student) exactly as when it is the segmentor's backbone.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor

from crosspt.ops import furthest_point_sample, gather_points

#: keys of the returned dict, in the order of :meth:`PointBackboneAdapter.forward`
CONTRACT_KEYS = ('fp_xyz', 'fp_features', 'fp_indices', 'sa_xyz', 'sa_features',
                 'sa_indices', 'fa_points', 'point_features')


def encoder_points(owner: str, out: Union[Dict[str, Tensor], Sequence[Tensor]],
                   xyz: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """An encoder's output as ``(xyz (B, P, 3), features (B, C, P), indices (B, P) int64
    into the N input points)``.

    Accepted outputs: ``dict(point_features=(B, C, N))`` (per point: P = N, the input
    xyz, indices ``arange(N)``); ``dict(centers, features (B, P, C), indices)`` or the
    tuple ``(xyz, features (B, P, C), indices)`` (crosspt's ThreeDETREncoder).
    """
    if isinstance(out, dict) and 'point_features' in out:
        feats = out['point_features']
        b, _, n = feats.shape
        if n != xyz.shape[1]:
            raise ValueError(f'{owner}: point_features {tuple(feats.shape)} has {n} points '
                             f'but the input has {xyz.shape[1]}')
        return xyz, feats, torch.arange(n, device=xyz.device).expand(b, n)
    if isinstance(out, dict) and {'centers', 'features', 'indices'} <= set(out):
        out = (out['centers'], out['features'], out['indices'])
    if isinstance(out, (tuple, list)) and len(out) == 3:
        centers, feats, inds = out
        return centers, feats.transpose(1, 2).contiguous(), inds.long()
    got = sorted(out) if isinstance(out, dict) else type(out).__name__
    raise TypeError(f'{owner}: the encoder returned {got}; expected dict(point_features='
                    f'(B, C, N)), dict(centers, features, indices) or (xyz, features, '
                    f'indices)')


def sample_seeds(xyz: Tensor, feats: Tensor, inds: Tensor, num_seeds: Optional[int]
                 ) -> Tuple[Tensor, Tensor, Tensor]:
    """FPS ``num_seeds`` of the P encoder points (all of them when None or P equal):
    xyz (B, P, 3), feats (B, C, P), inds (B, P) -> the same for the M seeds."""
    if num_seeds is None or num_seeds == xyz.shape[1]:
        return xyz, feats, inds
    if num_seeds > xyz.shape[1]:
        raise ValueError(f'PointBackboneAdapter: num_seeds={num_seeds} but the encoder gives '
                         f'only {xyz.shape[1]} points')
    pick = furthest_point_sample(xyz.detach(), num_seeds, free_start=True)   # (B, M)
    seed_feats = feats.gather(2, pick.unsqueeze(1).expand(-1, feats.shape[1], -1))
    return gather_points(xyz, pick), seed_feats, inds.gather(1, pick)


@MODELS.register_module()
class PointBackboneAdapter(BaseModule):
    """A crosspt encoder with mmdet3d's point-backbone outputs (module docstring).

    Args:
        encoder: config of the encoder, built from mmdet3d's MODELS (so mmdet3d-registered
            adapters such as ``SRUNetSegBackbone`` by name, crosspt modules as
            ``'crosspt.X'``), e.g. ``dict(type='SRUNetSegBackbone', voxel_size=0.025,
            feature_keys=('ones',), init_cfg=dict(type='crosspt.Pretrained', ...))``.
        num_seeds: M seed points handed to the head as ``fp_*`` (VoteNet: 1024, the
            number PointNet2SASSG's last FP layer gives); None keeps every encoder point
            (segmentation).
        init_cfg: initialisation of the adapter itself (it has no parameters; the
            encoder's ``init_cfg`` loads its weights).

    Forward: points (B, N, 3 + C) -> dict with ``fp_xyz [(B, M, 3)]``,
    ``fp_features [(B, C_out, M)]``, ``fp_indices [(B, M) int64]`` (into the N points),
    ``sa_xyz [(B, N, 3), (B, M, 3)]``, ``sa_features [(B, C, N) or None, (B, C_out, M)]``,
    ``sa_indices [(B, N), (B, M)]``, and the encoder's full-resolution features as
    ``point_features (B, C_out, P)`` and ``fa_points (B, P, C_out)``.
    """

    def __init__(self, encoder: dict, num_seeds: Optional[int] = 1024,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(encoder, dict) or 'type' not in encoder:
            raise ValueError(f'PointBackboneAdapter: encoder must be a config dict with a '
                             f'type, got {encoder!r}')
        if num_seeds is not None and int(num_seeds) < 1:
            raise ValueError(f'PointBackboneAdapter: num_seeds must be >= 1 or None, got '
                             f'{num_seeds}')
        self.encoder = MODELS.build(encoder)
        self.num_seeds = None if num_seeds is None else int(num_seeds)

    def forward(self, points: Tensor) -> Dict[str, List[Optional[Tensor]]]:
        """points (B, N, 3 + C) -> the contract dict (class docstring)."""
        if not isinstance(points, Tensor) or points.dim() != 3 or points.shape[-1] < 3:
            raise ValueError(f'PointBackboneAdapter: expected points (B, N, 3 + C), got '
                             f'{getattr(points, "shape", type(points).__name__)}')
        xyz = points[..., :3].contiguous()
        enc_xyz, enc_feats, enc_inds = encoder_points(
            f'PointBackboneAdapter({type(self.encoder).__name__})', self.encoder(points), xyz)
        seed_xyz, seed_feats, seed_inds = sample_seeds(enc_xyz, enc_feats, enc_inds,
                                                       self.num_seeds)
        b, n = xyz.shape[:2]
        in_feats = points[..., 3:].transpose(1, 2).contiguous() if points.shape[-1] > 3 \
            else None
        return dict(fp_xyz=[seed_xyz], fp_features=[seed_feats], fp_indices=[seed_inds],
                    sa_xyz=[xyz, seed_xyz], sa_features=[in_feats, seed_feats],
                    sa_indices=[torch.arange(n, device=xyz.device).expand(b, n), seed_inds],
                    fa_points=enc_feats.transpose(1, 2), point_features=enc_feats)
