"""Inference on single point clouds: build a model, extract features, render TAP views.

    from crosspt.apis import init_model, extract_features, render_views
    model = init_model('configs/tap/pointmlp_synthetic.py', 'work_dirs/x/epoch_20.pth')
    feats = extract_features(model, points)   # points: (N, 3+), frame of the dataset files
    views = render_views(model, points, poses=[0, 3, 6, 9])   # (4, 3, 224, 224) in [0, 1]

Object-level models (TAP, ``PointClassifier``) see the cloud exactly as a dataset sample:
the config's own test-pipeline transforms run on it (the file-loading step replaced by
its in-memory equivalent, view-image loading dropped), then the model's data
preprocessor.  Points are therefore given in the frame of the config's dataset files
(y up for the shipped ShapeNet / ModelNet / ScanObjectNN configs; ``load_points``
rotates other files).  Scene-level PPKT models with an SR-UNet backbone take points in
metres (plus RGB when the config's voxel features are colours).
"""
import copy
import logging
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger, print_log
from mmengine.registry import DefaultScope
from torch import Tensor, nn

from crosspt.models.checkpoint_loading import load_checkpoint_any
from crosspt.models.weight_init import extract_state_dict
from crosspt.ops.interpolate import inverse_distance_interpolate
from crosspt.rendering.poses import tap_view_rotations
from crosspt.utils.config_utils import check_cfg_options

ConfigType = Union[str, os.PathLike, Config]
PointsType = Union[np.ndarray, Tensor]

#: sub-modules a TAP checkpoint must provide for :func:`render_views`
VIEW_GENERATOR_PREFIXES = ('query_generator.', 'memory_builder.', 'photograph.', 'head.')


def _drop_pretrained_init(node, only_empty: bool = False, path: str = 'model') -> List[str]:
    """Remove ``init_cfg``s of type ``Pretrained`` below ``node`` (in place) -- all of
    them, or with ``only_empty`` those without a checkpoint -- and return their keys."""
    dropped = []
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and str(init.get('type', '')).endswith('Pretrained') and (
                not only_empty or init.get('checkpoint') in (None, '', 'none')):
            node['init_cfg'] = None
            dropped.append(f'{path}.init_cfg')
        for key, value in node.items():
            dropped += _drop_pretrained_init(value, only_empty, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            dropped += _drop_pretrained_init(value, only_empty, f'{path}.{i}')
    return dropped


def release_teacher_checkpoints(node, path: str = 'model') -> List[str]:
    """Let every 2D ``ImageTeacher`` below ``node`` be built without reading its
    checkpoint (``checkpoint=None, allow_random_init=True``, in place), for when its
    weights come from elsewhere or do not matter; returns ``'<key>: <checkpoint>'`` of
    each."""
    released = []
    if isinstance(node, dict):
        if str(node.get('type', '')).split('.')[-1] == 'ImageTeacher' and \
                node.get('checkpoint') is not None:
            released.append(f'{path}: {node["checkpoint"]}')
            node['checkpoint'], node['allow_random_init'] = None, True
        for key, value in node.items():
            released += release_teacher_checkpoints(value, f'{path}.{key}')
    return released


class _HideInitDump(logging.Filter):
    """Drops mmengine's one-record-per-parameter ``init_weights`` dump."""

    def filter(self, record: logging.LogRecord) -> bool:
        return 'after calling `init_weights`' not in record.getMessage()


def _load_weights(model: nn.Module, checkpoint: str) -> Dict[str, List[str]]:
    """Load ``checkpoint`` (file or URL, tensors only) into ``model``; returns the key
    report ``dict(loaded, missing, unexpected)``.  Shape mismatches and checkpoints
    sharing no key with the model are errors naming the file."""
    raw = load_checkpoint_any(str(checkpoint), 'cpu')   # official TAP files converted
    state = extract_state_dict(raw, None, f'checkpoint {checkpoint}')
    own = model.state_dict()
    loaded = [k for k in state if k in own]
    if not loaded:
        raise KeyError(f'checkpoint {checkpoint} shares no key with {type(model).__name__} '
                       f'(checkpoint keys e.g. {sorted(state)[:3]}, model keys e.g. '
                       f'{sorted(own)[:3]}): wrong config for this checkpoint?')
    wrong = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
             for k in loaded if state[k].shape != own[k].shape]
    if wrong:
        raise ValueError(f'checkpoint {checkpoint} does not fit {type(model).__name__}: '
                         + '; '.join(wrong[:10]))
    model.load_state_dict({k: state[k] for k in loaded}, strict=False)
    report = dict(loaded=sorted(loaded), missing=sorted(set(own) - set(loaded)),
                  unexpected=sorted(set(state) - set(own)))
    print_log(f'init_model: {checkpoint} -> {type(model).__name__}: loaded '
              f'{len(loaded)}/{len(own)} tensors; missing {len(report["missing"])}'
              + (f' (e.g. {report["missing"][:5]})' if report['missing'] else '')
              + f'; unexpected {len(report["unexpected"])}', logger='current')
    return report


def init_model(config: ConfigType, checkpoint: Optional[str] = None, device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the model of ``config`` and load ``checkpoint``.

    Args:
        config: config file path or :class:`mmengine.Config`.
        checkpoint: local file or ``http(s)://`` / ``file://`` URL (downloaded into the
            crosspt cache and checked against the sha256 prefix of its name; a local file
            named with such a prefix is checked too); full training checkpoints
            and published backbone-only files both load, with a key report.  With a
            checkpoint, ``Pretrained`` init_cfgs of the config are ignored and a PPKT
            teacher is built without its file (its weights, if needed, come from the
            checkpoint).  None: the config's own initialisation (``init_weights``); a
            ``Pretrained`` init_cfg without a checkpoint (the benchmark configs' unset
            ``CROSSPT_PRETRAINED``) is dropped with a warning: random weights.
        device: e.g. ``'cpu'`` or ``'cuda:0'``.
        cfg_options: overrides of existing config keys, like ``--cfg-options``.
    Returns:
        the model in eval mode, with ``model.cfg`` (the config) and
        ``model.checkpoint_report`` (``dict(loaded, missing, unexpected)`` key lists, or
        None without a checkpoint).
    """
    if isinstance(config, (str, os.PathLike)):
        if not osp.isfile(config):
            raise FileNotFoundError(f'init_model: config file not found: {config}')
        config = Config.fromfile(config)
    elif not isinstance(config, Config):
        raise TypeError(f'init_model: config must be a path or mmengine Config, got '
                        f'{type(config).__name__}')
    cfg = copy.deepcopy(config)   # the caller's config is left as it is
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'init_model: the config {cfg.filename} has no "model" key')
    if checkpoint is not None:
        _drop_pretrained_init(cfg.model)
        release_teacher_checkpoints(cfg.model)
    else:
        for key in _drop_pretrained_init(cfg.model, only_empty=True):
            print_log(f'init_model: {key} is Pretrained without a checkpoint and no '
                      f'checkpoint was given: random initialisation', logger='current',
                      level=logging.WARNING)
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    from mmengine.registry import MODELS
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'crosspt')):
        model = MODELS.build(cfg.model)
        if checkpoint is None:
            logger, hide = MMLogger.get_current_instance(), _HideInitDump()
            logger.addFilter(hide)
            try:
                model.init_weights()
            finally:
                logger.removeFilter(hide)
            report = None
        else:
            report = _load_weights(model, checkpoint)
    model.cfg = cfg
    model.checkpoint_report = report
    return model.to(device).eval()


# ----------------------------------------------------------------------------- input
def _as_cloud(points: PointsType, owner: str) -> np.ndarray:
    """(N, C >= 3) finite float32 array from an array or tensor."""
    if isinstance(points, Tensor):
        points = points.detach().cpu().numpy()
    cloud = np.asarray(points)
    if cloud.ndim != 2 or cloud.shape[1] < 3 or len(cloud) == 0:
        raise ValueError(f'{owner}: points must be (N, C) with C >= 3 and N > 0, got shape '
                         f'{cloud.shape}')
    if cloud.dtype.kind not in 'fiu':
        raise ValueError(f'{owner}: points must be numeric, got {cloud.dtype}')
    bad = ~np.isfinite(cloud).all(axis=1)
    if bad.any():
        raise ValueError(f'{owner}: point row {int(np.argmax(bad))} contains NaN or inf '
                         f'({int(bad.sum())} bad rows)')
    return cloud.astype(np.float32)


def _test_pipeline(cfg: Config) -> List[dict]:
    for loader in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        dataset = cfg.get(loader, {}).get('dataset', {}) if cfg.get(loader) else {}
        while isinstance(dataset, dict) and 'pipeline' not in dataset and 'dataset' in dataset:
            dataset = dataset['dataset']
        if isinstance(dataset, dict) and dataset.get('pipeline'):
            return list(dataset['pipeline'])
    return []


_OWNER = type('prepare_object_inputs', (), {})()  # named in _features' error messages

#: test-pipeline transforms that load view images; the API passes poses instead
VIEW_TRANSFORMS = ('RandomSampleViews', 'LoadViewImages')


def _object_transforms(cfg: Config) -> Tuple[list, Tuple[str, ...]]:
    """The config's test pipeline as built transforms without the view loading and
    packing steps, and the feature keys its ``Pack*`` step concatenates."""
    from crosspt.registry import TRANSFORMS
    steps, keys = [], ('points', 'height')
    with DefaultScope.overwrite_default_scope('crosspt'):
        for step in _test_pipeline(cfg):
            kind = str(step.get('type'))
            if kind in VIEW_TRANSFORMS:
                continue
            if kind.startswith('Pack'):
                found = step.get('feature_keys', keys)
                keys = (found,) if isinstance(found, str) else tuple(found)
                continue
            steps.append(TRANSFORMS.build(step))
    return steps, keys


def _points_needed(steps: list) -> Tuple[int, str]:
    """The most input points any pipeline step needs, and that step (repr)."""
    from crosspt.datasets.transforms.object_transforms import RandomSamplePoints
    need, step_name = 0, ''
    for step in steps:
        if isinstance(step, RandomSamplePoints) and step.replace:
            continue
        count = getattr(step, 'fps_points', None) or getattr(step, 'num_points', None)
        if isinstance(count, int) and count > need:
            need, step_name = count, repr(step)
    return need, step_name


def _fill_up(cloud: np.ndarray, steps: list, resample: bool, owner: str,
             config: str) -> np.ndarray:
    """(N, C) cloud -> (max(N, need), C): with ``resample``, a cloud with fewer points
    than the pipeline needs keeps all N rows and gets ``need - N`` more drawn from them
    with replacement (fixed seed 0: the same input gives the same output)."""
    need, step_name = _points_needed(steps)
    if len(cloud) >= need:
        return cloud
    if not resample:
        raise ValueError(
            f'{owner}: the cloud has {len(cloud)} points, but the test pipeline of {config} '
            f'needs at least {need} ({step_name}); pass resample=True to fill it up to '
            f'{need} by resampling its points with replacement (duplicates points), or give '
            'a denser cloud')
    extra = np.random.default_rng(0).integers(0, len(cloud), need - len(cloud))
    print_log(f'{owner}: filled the cloud up from {len(cloud)} to {need} points by '
              f'resampling with replacement ({step_name} needs {need})', logger='current')
    return cloud[np.concatenate([np.arange(len(cloud)), extra])]


def prepare_object_inputs(model: nn.Module, points: PointsType,
                          view_rotations: Optional[np.ndarray] = None,
                          resample: bool = False,
                          owner: str = 'prepare_object_inputs') -> dict:
    """One cloud -> the batch (B = 1) that the config's test pipeline and the model's
    data preprocessor make of a dataset sample.

    Args:
        points: (N, 3) xyz, or (N, 6) xyz + normals, in the frame of the config's
            dataset files (y up for every shipped object config: ShapeNet and ModelNet
            store clouds y up; TAP's loader turns them z up).  The file-loading step is
            replaced by its in-memory equivalent; view-image loading is dropped.
        view_rotations: (V, 3, 3) camera rotations (TAP).
        resample: a cloud with fewer points than the pipeline needs (e.g. its
            ``num_points``) is filled up by resampling with replacement instead of
            refused (see :func:`_fill_up`).
        owner: function named in error messages.
    Every step that changes the number of points (e.g. FPS from 1e6 input points to the
    config's 1024) and a fill-up are logged with the counts and the step's time.

    Returns:
        ``dict(points (1, n, 3), features (1, n, C), [view_rotations (1, V, 3, 3)])``.
    """
    from crosspt.datasets.transforms import LoadPointsFromPLY
    from crosspt.datasets.transforms.object_transforms import _features
    cloud = _as_cloud(points, owner)
    steps, keys = _object_transforms(model.cfg)
    cloud = _fill_up(cloud, steps, resample, owner, str(model.cfg.filename))
    results = dict(cloud=cloud, points=cloud[:, :3], source='the input cloud')
    for step in steps:
        count, start = len(results['points']), time.perf_counter()
        if isinstance(step, LoadPointsFromPLY):
            results['points'] = step.sample_and_permute(cloud[:, :3], 'the input cloud')
        else:
            results = step(results)
        if len(results['points']) != count:
            print_log(f'{owner}: {step!r} subsampled the cloud from {count} to '
                      f'{len(results["points"])} points in {time.perf_counter() - start:.2f} s',
                      logger='current')
    xyz = np.ascontiguousarray(results['points'], dtype=np.float32)
    inputs = {'points': [torch.from_numpy(xyz)],
              'features': [torch.from_numpy(_features(results, keys, len(xyz), _OWNER))]}
    if view_rotations is not None:
        inputs['view_rotations'] = [torch.as_tensor(view_rotations, dtype=torch.float64)]
    return model.data_preprocessor(dict(inputs=inputs, data_samples=None), False)['inputs']


def _scene_feats(model: nn.Module, cloud: np.ndarray) -> Tensor:
    """SR-UNet voxel features of a scene cloud: RGB in [0, 1] or ones (config's mode)."""
    modes = [s.get('feat_mode') for s in _test_pipeline(model.cfg) if 'feat_mode' in s]
    mode = modes[0] if modes else 'ones'
    n, channels = len(cloud), model.backbone.in_channels
    if mode == 'ones':
        return torch.ones(n, channels)
    if cloud.shape[1] < 6:
        raise ValueError(f'extract_features: the config {model.cfg.filename} uses RGB voxel '
                         f'features; give points as (N, 6) xyz + rgb, got {cloud.shape}')
    rgb = cloud[:, 3:6]
    return torch.from_numpy(rgb / 255.0 if rgb.max() > 1.0 else rgb).float()


# ----------------------------------------------------------------------------- API
@torch.no_grad()
def extract_features(model: nn.Module, points: PointsType,
                     resample: bool = False) -> Dict[str, Tensor]:
    """Per-point and global backbone features of one cloud.

    Object models (TAP, PointClassifier): the backbone runs on the cloud as the config's
    test pipeline prepares it (:func:`prepare_object_inputs`: ``n`` points in the
    network's frame; a cloud with fewer points than the pipeline needs is an error, or
    with ``resample=True`` is filled up by resampling with replacement); its features
    at the ``M`` centres are interpolated onto those ``n`` points (inverse distance over
    the 3 nearest centres, PointNet++'s rule).
    PPKT with SR-UNet: points are voxelised with the model's ``voxel_size`` and every
    point receives its voxel's features.

    Returns (CPU tensors):
        ``point_features``: (n, C) for object models (the points of ``points (n, 3)``),
        (N, C) for PPKT (every input point); ``global_features (C_g,)``; and for object
        models ``center_points (M, 3)`` and ``center_features (M, C)``.
    """
    device = next(model.parameters()).device
    if _is_scene_model(model):
        cloud = _as_cloud(points, 'extract_features')
        xyz = torch.from_numpy(cloud[:, :3]).to(device)
        feats = _scene_feats(model, cloud).to(device)
        batch = torch.zeros(len(xyz), dtype=torch.long, device=device)
        point_features, _, _ = model.backbone.forward_points(xyz, batch, model.voxel_size,
                                                             feats)
        return dict(point_features=point_features.cpu(),
                    global_features=point_features.max(dim=0).values.cpu())
    _require_object_model(model, 'extract_features')
    inputs = prepare_object_inputs(model, points, resample=resample, owner='extract_features')
    out = model.backbone(inputs['points'], inputs['features'])
    centers, features = out['centers'], out['features']
    point_features = inverse_distance_interpolate(inputs['points'], centers, features)
    return dict(points=inputs['points'][0].cpu(), point_features=point_features[0].cpu(),
                global_features=out['global_features'][0].cpu(),
                center_points=centers[0].cpu(), center_features=features[0].cpu())


def _as_rotations(poses: Union[None, Sequence[int], np.ndarray, Tensor]) -> np.ndarray:
    """(V, 3, 3) rotations from None (TAP's 12 poses), pose indices or matrices."""
    table = tap_view_rotations()
    if poses is None:
        return table
    array = poses.detach().cpu().numpy() if isinstance(poses, Tensor) else np.asarray(poses)
    if array.ndim == 1 and array.dtype.kind in 'iu':
        if len(array) == 0 or array.min() < 0 or array.max() >= len(table):
            raise ValueError(f'render_views: pose indices must lie in [0, {len(table)}) (TAP\'s '
                             f'instructed poses), got {array.tolist()}')
        return table[array]
    if array.ndim == 3 and array.shape[1:] == (3, 3) and len(array) > 0:
        if not np.allclose(array @ array.transpose(0, 2, 1), np.eye(3), atol=1e-4):
            raise ValueError('render_views: pose matrices must be rotations (R R^T = I)')
        return array.astype(np.float64)
    raise ValueError(f'render_views: poses must be None, (V,) indices into TAP\'s 12 poses or '
                     f'(V, 3, 3) rotations, got array of shape {array.shape}')


@torch.no_grad()
def render_views(model: nn.Module, points: PointsType,
                 poses: Union[None, Sequence[int], np.ndarray, Tensor] = None,
                 resample: bool = False) -> np.ndarray:
    """TAP: the views the model generates of one cloud.

    Args:
        model: a TAP model from :func:`init_model` with a full TAP checkpoint (a
            published backbone-only file has no view generator: error).
        points: (N, 3) cloud in the frame of the config's dataset files (y up).
        poses: None (TAP's 12 instructed poses), indices into them, or (V, 3, 3)
            rotations ``R`` mapping object to camera frame (see crosspt.rendering.poses).
        resample: fill a cloud with fewer points than the config's ``num_points`` up by
            resampling with replacement (default: error).
    Returns:
        (V, 3, H, W) float32 images in [0, 1].
    """
    from crosspt.models.tap import TAP
    if not isinstance(model, TAP):
        raise TypeError(f'render_views needs a TAP model, got {type(model).__name__} '
                        f'(config {getattr(getattr(model, "cfg", None), "filename", "?")})')
    report = getattr(model, 'checkpoint_report', None)
    if report is not None:
        own = model.state_dict()
        absent = sorted({p.rstrip('.') for p in VIEW_GENERATOR_PREFIXES
                         if any(k.startswith(p) for k in own)
                         and not any(k.startswith(p) for k in report['loaded'])})
        if absent:
            raise ValueError(f'render_views: the checkpoint loaded into this model has no '
                             f'weights for {absent} (a published backbone-only file?); use '
                             f'the full TAP training checkpoint (epoch_*.pth / iter_*.pth)')
    inputs = prepare_object_inputs(model, points, _as_rotations(poses), resample=resample,
                                   owner='render_views')
    images = model.head.predict(model.take_photos(inputs))
    return images.float().cpu().numpy()


def _is_scene_model(model: nn.Module) -> bool:
    from crosspt.models.backbones.srunet import SRUNet
    from crosspt.models.ppkt import PPKT
    return isinstance(model, PPKT) and isinstance(model.backbone, SRUNet)


def _require_object_model(model: nn.Module, owner: str) -> None:
    from crosspt.models.classifiers import PointClassifier
    from crosspt.models.tap import TAP
    if not isinstance(model, (TAP, PointClassifier)) or not hasattr(model, 'cfg'):
        raise TypeError(f'{owner} supports models built by init_model from TAP, '
                        f'PointClassifier or PPKT (SR-UNet) configs, got '
                        f'{type(model).__name__}')
