"""mmdet3d's VoteNet head with CPU paths for its CUDA-only mmcv ops.

On VoteNet's train and test path, mmdet3d 1.4.0 calls four mmcv ops that have only
CUDA kernels: ``furthest_point_sample``, ``ball_query`` + ``grouping_operation``
(``QueryAndGroup``) and ``gather_points`` inside the vote aggregation
(``PointSAModule``); ``furthest_point_sample`` again in ``VoteHead.forward`` for
``sample_mode='seed'`` (the test setting); and ``points_in_boxes_all`` in
``VoteHead.multiclass_nms_single`` (every prediction) and in the vote targets of
boxes with a heading (``with_rot=True``, SUN RGB-D).  The rest -- ``VoteModule``,
``aligned_3d_nms``, ``chamfer_distance``, the losses -- is plain PyTorch.

Two registered modules replace those calls without touching mmdet3d's own classes:

- :class:`CrossptPointSAModule` (in mmdet3d's ``SA_MODULES`` registry, the one
  ``vote_aggregation_cfg`` is built from): mmdet3d's ``PointSAModule`` (same arguments,
  same parameters and state-dict keys) whose sampling and grouping are crosspt's
  ``furthest_point_sample`` / ``ball_query`` / ``gather_points`` / ``group_points``;
- :class:`CrossptVoteHead` (mmdet3d ``MODELS``): ``VoteHead`` whose seed-mode FPS is
  crosspt's and whose points-in-boxes tests run through mmcv's CPU kernel
  (``points_in_boxes_cpu``) for CPU tensors.  CUDA tensors take mmdet3d's own paths.

Semantics kept from mmcv: FPS starts at point 0; the ball query takes the first
``num_sample`` points (in index order) with squared distance below ``radius**2`` and
repeats the first one in the empty slots.  One difference: a ball with no point inside
(possible only with ``target_xyz``, ``sample_mode='spec'``) is filled with the nearest
point here, with point 0 by mmcv's kernel.
"""
from typing import Dict, Optional, Tuple, Type

import torch
from mmcv.ops import points_in_boxes_cpu
from mmdet3d.models.dense_heads import VoteHead
from mmdet3d.models.layers.pointnet_modules import PointSAModule
from mmdet3d.models.layers.pointnet_modules.builder import SA_MODULES
from mmdet3d.registry import MODELS
from torch import Tensor

from crosspt.ops import ball_query, furthest_point_sample, gather_points, group_points

__all__ = ['CrossptPointSAModule', 'CrossptVoteHead', 'cpu_box_type',
           'points_in_boxes_all_cpu']


@SA_MODULES.register_module()
class CrossptPointSAModule(PointSAModule):
    """mmdet3d's single-scale ``PointSAModule`` on crosspt's point ops (CPU and CUDA).

    Arguments as ``PointSAModule`` (``mlp_channels``, ``num_point``, ``radius``,
    ``num_sample``, ``norm_cfg``, ``use_xyz``, ``pool_mod``, ``normalize_xyz``) with
    Euclidean FPS only (``fps_mod=['D-FPS']`` over all points), plus:

    Args:
        backend: crosspt's op backend: ``'auto'`` (fpsample FPS and cKDTree ball query
            on CPU tensors, PyTorch on CUDA) or ``'torch'``.

    Forward (as ``PointSAModule``): points_xyz (B, N, 3), features (B, C, N) or None,
    optional indices (B, num_point) or target_xyz (B, M, 3) ->
    new_xyz (B, M, 3), new_features (B, mlp_channels[-1], M), indices (B, M) int64.
    """

    def __init__(self, *args, backend: str = 'auto', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if list(self.fps_mod_list) != ['D-FPS'] or list(self.fps_sample_range_list) != [-1]:
            raise ValueError(f'CrossptPointSAModule: only fps_mod=["D-FPS"] over all points '
                             f'(fps_sample_range_list=[-1]) is implemented, got '
                             f'{self.fps_mod_list} / {self.fps_sample_range_list}')
        self.backend = backend

    def _sample_points(self, points_xyz: Tensor, features: Optional[Tensor],
                       indices: Optional[Tensor], target_xyz: Optional[Tensor]
                       ) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """Centres (B, M, 3) and their indices (B, M) int64: given ``indices``, else
        ``target_xyz`` (indices None), else FPS from point 0 (``num_point`` None:
        group-all, no centres)."""
        if indices is not None:
            if self.num_point is None or indices.shape[1] != self.num_point[0]:
                raise ValueError(f'CrossptPointSAModule: indices {tuple(indices.shape)} do not '
                                 f'match num_point={self.num_point}')
            indices = indices.long()
            return gather_points(points_xyz, indices), indices
        if target_xyz is not None:
            return target_xyz.contiguous(), None
        if self.num_point is None:
            return None, None
        indices = furthest_point_sample(points_xyz.detach(), self.num_point[0],
                                        backend=self.backend)
        return gather_points(points_xyz, indices), indices

    def _group(self, level: int, points_xyz: Tensor, new_xyz: Optional[Tensor],
               features: Optional[Tensor]) -> Tensor:
        """``QueryAndGroup`` of level ``level``: (B, 3 + C, M, K) (or (B, C, M, K)
        without ``use_xyz``) = [(p_j - c) / radius if normalize_xyz, f_j]."""
        grouper = self.groupers[level]
        if new_xyz is None:                      # GroupAll: plain PyTorch in mmcv
            return grouper(points_xyz, None, features)
        idx = ball_query(new_xyz.detach(), points_xyz.detach(), float(grouper.max_radius),
                         int(grouper.sample_num), mode='first', backend=self.backend)
        rel = group_points(points_xyz, idx) - new_xyz.unsqueeze(2)          # (B, M, K, 3)
        if grouper.normalize_xyz:
            rel = rel / grouper.max_radius
        rel = rel.permute(0, 3, 1, 2)
        if features is None:
            if not grouper.use_xyz:
                raise ValueError('CrossptPointSAModule: use_xyz=False needs features')
            return rel.contiguous()
        grouped = group_points(features.transpose(1, 2), idx).permute(0, 3, 1, 2)
        return torch.cat([rel, grouped], dim=1) if grouper.use_xyz else grouped.contiguous()

    def forward(self, points_xyz: Tensor, features: Optional[Tensor] = None,
                indices: Optional[Tensor] = None, target_xyz: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """See the class docstring."""
        new_xyz, indices = self._sample_points(points_xyz, features, indices, target_xyz)
        pooled = [self._pool_features(mlp(self._group(i, points_xyz, new_xyz, features)))
                  for i, mlp in enumerate(self.mlps)]
        return new_xyz, torch.cat(pooled, dim=1), indices


def points_in_boxes_all_cpu(self, points: Tensor, boxes_override: Optional[Tensor] = None
                            ) -> Tensor:
    """``BaseInstance3DBoxes.points_in_boxes_all`` through mmcv's CPU kernel for CPU
    tensors: points (M, 3 + C) or (1, M, 3 + C) -> (M, T) int (1 where point m lies in
    box t); CUDA tensors use the stock method."""
    if points.is_cuda:
        return self.stock_box_type.points_in_boxes_all(self, points, boxes_override)
    boxes = self.tensor if boxes_override is None else boxes_override
    pts = points[..., :3].reshape(1, -1, 3).float().contiguous()
    return points_in_boxes_cpu(pts, boxes.to(pts).reshape(1, -1, boxes.shape[-1])).squeeze(0)


_CPU_BOX_TYPES: Dict[type, type] = {}


def cpu_box_type(box_type: Type) -> Type:
    """A subclass of the box class ``box_type`` whose ``points_in_boxes_all`` also runs
    on CPU tensors (:func:`points_in_boxes_all_cpu`); cached per class."""
    box_type = getattr(box_type, 'stock_box_type', box_type)
    if box_type not in _CPU_BOX_TYPES:
        _CPU_BOX_TYPES[box_type] = type(f'{box_type.__name__}CPU', (box_type, ), dict(
            points_in_boxes_all=points_in_boxes_all_cpu, stock_box_type=box_type,
            __doc__=f'{box_type.__name__} with a CPU points_in_boxes_all.'))
    return _CPU_BOX_TYPES[box_type]


@MODELS.register_module()
class CrossptVoteHead(VoteHead):
    """mmdet3d's ``VoteHead`` (same arguments, parameters and outputs) that runs on CPU.

    Use it with ``vote_aggregation_cfg=dict(type='CrossptPointSAModule', ...)``; the
    module docstring lists what is replaced.  ``sample_mode`` ``'vote'`` (train),
    ``'seed'`` (test), ``'random'`` and ``'spec'`` are all supported.
    """

    def _aggregation_inputs(self, seed_points: Tensor, seed_features: Tensor,
                            vote_points: Tensor, vote_features: Tensor) -> Dict[str, Tensor]:
        """The vote aggregation's inputs for ``self.sample_mode`` (as ``VoteHead``)."""
        mode = self.sample_mode
        if mode == 'vote':
            return dict(points_xyz=vote_points, features=vote_features)
        if mode == 'seed':
            indices = furthest_point_sample(seed_points.detach(), self.num_proposal)
            return dict(points_xyz=vote_points, features=vote_features, indices=indices)
        if mode == 'random':
            b, num_seed = seed_points.shape[:2]
            indices = torch.randint(0, num_seed, (b, self.num_proposal),
                                    device=seed_points.device)
            return dict(points_xyz=vote_points, features=vote_features, indices=indices)
        return dict(points_xyz=seed_points, features=seed_features, target_xyz=vote_points)

    def forward(self, feat_dict: dict) -> dict:
        """Seeds -> votes -> aggregation -> decoded predictions, as ``VoteHead.forward``
        (seeds (B, M, 3) / (B, C, M) / (B, M) from ``fp_*[-1]`` or ``seed_*``)."""
        seed_points, seed_features, seed_indices = self._extract_input(feat_dict)
        vote_points, vote_features, vote_offset = self.vote_module(seed_points, seed_features)
        results = dict(seed_points=seed_points, seed_indices=seed_indices,
                       vote_points=vote_points, vote_features=vote_features,
                       vote_offset=vote_offset)
        inputs = self._aggregation_inputs(seed_points, seed_features, vote_points,
                                          vote_features)
        points, features, indices = self.vote_aggregation(**inputs)
        results.update(aggregated_points=points, aggregated_features=features,
                       aggregated_indices=indices)
        cls_predictions, reg_predictions = self.conv_pred(features)
        results.update(self.bbox_coder.split_pred(cls_predictions, reg_predictions, points))
        return results

    def multiclass_nms_single(self, obj_scores: Tensor, sem_scores: Tensor, bbox: Tensor,
                              points: Tensor, input_meta: dict) -> Tuple[Tensor, ...]:
        """``VoteHead.multiclass_nms_single`` with the box class's points-in-boxes test
        able to run on CPU."""
        meta = dict(input_meta, box_type_3d=cpu_box_type(input_meta['box_type_3d']))
        return super().multiclass_nms_single(obj_scores, sem_scores, bbox, points, meta)

    def _get_targets_single(self, points: Tensor, gt_bboxes_3d, gt_labels_3d: Tensor,
                            pts_semantic_mask: Optional[Tensor] = None,
                            pts_instance_mask: Optional[Tensor] = None,
                            aggregated_points: Optional[Tensor] = None) -> tuple:
        """``VoteHead._get_targets_single`` with CPU-capable ground-truth boxes (their
        points-in-boxes test gives the vote targets when ``with_rot``)."""
        boxes = cpu_box_type(type(gt_bboxes_3d))(gt_bboxes_3d.tensor,
                                                 box_dim=gt_bboxes_3d.box_dim,
                                                 with_yaw=gt_bboxes_3d.with_yaw)
        return super()._get_targets_single(points, boxes, gt_labels_3d, pts_semantic_mask,
                                           pts_instance_mask, aggregated_points)
