"""Writes generated-vs-ground-truth view grids while TAP trains."""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.utils import mkdir_or_exist
from PIL import Image, ImageDraw

from crosspt.evaluation.silhouette import DEFAULT_PRED_FG_THRESHOLD, mean_iou_and_floor
from crosspt.registry import HOOKS

CAPTION_HEIGHT = 14  # pixels above each object's rows when captions are given


def compose_view_grid(gt: np.ndarray, pred: np.ndarray, gap: int = 4,
                      row_labels: Tuple[str, str] = ('GT', 'pred'),
                      captions: Optional[Sequence[str]] = None) -> np.ndarray:
    """gt, pred: float (B, V, 3, H, W) in [0, 1] -> uint8 (H', W', 3) grid.

    Each object gets two rows (ground truth above, prediction below); views go left to
    right.  Rows are labelled ``row_labels`` ('GT' / 'pred') in the left margin.
    ``captions`` (B strings), if given, are written in a strip above each object's rows.
    """
    b, v, _, h, w = gt.shape
    margin = 40
    strip = CAPTION_HEIGHT if captions is not None else 0
    height = b * (strip + 2 * h + 2 * gap)
    width = margin + v * (w + gap)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    labels = []
    for i in range(b):
        block = i * (strip + 2 * h + 2 * gap)
        if captions is not None:
            labels.append((block + strip // 2, captions[i]))
        for row, images in enumerate((gt[i], pred[i])):
            top = block + strip + row * (h + gap)
            labels.append((top + h // 2, row_labels[row]))
            for j in range(v):
                tile = (np.clip(images[j], 0, 1).transpose(1, 2, 0) * 255).round()
                left = margin + j * (w + gap)
                canvas[top:top + h, left:left + w] = tile.astype(np.uint8)
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    for y, text in labels:
        draw.text((4, y - 5), text, fill=(200, 30, 30))
    return np.asarray(image)


def iou_captions(pred: torch.Tensor, gt: torch.Tensor, gt_threshold: float = 1.0,
                 pred_threshold: float = DEFAULT_PRED_FG_THRESHOLD) -> List[str]:
    """pred, gt: (B, V, 3, H, W) in [0, 1] -> B captions with each object's ``view/fg_iou``
    (mean over its views) and the constant-image floor, as ``ViewGenerationMetric`` computes."""
    iou, floor = mean_iou_and_floor(pred, gt, gt_threshold, pred_threshold)
    return [f'fg_iou {i:.2f} (floor {f:.2f})' for i, f in zip(iou.tolist(), floor.tolist())]


@HOOKS.register_module()
class TAPViewGridHook(Hook):
    """Every ``interval`` training iterations, render the current batch's views with the
    model and save ``{work_dir}/{out_dir}/iter_<iteration, 6 digits>.png`` (GT above prediction), and
    send the same image to the visualizer backends as ``tap_views``.  Each object is
    captioned with its silhouette IoU and the constant-image floor (see ``iou_captions``).

    With ``val_objects > 0`` every validation also writes
    ``{out_dir}/val_iter_<iteration>.png`` (visualizer: ``tap_val_views``): the first
    ``val_objects`` held-out objects of the first validation batch, drawn from the
    validation loop's own predictions (no extra forward pass).

    Args:
        interval: iterations between grids (also written after the last iteration).
        max_objects: objects (row pairs) per training grid.
        out_dir: sub-folder of the work dir.
        fg_threshold, pred_fg_threshold: foreground rules, as in ``ViewGenerationMetric``.
        val_objects: objects per validation grid; 0 = none.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 50, max_objects: int = 4,
                 out_dir: str = 'view_grids', fg_threshold: float = 1.0,
                 pred_fg_threshold: float = DEFAULT_PRED_FG_THRESHOLD,
                 val_objects: int = 0) -> None:
        if interval <= 0:
            raise ValueError(f'TAPViewGridHook: interval must be positive, got {interval}')
        if val_objects < 0:
            raise ValueError(f'TAPViewGridHook: val_objects must be >= 0, got {val_objects}')
        self.interval, self.max_objects, self.out_dir = interval, max_objects, out_dir
        self.fg_threshold, self.pred_fg_threshold = fg_threshold, pred_fg_threshold
        self.val_objects = val_objects

    def after_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        step = runner.iter + 1
        if data_batch is None or not (step % self.interval == 0 or step == runner.max_iters):
            return
        if not is_main_process():
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        subset = _first_objects(data_batch, self.max_objects)
        was_training = model.training
        model.eval()
        with torch.no_grad():
            data = model.data_preprocessor(subset, False)
            samples = model(**data, mode='predict')
        model.train(was_training)
        self._write(runner, samples, f'iter_{step:06d}.png', 'tap_views', step)

    def after_val_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                       outputs: Optional[Sequence] = None) -> None:
        if self.val_objects == 0 or batch_idx != 0 or not outputs or not is_main_process():
            return
        samples = list(outputs)[:self.val_objects]
        self._write(runner, samples, f'val_iter_{runner.iter:06d}.png', 'tap_val_views',
                    runner.iter)

    def _write(self, runner, samples: Sequence, name: str, tag: str, step: int) -> None:
        """Grid of the samples' ``gt_images`` / ``pred_images`` (V, 3, H, W) -> PNG + visualizer."""
        pred = torch.stack([s.pred_images for s in samples]).float().cpu()
        gt = torch.stack([s.gt_images for s in samples]).float().cpu()
        captions = iou_captions(pred, gt, self.fg_threshold, self.pred_fg_threshold)
        grid = compose_view_grid(gt.numpy(), pred.numpy(), captions=captions)
        path = osp.join(runner.work_dir, self.out_dir, name)
        mkdir_or_exist(osp.dirname(path))
        Image.fromarray(grid).save(path)
        runner.visualizer.add_image(tag, grid, step=step)
        runner.logger.info(f'TAPViewGridHook: wrote {path}')


def _first_objects(data_batch: dict, count: int) -> dict:
    """Keep the first ``count`` samples of a pseudo-collated batch."""
    def take(value):
        if isinstance(value, dict):
            return {k: take(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return list(value[:count])
        if isinstance(value, torch.Tensor):
            return value[:count]
        return value
    return take(data_batch)
