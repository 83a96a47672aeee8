"""PPKT point -> pixel retrieval: hand-worked similarity tables, identity and random
features, ties, and the metric's per-frame averaging beside chance."""
import math

import pytest
import torch
from mmengine.structures import BaseDataElement

from crosspt.evaluation import PPKTRetrievalMetric, retrieval_auc, retrieval_topk


def test_identity_features_retrieve_every_pair():
    feats = torch.eye(7)
    assert retrieval_topk(feats, feats, (1, 5)) == {1: 1.0, 5: 1.0}


def test_hand_worked_three_pairs():
    # similarities <f_a, g_b> (rows: points, columns: pixels; own pixel on the diagonal)
    #   point 0: [ 1.0, 0.0, -1.0]  own 1.0 is the largest              -> rank 1
    #   point 1: [ 0.8, 0.6, -0.8]  own 0.6, one larger (0.8)           -> rank 2
    #   point 2: [ 0.0, 1.0,  0.0]  own 0.0, one larger, one tie (0.0)  -> rank 2 or 3
    points = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    pixels = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    got = retrieval_topk(points, pixels, (1, 2, 3))
    assert got[1] == pytest.approx(1 / 3)                 # only point 0
    assert got[2] == pytest.approx((1 + 1 + 0.5) / 3)     # point 2: rank 2 with prob 1/2
    assert got[3] == pytest.approx(1.0)


def test_constant_features_score_exactly_chance():
    feats = torch.ones(8, 4)
    got = retrieval_topk(feats, feats, (1, 5))
    assert got[1] == pytest.approx(1 / 8) and got[5] == pytest.approx(5 / 8)


def test_random_features_are_near_chance():
    g = torch.Generator().manual_seed(0)
    k, frames = 256, 40
    top1 = [retrieval_topk(torch.randn(k, 32, generator=g), torch.randn(k, 32, generator=g),
                           (1,))[1] for _ in range(frames)]
    mean = sum(top1) / frames
    std = math.sqrt((1 / k) * (1 - 1 / k) / (k * frames))      # binomial over 10240 points
    assert abs(mean - 1 / k) < 4 * std, (mean, 1 / k, std)


def test_auc_hand_worked_three_pairs():
    # the table of test_hand_worked_three_pairs: of the 2 other pixels, ranked below own
    #   point 0: both (1.0 > 0.0, -1.0)                 -> 2/2
    #   point 1: one (0.6 > -0.8; 0.8 is above)         -> 1/2
    #   point 2: none below, one tie counted half (0.0) -> 0.5/2
    points = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    pixels = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    assert retrieval_auc(points, pixels) == pytest.approx((1.0 + 0.5 + 0.25) / 3)


def test_auc_matches_brute_force_pairwise_ranking():
    g = torch.Generator().manual_seed(1)
    points = torch.randint(-2, 3, (30, 3), generator=g).float()   # many exact ties
    pixels = torch.randint(-2, 3, (30, 3), generator=g).float()
    total = 0.0
    for a in range(30):
        own = float(points[a] @ pixels[a])
        score = 0.0
        for b in range(30):
            if b != a:
                other = float(points[a] @ pixels[b])
                score += 1.0 if own > other else 0.5 if own == other else 0.0
        total += score / 29
    assert retrieval_auc(points, pixels) == pytest.approx(total / 30)


def test_auc_chance_identity_and_single_pair():
    assert retrieval_auc(torch.ones(6, 3), torch.ones(6, 3)) == 0.5
    assert retrieval_auc(torch.eye(5), torch.eye(5)) == 1.0
    assert retrieval_auc(torch.eye(5), -torch.eye(5)) == pytest.approx(0.0)
    assert retrieval_auc(torch.ones(1, 3), torch.ones(1, 3)) == 0.5
    g = torch.Generator().manual_seed(0)
    aucs = [retrieval_auc(torch.randn(256, 16, generator=g), torch.randn(256, 16, generator=g))
            for _ in range(10)]
    # each point's own rank is uniform: auc std ~ sqrt(1/12 / 2560)
    assert abs(sum(aucs) / 10 - 0.5) < 4 * math.sqrt(1 / 12 / 2560)


def test_shapes_and_non_finite_are_rejected():
    with pytest.raises(ValueError, match='must both be'):
        retrieval_topk(torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match='NaN'):
        retrieval_topk(torch.full((3, 2), float('nan')), torch.zeros(3, 2))
    with pytest.raises(ValueError, match='must both be'):
        retrieval_auc(torch.zeros(0, 2), torch.zeros(0, 2))


def _frame(points, pixels):
    return BaseDataElement(pair_point_feats=points, pair_pixel_feats=pixels)


def test_metric_averages_frames_and_logs_chance():
    metric = PPKTRetrievalMetric(topk=(1, 5))
    eye = torch.eye(4)
    points = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    pixels = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    metric.process({}, [_frame(eye, eye), _frame(points, pixels)])
    got = metric.evaluate(2)
    assert got['ppkt/retrieval_top1'] == pytest.approx((1.0 + 1 / 3) / 2)
    assert got['ppkt/retrieval_chance'] == pytest.approx((1 / 4 + 1 / 3) / 2)
    assert got['ppkt/retrieval_top5'] == pytest.approx(1.0)
    assert got['ppkt/retrieval_top5_chance'] == pytest.approx(1.0)    # 5 >= K
    assert got['ppkt/retrieval_num_pairs'] == pytest.approx(3.5)
    assert got['ppkt/retrieval_auc'] == pytest.approx((1.0 + (1.0 + 0.5 + 0.25) / 3) / 2)


def test_metric_names_the_missing_field():
    metric = PPKTRetrievalMetric()
    with pytest.raises(KeyError, match="PPKTRetrievalMetric.*'pair_pixel_feats'"):
        metric.process({}, [BaseDataElement(pair_point_feats=torch.eye(2))])
    with pytest.raises(ValueError, match='topk must contain 1'):
        PPKTRetrievalMetric(topk=(5,))
