"""Linear probe of frozen point-cloud encoders (docs/finetuning.md, "Linear probe").

Objects: the frozen backbone's ``global_features`` of every cloud of the train and test
splits (both through the config's test pipeline, i.e. without augmentation) are
standardised with the training statistics, a linear classifier (scikit-learn
``LinearSVC`` or ``LogisticRegression``) is fitted on the train split and scored on the
test split (:func:`extract_global_features`, :func:`fit_linear_probe`).

Scenes: the frozen per-point features of an mmdet3d ``EncoderDecoder3D`` backbone
(SR-UNet34 initialised from PPKT, or the PPKT point student) are classified per point;
points labelled with the dataset's ignore index are left out of training and scoring, the
training points are subsampled with a seeded RNG, and the test split is scored with mIoU
from one confusion matrix over all its points (:func:`extract_point_features`,
:func:`fit_point_probe`, :func:`evaluate_point_probe`).

Accuracies and IoUs are fractions in [0, 1].
"""
import copy
import logging
import time
import warnings
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch
from mmengine.logging import print_log
from torch import Tensor, nn

from .confusion import confusion_matrix, iou_per_class

CLASSIFIERS = ('svm', 'logreg')


# ----------------------------------------------------------------------------- weights
def build_seeded_model(model_cfg, seed: int) -> nn.Module:
    """``MODELS.build(model_cfg)`` after ``torch.manual_seed(seed)``, then
    ``init_weights()`` with mmengine's per-tensor init records silenced."""
    from mmengine.logging import MMLogger
    from mmengine.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # mmengine logs one record per initialised tensor
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def load_backbone_checkpoint(backbone: nn.Module, checkpoint: str,
                             prefix: Optional[str] = 'backbone.') -> int:
    """Load the tensors of ``checkpoint`` under ``prefix`` into ``backbone``, strictly.

    ``checkpoint`` is a local file or an ``http(s)://`` / ``file://`` URL, read with
    crosspt's ``weights_only`` loaders (sha256-checked when the name carries a hash).
    Training checkpoints and published backbone files both work.  Returns the number of
    tensors loaded.  Raises KeyError (no key under ``prefix``) or
    :class:`crosspt.models.checkpoint_loading.CheckpointMismatchError` (missing, unexpected or
    mis-shaped tensors), naming the file and listing the keys.
    """
    from crosspt.fileio.checkpoint_file import load_checkpoint_file
    from crosspt.models.checkpoint_loading import (CheckpointMismatchError,
                                                   compare_state_dicts, format_key_report,
                                                   load_checkpoint_url)
    from crosspt.fileio.download import is_checkpoint_url
    from crosspt.models.weight_init import extract_state_dict
    load = load_checkpoint_url if is_checkpoint_url(checkpoint) else load_checkpoint_file
    source = f'checkpoint {checkpoint}'
    state = extract_state_dict(load(str(checkpoint), 'cpu'), prefix, source)
    report = compare_state_dicts(backbone.state_dict(), state)
    if any(report.values()):
        raise CheckpointMismatchError(
            f'{source} (keys under {prefix!r}) does not fit {type(backbone).__name__} '
            f'(strict loading):\n{format_key_report(report)}\nUse a checkpoint of the '
            f"config's pre-training, or set linear_probe.checkpoint_prefix to the key prefix "
            f'of the encoder in the checkpoint.')
    backbone.load_state_dict(state, strict=False)  # complete: checked above
    return len(state)


# ----------------------------------------------------------------------------- objects
def _encoder(model: nn.Module, data_preprocessor: Optional[nn.Module]
             ) -> Tuple[nn.Module, nn.Module]:
    """(backbone, data preprocessor) of a classifier / TAP model or a bare backbone."""
    backbone = getattr(model, 'backbone', model)
    preprocessor = data_preprocessor or getattr(model, 'data_preprocessor', None)
    if preprocessor is None:
        raise ValueError(f'extract_global_features: {type(model).__name__} has no '
                         f'data_preprocessor; pass data_preprocessor= (the config\'s '
                         f'model.data_preprocessor, built)')
    return backbone, preprocessor


def _log_progress(name: str, done: int, total: int, start: float, interval: int) -> None:
    if interval and (done % interval == 0 or done == total):
        print_log(f'[linear_probe] {name}: {done}/{total} batches '
                  f'({time.time() - start:.1f} s)', logger='current')


BATCHNORM_MODES = ('running', 'per_cloud')


def _per_cloud_encoder(backbone: nn.Module):
    """``encode(points (B, N, 3), features (B, N, C_in)) -> (B, C)``: every cloud alone
    through a copy of ``backbone`` whose BatchNorm layers normalise with batch statistics
    (train mode; the copy's running buffers absorb the updates)."""
    copy_ = copy.deepcopy(backbone).eval()
    for module in copy_.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.train()

    def encode(points: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return torch.cat([copy_(points[i:i + 1], features[i:i + 1])['global_features']
                          for i in range(points.shape[0])])
    return encode


@torch.no_grad()
def extract_global_features(model: nn.Module, dataloader,
                            data_preprocessor: Optional[nn.Module] = None,
                            log_interval: int = 0, name: str = 'features',
                            batchnorm: str = 'running') -> Tuple[np.ndarray, np.ndarray]:
    """Frozen ``global_features`` of every sample of ``dataloader``.

    Args:
        model: a model with ``backbone`` and ``data_preprocessor`` (PointClassifier,
            TAP) or a backbone (then ``data_preprocessor`` is required).  The backbone
            maps ``(points (B, N, 3), features (B, N, C_in))`` to a dict holding
            ``global_features (B, C)``.  It runs in eval mode without gradients; the
            previous train/eval mode is restored afterwards.
        dataloader: yields ``pseudo_collate`` batches whose data samples carry
            ``gt_label`` (the config's test pipeline, ``PackPointClsInputs``).
        log_interval: log progress every that many batches (0: never).
        batchnorm: ``'running'`` (the standard protocol: BatchNorm normalises with its
            running statistics) or ``'per_cloud'`` (an analysis mode: each cloud is
            encoded alone by a copy of the backbone whose BatchNorm layers use the
            statistics of that cloud, as in training with one cloud per batch; the
            model's own buffers are not touched).
    Returns:
        features (S, C) float32 and labels (S,) int64, in the loader's order.
    """
    if batchnorm not in BATCHNORM_MODES:
        raise ValueError(f'extract_global_features: batchnorm must be one of '
                         f'{BATCHNORM_MODES}, got {batchnorm!r}')
    backbone, preprocessor = _encoder(model, data_preprocessor)
    encode = _per_cloud_encoder(backbone) if batchnorm == 'per_cloud' else \
        (lambda p, f: backbone(p, f)['global_features'])
    modes = [(m, m.training) for m in (backbone, preprocessor)]
    backbone.eval()
    preprocessor.eval()
    feats: List[np.ndarray] = []
    labels: List[int] = []
    start, total = time.time(), len(dataloader)
    try:
        for i, batch in enumerate(dataloader):
            data = preprocessor(batch, False)
            inputs, samples = data['inputs'], data['data_samples']
            out = encode(inputs['points'], inputs['features'])
            if samples is None or any('gt_label' not in s for s in samples):
                raise KeyError(f'extract_global_features ({name}): data samples need '
                               "'gt_label'; use a pipeline ending in PackPointClsInputs")
            feats.append(out.float().cpu().numpy())
            labels += [int(s.gt_label) for s in samples]
            _log_progress(name, i + 1, total, start, log_interval)
    finally:
        for module, mode in modes:
            module.train(mode)
    if not feats:
        raise ValueError(f'extract_global_features ({name}): the dataloader gave no batch')
    return np.concatenate(feats).astype(np.float32), np.asarray(labels, dtype=np.int64)


# ----------------------------------------------------------------------------- classifiers
def make_classifier(classifier: str = 'svm', C: float = 0.01, seed: int = 0,
                    max_iter: int = 10000):
    """Unfitted scikit-learn pipeline: ``StandardScaler`` then ``LinearSVC`` ('svm',
    one-vs-rest) or ``LogisticRegression`` ('logreg', multinomial, lbfgs)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC
    if classifier not in CLASSIFIERS:
        raise ValueError(f'classifier must be one of {list(CLASSIFIERS)}, got {classifier!r}')
    if isinstance(C, bool) or not isinstance(C, (int, float)) or not C > 0:
        raise ValueError(f'C must be a positive number, got {C!r}')
    if classifier == 'svm':
        head = LinearSVC(C=float(C), max_iter=int(max_iter), random_state=int(seed))
    else:
        head = LogisticRegression(C=float(C), max_iter=int(max_iter), random_state=int(seed))
    return make_pipeline(StandardScaler(), head)


def _check_xy(x: np.ndarray, y: np.ndarray, name: str) -> Tuple[np.ndarray, np.ndarray]:
    """(S, C) finite float features and (S,) int labels, or a ValueError naming ``name``."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2 or y.shape != (len(x),) or len(x) == 0:
        raise ValueError(f'{name}: features must be (S, C) and labels (S,) with S > 0, got '
                         f'{x.shape} and {y.shape}')
    if not np.isfinite(x).all():
        raise ValueError(f'{name}: features contain NaN or inf (row '
                         f'{int(np.argmax(~np.isfinite(x).all(axis=1)))})')
    if y.dtype.kind not in 'iu':
        raise ValueError(f'{name}: labels must be integers, got {y.dtype}')
    return x.astype(np.float32), y.astype(np.int64)


def fit_classifier(x: np.ndarray, y: np.ndarray, classifier: str = 'svm', C: float = 0.01,
                   seed: int = 0, max_iter: int = 10000) -> Tuple[object, bool]:
    """Fit :func:`make_classifier` on ``x (S, C)``, ``y (S,)``; returns (fitted pipeline,
    converged).  Deterministic for a given ``seed``."""
    from sklearn.exceptions import ConvergenceWarning
    x, y = _check_xy(x, y, 'train split')
    if len(np.unique(y)) < 2:
        raise ValueError(f'train split: a linear probe needs at least 2 classes, got labels '
                         f'{np.unique(y).tolist()}')
    model = make_classifier(classifier, C, seed, max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', ConvergenceWarning)
        model.fit(x, y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    if not converged:
        print_log(f'[linear_probe] {classifier} did not converge in max_iter={max_iter} '
                  f'iterations; raise linear_probe.max_iter', logger='current',
                  level=logging.WARNING)
    return model, converged


def fit_linear_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                     test_y: np.ndarray, classifier: str = 'svm', C: float = 0.01,
                     seed: int = 0, max_iter: int = 10000) -> Dict:
    """Fit on the train split, score on the test split.

    Args:
        train_x, test_x: (S, C) features; train_y, test_y: (S,) int labels.
        classifier: 'svm' (LinearSVC) or 'logreg' (LogisticRegression); C its inverse
            regularisation.  Features are standardised with the train statistics.
    Returns:
        dict(accuracy, mean_class_accuracy (mean over the test classes of the per-class
        recall), num_train, num_test, num_features, num_train_classes, classifier, C,
        seed, max_iter, converged).
    """
    model, converged = fit_classifier(train_x, train_y, classifier, C, seed, max_iter)
    test_x, test_y = _check_xy(test_x, test_y, 'test split')
    if test_x.shape[1] != np.asarray(train_x).shape[1]:
        raise ValueError(f'test split has {test_x.shape[1]} feature channels, train split '
                         f'{np.asarray(train_x).shape[1]}')
    pred = model.predict(test_x)
    per_class = [float(np.mean(pred[test_y == c] == c)) for c in np.unique(test_y)]
    return dict(accuracy=float(np.mean(pred == test_y)),
                mean_class_accuracy=float(np.mean(per_class)), num_train=len(train_y),
                num_test=len(test_y), num_features=int(test_x.shape[1]),
                num_train_classes=int(len(np.unique(train_y))), classifier=classifier,
                C=float(C), seed=int(seed), max_iter=int(max_iter), converged=converged)


# ----------------------------------------------------------------------------- mIoU
def segmentation_scores(confusion: np.ndarray) -> Dict:
    """IoU_c = TP / (TP + FP + FN) from a (K, K) confusion matrix; NaN for a class absent
    from both ground truth and prediction (left out of the mean, as mmdet3d's
    ``seg_eval``).  Returns dict(miou, per_class_iou (K,) list, oa, num_points)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(confusion)
    iou = iou_per_class(confusion)
    total = confusion.sum()
    if total == 0:
        raise ValueError('segmentation_scores: the confusion matrix is empty (no scored point)')
    return dict(miou=float(np.nanmean(iou)), per_class_iou=[float(v) for v in iou],
                oa=float(tp.sum() / total), num_points=int(total))


# ----------------------------------------------------------------------------- scenes
def _feature_key(segmentor: nn.Module) -> str:
    return getattr(getattr(segmentor, 'decode_head', None), 'in_key', 'point_features')


def scene_point_features(segmentor: nn.Module, points: Tensor) -> Tensor:
    """Backbone features of every point of one scene, ``points (N, 3 + C)`` -> (N, F).

    ``test_cfg.mode == 'slide'``: mmdet3d's own sliding patches
    (``EncoderDecoder3D._sliding_patch_generation``, torch RNG), features averaged over
    the patches holding each point, as ``slide_inference`` averages logits; otherwise the
    whole scene in one forward.
    """
    key = _feature_key(segmentor)
    cfg = getattr(segmentor, 'test_cfg', None) or {}
    if cfg.get('mode', 'whole') != 'slide':
        return segmentor.extract_feat(points.unsqueeze(0))[key][0].transpose(0, 1)
    patches, idxs = segmentor._sliding_patch_generation(
        points, cfg['num_points'], cfg['block_size'], cfg.get('sample_rate', 0.5),
        cfg.get('use_normalized_coord', False))
    patches = patches.view(-1, cfg['num_points'], patches.shape[-1])
    step = int(cfg.get('batch_size', 1))
    chunks = [segmentor.extract_feat(patches[i:i + step])[key]
              for i in range(0, len(patches), step)]
    feats = torch.cat([c.transpose(1, 2).reshape(-1, c.shape[1]) for c in chunks])
    summed = feats.new_zeros(len(points), feats.shape[1]).index_add_(0, idxs, feats)
    return summed / torch.bincount(idxs, minlength=len(points)).clamp(min=1)[:, None]


def _scene_labels(sample, num_points: int, name: str) -> np.ndarray:
    """Per-point labels of a packed scene (``eval_ann_info`` or ``gt_pts_seg``)."""
    info = sample.get('eval_ann_info') or {}
    mask = info.get('pts_semantic_mask') if isinstance(info, dict) else None
    if mask is None and 'gt_pts_seg' in sample:
        mask = sample.gt_pts_seg.get('pts_semantic_mask')
    if mask is None:
        raise KeyError(f'{name}: a scene has no pts_semantic_mask; its dataset needs '
                       'test_mode=True and LoadAnnotations3D(with_seg_3d=True) + '
                       'PointSegClassMapping in the pipeline (the config\'s test_pipeline)')
    mask = np.asarray(torch.as_tensor(mask).cpu()).astype(np.int64).ravel()
    if len(mask) != num_points:
        raise ValueError(f'{name}: {len(mask)} labels for {num_points} points '
                         f'({sample.metainfo.get("lidar_path", "?")})')
    return mask


@torch.no_grad()
def iter_scene_features(segmentor: nn.Module, dataloader, ignore_index: int, seed: int = 0,
                        log_interval: int = 0, name: str = 'features'
                        ) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """Per scene: (features (n, F) float32, labels (n,) int64) of its points whose label
    is not ``ignore_index``.  ``segmentor`` is an mmdet3d ``EncoderDecoder3D`` (its
    ``data_preprocessor`` and backbone run; eval mode, no gradients); torch's RNG (the
    sliding patches) is seeded with ``seed`` and restored afterwards."""
    was_training = segmentor.training
    segmentor.eval()
    start, total = time.time(), len(dataloader)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for i, batch in enumerate(dataloader):
                data = segmentor.data_preprocessor(batch, False)
                for points, sample in zip(data['inputs']['points'], data['data_samples']):
                    labels = _scene_labels(sample, len(points), name)
                    keep = labels != ignore_index
                    feats = scene_point_features(segmentor, points).float().cpu().numpy()
                    yield feats[keep], labels[keep]
                _log_progress(name, i + 1, total, start, log_interval)
    finally:
        segmentor.train(was_training)


def _subsample(n: int, max_points: Optional[int], rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n`` rows, without replacement."""
    if max_points is None or n <= max_points:
        return np.arange(n)
    return np.sort(rng.choice(n, int(max_points), replace=False))


def extract_point_features(segmentor: nn.Module, dataloader, ignore_index: int,
                           max_points_per_scene: Optional[int] = None, seed: int = 0,
                           log_interval: int = 0, name: str = 'features'
                           ) -> Tuple[np.ndarray, np.ndarray]:
    """Frozen per-point features of a scene split (see :func:`iter_scene_features`),
    at most ``max_points_per_scene`` drawn per scene with ``default_rng(seed)``.
    Returns features (P, F) float32 and labels (P,) int64 (no ``ignore_index``)."""
    rng = np.random.default_rng(seed)
    feats, labels = [], []
    for x, y in iter_scene_features(segmentor, dataloader, ignore_index, seed,
                                    log_interval, name):
        keep = _subsample(len(y), max_points_per_scene, rng)
        feats.append(x[keep])
        labels.append(y[keep])
    if not feats:
        raise ValueError(f'extract_point_features ({name}): the dataloader gave no scene')
    return np.concatenate(feats), np.concatenate(labels)


def fit_point_classifier(train_x: np.ndarray, train_y: np.ndarray, ignore_index: int,
                         classifier: str = 'logreg', C: float = 1.0, seed: int = 0,
                         max_train_points: Optional[int] = None, max_iter: int = 1000
                         ) -> Tuple[object, Dict]:
    """Fit the per-point classifier on the non-ignored training points, at most
    ``max_train_points`` of them drawn with ``default_rng(seed)``.  Returns (fitted
    pipeline, dict(num_train_points, converged, ...settings))."""
    train_x, train_y = _check_xy(train_x, train_y, 'train points')
    keep = train_y != ignore_index
    train_x, train_y = train_x[keep], train_y[keep]
    keep = _subsample(len(train_y), max_train_points, np.random.default_rng(seed))
    model, converged = fit_classifier(train_x[keep], train_y[keep], classifier, C, seed,
                                      max_iter)
    return model, dict(num_train_points=int(len(keep)), classifier=classifier, C=float(C),
                       seed=int(seed), max_iter=int(max_iter), converged=converged)


def fit_point_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                    test_y: np.ndarray, num_classes: int, ignore_index: int,
                    classifier: str = 'logreg', C: float = 1.0, seed: int = 0,
                    max_train_points: Optional[int] = None, max_iter: int = 1000) -> Dict:
    """Per-point linear probe on feature arrays: fit (:func:`fit_point_classifier`),
    predict every test point, score points not labelled ``ignore_index``.

    Returns dict(miou, per_class_iou (num_classes,) with NaN for absent classes, oa,
    num_points (scored test points), num_train_points, converged, settings)."""
    model, info = fit_point_classifier(train_x, train_y, ignore_index, classifier, C, seed,
                                       max_train_points, max_iter)
    test_x, test_y = _check_xy(test_x, test_y, 'test points')
    confusion = confusion_matrix(test_y, model.predict(test_x), num_classes, ignore_index)
    return dict(segmentation_scores(confusion), **info)


def evaluate_point_probe(model, segmentor: nn.Module, dataloader, num_classes: int,
                         ignore_index: int, seed: int = 0, log_interval: int = 0
                         ) -> Tuple[Dict, np.ndarray]:
    """Score a fitted per-point classifier on every point of a scene split, one scene
    in memory at a time.  Returns (:func:`segmentation_scores` dict, confusion (K, K))."""
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    for x, y in iter_scene_features(segmentor, dataloader, ignore_index, seed,
                                    log_interval, 'test scenes'):
        if len(y):
            confusion += confusion_matrix(y, model.predict(x), num_classes, ignore_index)
    return segmentation_scores(confusion), confusion


__all__ = ['CLASSIFIERS', 'load_backbone_checkpoint', 'extract_global_features',
           'build_seeded_model', 'make_classifier', 'fit_classifier', 'fit_linear_probe',
           'confusion_matrix',
           'segmentation_scores', 'scene_point_features', 'iter_scene_features',
           'extract_point_features', 'fit_point_classifier', 'fit_point_probe',
           'evaluate_point_probe']
