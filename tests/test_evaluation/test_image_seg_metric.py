"""ImageSegMIoU against a confusion matrix worked out by hand."""
import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from crosspt.evaluation.image_seg_metric import ImageSegMIoU


def test_hand_worked_scores():
    # evaluated pixels (gt, pred): (0,0) (0,1) (1,1) (1,1) (2,0); the 255 pixel is skipped
    # class 0: TP 1, FN 1, FP 1 -> IoU 1/3; class 1: TP 2, FP 1 -> 2/3; class 2: TP 0 -> 0
    gt = torch.tensor([[0, 0, 1], [1, 255, 2]])
    pred = torch.tensor([[0, 1, 1], [1, 0, 0]])
    metric = ImageSegMIoU(num_classes=4, ignore_index=255, class_names=['a', 'b', 'c', 'd'])
    half = [BaseDataElement(gt_sem_seg=gt[:1], pred_sem_seg=pred[:1]),
            BaseDataElement(gt_sem_seg=gt[1:], pred_sem_seg=pred[1:])]
    metric.process({}, half)                     # one confusion matrix over both images
    scores = metric.compute_metrics(metric.results)
    assert scores['aAcc'] == pytest.approx(60.0)
    assert scores['mIoU'] == pytest.approx(100.0 / 3)     # class 3 never occurs: excluded
    assert scores['mAcc'] == pytest.approx(50.0)          # (1/2 + 2/2 + 0/1) / 3
    assert scores['IoU.b'] == pytest.approx(200.0 / 3) and 'IoU.d' not in scores


def test_errors_name_the_problem():
    metric = ImageSegMIoU(num_classes=2)
    with pytest.raises(ValueError, match=r'pred_sem_seg labels \[5\] outside'):
        metric.process({}, [BaseDataElement(gt_sem_seg=torch.tensor([0]),
                                            pred_sem_seg=torch.tensor([5]))])
    with pytest.raises(KeyError, match='pred_sem_seg'):
        metric.process({}, [BaseDataElement(gt_sem_seg=torch.tensor([0]))])
    with pytest.raises(ValueError, match='no labelled pixel'):
        metric.compute_metrics([np.zeros((2, 2), np.int64)])
