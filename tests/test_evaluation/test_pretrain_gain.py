"""crosspt/evaluation/pretrain_gain.py against hand-worked numbers and toy problems:
pooled std and the 2x rule, class-balanced k-per-class subsets, the batch schedule, and
the fine-tuning loop (learns two separable clusters; the same budget for every init)."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from crosspt.evaluation import pretrain_gain as pg


# ----------------------------------------------------------------------------- statistics
def test_pooled_std_hand_worked():
    # a = [1, 2, 3]: mean 2, s^2 = (1 + 0 + 1) / 2 = 1
    # b = [2, 4, 6, 8]: mean 5, s^2 = (9 + 1 + 1 + 9) / 3 = 20 / 3
    # pooled^2 = (2 * 1 + 3 * 20 / 3) / (3 + 4 - 2) = 22 / 5 = 4.4
    assert pg.pooled_std([1, 2, 3], [2, 4, 6, 8]) == pytest.approx(math.sqrt(4.4))
    # equal sizes: pooled^2 = (s_a^2 + s_b^2) / 2 ; s^2 of [0, 2] = 2, of [1, 1] = 0
    assert pg.pooled_std([0, 2], [1, 1]) == pytest.approx(1.0)
    assert pg.mean_std([0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError, match='n_a \\+ n_b > 2'):
        pg.pooled_std([1.0], [2.0])


def test_compare_two_times_rule():
    random = [0.50, 0.52, 0.48, 0.51, 0.49]   # mean 0.50, s^2 = 0.001 / 4 = 2.5e-4
    # values with the same spread: pooled std = sqrt(2.5e-4) = 0.0158114
    just_above = [v + 0.032 for v in random]   # delta 0.032 > 2 * 0.0158114 = 0.0316228
    just_below = [v + 0.031 for v in random]   # delta 0.031 < 0.0316228
    above, below = pg.compare(just_above, random), pg.compare(just_below, random)
    assert above['pooled_std'] == pytest.approx(math.sqrt(2.5e-4))
    assert above['delta'] == pytest.approx(0.032) and above['beats'] is True
    assert below['delta'] == pytest.approx(0.031) and below['beats'] is False
    assert above['mean'] == pytest.approx(0.532) and above['n'] == 5
    assert above['std'] == pytest.approx(math.sqrt(2.5e-4))
    assert pg.compare(random, random) == dict(mean=pytest.approx(0.5), std=pytest.approx(
        math.sqrt(2.5e-4)), n=5, delta=0.0, pooled_std=pytest.approx(math.sqrt(2.5e-4)),
        beats=False)


# ----------------------------------------------------------------------------- subsets
LABELS = np.array([3, 0, 3, 1, 0, 3, 1, 1, 0, 3, 1, 0, 3])  # class 0: 4, 1: 4, 3: 5


def test_balanced_subset_counts_and_membership():
    for k in (1, 2, 4):
        idx = pg.balanced_subset(LABELS, k, seed=7)
        assert np.all(np.diff(idx) > 0)  # sorted, no repeat
        counts = {c: int(np.sum(LABELS[idx] == c)) for c in (0, 1, 3)}
        assert counts == {0: k, 1: k, 3: k}


def test_balanced_subset_deterministic_nested_and_seeded():
    a, b = pg.balanced_subset(LABELS, 2, 3), pg.balanced_subset(LABELS, 2, 3)
    np.testing.assert_array_equal(a, b)
    assert set(pg.balanced_subset(LABELS, 1, 3)) <= set(a) <= set(
        pg.balanced_subset(LABELS, 4, 3))
    draws = {tuple(pg.balanced_subset(LABELS, 2, s)) for s in range(10)}
    assert len(draws) > 1  # the seed changes the draw
    # brute force over the seeds: every sample of a class is drawn by some seed
    seen = set().union(*[set(pg.balanced_subset(LABELS, 1, s)) for s in range(60)])
    assert seen == set(range(len(LABELS)))


def test_balanced_subset_too_few_samples():
    with pytest.raises(ValueError, match='class 0 has 4 labelled samples, fewer than k=5'):
        pg.balanced_subset(LABELS, 5, 0)
    with pytest.raises(ValueError, match='positive int'):
        pg.balanced_subset(LABELS, 0, 0)


def test_batch_schedule_epochs():
    batches = pg.batch_schedule(5, 2, 6, seed=1)
    assert [len(b) for b in batches] == [2] * 6
    # epochs of 5 items cut into 2 batches of 2 (remainder dropped): each pair of
    # batches holds 4 distinct items
    for e in range(3):
        assert len(set(batches[2 * e]) | set(batches[2 * e + 1])) == 4
    small = pg.batch_schedule(3, 8, 4, seed=0)  # fewer items than the batch: all each step
    assert all(sorted(b.tolist()) == [0, 1, 2] for b in small)


# ----------------------------------------------------------------------------- fine-tuning
class PointMean(nn.Module):
    """Toy encoder: global_features (B, 4) = mean over points of a linear map of xyz."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(3, 4)
        self.forwards = 0

    def forward(self, points, features):
        self.forwards += 1
        return dict(global_features=self.proj(points).mean(1))


def clusters(n_per_class: int = 6, seed: int = 0):
    """Two separable clusters of tiny clouds: class 0 around (+1, 0, 0), class 1 around
    (-1, 0, 0); points (2n, 8, 3), labels (2n,)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[1.0, 0, 0], [-1.0, 0, 0]])
    labels = np.repeat([0, 1], n_per_class)
    points = centres[labels][:, None] + 0.1 * rng.normal(size=(2 * n_per_class, 8, 3))
    return torch.as_tensor(points, dtype=torch.float32), torch.as_tensor(labels)


def make_fetch(points, labels, calls):
    def fetch(idx):
        calls.append(np.asarray(idx).tolist())
        return points[idx], points[idx], labels[idx]
    return fetch


def test_finetune_learns_separable_clusters():
    points, labels = clusters()
    torch.manual_seed(123)
    encoder = PointMean()
    state = torch.get_rng_state()
    calls = []
    model, info = pg.finetune(encoder, 4, 2, make_fetch(points, labels, calls), len(labels),
                              steps=40, batch_size=4, lr=0.05, weight_decay=0.0, seed=0)
    assert torch.equal(torch.get_rng_state(), state)  # torch's global RNG untouched
    assert not model.training and info['steps'] == 40 and info['samples_seen'] == 160
    assert info['losses'][-1] < 0.2 * info['losses'][0]
    test_points, test_labels = clusters(20, seed=1)
    with torch.no_grad():
        feats = model.backbone(test_points, test_points)['global_features'].numpy()
    assert pg.score_head(model.head, feats, test_labels.numpy())['accuracy'] == 1.0
    # the head alone scores like the full model
    with torch.no_grad():
        full = model(test_points, test_points).argmax(1)
    assert torch.equal(full, test_labels)


def test_finetune_budget_same_for_every_init():
    points, labels = clusters()
    runs = []
    for init_seed in (0, 1):  # two different encoder initialisations, same run seed
        torch.manual_seed(init_seed)
        encoder, calls = PointMean(), []
        _, info = pg.finetune(encoder, 4, 2, make_fetch(points, labels, calls), len(labels),
                              steps=7, batch_size=5, lr=1e-2, weight_decay=0.05, seed=3)
        runs.append((encoder.forwards, calls, info['steps'], info['samples_seen']))
    assert runs[0][0] == runs[1][0] == 7
    assert runs[0][1] == runs[1][1] and len(runs[0][1]) == 7  # same batches, same order
    assert runs[0][2:] == runs[1][2:] == (7, 35)
    other_calls = []
    pg.finetune(PointMean(), 4, 2, make_fetch(points, labels, other_calls), len(labels),
                steps=7, batch_size=5, lr=1e-2, weight_decay=0.05, seed=4)
    assert other_calls != runs[0][1]  # the run seed draws the batches


def test_format_table_rows():
    random = pg.compare([0.5, 0.6], [0.5, 0.6])
    tap = pg.compare([0.8, 0.9], [0.5, 0.6])
    text = pg.format_table({'linear_probe': {'5/class': {'random': random, 'tap': tap}}},
                           ['random', 'tap'])
    lines = text.splitlines()
    assert lines[2] == '| linear_probe | 5/class | random | 2 | 55.0 ± 7.1 | — | — | — |'
    # delta 30 pp, pooled std 7.07 pp -> 30 > 14.1: yes
    assert lines[3] == '| linear_probe | 5/class | tap | 2 | 85.0 ± 7.1 | +30.0 | 7.1 | yes |'
