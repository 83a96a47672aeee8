"""Shared ``forward(mode=...)`` dispatch of crosspt's algorithms."""
from typing import Dict, Optional, Sequence

from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from torch import Tensor


class PointAlgorithm(BaseModel):
    """mmengine's three modes: ``'loss'`` -> :meth:`loss`, ``'predict'`` -> :meth:`predict`,
    ``'tensor'`` -> :meth:`tensor`; subclasses implement the three."""

    def forward(self, inputs: Dict[str, Tensor],
                data_samples: Optional[Sequence[BaseDataElement]] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.tensor(inputs)
        raise ValueError(f"{type(self).__name__}.forward: mode must be 'loss', 'predict' or "
                         f"'tensor', got {mode!r}")
