"""Validation metric for PPKT: point -> pixel retrieval among the K sampled pairs.

For one frame, PPKT's predict mode gives K pixel <-> point pairs with the student's point
features ``f_a`` and the teacher's UPL pixel features ``g_b`` (normalised exactly as the
PPNCE loss normalises them).  Point ``a`` retrieves the pixel ``b`` with the largest
``<f_a, g_b>``; top-k is the fraction of points whose own pixel ``a`` is among the k most
similar.  A student that has learned nothing scores the chance level ``k / K``.

Early in training top-1 counts few hits (chance is 1/K, about 0.1 % at K = 1024), so it
is noisy; the retrieval AUC uses every rank: for each point, the fraction of the other
K - 1 pixels less similar to it than its own pixel (ties count half), averaged.  Chance
is 0.5 whatever K is; 1.0 means every point ranks its own pixel first.
"""
from typing import Dict, List, Sequence, Tuple

import torch
from mmengine.evaluator import BaseMetric
from torch import Tensor

from crosspt.registry import METRICS

from .utils import sample_field


def retrieval_topk(point_feats: Tensor, pixel_feats: Tensor,
                   topk: Sequence[int] = (1, 5)) -> Dict[int, float]:
    """Top-k point -> pixel retrieval of K pairs (row a of both inputs = one pair).

    Args:
        point_feats: (K, D) point features (queries).
        pixel_feats: (K, D) pixel features (keys); key a is the match of query a.
        topk: the k to report.
    Returns:
        ``{k: hit rate in [0, 1]}``.  Ties are broken at random in expectation: with g
        other pixels strictly more similar than the own pixel and e equally similar, the
        own pixel's rank is uniform in g+1 .. g+e+1, so the point counts
        ``clamp(k - g, 0, e + 1) / (e + 1)``.  Constant features therefore score exactly
        ``k / K`` (chance), never an accidental 0 or 1.
    """
    return _topk_from_counts(*_rank_counts(point_feats, pixel_feats), topk)


def _topk_from_counts(greater: Tensor, equal: Tensor, topk: Sequence[int]) -> Dict[int, float]:
    """:func:`retrieval_topk` from the per-point counts (K,) of :func:`_rank_counts`."""
    out = {}
    for k in topk:
        if k < 1:
            raise ValueError(f'retrieval_topk: every k must be >= 1, got {k}')
        hits = (k - greater).clamp(min=0).minimum(equal) / equal
        out[int(k)] = hits.mean().item()
    return out


def retrieval_auc(point_feats: Tensor, pixel_feats: Tensor) -> float:
    """Mean over points of the fraction of the other K - 1 pixels ranked below the own
    pixel, ties counted half (point_feats, pixel_feats: (K, D), row a = one pair).
    Chance, and constant features, give exactly 0.5; one pair (K = 1) has no other pixel
    to rank and is scored 0.5 too."""
    return _auc_from_counts(*_rank_counts(point_feats, pixel_feats))


def _auc_from_counts(greater: Tensor, equal: Tensor) -> float:
    """:func:`retrieval_auc` from the per-point counts (K,) of :func:`_rank_counts`."""
    others = len(greater) - 1
    if others == 0:
        return 0.5
    below = others - greater - (equal - 1)                                 # (K,)
    return ((below + 0.5 * (equal - 1)) / others).mean().item()


def _rank_counts(point_feats: Tensor, pixel_feats: Tensor) -> Tuple[Tensor, Tensor]:
    """Per point (K,): how many pixels are strictly more similar than its own pixel, and
    how many are exactly as similar (its own included), after checking the inputs."""
    if point_feats.dim() != 2 or point_feats.shape != pixel_feats.shape or not len(point_feats):
        raise ValueError(f'point -> pixel retrieval: point_feats and pixel_feats must '
                         f'both be (K, D) with K >= 1, got {tuple(point_feats.shape)} and '
                         f'{tuple(pixel_feats.shape)}')
    if not (torch.isfinite(point_feats).all() and torch.isfinite(pixel_feats).all()):
        raise ValueError('point -> pixel retrieval: point_feats and pixel_feats contain '
                         'NaN or inf')
    sim = point_feats.double() @ pixel_feats.double().t()                  # (K, K)
    own = sim.diagonal().unsqueeze(1)                                      # (K, 1)
    greater = (sim > own).sum(dim=1).double()                              # (K,)
    equal = (sim == own).sum(dim=1).double()                               # incl. itself
    return greater, equal


@METRICS.register_module()
class PPKTRetrievalMetric(BaseMetric):
    """Per frame: point -> pixel top-k retrieval among its K sampled pairs
    (:func:`retrieval_topk`) and the chance level ``min(k, K) / K``; reported as means
    over frames: ``retrieval_top1``, ``retrieval_chance`` (= mean 1/K), and for every
    other k ``retrieval_top{k}`` and ``retrieval_top{k}_chance``, plus
    ``retrieval_num_pairs`` (mean K) and ``retrieval_auc`` (:func:`retrieval_auc`,
    chance 0.5).  Logged as ``ppkt/<name>``.

    Reads ``pair_point_feats`` and ``pair_pixel_feats`` (K, D) from each data sample
    (``PPKT.predict``).

    Args:
        topk: the k to report (must include 1).
    """

    default_prefix = 'ppkt'

    def __init__(self, topk: Sequence[int] = (1, 5), **kwargs) -> None:
        super().__init__(**kwargs)
        topk = tuple(int(k) for k in topk)
        if 1 not in topk or any(k < 1 for k in topk):
            raise ValueError(f'PPKTRetrievalMetric: topk must contain 1 and only k >= 1, '
                             f'got {topk}')
        self.topk = topk

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            point = _field(sample, 'pair_point_feats').float().cpu()
            pixel = _field(sample, 'pair_pixel_feats').float().cpu()
            counts = _rank_counts(point, pixel)      # one (K, K) similarity per frame
            hits = _topk_from_counts(*counts, self.topk)
            num = len(point)
            result = {'retrieval_num_pairs': float(num),
                      'retrieval_auc': _auc_from_counts(*counts)}
            for k, value in hits.items():
                name = 'retrieval_top1' if k == 1 else f'retrieval_top{k}'
                chance = 'retrieval_chance' if k == 1 else f'retrieval_top{k}_chance'
                result[name] = value
                result[chance] = min(k, num) / num
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('PPKTRetrievalMetric: no frames were evaluated')
        return {key: sum(r[key] for r in results) / len(results) for key in results[0]}


def _field(sample, name: str) -> Tensor:
    return sample_field(sample, name, 'PPKTRetrievalMetric',
                        "the model must be PPKT running in mode='predict'")
