"""3DETR in mmdet3d: crosspt's :class:`ThreeDETRDetector` as an mmdet3d detector.

:class:`ThreeDETR3D` is registered in ``mmdet3d.registry.MODELS``, so an mmdet3d-scoped
config (``default_scope='mmdet3d'``) trains and tests it with mmdet3d's stock
``ScanNetDataset`` + pipelines + ``IndoorMetric``::

    custom_imports = dict(imports=['projects.crosspt_mmdet3d.crosspt_mmdet3d'])
    model = dict(type='ThreeDETR3D', num_classes=18, use_dims=[0, 1, 2],
                 encoder=dict(init_cfg=dict(type='crosspt.Pretrained',
                                            checkpoint='tap.pth', prefix='backbone.')))
    val_evaluator = test_evaluator = dict(type='IndoorMetricNumpy2')  # see below

It subclasses both crosspt's :class:`ThreeDETRDetector` (so the state dict has exactly
the crosspt layout, ``encoder.* / encoder_to_decoder.* / ... / heads.*``, and checkpoints
are shared both ways) and mmdet3d's ``Base3DDetector`` (mmdet3d's ``forward`` dispatch
and ``add_pred_to_datasample``).  Only the data conversions live here:

- inputs: ``Det3DDataPreprocessor`` gives ``inputs['points']`` as a list of (N_i, 3 + C)
  tensors; they are stacked (equal N_i required, i.e. ``PointSample`` in the pipeline)
  and the columns in ``use_dims`` kept;
- ground truth: ``gt_instances_3d.bboxes_3d`` (``DepthInstance3DBoxes``, whose
  ``.tensor`` holds the **bottom** centre) -> ``[gravity centre, dims, yaw]`` centre
  boxes (:func:`det3d_samples_to_targets`);
- predictions: crosspt's post-processed ``[cx, cy, cz, dx, dy, dz, yaw]`` centre boxes ->
  ``pred_instances_3d = InstanceData(bboxes_3d=DepthInstance3DBoxes(..., origin=(0.5,
  0.5, 0.5)), scores_3d, labels_3d)``, what ``IndoorMetric`` reads
  (:func:`predictions_to_instances`).

:class:`IndoorMetricNumpy2` is mmdet3d's ``IndoorMetric`` made to run under NumPy versions
where ``float()`` of a 1-element array is an error (e.g. NumPy 2.4): the stock metric
computes the APs and then raises while building its summary table.

crosspt's sub-modules (encoder, criterion, ...) are built, and weights initialised, in
the ``crosspt`` scope, so their ``type`` names resolve as in crosspt configs whatever the
caller's default scope; ``init_cfg`` ``'Pretrained'`` and ``'crosspt.Pretrained'`` are
both crosspt's reporting loader, which raises (naming the file) when a checkpoint loads
nothing or has mismatched shapes.
"""
import importlib
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmdet3d.evaluation import IndoorMetric
from mmdet3d.models.detectors import Base3DDetector
from mmdet3d.registry import METRICS, MODELS
from mmdet3d.structures import DepthInstance3DBoxes, Det3DDataSample
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from torch import Tensor

from crosspt.models.detectors import ThreeDETRDetector

# the module (the package attribute of the same name is the function)
indoor_eval_module = importlib.import_module('mmdet3d.evaluation.functional.indoor_eval')

__all__ = ['IndoorMetricNumpy2', 'ThreeDETR3D', 'det3d_samples_to_targets',
           'predictions_to_instances', 'stack_point_clouds']


def stack_point_clouds(points: Sequence[Tensor]) -> Tensor:
    """Stack per-scene point clouds ``[(N, 3 + C)] * B`` into ``(B, N, 3 + C)``.

    Raises:
        ValueError: when a cloud is not 2-D with >= 3 columns, or the clouds differ in
            size (3DETR batches scenes of one size: use ``PointSample`` in the pipeline).
    """
    if len(points) == 0:
        raise ValueError('ThreeDETR3D: inputs["points"] is an empty list')
    for i, cloud in enumerate(points):
        if not isinstance(cloud, Tensor) or cloud.dim() != 2 or cloud.shape[-1] < 3:
            raise ValueError(f'ThreeDETR3D: inputs["points"][{i}] must be an (N, 3 + C) '
                             f'tensor, got '
                             f'{getattr(cloud, "shape", type(cloud).__name__)}')
    shapes = [tuple(cloud.shape) for cloud in points]
    if len(set(shapes)) > 1:
        raise ValueError(f'ThreeDETR3D: the point clouds of one batch differ in size '
                         f'{shapes}; 3DETR stacks scenes of N points each: add '
                         f'dict(type="PointSample", num_points=N) (e.g. 40000) to the train '
                         f'and test pipelines, or use batch size 1')
    return torch.stack(list(points))


def det3d_samples_to_targets(data_samples: Sequence[Det3DDataSample],
                             device: Union[str, torch.device]) -> List[Dict[str, Tensor]]:
    """Ground truth of mmdet3d data samples as crosspt 3DETR targets.

    ``DepthInstance3DBoxes.tensor`` stores ``[x, y, z_bottom, dx, dy, dz, yaw]``; the
    crosspt criterion wants box centres, so the centre is ``bboxes_3d.gravity_center``
    (``z_bottom + dz / 2``).  A non-zero yaw is passed through, and the criterion rejects
    it (its GIoU is axis-aligned).

    Args:
        data_samples: B samples with ``gt_instances_3d.bboxes_3d``
            (``DepthInstance3DBoxes``, M boxes) and ``gt_instances_3d.labels_3d`` (M,).
        device: device of the returned tensors.
    Returns:
        per sample ``dict(boxes (M, 7) [cx, cy, cz, dx, dy, dz, yaw] float32,
        labels (M,) int64)``.
    """
    if data_samples is None:
        raise ValueError('ThreeDETR3D: loss() needs data samples with gt_instances_3d')
    targets = []
    for i, sample in enumerate(data_samples):
        inst = getattr(sample, 'gt_instances_3d', None)
        if inst is None:
            raise KeyError(f'ThreeDETR3D: data sample {i} has no gt_instances_3d; pack '
                           f'gt_bboxes_3d and gt_labels_3d with Pack3DDetInputs')
        for key in ('bboxes_3d', 'labels_3d'):
            if key not in inst:
                raise KeyError(f'ThreeDETR3D: data sample {i}: gt_instances_3d has no '
                               f'{key!r} (keys {sorted(inst.keys())})')
        bboxes, labels = inst.bboxes_3d, inst.labels_3d
        if not isinstance(bboxes, DepthInstance3DBoxes):
            raise TypeError(f'ThreeDETR3D: data sample {i}: gt_instances_3d.bboxes_3d must '
                            f'be DepthInstance3DBoxes (box_type_3d="Depth", as ScanNetDataset '
                            f'gives), got {type(bboxes).__name__}')
        boxes = torch.cat([bboxes.gravity_center, bboxes.dims, bboxes.yaw[:, None]], dim=-1)
        labels = torch.as_tensor(labels).reshape(-1)
        if len(labels) != len(boxes):
            raise ValueError(f'ThreeDETR3D: data sample {i} has {len(boxes)} boxes but '
                             f'{len(labels)} labels')
        targets.append(dict(boxes=boxes.to(device=device, dtype=torch.float32),
                            labels=labels.to(device=device, dtype=torch.long)))
    return targets


def predictions_to_instances(results: Sequence[Dict[str, Tensor]], with_yaw: bool = False
                             ) -> List[InstanceData]:
    """crosspt 3DETR predictions -> mmdet3d ``pred_instances_3d``.

    Args:
        results: per scene ``dict(boxes (P, 7) [cx, cy, cz, dx, dy, dz, yaw] (box centre),
            scores (P,), labels (P,))`` (:meth:`ThreeDETRDetector.predict`).
        with_yaw: whether the boxes carry a heading (False for ScanNet's one angle bin).
    Returns:
        per scene ``InstanceData(bboxes_3d=DepthInstance3DBoxes (bottom-centre storage),
        scores_3d (P,) float32, labels_3d (P,) int64)``.
    """
    instances = []
    for res in results:
        boxes = res['boxes'].detach().float().reshape(-1, 7)
        inst = InstanceData()
        inst.bboxes_3d = DepthInstance3DBoxes(boxes, box_dim=7, with_yaw=with_yaw,
                                              origin=(0.5, 0.5, 0.5))
        inst.scores_3d = res['scores'].detach().float()
        inst.labels_3d = res['labels'].detach().long()
        instances.append(inst)
    return instances


def _resolve_model_type(cfg: Optional[dict], default: str, what: str) -> dict:
    """Copy of ``cfg`` (or ``dict(type=default)``) whose string ``type`` is replaced by
    the class found from mmdet3d's MODELS (which falls back to mmengine's root and,
    for ``'crosspt.X'``, to crosspt's registry)."""
    cfg = dict(cfg) if cfg is not None else dict(type=default)
    kind = cfg.get('type', default)
    if isinstance(kind, str):
        cls = MODELS.get(kind)
        if cls is None:
            raise KeyError(f'ThreeDETR3D: {what} type {kind!r} is not registered in '
                           f'mmdet3d (nor mmengine / crosspt)')
        cfg['type'] = cls
    return cfg


@MODELS.register_module()
class ThreeDETR3D(ThreeDETRDetector, Base3DDetector):
    """3DETR detector for mmdet3d pipelines (state dict identical to crosspt's
    :class:`ThreeDETRDetector`).

    Modes (mmdet3d's ``Base3DDetector.forward``):

    - ``'loss'``: ``inputs = dict(points=[(N, 3 + C)] * B)`` (``Det3DDataPreprocessor``)
      or ``dict(points=(B, N, 3 + C))``; ``data_samples`` with ``gt_instances_3d`` ->
      ``loss_{cls,center,size,giou,angle_cls,angle_reg}`` summed over decoder layers,
      plus ``cardinality_error`` (logged only);
    - ``'predict'``: the data samples with ``pred_instances_3d`` (see
      :func:`predictions_to_instances`) after 3DETR post-processing (``test_cfg``);
    - ``'tensor'``: the raw head outputs of every decoder layer
      (:meth:`ThreeDETRDetector.tensor`).

    A dict ``inputs`` goes through the stacking and ``use_dims`` column selection; a bare
    (B, N, 3 + C) tensor is taken as the network input as it is.

    Args:
        num_classes: K object classes (ScanNet 18).
        encoder: :class:`~crosspt.models.detectors.ThreeDETREncoder` config (crosspt
            scope; ``init_cfg=dict(type='crosspt.Pretrained', checkpoint=...,
            prefix='backbone.')`` loads a TAP pre-trained encoder).
        use_dims: point columns fed to the network, xyz first: ``[0, 1, 2]`` drops the
            height column mmdet3d's ScanNet pipeline appends (``shift_height=True``);
            None feeds every column.  ``len(use_dims) - 3`` must equal
            ``encoder.in_channels``.
        test_cfg: post-processing overrides of
            :data:`~crosspt.models.detectors.threedetr.DEFAULT_TEST_CFG`
            (``remove_empty_box, min_points_in_box, nms, cls_nms, nms_iou,
            per_class_proposal, conf_thresh``).
        data_preprocessor: defaults to mmdet3d's ``Det3DDataPreprocessor`` (must not
            voxelise); crosspt's ``'crosspt.PointDataPreprocessor'`` also works.
        init_cfg: initialisation of the whole detector (crosspt scope).
        **kwargs: the remaining :class:`ThreeDETRDetector` arguments (``dec_dim``,
            ``num_decoder_layers``, ``nqueries``, ``criterion``, ...).
    """

    def __init__(self,
                 num_classes: int = 18,
                 encoder: Optional[dict] = None,
                 use_dims: Optional[Sequence[int]] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 **kwargs: Any) -> None:
        preprocessor = _resolve_model_type(data_preprocessor, 'Det3DDataPreprocessor',
                                           'data_preprocessor')
        if preprocessor.get('voxel', False):
            raise ValueError('ThreeDETR3D: data_preprocessor must not voxelise '
                             '(voxel=False): 3DETR consumes raw points')
        with DefaultScope.overwrite_default_scope('crosspt'):
            super().__init__(num_classes=num_classes, encoder=encoder, test_cfg=test_cfg,
                             data_preprocessor=preprocessor, init_cfg=init_cfg, **kwargs)
        self.use_dims: Optional[List[int]] = None
        if use_dims is not None:
            dims = [int(d) for d in use_dims]
            if dims[:3] != [0, 1, 2] or len(set(dims)) != len(dims):
                raise ValueError(f'ThreeDETR3D: use_dims must start with the xyz columns '
                                 f'0, 1, 2 and not repeat a column, got {list(use_dims)}')
            feats = len(dims) - 3
            if feats != self.encoder.in_channels:
                raise ValueError(f'ThreeDETR3D: use_dims {dims} feeds {feats} feature '
                                 f'channels after xyz but encoder.in_channels is '
                                 f'{self.encoder.in_channels}')
            self.use_dims = dims

    # ------------------------------------------------------------------ conversions

    def _points(self, inputs: Union[Dict[str, Any], Tensor]) -> Tensor:
        """Network input (B, N, 3 + C): a dict's ``points`` (list or batch tensor) stacked
        and reduced to ``use_dims``; a bare tensor as it is."""
        if isinstance(inputs, Tensor):
            return super()._points(inputs)
        if not isinstance(inputs, dict) or 'points' not in inputs:
            raise KeyError(f'ThreeDETR3D: inputs must be a dict with "points", got '
                           f'{sorted(inputs) if isinstance(inputs, dict) else type(inputs)}')
        points = inputs['points']
        if isinstance(points, (list, tuple)):
            points = stack_point_clouds(points)
        if self.use_dims is not None and isinstance(points, Tensor) and points.dim() == 3:
            if max(self.use_dims) >= points.shape[-1]:
                raise ValueError(f'ThreeDETR3D: use_dims {self.use_dims} but the points '
                                 f'have {points.shape[-1]} columns')
            points = points[..., self.use_dims]
        return super()._points(points)

    def _unpack(self, data_samples: Sequence[Det3DDataSample], device
                ) -> List[Dict[str, Tensor]]:
        return det3d_samples_to_targets(data_samples, device)

    # ------------------------------------------------------------------ mmdet3d API

    def forward(self, inputs: Union[dict, List[dict]],
                data_samples: Optional[List[Det3DDataSample]] = None,
                mode: str = 'tensor', **kwargs: Any):
        """mmdet3d's dispatch: ``'loss'`` / ``'predict'`` / ``'tensor'``."""
        return Base3DDetector.forward(self, inputs, data_samples, mode=mode, **kwargs)

    def predict(self, inputs: Dict[str, Any],
                data_samples: Optional[List[Det3DDataSample]] = None,
                **kwargs: Any) -> List[Det3DDataSample]:
        """Post-processed final-layer boxes as ``pred_instances_3d`` of each data sample
        (new ``Det3DDataSample`` objects when none are given)."""
        results = super().predict(inputs)
        instances = predictions_to_instances(results, with_yaw=self.num_angle_bins > 1)
        if data_samples is None:
            data_samples = [Det3DDataSample() for _ in results]
        if len(data_samples) != len(results):
            raise ValueError(f'ThreeDETR3D: {len(data_samples)} data samples for a batch of '
                             f'{len(results)} scenes')
        return self.add_pred_to_datasample(data_samples, instances)

    def _forward(self, inputs: Dict[str, Any],
                 data_samples: Optional[List[Det3DDataSample]] = None,
                 **kwargs: Any) -> Dict[str, Tensor]:
        """Raw head outputs, see :meth:`ThreeDETRDetector.tensor`."""
        return self.tensor(inputs)

    def extract_feat(self, inputs: Dict[str, Any]):
        """Encoder output for the stacked points: ``(xyz (B, M, 3), feats (B, M, D),
        inds (B, M))`` (or the encoder's dict with ``output_format='dict'``)."""
        return self.encoder(self._points(inputs))

    def init_weights(self) -> None:
        """Initialise in the crosspt scope (``init_cfg`` types resolve as in crosspt)."""
        with DefaultScope.overwrite_default_scope('crosspt'):
            super().init_weights()


# ----------------------------------------------------------------------------- metric


def numpy_refuses_size1_float() -> bool:
    """True when ``float(np.zeros(1))`` raises (NumPy's ndim > 0 -> scalar deprecation
    has expired, as in the NumPy 2.4 of this environment)."""
    try:
        float(np.zeros(1))
    except TypeError:
        return True
    return False


class _FloatableAP(np.ndarray):
    """A (1,) AP array that ``float()`` accepts, as it did before that NumPy change."""

    def __float__(self) -> float:
        values = np.asarray(self).reshape(-1)
        if values.size != 1:
            raise TypeError(f'only size-1 arrays convert to float, got shape {self.shape}')
        return float(values[0])


@contextmanager
def _floatable_indoor_ap() -> Iterator[None]:
    """While active, mmdet3d's ``indoor_eval`` gets its per-class AP arrays from
    ``eval_map_recall`` as :class:`_FloatableAP` views (same values)."""
    original = indoor_eval_module.eval_map_recall

    def eval_map_recall(pred, gt, ovthresh=None):
        rec, prec, ap = original(pred, gt, ovthresh)
        ap = [{label: np.asarray(value).view(_FloatableAP) for label, value in per_thr.items()}
              for per_thr in ap]
        return rec, prec, ap

    indoor_eval_module.eval_map_recall = eval_map_recall
    try:
        yield
    finally:
        indoor_eval_module.eval_map_recall = original


@METRICS.register_module()
class IndoorMetricNumpy2(IndoorMetric):
    """mmdet3d's ``IndoorMetric`` (same arguments, results and keys) that also runs under
    NumPy versions where ``float()`` of a 1-element array raises.

    mmdet3d 1.4.0's ``indoor_eval`` computes every AP and then builds its log table with
    ``float(ap_array)`` on (1,)-shaped arrays, which raises ``TypeError: only
    0-dimensional arrays can be converted to Python scalars`` on such NumPy versions.
    Here, only for the duration of :meth:`compute_metrics` and only when NumPy refuses
    that conversion, the AP arrays are handed to ``indoor_eval`` as views whose
    ``__float__`` takes their single element; matching, AP and recall are mmdet3d's
    unchanged.  Use ``val_evaluator = test_evaluator = dict(type='IndoorMetricNumpy2')``.
    """

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if not numpy_refuses_size1_float():
            return super().compute_metrics(results)
        with _floatable_indoor_ap():
            return super().compute_metrics(results)
