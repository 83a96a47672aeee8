"""One confusion matrix for every segmentation score in crosspt (2D pixels, 3D points)."""
from typing import Optional, Tuple

import numpy as np


def confusion_matrix(gt: np.ndarray, pred: np.ndarray, num_classes: int,
                     ignore_index: Optional[int] = None, owner: str = 'confusion_matrix',
                     names: Tuple[str, str] = ('ground truth', 'prediction')) -> np.ndarray:
    """(K, K) int64 counts, rows = ground truth, columns = prediction.

    ``gt`` and ``pred`` hold the same number of ids (any shape).  Entries whose ground
    truth is ``ignore_index`` are dropped; any other id outside [0, K) raises a
    ValueError that starts with ``owner`` and names the offending array (``names``).
    """
    gt, pred = np.asarray(gt).reshape(-1), np.asarray(pred).reshape(-1)
    if gt.shape != pred.shape:
        raise ValueError(f'{owner}: {names[0]} {gt.shape} and {names[1]} {pred.shape} differ')
    if ignore_index is not None:
        keep = gt != ignore_index
        gt, pred = gt[keep], pred[keep]
    for name, labels in zip(names, (gt, pred)):
        bad = (labels < 0) | (labels >= num_classes)
        if bad.any():
            raise ValueError(f'{owner}: {name} labels {np.unique(labels[bad])[:10]} outside '
                             f'[0, {num_classes}) (ignore_index={ignore_index})')
    flat = gt.astype(np.int64) * num_classes + pred.astype(np.int64)
    return np.bincount(flat, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def iou_per_class(confusion: np.ndarray) -> np.ndarray:
    """(K,) TP / (TP + FP + FN) of a (K, K) confusion matrix; NaN where the class is
    absent from both ground truth and prediction."""
    confusion = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - tp
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, tp / union, np.nan)
