"""Batching of point-cloud samples collated by ``pseudo_collate``."""
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
    """

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
        return dict(inputs=batch, data_samples=data.get('data_samples'))
