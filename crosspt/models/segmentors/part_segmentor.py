"""Part segmentor: backbone (per-point features, category-conditioned) -> :class:`PartSegHead`."""
from typing import Dict, List, Mapping, Optional, Sequence, Union

import torch
from mmengine.structures import BaseDataElement
from torch import Tensor

from crosspt.fileio.object_classes import SHAPENETPART_PARTS
from crosspt.ops import knn
from crosspt.registry import MODELS

from ..base import PointAlgorithm


def refine_part_labels(pred: Tensor, points: Tensor, parts: Sequence[int], n: int = 10,
                       num_parts: Optional[int] = None) -> Tensor:
    """openpoints' ShapeNetPart "refine" (TAP's eval ``refine: True``), for one shape.

    When the shape has more than one predicted label, every label that is predicted on
    fewer than ``n`` points or is not one of the shape's ``parts`` is re-voted: each of
    its points takes the most frequent *other* label among its ``n + 1`` nearest points
    (itself included; lowest id on ties).  Labels are visited in order of first
    appearance; label counts and the points of each label come from the input
    prediction, the votes read the labels as already updated.  A point whose neighbours
    all carry the label being replaced keeps it (openpoints would write part 0 there).

    Args:
        pred: (N,) int64 part ids; points: (N, 3).
        parts: the shape category's part ids.
        num_parts: size of the vote histogram (default ``max(pred) + 1``).
    Returns:
        refined (N,) int64 (a new tensor).
    """
    if pred.dim() != 1 or points.shape != (pred.shape[0], 3):
        raise ValueError(f'refine_part_labels: expected pred (N,) and points (N, 3), got '
                         f'{tuple(pred.shape)} and {tuple(points.shape)}')
    refined = pred.clone()
    labels, first = torch.unique(pred, return_inverse=True)
    if len(labels) <= 1:
        return refined
    counts = torch.bincount(first, minlength=len(labels))
    first_index = torch.full((len(labels),), len(pred), dtype=torch.long, device=pred.device)
    first_index.scatter_reduce_(0, first, torch.arange(len(pred), device=pred.device), 'amin')
    num_parts = int(num_parts if num_parts is not None else int(pred.max()) + 1)
    allowed = set(int(p) for p in parts)
    k = min(n + 1, len(pred))
    for j in first_index.argsort().tolist():
        label = int(labels[j])
        if counts[j] >= n and label in allowed:
            continue
        members = (pred == label).nonzero().squeeze(1)
        _, nbr = knn(points[members][None], points[None], k)                 # (1, M, k)
        votes = torch.zeros(len(members), num_parts, dtype=torch.long, device=pred.device)
        votes.scatter_add_(1, refined[nbr[0]], torch.ones_like(nbr[0]))
        votes[:, label] = 0
        best = votes.argmax(dim=1)
        has_vote = votes.max(dim=1).values > 0
        refined[members] = torch.where(has_vote, best, refined[members])
    return refined


@MODELS.register_module()
class PointPartSegmentor(PointAlgorithm):
    """Args:
        backbone: encoder-decoder called as ``backbone(points (B, N, 3), features
            (B, N, C), category (B,))`` returning ``point_features (B, N, C_out)``
            (e.g. :class:`PointMLPPartSeg`).
        head: :class:`PartSegHead` config (owns the loss).
        data_preprocessor: default ``PointDataPreprocessor`` (from crosspt's registry).
        num_categories: shape categories (16 for ShapeNetPart).
        category_parts: category -> its part ids, as a mapping (in category-index order)
            or a sequence; default ShapeNetPart's ``SHAPENETPART_PARTS``.
        restrict_to_category: predict the argmax over the shape category's own parts
            only (the standard ShapeNetPart evaluation); ``False``: over all parts.
        refine: apply :func:`refine_part_labels` (openpoints/TAP ``refine: True``,
            neighbour re-vote of rare or foreign labels) after the argmax.
        refine_n: its ``n`` (10).

    ``inputs``: ``points (B, N, 3)``, ``features (B, N, C)``, ``category (B,)`` int64.
    Data samples carry ``gt_part`` (N,) int64 for the loss; ``predict`` sets
    ``pred_part (N,)`` int64, ``pred_part_score (N, K)`` (softmax over all parts) and
    ``category`` (int, unless already present).  ``tensor`` mode returns the logits (B, N, K).
    """

    def __init__(self, backbone: dict, head: dict, data_preprocessor: Optional[dict] = None,
                 num_categories: int = 16,
                 category_parts: Optional[Union[Mapping[str, Sequence[int]],
                                                Sequence[Sequence[int]]]] = None,
                 restrict_to_category: bool = True, refine: bool = False, refine_n: int = 10,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(data_preprocessor=MODELS.build(
            data_preprocessor or dict(type='PointDataPreprocessor')), init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)
        backbone_categories = getattr(self.backbone, 'num_categories', num_categories)
        if backbone_categories != num_categories:
            raise ValueError(f'PointPartSegmentor: num_categories={num_categories} but the '
                             f'backbone expects {backbone_categories}')
        parts = category_parts if category_parts is not None else SHAPENETPART_PARTS
        parts = list(parts.values()) if isinstance(parts, Mapping) else list(parts)
        if len(parts) != num_categories:
            raise ValueError(f'PointPartSegmentor: category_parts lists {len(parts)} '
                             f'categories, expected num_categories={num_categories}')
        num_parts = self.head.num_classes
        mask = torch.zeros(num_categories, num_parts, dtype=torch.bool)
        for c, ids in enumerate(parts):
            ids = [int(i) for i in ids]
            if not ids or min(ids) < 0 or max(ids) >= num_parts:
                raise ValueError(f'PointPartSegmentor: category_parts[{c}] = {ids} must be '
                                 f'non-empty part ids in [0, {num_parts})')
            mask[c, ids] = True
        self.register_buffer('part_mask', mask, persistent=False)
        self.category_parts = [tuple(int(i) for i in ids) for ids in parts]
        self.num_categories = num_categories
        self.restrict_to_category, self.refine, self.refine_n = \
            restrict_to_category, refine, refine_n

    @staticmethod
    def _input(inputs: Dict[str, Tensor], key: str) -> Tensor:
        if key not in inputs:
            raise KeyError(f"PointPartSegmentor: inputs[{key!r}] is missing (have "
                           f'{sorted(inputs)}); expected points (B, N, 3), features '
                           '(B, N, C) and category (B,) int64')
        return inputs[key]

    def _category(self, inputs: Dict[str, Tensor]) -> Tensor:
        category = self._input(inputs, 'category').reshape(-1).long()
        if category.numel() and (category.min() < 0 or category.max() >= self.num_categories):
            raise ValueError(f"PointPartSegmentor: inputs['category'] must lie in "
                             f'[0, {self.num_categories}), got [{int(category.min())}, '
                             f'{int(category.max())}]')
        return category

    def extract_feat(self, inputs: Dict[str, Tensor]) -> Tensor:
        """-> point features (B, N, C_out)."""
        out = self.backbone(self._input(inputs, 'points'), self._input(inputs, 'features'),
                            self._category(inputs))
        return out['point_features']

    def tensor(self, inputs: Dict[str, Tensor]) -> Tensor:
        """-> logits (B, N, K)."""
        return self.head(self.extract_feat(inputs))

    @staticmethod
    def _gt_part(data_samples: Sequence[BaseDataElement], shape, device) -> Tensor:
        if not data_samples or any('gt_part' not in s for s in data_samples):
            raise KeyError("PointPartSegmentor: every data sample needs 'gt_part' (N,) int64 "
                           'for the loss')
        gt = [torch.as_tensor(s.gt_part).long() for s in data_samples]
        for i, g in enumerate(gt):
            if tuple(g.shape) != (shape[1],):
                raise ValueError(f'PointPartSegmentor: data sample {i} has gt_part of shape '
                                 f'{tuple(g.shape)}, expected ({shape[1]},) (one label per '
                                 'input point)')
        gt = torch.stack(gt)
        if gt.shape[0] != shape[0]:
            raise ValueError(f'PointPartSegmentor: {gt.shape[0]} data samples for a batch of '
                             f'{shape[0]} clouds')
        return gt.to(device)

    def loss(self, inputs: Dict[str, Tensor],
             data_samples: Sequence[BaseDataElement]) -> Dict[str, Tensor]:
        points = self._input(inputs, 'points')
        gt = self._gt_part(data_samples, points.shape[:2], points.device)
        return self.head.loss(self.tensor(inputs), gt)

    def predict_parts(self, logits: Tensor, category: Tensor, points: Tensor) -> Tensor:
        """logits (B, N, K), category (B,), points (B, N, 3) -> part ids (B, N) int64."""
        if self.restrict_to_category:
            allowed = self.part_mask[category].unsqueeze(1)                  # (B, 1, K)
            logits = logits.masked_fill(~allowed, float('-inf'))
        pred = logits.argmax(dim=-1)
        if self.refine:
            pred = torch.stack([
                refine_part_labels(p, xyz, self.category_parts[int(c)], self.refine_n,
                                   self.head.num_classes)
                for p, xyz, c in zip(pred, points, category)])
        return pred

    def predict(self, inputs: Dict[str, Tensor],
                data_samples: Optional[Sequence[BaseDataElement]] = None
                ) -> List[BaseDataElement]:
        category = self._category(inputs)
        logits = self.tensor(inputs)
        scores = self.head.predict(logits)
        preds = self.predict_parts(logits, category, self._input(inputs, 'points'))
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(logits))]
        for sample, score, pred, cat in zip(data_samples, scores, preds, category):
            sample.set_field(score, 'pred_part_score')
            sample.set_field(pred, 'pred_part')
            if 'category' not in sample:
                sample.set_field(int(cat), 'category')
            elif int(sample.category) != int(cat):
                raise ValueError(f"PointPartSegmentor: data sample category {sample.category} "
                                 f"differs from inputs['category'] {int(cat)}")
        return list(data_samples)
