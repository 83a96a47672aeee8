"""view/fg_iou and its constant-image floor on hand-worked 4x4 views and on rendered views."""
import numpy as np
import pytest
import torch

from crosspt.evaluation import ViewGenerationMetric, silhouette_iou, silhouette_iou_floor
from crosspt.rendering.poses import tap_view_rotations
from crosspt.rendering.renderer import render_point_views


def hand_worked_views() -> tuple:
    """pred, gt (2, 3, 4, 4).  View 0: gt foreground = the 2x2 top-left block (drawn in the
    red channel only), pred draws 3 of those 4 pixels plus (3, 3) -> IoU 3/5; a near-white
    pred pixel (0.97) is not drawn.  View 1: nothing in gt, nothing drawn -> IoU 1."""
    gt = torch.ones(2, 3, 4, 4)
    gt[0, 0, :2, :2] = 0.5
    pred = torch.ones(2, 3, 4, 4)
    for y, x in ((0, 0), (0, 1), (1, 0), (3, 3)):
        pred[0, :, y, x] = 0.9
    pred[0, :, 2, 2] = 0.97
    pred[1] = 0.99
    return pred, gt


def evaluate(metric: ViewGenerationMetric, pairs: list) -> dict:
    metric.process(None, [dict(pred_images=p, gt_images=g) for p, g in pairs])
    return metric.compute_metrics(metric.results)


def test_iou_hand_worked_and_empty_views_score_one():
    pred, gt = hand_worked_views()
    assert silhouette_iou(pred, gt).tolist() == pytest.approx([3 / 5, 1.0])
    # something drawn where nothing is: IoU 0
    assert silhouette_iou(pred[:1], gt[1:]).tolist() == [0.0]
    # the prediction rule is the threshold: at 0.98 the 0.97 pixel is drawn too -> 3/6
    assert silhouette_iou(pred[:1], gt[:1], pred_threshold=0.98).tolist() == pytest.approx([0.5])
    with pytest.raises(ValueError, match='differ in shape'):
        silhouette_iou(pred, gt[:, :, :2])


def test_floor_is_the_foreground_fraction_or_one_when_empty():
    _, gt = hand_worked_views()
    assert silhouette_iou_floor(gt).tolist() == pytest.approx([4 / 16, 1.0])
    # the gt rule: with threshold 0.5 the 0.5 pixels are background
    assert silhouette_iou_floor(gt, gt_threshold=0.5).tolist() == [1.0, 1.0]


def test_metric_averages_over_views_then_objects_and_keeps_old_keys():
    pred, gt = hand_worked_views()
    result = evaluate(ViewGenerationMetric(), [(pred, gt), (gt.clone(), gt)])
    assert result['fg_iou'] == pytest.approx(((3 / 5 + 1) / 2 + 1) / 2)
    assert result['fg_iou_floor'] == pytest.approx(((4 / 16 + 1) / 2 + (4 / 16 + 1) / 2) / 2)
    assert set(result) == {'loss', 'mse_fg', 'mse_bg', 'psnr', 'fg_iou', 'fg_iou_floor'}
    strict = evaluate(ViewGenerationMetric(pred_fg_threshold=0.5), [(pred, gt)])
    assert strict['fg_iou'] == pytest.approx((0 + 1) / 2)


def rendered_views() -> torch.Tensor:
    """(3, 3, 32, 32) float views of a random box cloud from the renderer, in [0, 1]."""
    points = np.random.default_rng(0).uniform(-1, 1, (400, 3)) * [1.0, 0.4, 0.6]
    images = render_point_views(points, tap_view_rotations()[:3], image_size=32, obj_size=24)
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


def test_mean_grey_output_scores_the_floor_and_a_copy_scores_one():
    gt = rendered_views()
    grey = torch.full_like(gt, gt.mean().item())
    result = evaluate(ViewGenerationMetric(), [(grey, gt)])
    assert 0 < result['fg_iou_floor'] < 0.9
    assert result['fg_iou'] == pytest.approx(result['fg_iou_floor'])
    # every rendered surface grey is below the default prediction threshold
    assert evaluate(ViewGenerationMetric(), [(gt, gt)])['fg_iou'] == 1.0
