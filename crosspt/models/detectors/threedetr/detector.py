"""The 3DETR detector (an mmengine ``BaseModel``) and its ground-truth unpacking."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from crosspt.ops import furthest_point_sample, gather_points
from crosspt.registry import MODELS

from ...base import PointAlgorithm
from .heads import HEAD_KEYS, ThreeDETRHeads
from .layers import conv_mlp
from .post_process import DEFAULT_TEST_CFG, threedetr_post_process
from .transformer import FourierPositionEmbedding, ThreeDETRDecoder


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
