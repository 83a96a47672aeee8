"""TAPViewGridHook captions each object with its silhouette IoU and floor (in process)."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from crosspt.engine.hooks import TAPViewGridHook, compose_view_grid
from crosspt.engine.hooks.view_grid_hook import CAPTION_HEIGHT, iou_captions


def views() -> tuple:
    """pred, gt (1, 2, 3, 4, 4): view 0 IoU 3/5 with floor 4/16, view 1 empty/empty."""
    gt = torch.ones(1, 2, 3, 4, 4)
    gt[0, 0, 0, :2, :2] = 0.5
    pred = torch.ones(1, 2, 3, 4, 4)
    for y, x in ((0, 0), (0, 1), (1, 0), (3, 3)):
        pred[0, 0, :, y, x] = 0.9
    return pred, gt


def test_caption_text_is_the_metric_per_object():
    pred, gt = views()
    assert iou_captions(pred, gt) == ['fg_iou 0.80 (floor 0.62)']
    assert iou_captions(torch.cat([pred, gt]), torch.cat([gt, gt]))[1] == 'fg_iou 1.00 (floor 0.62)'


def test_captions_get_a_strip_above_each_object():
    gt = np.ones((2, 3, 3, 16, 16), dtype=np.float32)
    plain = compose_view_grid(gt, gt)
    captioned = compose_view_grid(gt, gt, captions=['fg_iou 0.10 (floor 0.20)'] * 2)
    assert captioned.shape[0] == plain.shape[0] + 2 * CAPTION_HEIGHT
    assert captioned.shape[1] == plain.shape[1]
    block = CAPTION_HEIGHT + 2 * 16 + 2 * 4
    for top in (0, block):
        strip = captioned[top:top + CAPTION_HEIGHT]
        assert (strip != 255).any(axis=-1).sum() > 50    # text drawn
    # the tiles are unchanged, only shifted down by the strip
    assert (captioned[CAPTION_HEIGHT:CAPTION_HEIGHT + 16, 40:56] == 255).all()


class GreyModel(nn.Module):
    """Predicts a constant grey image for every view of every object."""

    def data_preprocessor(self, data: dict, training: bool) -> dict:
        return data

    def forward(self, inputs: torch.Tensor, data_samples: list, mode: str) -> list:
        assert mode == 'predict'
        return [SimpleNamespace(gt_images=s['gt_images'],
                                pred_images=torch.full_like(s['gt_images'], 0.6))
                for s in data_samples]


def test_hook_writes_a_captioned_grid(tmp_path):
    _, gt = views()
    runner = SimpleNamespace(model=GreyModel(), iter=1, max_iters=2, work_dir=str(tmp_path),
                             visualizer=SimpleNamespace(add_image=lambda *a, **k: None),
                             logger=SimpleNamespace(info=lambda message: None))
    batch = dict(inputs=torch.zeros(3, 8, 3), data_samples=[dict(gt_images=gt[0])] * 3)
    TAPViewGridHook(interval=2, max_objects=2).after_train_iter(runner, 0, batch)
    grid = np.asarray(Image.open(tmp_path / 'view_grids' / 'iter_000002.png'))
    assert grid.shape[0] == 2 * (CAPTION_HEIGHT + 2 * 4 + 2 * 4)
    # the grey prediction draws everything: IoU 4/16 on view 0, 0 on the empty view 1
    assert iou_captions(torch.full_like(gt, 0.6), gt) == ['fg_iou 0.12 (floor 0.62)']
    assert (grid[:CAPTION_HEIGHT] != 255).any()


def test_validation_grid_uses_the_val_loop_outputs(tmp_path):
    """val_objects > 0: the first validation batch's own predictions are drawn (held-out
    objects), captioned like the training grid; later batches and val_objects=0 draw nothing."""
    pred, gt = views()
    outputs = [SimpleNamespace(gt_images=gt[0], pred_images=pred[0])] * 3
    runner = SimpleNamespace(iter=40, work_dir=str(tmp_path), images=[],
                             logger=SimpleNamespace(info=lambda message: None))
    runner.visualizer = SimpleNamespace(add_image=lambda tag, *a, **k: runner.images.append(tag))
    TAPViewGridHook(val_objects=0).after_val_iter(runner, 0, None, outputs)
    TAPViewGridHook(val_objects=2).after_val_iter(runner, 1, None, outputs)
    assert not (tmp_path / 'view_grids').exists()
    TAPViewGridHook(val_objects=2).after_val_iter(runner, 0, None, outputs)
    grid = np.asarray(Image.open(tmp_path / 'view_grids' / 'val_iter_000040.png'))
    assert grid.shape[0] == 2 * (CAPTION_HEIGHT + 2 * 4 + 2 * 4)     # two objects
    assert runner.images == ['tap_val_views']
    expected = compose_view_grid(gt.numpy().repeat(2, 0), pred.numpy().repeat(2, 0),
                                 captions=['fg_iou 0.80 (floor 0.62)'] * 2)
    np.testing.assert_array_equal(grid, expected)
    with pytest.raises(ValueError, match='val_objects'):
        TAPViewGridHook(val_objects=-1)
