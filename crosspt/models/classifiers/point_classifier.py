"""Object classifier: point backbone -> global feature -> :class:`ClsHead`."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.structures import BaseDataElement
from torch import Tensor

from crosspt.registry import MODELS

from ..base import PointAlgorithm


@MODELS.register_module()
class PointClassifier(PointAlgorithm):
    """Args:
        backbone: encoder returning ``global_features (B, C)`` from
            ``(points (B, N, 3), features (B, N, C_in))``; load TAP weights with
            ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
        head: :class:`ClsHead` config.
    Data samples carry ``gt_label`` (int); ``predict`` adds ``pred_logits (K,)``,
    ``pred_score (K,)`` (softmax) and ``pred_label``.
    """

    def __init__(self, backbone: dict, head: dict, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        # built from crosspt's registry, so that no default scope is needed
        super().__init__(data_preprocessor=MODELS.build(
            data_preprocessor or dict(type='PointDataPreprocessor')), init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)

    def extract_feat(self, inputs: Dict[str, Tensor]) -> Tensor:
        return self.backbone(inputs['points'], inputs['features'])['global_features']

    @staticmethod
    def _labels(data_samples: Sequence[BaseDataElement], device) -> Tensor:
        if not data_samples or any('gt_label' not in s for s in data_samples):
            raise KeyError("PointClassifier: every data sample needs 'gt_label' for the loss")
        return torch.as_tensor([int(s.gt_label) for s in data_samples], device=device)

    def loss(self, inputs: Dict[str, Tensor],
             data_samples: Sequence[BaseDataElement]) -> Dict[str, Tensor]:
        feats = self.extract_feat(inputs)
        return self.head.loss(feats, self._labels(data_samples, feats.device))

    def predict(self, inputs: Dict[str, Tensor],
                data_samples: Optional[Sequence[BaseDataElement]] = None
                ) -> List[BaseDataElement]:
        logits = self.head(self.extract_feat(inputs))
        scores = torch.softmax(logits, dim=-1)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(scores))]
        for sample, logit, score in zip(data_samples, logits, scores):
            sample.set_field(logit, 'pred_logits')
            sample.set_field(score, 'pred_score')
            sample.set_field(int(score.argmax()), 'pred_label')
        return list(data_samples)

    def tensor(self, inputs: Dict[str, Tensor]):
        return self.head(self.extract_feat(inputs))
