"""Voting test-time augmentation: PointTestTimeAug packs num_votes independently
augmented copies; PointClsTTAModel averages the votes' logits (docs/methods/benchmarks.md,
'Voting')."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

from crosspt.datasets.transforms.test_time_aug import PointTestTimeAug
from crosspt.models.tta import PointClsTTAModel


class PackScaled:
    """Minimal packer: records the scaled points."""

    def __call__(self, results):
        points = torch.from_numpy(results['points'].astype(np.float32))
        return {'inputs': {'points': points, 'features': points.clone()},
                'data_samples': BaseDataElement(gt_label=results['label'])}


class RandomScale:
    def __call__(self, results):
        results['points'] = results['points'] * np.random.uniform(0.5, 1.5)
        return results


@pytest.fixture
def crosspt_scope():
    with DefaultScope.overwrite_default_scope('crosspt'):
        yield


def test_votes_are_independent_copies():
    np.random.seed(0)
    original = np.ones((5, 3), np.float32)
    tta = PointTestTimeAug([RandomScale(), PackScaled()], num_votes=4)
    out = tta({'points': original.copy(), 'label': 2})
    assert len(out['inputs']) == len(out['data_samples']) == 4
    scales = [float(v['points'][0, 0]) for v in out['inputs']]
    assert len(set(scales)) == 4                   # a new draw per vote
    np.testing.assert_array_equal(original, np.ones((5, 3)))


def test_bad_arguments():
    with pytest.raises(ValueError, match='num_votes'):
        PointTestTimeAug([PackScaled()], num_votes=0)
    with pytest.raises(ValueError, match='packing'):
        PointTestTimeAug([], num_votes=2)
    with pytest.raises(ValueError, match="'inputs'"):
        PointTestTimeAug([RandomScale()], num_votes=2)({'points': np.ones((2, 3)), 'label': 0})


def test_cls_tta_model_averages_vote_logits(crosspt_scope):
    torch.manual_seed(0)
    np.random.seed(0)
    classifier = dict(
        type='PointClassifier',
        backbone=dict(type='PointNet2', in_channels=3, strides=(2, 2, 1),
                      radius=(0.4, 0.8, None), num_samples=(8, 8, None),
                      mlps=([8, 8], [16, 16], [16, 32]), stage3='global'),
        head=dict(type='ClsHead', in_channels=32, num_classes=5, hidden_dims=(16,)))
    tta_model = PointClsTTAModel(module=classifier).eval()
    tta = PointTestTimeAug([RandomScale(), PackScaled()], num_votes=3)
    samples = [tta({'points': np.random.rand(32, 3).astype(np.float32), 'label': i})
               for i in range(2)]
    batch = pseudo_collate(samples)
    with torch.no_grad():
        merged = tta_model.test_step(batch)
        # reference: run the classifier on each vote separately and average by hand
        per_vote = []
        for v in range(3):
            vote = pseudo_collate([{'inputs': s['inputs'][v],
                                    'data_samples': BaseDataElement(gt_label=s['data_samples'][v].gt_label)}
                                   for s in samples])
            per_vote.append(torch.stack([d.pred_logits for d in tta_model.module.test_step(vote)]))
    expected = torch.stack(per_vote).mean(0)
    assert len(merged) == 2
    for i, sample in enumerate(merged):
        torch.testing.assert_close(sample.pred_logits, expected[i])
        torch.testing.assert_close(sample.pred_score, torch.softmax(expected[i], -1))
        assert sample.pred_label == int(expected[i].argmax())
        assert sample.num_votes == 3
        assert sample.gt_label == i
    assert not torch.allclose(per_vote[0], per_vote[1])   # the votes really differ


def test_unknown_average_is_refused(crosspt_scope):
    with pytest.raises(ValueError, match='average'):
        PointClsTTAModel(module=dict(type='PointClassifier',
                                     backbone=dict(type='PointMLP'),
                                     head=dict(type='ClsHead', in_channels=1024,
                                               num_classes=2)), average='median')


class PackPart:
    def __call__(self, results):
        points = torch.from_numpy(results['points'].astype(np.float32))
        return {'inputs': {'points': points, 'features': torch.cat([points, points], -1),
                           'category': torch.tensor(results['category'])},
                'data_samples': BaseDataElement(category=results['category'],
                                                gt_part=torch.zeros(len(points), dtype=torch.long))}


def test_part_seg_tta_averages_scores_and_restricts(crosspt_scope):
    from crosspt.evaluation.part_seg_metric import SHAPENETPART_PARTS
    from crosspt.models.tta import PartSegTTAModel
    torch.manual_seed(0)
    np.random.seed(1)
    segmentor = dict(
        type='PointPartSegmentor',
        backbone=dict(type='PointMLPPartSeg', embed_dims=16, res_expansion=0.5,
                      de_dims=(32, 32, 16, 16), de_blocks=(1, 1, 1, 1), gmp_dim=16, cls_dim=16,
                      k_neighbors=(8, 8, 8, 8)),
        head=dict(type='PartSegHead', in_channels=16 + 16 + 16, num_classes=50))
    model = PartSegTTAModel(module=segmentor).eval()
    tta = PointTestTimeAug([RandomScale(), PackPart()], num_votes=3)
    categories = [4, 12]                                    # Chair, Pistol
    samples = [tta({'points': np.random.rand(64, 3).astype(np.float32), 'category': c})
               for c in categories]
    with torch.no_grad():
        merged = model.test_step(pseudo_collate(samples))
        scores = []
        for v in range(3):
            vote = pseudo_collate([{'inputs': s['inputs'][v],
                                    'data_samples': s['data_samples'][v].clone()} for s in samples])
            scores.append(torch.stack([d.pred_part_score for d in model.module.test_step(vote)]))
    mean = torch.stack(scores).mean(0).numpy()
    names = list(SHAPENETPART_PARTS)
    for i, sample in enumerate(merged):
        parts = np.array(SHAPENETPART_PARTS[names[categories[i]]])
        expected = parts[mean[i][:, parts].argmax(-1)]
        np.testing.assert_array_equal(sample.pred_part.numpy(), expected)
        np.testing.assert_allclose(sample.pred_part_score.numpy(), mean[i], rtol=1e-5, atol=1e-6)
        assert sample.num_votes == 3
