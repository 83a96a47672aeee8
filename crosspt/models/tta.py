"""Voting test-time augmentation (``tools/test.py --tta``).

The config's ``tta_pipeline`` ends with ``PointTestTimeAug``, which packs ``num_votes``
randomly augmented copies of every sample; mmengine's ``BaseTTAModel`` runs the wrapped
model once per vote, and the classes below merge the votes by averaging
(docs/methods/benchmarks.md, 'Voting': logits averaged over about 10 augmented passes).
"""
from typing import List, Sequence

import torch
from mmengine.model import BaseTTAModel
from mmengine.structures import BaseDataElement

from crosspt.registry import MODELS

AVERAGES = ('logits', 'scores')


def _check_average(average: str, owner: str) -> str:
    if average not in AVERAGES:
        raise ValueError(f'{owner}: average must be one of {AVERAGES}, got {average!r}')
    return average


@MODELS.register_module()
class PointClsTTAModel(BaseTTAModel):
    """Averages the votes of a :class:`PointClassifier`.

    Args:
        module: the classifier config.
        average: ``'logits'`` (default; the usual voting) or ``'scores'`` (softmax).
    Each merged sample gets ``pred_logits``/``pred_score`` = the vote mean (for
    ``'scores'``, ``pred_logits`` is the mean of the logits too), ``pred_label`` = argmax,
    and ``num_votes``.
    """

    def __init__(self, module: dict, average: str = 'logits', **kwargs) -> None:
        super().__init__(module=module, **kwargs)
        self.average = _check_average(average, type(self).__name__)

    def merge_preds(self, data_samples_list: List[Sequence[BaseDataElement]]
                    ) -> List[BaseDataElement]:
        merged = []
        for votes in data_samples_list:
            logits = torch.stack([v.pred_logits for v in votes]).mean(0)
            scores = torch.softmax(logits, -1) if self.average == 'logits' else \
                torch.stack([v.pred_score for v in votes]).mean(0)
            sample = votes[0].clone()
            sample.set_field(logits, 'pred_logits')
            sample.set_field(scores, 'pred_score')
            sample.set_field(int(scores.argmax()), 'pred_label')
            sample.set_field(len(votes), 'num_votes')
            merged.append(sample)
        return merged


@MODELS.register_module()
class PartSegTTAModel(BaseTTAModel):
    """Averages the per-point part probabilities (``pred_part_score (N, K)``) of a
    :class:`PointPartSegmentor` over votes (openpoints/TAP: 10 votes of random scaling
    0.8-1.2, docs/methods/benchmarks.md, 'Voting').  The votes must keep the point order
    (use scaling-type
    augmentations, not resampling).  ``pred_part`` = argmax over the shape category's own
    parts when the segmentor restricts to the category.  Part refinement is not applied
    to the merged votes (it needs the points); a segmentor with ``refine=True`` is refused.
    """

    def __init__(self, module: dict, **kwargs) -> None:
        super().__init__(module=module, **kwargs)
        if getattr(self.module, 'refine', False):
            raise ValueError('PartSegTTAModel: the wrapped segmentor has refine=True; '
                             'refinement is not defined for merged votes, set '
                             'model.refine=False for --tta')

    def merge_preds(self, data_samples_list: List[Sequence[BaseDataElement]]
                    ) -> List[BaseDataElement]:
        merged = []
        for votes in data_samples_list:
            shapes = {tuple(v.pred_part_score.shape) for v in votes}
            if len(shapes) != 1:
                raise ValueError(f'PartSegTTAModel: votes of one shape have different '
                                 f'point counts {sorted(shapes)}; voting needs the same '
                                 f'points in every vote')
            scores = torch.stack([v.pred_part_score for v in votes]).mean(0)     # (N, K)
            masked = scores
            if getattr(self.module, 'restrict_to_category', False):
                allowed = self.module.part_mask[int(votes[0].category)].to(scores.device)
                masked = scores.masked_fill(~allowed, float('-inf'))
            sample = votes[0].clone()
            sample.set_field(scores, 'pred_part_score')
            sample.set_field(masked.argmax(-1), 'pred_part')
            sample.set_field(len(votes), 'num_votes')
            merged.append(sample)
        return merged
