"""Rotated 3D IoU / GIoU against a brute-force polygon clipper and hand-worked values."""
import math

import numpy as np
import pytest
import torch

from crosspt.models.detectors.threedetr_criterion import aligned_box3d_giou, aligned_box3d_iou
from crosspt.ops.box_iou_rotated import rotated_box3d_giou, rotated_box3d_iou_giou


def _rect(box: np.ndarray) -> list:
    """BEV corners, counter-clockwise, of a [cx, cy, cz, dx, dy, dz, yaw] box (float64)."""
    cx, cy, _, dx, dy, _, yaw = box
    c, s = math.cos(yaw), math.sin(yaw)
    return [(cx + x * c - y * s, cy + x * s + y * c)
            for x, y in ((dx / 2, dy / 2), (-dx / 2, dy / 2), (-dx / 2, -dy / 2), (dx / 2, -dy / 2))]


def _clip(subject: list, clipper: list) -> list:
    """Sutherland-Hodgman: subject polygon clipped by a convex CCW polygon."""
    def left(p, a, b):
        return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= 0

    def crossing(p, q, a, b):
        d1, d2 = (q[0] - p[0], q[1] - p[1]), (b[0] - a[0], b[1] - a[1])
        t = ((a[0] - p[0]) * d2[1] - (a[1] - p[1]) * d2[0]) / (d1[0] * d2[1] - d1[1] * d2[0])
        return (p[0] + t * d1[0], p[1] + t * d1[1])

    out = subject
    for i in range(len(clipper)):
        a, b = clipper[i], clipper[(i + 1) % len(clipper)]
        inp, out = out, []
        for j in range(len(inp)):
            p, q = inp[j - 1], inp[j]
            if left(q, a, b):
                if not left(p, a, b):
                    out.append(crossing(p, q, a, b))
                out.append(q)
            elif left(p, a, b):
                out.append(crossing(p, q, a, b))
        if not out:
            return []
    return out


def _area(poly: list) -> float:
    return abs(sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(poly, poly[1:] + poly[:1]))) / 2


def _hull_area(points: np.ndarray) -> float:
    """Andrew's monotone chain."""
    pts = sorted(map(tuple, points))

    def half(seq):
        chain = []
        for p in seq:
            while len(chain) >= 2 and ((chain[-1][0] - chain[-2][0]) * (p[1] - chain[-2][1])
                                       - (chain[-1][1] - chain[-2][1]) * (p[0] - chain[-2][0])) <= 0:
                chain.pop()
            chain.append(p)
        return chain[:-1]
    return _area(half(pts) + half(pts[::-1]))


def _reference(a: np.ndarray, b: np.ndarray, enclosing: str = 'convex_hull') -> tuple:
    """(IoU, GIoU) by polygon clipping; enclosing: BEV convex hull or axis-aligned box."""
    inter_bev = _area(_clip(_rect(a), _rect(b)))
    z = max(0.0, min(a[2] + a[5] / 2, b[2] + b[5] / 2) - max(a[2] - a[5] / 2, b[2] - b[5] / 2))
    inter = inter_bev * z
    union = a[3:6].prod() + b[3:6].prod() - inter
    corners = np.array(_rect(a) + _rect(b))
    height = max(a[2] + a[5] / 2, b[2] + b[5] / 2) - min(a[2] - a[5] / 2, b[2] - b[5] / 2)
    bev = _hull_area(corners) if enclosing == 'convex_hull' else np.prod(corners.max(0) - corners.min(0))
    enclose = bev * height
    return inter / union, inter / union - (enclose - union) / enclose


def _random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    centre = rng.uniform(-1, 1, (n, 3))
    size = rng.uniform(0.2, 2.0, (n, 3))
    yaw = rng.uniform(-math.pi, math.pi, (n, 1))
    return np.concatenate([centre, size, yaw], 1)


@pytest.mark.parametrize('enclosing', ['convex_hull', 'axis_aligned'])
def test_matches_polygon_clipping_on_random_pairs(enclosing):
    rng = np.random.default_rng(0)
    a, b = _random_boxes(rng, 40), _random_boxes(rng, 30)
    b[:5, :] = a[:5, :]                                              # identical pairs
    b[5:8, 6] = 0.0
    a[5:8, 6] = math.pi / 2                                          # shared edges
    iou, giou = rotated_box3d_iou_giou(torch.from_numpy(a), torch.from_numpy(b),
                                       enclosing=enclosing)
    ref = np.array([[_reference(x, y, enclosing) for y in b] for x in a])   # (40, 30, 2)
    assert (ref[..., 0] > 0).sum() > 100      # the set exercises real overlaps
    np.testing.assert_allclose(iou.numpy(), ref[..., 0], atol=1e-9)
    np.testing.assert_allclose(giou.numpy(), ref[..., 1], atol=1e-9)


def test_hand_worked_values():
    # unit cube and the same cube turned 45 deg: the overlap is a regular octagon of area
    # 2 (sqrt 2 - 1); the axis-aligned enclosing box is sqrt 2 x sqrt 2 x 1
    a = torch.tensor([[0., 0., 0., 1., 1., 1., 0.]], dtype=torch.float64)
    b = torch.tensor([[0., 0., 0., 1., 1., 1., math.pi / 4]], dtype=torch.float64)
    inter = 2 * (math.sqrt(2) - 1)
    iou, giou = rotated_box3d_iou_giou(a, b)
    assert iou.item() == pytest.approx(inter / (2 - inter), abs=1e-12)
    union = 2 - inter
    aligned = rotated_box3d_iou_giou(a, b, enclosing='axis_aligned')[1]
    assert aligned.item() == pytest.approx(inter / union - (2 - union) / 2, abs=1e-12)
    # all 8 corners lie on the circle of radius sqrt(2)/2 at multiples of 45 deg: their hull
    # is the regular octagon of area 2 sqrt(2) r^2 = sqrt(2)
    hull = math.sqrt(2)
    assert giou.item() == pytest.approx(inter / union - (hull - union) / hull, abs=1e-12)
    # identical boxes, any yaw (every corner lies on the other's boundary): IoU = GIoU = 1
    same = torch.tensor([[0.3, -0.2, 0.5, 1.2, 0.7, 0.4, 0.9]], dtype=torch.float64)
    assert rotated_box3d_iou_giou(same, same)[0].item() == pytest.approx(1.0, abs=1e-12)
    assert rotated_box3d_giou(same, same).item() == pytest.approx(1.0, abs=1e-12)
    # disjoint in z: IoU 0; touching edges: IoU 0
    up = same.clone()
    up[0, 2] += 1.0
    assert rotated_box3d_iou_giou(same, up)[0].item() == 0.0
    side = torch.tensor([[1., 0., 0., 1., 1., 1., 0.]], dtype=torch.float64)
    assert rotated_box3d_iou_giou(a, side)[0].item() == pytest.approx(0.0, abs=1e-12)
    # a box inside another
    big = torch.tensor([[0., 0., 0., 4., 4., 4., 0.3]], dtype=torch.float64)
    assert rotated_box3d_iou_giou(a, big)[0].item() == pytest.approx(1 / 64, abs=1e-12)


def test_equals_axis_aligned_giou_at_zero_yaw():
    rng = np.random.default_rng(1)
    a, b = _random_boxes(rng, 20), _random_boxes(rng, 15)
    a[:, 6], b[:, 6] = 0.0, 0.0
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    iou, giou = rotated_box3d_iou_giou(ta, tb, enclosing='axis_aligned')
    torch.testing.assert_close(iou, aligned_box3d_iou(ta, tb), atol=1e-10, rtol=0)
    torch.testing.assert_close(giou, aligned_box3d_giou(ta, tb), atol=1e-10, rtol=0)


def test_elementwise_and_gradients():
    rng = np.random.default_rng(2)
    a = torch.from_numpy(_random_boxes(rng, 12)).requires_grad_(True)
    b = torch.from_numpy(_random_boxes(rng, 12))
    pairwise = rotated_box3d_giou(a, b)
    torch.testing.assert_close(rotated_box3d_giou(a, b, pairwise=False), pairwise.diagonal())
    # float32 (training precision) agrees with float64
    torch.testing.assert_close(rotated_box3d_giou(a.float(), b.float()), pairwise.float(),
                               atol=1e-5, rtol=0)
    assert torch.autograd.gradcheck(lambda x: rotated_box3d_giou(x, b[:4]), (a[:3],),
                                    eps=1e-6, atol=1e-5)


def test_bad_shape_names_the_argument():
    with pytest.raises(ValueError, match='boxes_b must be'):
        rotated_box3d_iou_giou(torch.zeros(2, 7), torch.zeros(2, 6))
    with pytest.raises(ValueError, match='enclosing must be one of'):
        rotated_box3d_iou_giou(torch.zeros(2, 7), torch.zeros(2, 7), enclosing='hull')
