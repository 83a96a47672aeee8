"""3DETR evaluation post-processing: empty-box removal, 3D NMS, per-class proposals."""
from typing import Dict, Optional

import torch
from torch import Tensor

from ..threedetr_criterion import aligned_box3d_iou

DEFAULT_TEST_CFG = dict(remove_empty_box=True, min_points_in_box=5, nms=True, cls_nms=True,
                        nms_iou=0.25, per_class_proposal=True, conf_thresh=0.05)


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


def enclosing_aligned_boxes(boxes: Tensor) -> Tensor:
    """(P, 7) yawed boxes -> (P, 6) ``[cx, cy, cz, dx', dy', dz]``: the smallest axis-aligned
    box holding each box's corners (the min / max of the corners, as 3DETR's NMS takes);
    (P, 6) boxes are returned unchanged."""
    if boxes.shape[-1] < 7:
        return boxes
    cos, sin = boxes[:, 6].cos().abs(), boxes[:, 6].sin().abs()
    dx = boxes[:, 3] * cos + boxes[:, 4] * sin
    dy = boxes[:, 3] * sin + boxes[:, 4] * cos
    return torch.stack([boxes[:, 0], boxes[:, 1], boxes[:, 2], dx, dy, boxes[:, 5]], dim=-1)


def aligned_nms_3d(boxes: Tensor, scores: Tensor, iou_thr: float,
                   labels: Optional[Tensor] = None) -> Tensor:
    """Greedy 3D NMS of axis-aligned boxes, class-aware when ``labels`` given. A yawed box
    (yaw column present) takes part as its axis-aligned enclosing box
    (:func:`enclosing_aligned_boxes`; 3DETR's ``parse_predictions`` does the same).

    Boxes are visited by decreasing score; a box is kept unless a kept box (of the same
    label) overlaps it with IoU > ``iou_thr``.

    Args:
        boxes: (P, 6 or 7); scores: (P,); labels: (P,) or None.
    Returns:
        kept indices (k,) int64, by decreasing score.
    """
    if len(boxes) == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    boxes = enclosing_aligned_boxes(boxes)
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
