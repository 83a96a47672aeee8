"""IoU and generalised IoU of 3D boxes that rotate about the up (z) axis, in pure PyTorch.

Boxes are ``[cx, cy, cz, dx, dy, dz, yaw]``: centre, full sizes along the box's own axes,
and ``yaw`` the counter-clockwise rotation (radians) of the box's x axis from the world x
axis, seen from above.  This is the convention of mmdet3d's depth-frame boxes (SUN RGB-D)
and of 3DETR's box parameterisation.

- The intersection volume is the bird's-eye-view (BEV) overlap area of the two rotated
  rectangles times the overlap of their z intervals.  The overlap of two convex polygons is
  the convex polygon whose vertices are (a) the corners of each rectangle inside the other
  and (b) the crossings of their edges; its area is the shoelace sum over those vertices
  sorted by angle about their mean.  Every step is differentiable in the box parameters
  (up to the measure-zero cases where a vertex changes from one kind to the other).
- The enclosing volume of the GIoU is, by default (``enclosing='convex_hull'``), the convex
  hull of both rectangles in BEV times the z interval holding both boxes, so a box has GIoU
  1 with itself at any yaw.  ``enclosing='axis_aligned'`` takes the smallest axis-aligned
  box holding all corners instead; it equals the axis-aligned GIoU at yaw 0 but gives a
  yawed box a GIoU below 1 with itself (docs/methods/3detr.md, 'Rotated boxes').

Cost: ``O(P * Q * 24)`` small tensors per call; fine for 3DETR's (queries x GT) matrices.
"""
from typing import Tuple

import torch
from torch import Tensor

# corner signs of a rectangle, counter-clockwise: (+,+), (-,+), (-,-), (+,-)
_CORNER_SIGNS = ((0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, -0.5))


def bev_corners(boxes: Tensor) -> Tensor:
    """(..., 7) boxes -> (..., 4, 2) counter-clockwise BEV corners (x, y)."""
    signs = boxes.new_tensor(_CORNER_SIGNS)                       # (4, 2)
    local = signs * boxes[..., None, 3:5]                         # (..., 4, 2)
    cos, sin = torch.cos(boxes[..., 6:7]), torch.sin(boxes[..., 6:7])   # (..., 1)
    x = local[..., 0] * cos - local[..., 1] * sin
    y = local[..., 0] * sin + local[..., 1] * cos
    return torch.stack([x, y], dim=-1) + boxes[..., None, 0:2]


def _cross(o: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """z of ``(a - o) x (b - o)`` over the last dim (2); broadcasting."""
    return (a[..., 0] - o[..., 0]) * (b[..., 1] - o[..., 1]) \
        - (a[..., 1] - o[..., 1]) * (b[..., 0] - o[..., 0])


def _inside(points: Tensor, rect: Tensor, tol: Tensor) -> Tensor:
    """(..., K, 2) points, (..., 4, 2) CCW rectangle -> (..., K) bool, boundary included
    (``tol`` (..., 1): squared-length tolerance)."""
    start = rect[..., None, :, :]                                 # (..., 1, 4, 2)
    end = torch.roll(rect, -1, dims=-2)[..., None, :, :]
    return (_cross(start, end, points[..., :, None, :]) >= -tol[..., None]).all(-1)


def _edge_crossings(rect_a: Tensor, rect_b: Tensor, unit: float, tol: Tensor
                    ) -> Tuple[Tensor, Tensor]:
    """Crossings of every edge of ``rect_a`` with every edge of ``rect_b``.

    Returns points (..., 16, 2) and a validity mask (..., 16) (parallel edges and crossings
    outside either segment are invalid).
    """
    a0, b0 = rect_a[..., :, None, :], rect_b[..., None, :, :]     # (..., 4, 1, 2), (..., 1, 4, 2)
    da = torch.roll(rect_a, -1, dims=-2)[..., :, None, :] - a0
    db = torch.roll(rect_b, -1, dims=-2)[..., None, :, :] - b0
    denom = da[..., 0] * db[..., 1] - da[..., 1] * db[..., 0]     # (..., 4, 4)
    offset = b0 - a0
    parallel = denom.abs() <= tol[..., None]
    safe = torch.where(parallel, torch.ones_like(denom), denom)
    t = (offset[..., 0] * db[..., 1] - offset[..., 1] * db[..., 0]) / safe
    u = (offset[..., 0] * da[..., 1] - offset[..., 1] * da[..., 0]) / safe
    valid = ~parallel & (t >= -unit) & (t <= 1 + unit) & (u >= -unit) & (u <= 1 + unit)
    points = a0 + t[..., None] * da
    return points.flatten(-3, -2), valid.flatten(-2)


def _tolerances(points: Tensor) -> Tuple[float, Tensor]:
    """Dimensionless and squared-length tolerances (..., 1) scaled by the points' extent."""
    unit = 64 * torch.finfo(points.dtype).eps
    extent = (points.amax(-2) - points.amin(-2)).amax(-1, keepdim=True)
    return unit, unit * (extent ** 2 + torch.finfo(points.dtype).tiny)


def hull_area(points: Tensor) -> Tensor:
    """Area of the convex hull of (..., K, 2) points -> (...).

    An ordered pair (i, j) is a counter-clockwise hull edge when every point lies strictly
    left of it or on the segment itself; repeated points count once, and of collinear hull
    points only the longest edge qualifies.  The area is the shoelace sum over those edges.
    """
    unit, tol = _tolerances(points.detach())                        # tol (..., 1)
    k = points.shape[-2]
    close = ((points[..., :, None, :] - points[..., None, :, :]) ** 2).sum(-1) <= tol[..., None]
    earlier = torch.ones(k, k, dtype=torch.bool, device=points.device).tril(-1)
    kept = ~(close & earlier).any(-1)                               # (..., K) first copies
    p_i, p_j = points[..., :, None, None, :], points[..., None, :, None, :]
    p_k = points[..., None, None, :, :]
    side = _cross(p_i, p_j, p_k)                                    # (..., K, K, K)
    edge = p_j - p_i
    length2 = (edge ** 2).sum(-1)
    t = ((p_k - p_i) * edge).sum(-1) / length2.clamp(min=torch.finfo(points.dtype).tiny)
    on_segment = (side.abs() <= tol[..., None, None]) & (t >= -unit) & (t <= 1 + unit)
    left = side > tol[..., None, None]
    is_edge = (left | on_segment).all(-1) & kept[..., :, None] & kept[..., None, :] \
        & (length2[..., 0] > tol[..., None])
    twice = points[..., :, None, 0] * points[..., None, :, 1] \
        - points[..., None, :, 0] * points[..., :, None, 1]
    return (twice * is_edge).sum((-1, -2)) / 2


def _convex_area(points: Tensor, valid: Tensor) -> Tensor:
    """Area of the convex hull of the valid points when they are the vertices (in any order,
    duplicates allowed) of a convex polygon.  points (..., K, 2), valid (..., K) -> (...)."""
    weight = valid.to(points.dtype)
    count = weight.sum(-1, keepdim=True)
    mean = (points * weight[..., None]).sum(-2) / count.clamp(min=1)
    rel = points - mean[..., None, :]
    angle = torch.atan2(rel[..., 1], rel[..., 0])
    angle = torch.where(valid, angle, torch.full_like(angle, 10.0))   # invalid ones last
    order = angle.argsort(dim=-1)
    rel = torch.gather(rel, -2, order[..., None].expand_as(rel))
    valid = torch.gather(valid, -1, order)
    first = rel[..., :1, :].expand_as(rel)
    rel = torch.where(valid[..., None], rel, first)               # padding repeats vertex 0
    nxt = torch.roll(rel, -1, dims=-2)
    twice = (rel[..., 0] * nxt[..., 1] - rel[..., 1] * nxt[..., 0]).sum(-1)
    return torch.where(count[..., 0] >= 3, twice.abs() / 2, torch.zeros_like(twice))


def bev_intersection_area(boxes_a: Tensor, boxes_b: Tensor) -> Tensor:
    """Overlap area of the BEV rectangles of broadcastable (..., 7) boxes -> (...)."""
    rect_a, rect_b = bev_corners(boxes_a), bev_corners(boxes_b)
    rect_a, rect_b = torch.broadcast_tensors(rect_a, rect_b)
    unit, tol = _tolerances(torch.cat([rect_a, rect_b], dim=-2).detach())
    crossings, crossing_ok = _edge_crossings(rect_a, rect_b, unit, tol)
    points = torch.cat([rect_a, rect_b, crossings], dim=-2)       # (..., 24, 2)
    valid = torch.cat([_inside(rect_a, rect_b, tol), _inside(rect_b, rect_a, tol),
                       crossing_ok], dim=-1)
    return _convex_area(points, valid)


def _z_overlap(boxes_a: Tensor, boxes_b: Tensor) -> Tensor:
    top = torch.minimum(boxes_a[..., 2] + boxes_a[..., 5] / 2, boxes_b[..., 2] + boxes_b[..., 5] / 2)
    bottom = torch.maximum(boxes_a[..., 2] - boxes_a[..., 5] / 2,
                           boxes_b[..., 2] - boxes_b[..., 5] / 2)
    return (top - bottom).clamp(min=0)


def _enclosing_volume(boxes_a: Tensor, boxes_b: Tensor, enclosing: str) -> Tensor:
    """Enclosing volume of broadcastable (..., 7) boxes (see the module docstring)."""
    rect_a, rect_b = torch.broadcast_tensors(bev_corners(boxes_a), bev_corners(boxes_b))
    corners = torch.cat([rect_a, rect_b], dim=-2)                 # (..., 8, 2)
    if enclosing == 'convex_hull':
        area = hull_area(corners)
    else:
        area = (corners.amax(-2) - corners.amin(-2)).prod(-1)
    top = torch.maximum(boxes_a[..., 2] + boxes_a[..., 5] / 2, boxes_b[..., 2] + boxes_b[..., 5] / 2)
    bottom = torch.minimum(boxes_a[..., 2] - boxes_a[..., 5] / 2,
                           boxes_b[..., 2] - boxes_b[..., 5] / 2)
    return area * (top - bottom)


ENCLOSING = ('convex_hull', 'axis_aligned')


def rotated_box3d_iou_giou(boxes_a: Tensor, boxes_b: Tensor, pairwise: bool = True,
                           enclosing: str = 'convex_hull', eps: float = 1e-8
                           ) -> Tuple[Tensor, Tensor]:
    """IoU and GIoU of yawed 3D boxes.

    Args:
        boxes_a: (P, 7) ``[cx, cy, cz, dx, dy, dz, yaw]``.
        boxes_b: (Q, 7), or (P, 7) when ``pairwise=False``.
        pairwise: (P, Q) all pairs; else (P,) element-wise.
        enclosing: ``'convex_hull'`` or ``'axis_aligned'`` (module docstring).

    Returns:
        ``iou`` in [0, 1] and ``giou`` in [-1, 1], both (P, Q) or (P,).
    """
    for name, boxes in (('boxes_a', boxes_a), ('boxes_b', boxes_b)):
        if boxes.dim() != 2 or boxes.shape[-1] != 7:
            raise ValueError(f'rotated_box3d_iou_giou: {name} must be (N, 7) '
                             f'[cx, cy, cz, dx, dy, dz, yaw], got {tuple(boxes.shape)}')
    if enclosing not in ENCLOSING:
        raise ValueError(f'rotated_box3d_iou_giou: enclosing must be one of {ENCLOSING}, '
                         f'got {enclosing!r}')
    if pairwise:
        boxes_a, boxes_b = boxes_a[:, None], boxes_b[None]
    inter = bev_intersection_area(boxes_a, boxes_b) * _z_overlap(boxes_a, boxes_b)
    vol_a = boxes_a[..., 3:6].prod(-1)
    vol_b = boxes_b[..., 3:6].prod(-1)
    union = vol_a + vol_b - inter
    iou = inter / union.clamp(min=eps)
    enclose = _enclosing_volume(boxes_a, boxes_b, enclosing)
    giou = iou - (enclose - union) / enclose.clamp(min=eps)
    return iou, giou


def rotated_box3d_giou(boxes_a: Tensor, boxes_b: Tensor, pairwise: bool = True,
                       enclosing: str = 'convex_hull') -> Tensor:
    """GIoU of yawed 3D boxes; see :func:`rotated_box3d_iou_giou`."""
    return rotated_box3d_iou_giou(boxes_a, boxes_b, pairwise, enclosing)[1]
