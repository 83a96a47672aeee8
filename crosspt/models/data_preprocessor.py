"""Batching of point-cloud samples collated by ``pseudo_collate``."""
from typing import Optional

import torch
from mmengine.model import BaseDataPreprocessor

from crosspt.registry import MODELS


@MODELS.register_module()
class PointDataPreprocessor(BaseDataPreprocessor):
    """Stacks every list-valued entry of ``inputs`` into a batch tensor and moves the
    batch to the model's device.

    Input (from ``pseudo_collate``): ``inputs`` = dict of lists, e.g. ``points (N, 3)``
    and ``features (N, C)`` per sample.  Output: the same keys as ``(B, ...)`` tensors.
    Samples of one batch must share shapes (an error names the key otherwise).

    Args:
        feature_channels: keep only the first ``feature_channels`` channels of
            ``inputs['features']``, as TAP's training loop does (``x[:, :, :in_channels]``):
            e.g. 3 turns xyz + height into xyz for the Transformer, 0 leaves (B, N, 0) for
            backbones that read xyz only (the 3DETR encoder).  None keeps all.
    """

    def __init__(self, feature_channels: Optional[int] = None,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if feature_channels is not None and (isinstance(feature_channels, bool) or
                                             int(feature_channels) < 0):
            raise ValueError(f'{type(self).__name__}: feature_channels must be a non-negative '
                             f'int or None, got {feature_channels!r}')
        self.feature_channels = None if feature_channels is None else int(feature_channels)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        batch = {}
        for key, value in data['inputs'].items():
            if isinstance(value, (list, tuple)):
                shapes = {tuple(v.shape) for v in value}
                if len(shapes) > 1:
                    raise ValueError(f'{type(self).__name__}: inputs[{key!r}] has different '
                                     f'shapes within one batch: {sorted(shapes)}')
                value = torch.stack(list(value))
            batch[key] = value
        if self.feature_channels is not None and 'features' in batch:
            features = batch['features']
            if features.shape[-1] < self.feature_channels:
                raise ValueError(f'{type(self).__name__}: feature_channels='
                                 f'{self.feature_channels} but inputs carry '
                                 f'{features.shape[-1]} feature channels')
            batch['features'] = features[..., :self.feature_channels]
        return dict(inputs=batch, data_samples=data.get('data_samples'))
