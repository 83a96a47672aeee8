"""3DETR criterion with yawed GT boxes (SUN RGB-D): the rotated GIoU path."""
import math

import pytest
import torch

from crosspt.models.detectors import ThreeDETRCriterion
from crosspt.models.detectors.threedetr_criterion import aligned_box3d_giou, angle_to_bin
from crosspt.ops.box_iou_rotated import rotated_box3d_giou

NUM_BINS = 12


def _outputs(boxes: torch.Tensor, yaws: torch.Tensor) -> dict:
    """One decoder layer for B = 1, Q boxes (Q, 6) with yaws (Q,), one class + no-object.
    Each yaw is encoded as its bin (logit 5) plus the residual, as the heads would."""
    q = len(boxes)
    cls, residual = angle_to_bin(yaws, NUM_BINS)
    angle_logits = torch.zeros(1, q, NUM_BINS)
    angle_logits[0, torch.arange(q), cls] = 5.0
    angle_res = torch.zeros(1, q, NUM_BINS)
    angle_res[0, torch.arange(q), cls] = residual
    angle_res.requires_grad_(True)
    logits = torch.zeros(1, q, 2)
    extent = torch.full((1, 3), 10.0)
    return dict(sem_cls_logits=logits, sem_cls_prob=logits.softmax(-1)[..., :1],
                objectness_prob=torch.full((1, q), 0.5),
                center_unnormalized=boxes[None, :, :3], size_unnormalized=boxes[None, :, 3:6],
                center_normalized=boxes[None, :, :3] / extent,
                size_normalized=boxes[None, :, 3:6] / extent,
                angle_logits=angle_logits, angle_residual_normalized=angle_res)


@pytest.mark.parametrize('enclosing', ['axis_aligned', 'convex_hull'])
def test_rotated_gt_is_matched_and_scored_with_the_rotated_giou(enclosing):
    gt = torch.tensor([[1.0, 2.0, 0.5, 2.0, 0.6, 1.0, 0.5]])
    far = torch.tensor([4.0, 4.0, 0.5, 1.0, 1.0, 1.0])
    near = gt[0, :6] + torch.tensor([0.1, -0.05, 0.0, 0.0, 0.0, 0.0])
    queries = torch.stack([far, near])                                  # (2, 6)
    yaws = torch.tensor([0.0, 0.5 + 0.2])
    outputs = _outputs(queries, yaws)
    crit = ThreeDETRCriterion(num_classes=1, num_angle_bins=NUM_BINS, log_per_layer=True,
                              giou_enclosing=enclosing)
    scene_min, extent = torch.zeros(1, 3), torch.full((1, 3), 10.0)
    losses = crit([outputs], [dict(boxes=gt, labels=torch.tensor([0]))], scene_min, extent)
    # the near query is matched; its GIoU is the rotated one of (near, yaw 0.7) vs GT
    pred = torch.cat([near, yaws[1:]])[None]
    expected = 1 - rotated_box3d_giou(pred, gt, enclosing=enclosing)[0, 0]
    assert float(losses['d0.giou']) == pytest.approx(float(expected), abs=1e-5)
    # not the axis-aligned one, which ignores the 0.2 rad yaw error
    aligned = 1 - aligned_box3d_giou(pred, gt)[0, 0]
    assert abs(float(aligned) - float(expected)) > 1e-3
    # the yaw residual receives a gradient from the GIoU term
    losses['loss_giou'].backward()
    grad = outputs['angle_residual_normalized'].grad[0, 1]
    assert float(grad.abs().sum()) > 0


def test_exact_rotated_prediction_giou_loss_per_enclosing():
    gt = torch.tensor([[0.0, 0.0, 0.0, 1.5, 0.5, 1.0, -2.0]])
    queries = torch.stack([torch.tensor([3.0, 3.0, 0.0, 1.0, 1.0, 1.0]), gt[0, :6]])
    giou_loss = {}
    for enclosing in ('convex_hull', 'axis_aligned'):
        outputs = _outputs(queries, torch.tensor([0.0, -2.0]))
        crit = ThreeDETRCriterion(num_classes=1, num_angle_bins=NUM_BINS, log_per_layer=True,
                                  giou_enclosing=enclosing)
        losses = crit([outputs], [dict(boxes=gt, labels=torch.tensor([0]))],
                      torch.full((1, 3), -5.0), torch.full((1, 3), 10.0))
        giou_loss[enclosing] = float(losses['d0.giou'])
    assert giou_loss['convex_hull'] == pytest.approx(0.0, abs=1e-5)
    # the release's enclosing box around the corners of a box turned by -2 rad: 1.5 x 0.5
    # rotated has an axis-aligned footprint (1.5|cos| + 0.5|sin|) x (1.5|sin| + 0.5|cos|)
    c, s = abs(math.cos(2.0)), abs(math.sin(2.0))
    footprint = (1.5 * c + 0.5 * s) * (1.5 * s + 0.5 * c)
    assert giou_loss['axis_aligned'] == pytest.approx((footprint - 0.75) / footprint, abs=1e-5)


def test_one_angle_bin_cannot_learn_yaw():
    crit = ThreeDETRCriterion(num_classes=1, num_angle_bins=1)
    with pytest.raises(ValueError, match='num_angle_bins is 1'):
        crit.prepare_targets([dict(boxes=torch.tensor([[0.0, 0, 0, 1, 1, 1, math.pi / 3]]),
                                   labels=torch.tensor([0]))],
                             torch.zeros(1, 3), torch.ones(1, 3))
