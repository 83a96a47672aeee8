"""3DETR set criterion: box utilities, Hungarian matcher and per-decoder-layer losses.

Facts implemented (docs/methods/3detr.md, 'Matching and losses'):

- Boxes are ``[cx, cy, cz, dx, dy, dz(, yaw)]`` in metres, ``(cx, cy, cz)`` the box centre.
  Centres are normalised to [0, 1] by the per-scene xyz min/max; sizes are divided by the
  per-scene extent (``max - min``).  Here the extent is clamped to ``>= min_extent`` (0.1)
  for both, the clamp the model applies to its size prediction, so that prediction and
  target share one normalisation.
- GIoU is the 3D generalised IoU of axis-aligned boxes when no GT box of the batch has a
  yaw (3DETR's fast path, ScanNet).  Otherwise (SUN RGB-D) every GIoU of the batch is the
  rotated one (:mod:`crosspt.ops.box_iou_rotated`), with the predicted yaw decoded from the
  arg-max angle bin plus its residual (differentiable in the residual); this needs
  ``num_angle_bins > 1``.
- Matching cost per batch item (queries x GT): ``giou * (-GIoU) + cls * (-p(gt class))
  + center * L1(normalised centres) + objectness * (-objectness)`` with weights
  2 / 1 / 0 / 0, solved by :func:`scipy.optimize.linear_sum_assignment` on CPU, and redone
  independently for every decoder layer.
- Losses: weighted cross-entropy over all queries (``'mean'`` reduction, class weights 1,
  no-object weight 0.25); for matched pairs only, summed and divided by ``num_boxes``:
  centre L1 (summed over xyz), size L1 (summed over xyz), ``1 - GIoU``, angle-bin
  cross-entropy and Huber (delta 1) on the normalised angle residual.  ``num_boxes`` is
  the batch GT count, averaged over DDP workers, clamped >= 1.  Weights: giou 1, sem_cls 1,
  angle_cls 0.1, angle_reg 0.5, center 5, size 1; the total is summed over layers.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from crosspt.ops.box_iou_rotated import rotated_box3d_giou
from crosspt.registry import MODELS

LOSS_NAMES = ('cls', 'center', 'size', 'giou', 'angle_cls', 'angle_reg')


# ----------------------------------------------------------------------------- box utils


def box_min_max(boxes: Tensor) -> Tuple[Tensor, Tensor]:
    """``(..., >=6)`` centre/size boxes -> corners ``min (..., 3)``, ``max (..., 3)``."""
    half = boxes[..., 3:6] / 2
    return boxes[..., :3] - half, boxes[..., :3] + half


def _giou_from_min_max(min_a: Tensor, max_a: Tensor, min_b: Tensor, max_b: Tensor,
                       eps: float) -> Tuple[Tensor, Tensor]:
    """Broadcasting IoU and GIoU of axis-aligned boxes given by their corners."""
    vol_a = (max_a - min_a).clamp(min=0).prod(-1)
    vol_b = (max_b - min_b).clamp(min=0).prod(-1)
    inter = (torch.minimum(max_a, max_b) - torch.maximum(min_a, min_b)).clamp(min=0).prod(-1)
    union = vol_a + vol_b - inter
    iou = inter / union.clamp(min=eps)
    enclose = (torch.maximum(max_a, max_b) - torch.minimum(min_a, min_b)).clamp(min=0).prod(-1)
    giou = iou - (enclose - union) / enclose.clamp(min=eps)
    return iou, giou


def aligned_box3d_iou(boxes_a: Tensor, boxes_b: Tensor, pairwise: bool = True,
                      eps: float = 1e-8) -> Tensor:
    """3D IoU of axis-aligned boxes (yaw ignored).

    Args:
        boxes_a: (P, >=6) ``[cx, cy, cz, dx, dy, dz, ...]``.
        boxes_b: (Q, >=6), or (P, >=6) when ``pairwise=False``.
        pairwise: (P, Q) all pairs; else (P,) element-wise.
    """
    min_a, max_a = box_min_max(boxes_a)
    min_b, max_b = box_min_max(boxes_b)
    if pairwise:
        min_a, max_a = min_a[:, None], max_a[:, None]
        min_b, max_b = min_b[None], max_b[None]
    return _giou_from_min_max(min_a, max_a, min_b, max_b, eps)[0]


def aligned_box3d_giou(boxes_a: Tensor, boxes_b: Tensor, pairwise: bool = True,
                       eps: float = 1e-8) -> Tensor:
    """Generalised 3D IoU of axis-aligned boxes (yaw ignored), in [-1, 1].

    ``GIoU = IoU - (V_enclosing - V_union) / V_enclosing`` with ``V_enclosing`` the volume
    of the smallest axis-aligned box holding both.  Differentiable in the box parameters.

    Args:
        boxes_a: (P, >=6) ``[cx, cy, cz, dx, dy, dz, ...]``.
        boxes_b: (Q, >=6), or (P, >=6) when ``pairwise=False``.
        pairwise: (P, Q) all pairs; else (P,) element-wise.
    """
    min_a, max_a = box_min_max(boxes_a)
    min_b, max_b = box_min_max(boxes_b)
    if pairwise:
        min_a, max_a = min_a[:, None], max_a[:, None]
        min_b, max_b = min_b[None], max_b[None]
    return _giou_from_min_max(min_a, max_a, min_b, max_b, eps)[1]


def angle_to_bin(angle: Tensor, num_bins: int) -> Tuple[Tensor, Tensor]:
    """Angle (rad, any range) -> bin index (long) and residual normalised by ``pi / num_bins``.

    Bin ``c`` is centred on ``c * 2*pi / num_bins``; the residual ``angle - c * bin_size``
    lies in ``[-bin_size / 2, bin_size / 2)``, so the normalised residual is in [-1, 1).
    """
    bin_size = 2 * math.pi / num_bins
    shifted = torch.remainder(torch.remainder(angle, 2 * math.pi) + bin_size / 2, 2 * math.pi)
    cls = torch.div(shifted, bin_size, rounding_mode='floor').long().clamp(0, num_bins - 1)
    residual = shifted - (cls.to(angle.dtype) * bin_size + bin_size / 2)
    return cls, residual / (math.pi / num_bins)


def bin_to_angle(cls: Tensor, residual_normalized: Tensor, num_bins: int) -> Tensor:
    """Inverse of :func:`angle_to_bin`, wrapped to ``(-pi, pi]``; 0 when ``num_bins == 1``
    is handled by the caller (3DETR forces the ScanNet angle to 0)."""
    angle = cls.to(residual_normalized.dtype) * (2 * math.pi / num_bins) \
        + residual_normalized * (math.pi / num_bins)
    return torch.where(angle > math.pi, angle - 2 * math.pi, angle)


def normalize_gt_boxes(boxes: Tensor, scene_min: Tensor, scene_extent: Tensor
                       ) -> Tuple[Tensor, Tensor]:
    """GT boxes (M, >=6) metres -> normalised centres (M, 3) in [0, 1] and sizes (M, 3)."""
    return (boxes[:, :3] - scene_min) / scene_extent, boxes[:, 3:6] / scene_extent


# ----------------------------------------------------------------------------- matcher


@MODELS.register_module()
class ThreeDETRHungarianMatcher(nn.Module):
    """One-to-one query/GT assignment minimising the 3DETR matching cost.

    Args:
        cost_giou: weight of ``-GIoU`` (3DETR: 2).
        cost_class: weight of ``-p(gt class)`` (3DETR: 1).
        cost_center: weight of the L1 distance of normalised centres (3DETR: 0).
        cost_objectness: weight of ``-objectness`` (3DETR: 0).
    """

    def __init__(self, cost_giou: float = 2.0, cost_class: float = 1.0,
                 cost_center: float = 0.0, cost_objectness: float = 0.0) -> None:
        super().__init__()
        self.cost_giou = float(cost_giou)
        self.cost_class = float(cost_class)
        self.cost_center = float(cost_center)
        self.cost_objectness = float(cost_objectness)

    @torch.no_grad()
    def cost_matrix(self, sem_cls_prob: Tensor, objectness_prob: Tensor,
                    center_normalized: Tensor, giou: Tensor, gt_labels: Tensor,
                    gt_center_normalized: Tensor) -> Tensor:
        """Cost of one batch item.

        Args:
            sem_cls_prob: (Q, K) class probabilities (no-object column excluded).
            objectness_prob: (Q,).
            center_normalized: (Q, 3).
            giou: (Q, M) GIoU of every query box with every GT box.
            gt_labels: (M,) long in [0, K).
            gt_center_normalized: (M, 3).
        Returns:
            (Q, M) cost.
        """
        cost = -self.cost_giou * giou - self.cost_class * sem_cls_prob[:, gt_labels]
        if self.cost_center:
            cost = cost + self.cost_center * torch.cdist(center_normalized,
                                                         gt_center_normalized, p=1)
        if self.cost_objectness:
            cost = cost - self.cost_objectness * objectness_prob[:, None]
        return cost

    @staticmethod
    def solve(cost: Tensor) -> Tuple[Tensor, Tensor]:
        """(Q, M) cost -> (query_idx (m,), gt_idx (m,)) long, m = min(Q, M), sorted by query."""
        if cost.numel() == 0:
            empty = torch.zeros(0, dtype=torch.long, device=cost.device)
            return empty, empty.clone()
        rows, cols = linear_sum_assignment(cost.detach().cpu().double().numpy())
        order = np.argsort(rows)
        return (torch.as_tensor(rows[order], dtype=torch.long, device=cost.device),
                torch.as_tensor(cols[order], dtype=torch.long, device=cost.device))


# ----------------------------------------------------------------------------- criterion


@MODELS.register_module()
class ThreeDETRCriterion(nn.Module):
    """Hungarian-matched set loss of 3DETR, one matching per decoder layer.

    Args:
        num_classes: K object classes (the logits have K + 1 columns, last = no object).
        num_angle_bins: heading bins (ScanNet 1).
        matcher: :class:`ThreeDETRHungarianMatcher` config (3DETR's weights by default).
        loss_weights: weights of ``cls, center, size, giou, angle_cls, angle_reg``.
        no_object_weight: cross-entropy class weight of the no-object class.
        huber_delta: Huber delta of the angle residual loss.
        log_per_layer: also return unweighted per-layer terms (keys ``d{i}.{name}``,
            without 'loss' in the name so mmengine logs but does not sum them).
        giou_enclosing: enclosing region of the rotated GIoU, ``'axis_aligned'`` (the
            release's) or ``'convex_hull'`` (docs/methods/3detr.md, 'Rotated boxes').
    """

    def __init__(self, num_classes: int = 18, num_angle_bins: int = 1,
                 matcher: Optional[dict] = None,
                 loss_weights: Optional[Dict[str, float]] = None,
                 no_object_weight: float = 0.25, huber_delta: float = 1.0,
                 log_per_layer: bool = False, giou_enclosing: str = 'axis_aligned') -> None:
        super().__init__()
        self.giou_enclosing = giou_enclosing
        self.num_classes = int(num_classes)
        self.num_angle_bins = int(num_angle_bins)
        matcher = dict(matcher or {})
        matcher.pop('type', None)
        self.matcher = ThreeDETRHungarianMatcher(**matcher)
        weights = dict(cls=1.0, center=5.0, size=1.0, giou=1.0, angle_cls=0.1, angle_reg=0.5)
        for key, value in (loss_weights or {}).items():
            if key not in weights:
                raise KeyError(f'ThreeDETRCriterion: unknown loss weight {key!r}; expected '
                               f'one of {LOSS_NAMES}')
            weights[key] = float(value)
        self.loss_weights = weights
        self.no_object_weight = float(no_object_weight)
        self.huber_delta = float(huber_delta)
        self.log_per_layer = bool(log_per_layer)
        class_weights = torch.ones(self.num_classes + 1)
        class_weights[-1] = self.no_object_weight
        self.register_buffer('class_weights', class_weights, persistent=False)

    # ------------------------------------------------------------------ helpers

    def num_boxes(self, targets: Sequence[Dict[str, Tensor]], device) -> Tensor:
        """Total GT count of the batch, averaged across DDP workers, clamped >= 1."""
        count = torch.tensor(float(sum(len(t['labels']) for t in targets)), device=device)
        all_reduce(count, op='mean')  # no-op unless torch.distributed is initialised
        return count.clamp(min=1.0)

    def prepare_targets(self, targets: Sequence[Dict[str, Tensor]], scene_min: Tensor,
                        scene_extent: Tensor) -> List[Dict[str, Tensor]]:
        """Add normalised centres/sizes and angle bins to every target dict."""
        prepared = []
        for b, target in enumerate(targets):
            boxes, labels = target['boxes'], target['labels'].long()
            if boxes.dim() != 2 or boxes.shape[-1] not in (6, 7) or len(boxes) != len(labels):
                raise ValueError(f'ThreeDETRCriterion: target {b} needs boxes (M, 6 or 7) and '
                                 f'labels (M,), got {tuple(boxes.shape)} and '
                                 f'{tuple(labels.shape)}')
            if len(labels) and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise ValueError(f'ThreeDETRCriterion: target {b} labels must lie in '
                                 f'[0, {self.num_classes}), got [{int(labels.min())}, '
                                 f'{int(labels.max())}]')
            yaw = boxes[:, 6] if boxes.shape[-1] == 7 else boxes.new_zeros(len(boxes))
            if bool((yaw != 0).any()) and self.num_angle_bins == 1:
                raise ValueError(f'ThreeDETRCriterion: target {b} has rotated boxes (yaw != 0) '
                                 'but num_angle_bins is 1, so no yaw can be predicted; set '
                                 'num_angle_bins (3DETR uses 12 for SUN RGB-D)')
            center, size = normalize_gt_boxes(boxes, scene_min[b], scene_extent[b])
            angle_cls, angle_res = angle_to_bin(yaw, self.num_angle_bins)
            boxes = torch.cat([boxes[:, :6], yaw[:, None]], dim=-1)
            prepared.append(dict(boxes=boxes, labels=labels, center_normalized=center,
                                 size_normalized=size, angle_cls=angle_cls,
                                 angle_residual_normalized=angle_res))
        return prepared

    def match(self, outputs: Dict[str, Tensor], targets: Sequence[Dict[str, Tensor]]
              ) -> Tuple[List[Tuple[Tensor, Tensor]], List[Tensor]]:
        """Assign queries to GT boxes for one decoder layer.

        Args:
            outputs: one layer's head outputs (``(B, Q, ...)`` tensors, see
                :meth:`forward`).
            targets: prepared targets (:meth:`prepare_targets`).
        Returns:
            per batch item ``(query_idx, gt_idx)`` and the (Q, M) GIoU matrix (with grad).
        """
        rotated = any(bool((t['boxes'][:, 6] != 0).any()) for t in targets)
        pred_boxes = self.predicted_boxes(outputs, rotated)                  # (B, Q, 6 or 7)
        indices, gious = [], []
        for b, target in enumerate(targets):
            if rotated:
                giou = rotated_box3d_giou(pred_boxes[b], target['boxes'],
                                          enclosing=self.giou_enclosing)    # (Q, M)
            else:
                giou = aligned_box3d_giou(pred_boxes[b], target['boxes'])
            cost = self.matcher.cost_matrix(
                outputs['sem_cls_prob'][b], outputs['objectness_prob'][b],
                outputs['center_normalized'][b], giou.detach(), target['labels'],
                target['center_normalized'])
            indices.append(self.matcher.solve(cost))
            gious.append(giou)
        return indices, gious

    def predicted_boxes(self, outputs: Dict[str, Tensor], with_yaw: bool) -> Tensor:
        """(B, Q, 6) centre/size boxes, or (B, Q, 7) with the decoded yaw: arg-max bin plus
        that bin's residual (the residual carries the gradient)."""
        boxes = torch.cat([outputs['center_unnormalized'], outputs['size_unnormalized']], -1)
        if not with_yaw:
            return boxes
        bins = outputs['angle_logits'].argmax(-1)                            # (B, Q)
        residual = outputs['angle_residual_normalized'].gather(-1, bins[..., None])[..., 0]
        yaw = bin_to_angle(bins, residual, self.num_angle_bins)
        return torch.cat([boxes, yaw[..., None]], dim=-1)

    def single_layer_losses(self, outputs: Dict[str, Tensor],
                            targets: Sequence[Dict[str, Tensor]],
                            num_boxes: Tensor) -> Dict[str, Tensor]:
        """Unweighted loss terms of one decoder layer (matching done here)."""
        indices, gious = self.match(outputs, targets)
        logits = outputs['sem_cls_logits']                                   # (B, Q, K+1)
        bsz, nq = logits.shape[:2]
        cls_target = torch.full((bsz, nq), self.num_classes, dtype=torch.long,
                                device=logits.device)
        for b, (qi, gi) in enumerate(indices):
            cls_target[b, qi] = targets[b]['labels'][gi]
        loss_cls = F.cross_entropy(logits.reshape(bsz * nq, -1), cls_target.reshape(-1),
                                   weight=self.class_weights.to(logits.dtype),
                                   reduction='mean')
        batch_idx = torch.cat([torch.full_like(qi, b) for b, (qi, _) in enumerate(indices)])
        query_idx = torch.cat([qi for qi, _ in indices])
        zero = logits.sum() * 0.0
        if query_idx.numel() == 0:
            losses = {name: zero for name in LOSS_NAMES}
            losses['cls'] = loss_cls
            card = self._cardinality_error(logits, targets)
            return dict(losses, cardinality_error=card)

        def gather_gt(key: str) -> Tensor:
            return torch.cat([targets[b][key][gi] for b, (_, gi) in enumerate(indices)])

        pred_center = outputs['center_normalized'][batch_idx, query_idx]
        pred_size = outputs['size_normalized'][batch_idx, query_idx]
        loss_center = (pred_center - gather_gt('center_normalized')).abs().sum() / num_boxes
        loss_size = (pred_size - gather_gt('size_normalized')).abs().sum() / num_boxes
        matched_giou = torch.cat([g[qi, gi] for g, (qi, gi) in zip(gious, indices)])
        loss_giou = (1.0 - matched_giou).sum() / num_boxes
        gt_angle_cls = gather_gt('angle_cls')
        angle_logits = outputs['angle_logits'][batch_idx, query_idx]         # (m, n_bins)
        loss_angle_cls = F.cross_entropy(angle_logits, gt_angle_cls,
                                         reduction='sum') / num_boxes
        pred_res = outputs['angle_residual_normalized'][batch_idx, query_idx]
        pred_res = pred_res.gather(1, gt_angle_cls[:, None]).squeeze(1)
        loss_angle_reg = F.huber_loss(pred_res, gather_gt('angle_residual_normalized'),
                                      delta=self.huber_delta, reduction='sum') / num_boxes
        return dict(cls=loss_cls, center=loss_center, size=loss_size, giou=loss_giou,
                    angle_cls=loss_angle_cls, angle_reg=loss_angle_reg,
                    cardinality_error=self._cardinality_error(logits, targets))

    def _cardinality_error(self, logits: Tensor, targets: Sequence[Dict[str, Tensor]]
                           ) -> Tensor:
        """Mean |#queries not predicted as no-object - #GT| (logged only)."""
        with torch.no_grad():
            num_pred = (logits.argmax(-1) != self.num_classes).sum(-1).float()
            num_gt = torch.tensor([float(len(t['labels'])) for t in targets],
                                  device=logits.device)
            return (num_pred - num_gt).abs().mean()

    # ------------------------------------------------------------------ forward

    def forward(self, layer_outputs: Sequence[Dict[str, Tensor]],
                targets: Sequence[Dict[str, Tensor]], scene_min: Tensor,
                scene_extent: Tensor) -> Dict[str, Tensor]:
        """Weighted losses summed over decoder layers.

        Args:
            layer_outputs: one dict per decoder layer with ``(B, Q, ...)`` tensors
                ``sem_cls_logits (K+1)``, ``sem_cls_prob (K)``, ``objectness_prob ()``,
                ``center_normalized (3)``, ``center_unnormalized (3)``,
                ``size_normalized (3)``, ``size_unnormalized (3)``,
                ``angle_logits (n_bins)``, ``angle_residual_normalized (n_bins)``.
            targets: per batch item ``dict(boxes (M, 6 or 7) metres, labels (M,) long)``.
            scene_min: (B, 3) per-scene xyz minimum.
            scene_extent: (B, 3) per-scene extent, clamped as the model clamps it.
        Returns:
            ``loss_{cls,center,size,giou,angle_cls,angle_reg}`` (weighted, summed over
            layers), ``cardinality_error`` of the last layer and, with ``log_per_layer``,
            the unweighted ``d{i}.{name}`` terms.
        """
        if len(targets) != scene_min.shape[0]:
            raise ValueError(f'ThreeDETRCriterion: {len(targets)} targets for a batch of '
                             f'{scene_min.shape[0]}')
        prepared = self.prepare_targets(targets, scene_min, scene_extent)
        device = layer_outputs[-1]['sem_cls_logits'].device
        num_boxes = self.num_boxes(prepared, device)
        totals: Dict[str, Tensor] = {}
        logs: Dict[str, Tensor] = {}
        for i, outputs in enumerate(layer_outputs):
            terms = self.single_layer_losses(outputs, prepared, num_boxes)
            card = terms.pop('cardinality_error')
            for name in LOSS_NAMES:
                weighted = self.loss_weights[name] * terms[name]
                totals[name] = weighted if name not in totals else totals[name] + weighted
                if self.log_per_layer:
                    logs[f'd{i}.{name}'] = terms[name].detach()
        losses = {f'loss_{name}': totals[name] for name in LOSS_NAMES}
        losses['cardinality_error'] = card
        losses.update(logs)
        return losses
