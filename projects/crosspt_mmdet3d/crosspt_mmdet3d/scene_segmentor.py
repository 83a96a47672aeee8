"""mmdet3d's ``EncoderDecoder3D`` trained on batches of whole scenes.

Stock ``EncoderDecoder3D.loss`` stacks the batch's point clouds (``torch.stack``), so every
sample must have the same number of points: mmdet3d's segmentation pipelines crop
fixed-size patches (``IndoorPatchPointSample``).  The sparse-conv protocol of PointContrast
and PPKT trains on whole scenes, whose sizes differ (docs/finetuning.md, 'Whole-scene
segmentation protocol').

:class:`SceneBatchEncoderDecoder3D` hands such a batch to the backbone as a list of scenes
(:class:`~projects.crosspt_mmdet3d.crosspt_mmdet3d.segmentation.SRUNetSegBackbone`
voxelises each scene on its own and returns the points' features concatenated,
``(1, C, sum N_i)``), and the decode head classifies the concatenation against the
concatenated labels.  The head's 1x1 layers act per point and its BatchNorm and mean loss
run over every point of the batch, as on a stacked batch, so the loss equals the stacked
one whenever the stock path applies; a batch of equal-sized samples takes the stock path
unchanged.  Inference is mmdet3d's (one scene at a time).
"""
from typing import Dict, List

import torch
from mmdet3d.models.segmentors import EncoderDecoder3D
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample, PointData
from torch import Tensor

__all__ = ['merge_scene_samples', 'SceneBatchEncoderDecoder3D']


def merge_scene_samples(samples: List[Det3DDataSample]) -> Det3DDataSample:
    """One data sample whose ``gt_pts_seg.pts_semantic_mask`` is the samples' (N_i,)
    masks concatenated in order, (sum N_i,)."""
    masks = []
    for i, sample in enumerate(samples):
        seg = getattr(sample, 'gt_pts_seg', None)
        if seg is None or 'pts_semantic_mask' not in seg:
            raise KeyError(f'SceneBatchEncoderDecoder3D: data sample {i} has no '
                           'gt_pts_seg.pts_semantic_mask (pack it with Pack3DDetInputs('
                           "keys=['points', 'pts_semantic_mask']))")
        masks.append(seg.pts_semantic_mask)
    merged = Det3DDataSample(metainfo=dict(samples[0].metainfo))
    merged.gt_pts_seg = PointData(pts_semantic_mask=torch.cat(masks))
    return merged


@MODELS.register_module()
class SceneBatchEncoderDecoder3D(EncoderDecoder3D):
    """``EncoderDecoder3D`` whose training batch may hold scenes of different sizes
    (module docstring).  The backbone must accept a list of (N_i, 3 + C) scenes and
    return their features concatenated along the points; every other argument is
    ``EncoderDecoder3D``'s."""

    def loss(self, batch_inputs_dict: dict,
             batch_data_samples: List[Det3DDataSample]) -> Dict[str, Tensor]:
        """Losses of a batch; ``batch_inputs_dict['points']`` is a list of (N_i, 3 + C)."""
        points = batch_inputs_dict['points']
        if len({len(p) for p in points}) <= 1:
            return super().loss(batch_inputs_dict, batch_data_samples)
        return self.scene_batch_loss(list(points), batch_data_samples)

    def scene_batch_loss(self, points: List[Tensor],
                         batch_data_samples: List[Det3DDataSample]) -> Dict[str, Tensor]:
        """Losses of B scenes (N_i, 3 + C) of any sizes, classified as one concatenation."""
        for i, (scene, sample) in enumerate(zip(points, batch_data_samples)):
            mask = sample.gt_pts_seg.pts_semantic_mask
            if len(mask) != len(scene):
                raise ValueError(f'SceneBatchEncoderDecoder3D: sample {i} has {len(scene)} '
                                 f'points but {len(mask)} labels '
                                 f"({sample.metainfo.get('lidar_path', '?')})")
        features = self.extract_feat(points)
        merged = [merge_scene_samples(batch_data_samples)]
        losses = self._decode_head_forward_train(features, merged)
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(features, merged))
        if self.with_regularization_loss:
            losses.update(self._loss_regularization_forward_train())
        return losses
