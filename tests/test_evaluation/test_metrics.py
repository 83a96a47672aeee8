"""Classification and part-segmentation metrics on hand-computed cases."""
import pytest
import torch
from mmengine.structures import BaseDataElement

from crosspt.evaluation import SHAPENETPART_PARTS, ClassificationAccuracy, PartSegMIoU


def evaluate(metric, samples):
    metric.process(None, samples)
    return metric.compute_metrics(metric.results)


def test_classification_oa_and_macc_hand_worked():
    gt = [0, 0, 0, 1, 2, 2]
    pred = [0, 0, 1, 1, 2, 0]
    samples = [dict(gt_label=g, pred_score=torch.nn.functional.one_hot(torch.tensor(p), 4))
               for g, p in zip(gt, pred)]
    result = evaluate(ClassificationAccuracy(num_classes=4), samples)
    assert result['oa'] == pytest.approx(100 * 4 / 6)
    # class 3 never occurs in the ground truth and is not averaged
    assert result['macc'] == pytest.approx(100 * (2 / 3 + 1 + 1 / 2) / 3)
    element = BaseDataElement(gt_label=1, pred_label=1)
    assert evaluate(ClassificationAccuracy(num_classes=4), [element])['oa'] == 100.0


def test_classification_label_out_of_range_is_named():
    with pytest.raises(ValueError, match='gt_label 7 outside'):
        evaluate(ClassificationAccuracy(num_classes=4), [dict(gt_label=7, pred_label=0)])


CATEGORIES = {'A': (0, 1, 2), 'B': (3, 4)}
SHAPES = [
    # category A; part 2 is absent from both prediction and ground truth
    dict(category=0, gt_part=torch.tensor([0, 0, 1, 1]), pred_part=torch.tensor([0, 1, 1, 1])),
    # category A; the prediction uses a part of category B
    dict(category=0, gt_part=torch.tensor([2, 2, 2, 2]), pred_part=torch.tensor([2, 2, 2, 3])),
    dict(category=1, gt_part=torch.tensor([3, 4]), pred_part=torch.tensor([3, 4])),
]


def test_part_seg_pointnet2_rule_hand_worked():
    shape1 = (1 / 2 + 2 / 3 + 1) / 3        # parts 0, 1 and the absent part 2 (IoU 1)
    shape2 = (1 + 1 + 3 / 4) / 3            # parts 0, 1 absent from both -> 1
    result = evaluate(PartSegMIoU(categories=CATEGORIES), SHAPES)
    assert result['instance_miou'] == pytest.approx(100 * (shape1 + shape2 + 1) / 3)
    assert result['class_miou'] == pytest.approx(100 * ((shape1 + shape2) / 2 + 1) / 2)


def test_part_seg_pointmlp_rule_hand_worked():
    shape1 = (1 / 2 + 2 / 3) / 2            # only parts present in the ground truth
    shape2 = 3 / 4
    result = evaluate(PartSegMIoU(categories=CATEGORIES, rule='pointmlp'), SHAPES)
    assert result['instance_miou'] == pytest.approx(100 * (shape1 + shape2 + 1) / 3)
    assert result['class_miou'] == pytest.approx(100 * ((shape1 + shape2) / 2 + 1) / 2)


def test_shapenetpart_table_and_errors():
    parts = [p for ids in SHAPENETPART_PARTS.values() for p in ids]
    assert len(SHAPENETPART_PARTS) == 16 and sorted(parts) == list(range(50))
    with pytest.raises(KeyError, match='rule'):
        PartSegMIoU(rule='openpoints')
    with pytest.raises(ValueError, match='gt_part ids'):
        evaluate(PartSegMIoU(), [dict(category=0, gt_part=torch.tensor([50]),
                                      pred_part=torch.tensor([0]))])
    with pytest.raises(KeyError, match="PartSegMIoU: data sample has no 'category'"):
        evaluate(PartSegMIoU(), [dict(gt_part=torch.tensor([0]), pred_part=torch.tensor([0]))])
