"""A small 2D semantic segmentation network: ResNet -> 1x1 conv on one stage -> bilinear
upsampling to the input size.  crosspt trains it on the rendered frames of the
synthetic ScanNet scenes so that the PPKT demo has a 2D teacher that knows something
(:class:`ImageTeacher` loads its backbone with ``prefix='backbone.'``).

Images are normalised exactly as :class:`ImageTeacher` does it: uint8 [0, 255] ->
[0, 1] -> ImageNet mean/std, so the trained backbone sees the same input distribution
when it becomes the teacher.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import BaseDataElement
from torch import Tensor, nn

from crosspt.registry import MODELS

from ..base import PointAlgorithm
from .teacher import IMAGENET_MEAN, IMAGENET_STD, images_to_unit_range, imagenet_normalize


def channel_argmax(logits: Tensor) -> Tensor:
    """(B, K, H, W) -> (B, H, W) int64, equal to ``logits.argmax(1)`` (the first maximal
    class).  On CPU, argmax over the strided class axis is slow: 63-65 ms for 4 x 20 x
    240 x 320 logits (torch 2.13, one thread), against 16 ms for the channel maximum
    followed by K comparisons.  NaN logits (argmax treats NaN as the maximum) and other
    devices take ``argmax``."""
    if logits.device.type != 'cpu' or logits.dim() != 4:
        return logits.argmax(1)
    best = logits.amax(1)                                                  # (B, H, W)
    if torch.isnan(best).any():
        return logits.argmax(1)
    index = torch.zeros(best.shape, dtype=torch.long)
    for k in range(logits.shape[1] - 1, -1, -1):            # ends on the first maximum
        index.masked_fill_(logits[:, k] == best, k)
    return index


@MODELS.register_module()
class ImageSegDataPreprocessor(BaseDataPreprocessor):
    """Stacks RGB images and normalises them like :class:`ImageTeacher`.

    Input (``pseudo_collate``): ``inputs`` = list of (3, H, W) uint8 tensors (or one
    (B, 3, H, W) tensor; float input must be in [0, 1]).  Output: ``inputs`` =
    (B, 3, H, W) float32 ``(x / 255 - mean) / std`` on the model's device;
    ``data_samples`` passed through (moved to the device).

    Args:
        mean, std: per-channel statistics on the [0, 1] scale (ImageNet's by default;
            keep them so the backbone can be used by :class:`ImageTeacher`).
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f'ImageSegDataPreprocessor: mean/std must be 3 values with std > 0, '
                             f'got {mean} / {std}')
        self.mean, self.std = tuple(float(v) for v in mean), tuple(float(v) for v in std)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        images = data['inputs']
        if isinstance(images, (list, tuple)):
            shapes = {tuple(im.shape) for im in images}
            if len(shapes) != 1:
                raise ValueError(f'ImageSegDataPreprocessor: images of one batch differ in shape: '
                                 f'{sorted(shapes)}')
            images = torch.stack(list(images))
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f'ImageSegDataPreprocessor: expected (3, H, W) RGB images, got a '
                             f'batch of shape {tuple(images.shape)}')
        images = imagenet_normalize(images_to_unit_range(images, 'ImageSegDataPreprocessor')
                                    .float(), self.mean, self.std)
        return dict(inputs=images, data_samples=data.get('data_samples'))


@MODELS.register_module()
class ImageSegmentor(PointAlgorithm):
    """ResNet + light head for per-pixel classification.

    Args:
        backbone: :class:`ResNet` config with one ``out_indices`` entry (e.g.
            ``dict(type='ResNet', depth=18, base_channels=32)``; layer4 by default).
        num_classes: K (20 ScanNet benchmark classes).
        ignore_index: label of unlabelled pixels (no loss, not evaluated).
        dropout: dropout before the 1x1 classifier.
        data_preprocessor: default :class:`ImageSegDataPreprocessor`.

    Data samples carry ``gt_sem_seg`` (H, W) int64 for the loss; ``predict`` sets
    ``pred_sem_seg`` (H, W) int64 (argmax) on them.  ``tensor`` mode returns the
    upsampled logits (B, K, H, W).
    """

    def __init__(self, backbone: dict, num_classes: int = 20, ignore_index: int = 255,
                 dropout: float = 0.1, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(data_preprocessor=MODELS.build(
            data_preprocessor or dict(type='ImageSegDataPreprocessor')), init_cfg=init_cfg)
        if num_classes < 2:
            raise ValueError(f'ImageSegmentor: num_classes must be >= 2, got {num_classes}')
        if 0 <= ignore_index < num_classes:
            raise ValueError(f'ImageSegmentor: ignore_index {ignore_index} is a class id '
                             f'(num_classes={num_classes})')
        self.backbone = MODELS.build(backbone)
        channels = getattr(self.backbone, 'out_channels', None)
        if channels is None or len(channels) != 1:
            raise ValueError(f'ImageSegmentor: the backbone must return exactly one map (one '
                             f'out_indices entry), got out_channels={channels}')
        self.num_classes, self.ignore_index = int(num_classes), int(ignore_index)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.cls_seg = nn.Conv2d(channels[0], num_classes, kernel_size=1)
        nn.init.normal_(self.cls_seg.weight, std=0.01)
        nn.init.zeros_(self.cls_seg.bias)

    def tensor(self, inputs: Tensor) -> Tensor:
        """(B, 3, H, W) normalised images -> (B, K, H, W) logits."""
        feats = self.backbone(inputs)[0]                                    # (B, C, h, w)
        logits = self.cls_seg(self.dropout(feats))                          # (B, K, h, w)
        return F.interpolate(logits, size=inputs.shape[-2:], mode='bilinear',
                             align_corners=False)

    def _gt(self, data_samples: Optional[Sequence[BaseDataElement]], shape) -> Tensor:
        if not data_samples or any('gt_sem_seg' not in s for s in data_samples):
            raise KeyError("ImageSegmentor: every data sample needs 'gt_sem_seg' (H, W) int64 "
                           'for the loss')
        gt = torch.stack([torch.as_tensor(s.gt_sem_seg).long() for s in data_samples])
        if tuple(gt.shape) != (shape[0], shape[2], shape[3]):
            raise ValueError(f'ImageSegmentor: gt_sem_seg maps {tuple(gt.shape)} do not match '
                             f'the images {tuple(shape)}')
        bad = (gt != self.ignore_index) & ((gt < 0) | (gt >= self.num_classes))
        if bad.any():
            raise ValueError(f'ImageSegmentor: gt_sem_seg holds label {int(gt[bad][0])}, '
                             f'outside [0, {self.num_classes}) and not ignore_index '
                             f'{self.ignore_index}')
        return gt

    def loss(self, inputs: Tensor, data_samples: Sequence[BaseDataElement]
             ) -> Dict[str, Tensor]:
        """Pixel-wise cross-entropy (``ignore_index`` excluded) and the batch pixel
        accuracy (reported, no gradient)."""
        logits = self.tensor(inputs)
        gt = self._gt(data_samples, inputs.shape).to(logits.device)
        valid = gt != self.ignore_index
        if valid.any():
            loss = F.cross_entropy(logits, gt, ignore_index=self.ignore_index)
        else:       # keep the graph connected when a batch has no labelled pixel
            loss = logits.sum() * 0.0
        with torch.no_grad():
            acc = (channel_argmax(logits) == gt)[valid].float().mean() if valid.any() \
                else logits.new_zeros(())
        return dict(loss_seg=loss, acc_seg=acc)

    def predict(self, inputs: Tensor, data_samples: Optional[Sequence[BaseDataElement]] = None
                ) -> List[BaseDataElement]:
        """Sets ``pred_sem_seg`` (H, W) int64 on each data sample (new ones if None)."""
        pred = channel_argmax(self.tensor(inputs))                          # (B, H, W)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(pred))]
        for sample, p in zip(data_samples, pred):
            sample.pred_sem_seg = p
        return list(data_samples)
