"""SceneBatchEncoderDecoder3D trains on a batch of whole scenes of different sizes
(projects/crosspt_mmdet3d/crosspt_mmdet3d/scene_segmentor.py).

Reference: each scene through the stock stacked path alone ((1, N_i, 6) tensors), the
per-point cross entropy of all scenes summed by hand and divided by the total point
count (mmdet's mean over every element, ignored points counting 0).  BatchNorm runs on
its running statistics (eval mode), so scenes do not interact and the reference is exact.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmdet3d.models')

from mmengine.registry import DefaultScope  # noqa: E402
from mmdet3d.registry import MODELS  # noqa: E402
from mmdet3d.structures import Det3DDataSample, PointData  # noqa: E402

import projects.crosspt_mmdet3d.crosspt_mmdet3d  # noqa: E402,F401  (registers)

NUM_CLASSES = 4


def build_model():
    cfg = dict(
        type='SceneBatchEncoderDecoder3D',
        backbone=dict(type='SRUNetSegBackbone', voxel_size=0.2, in_channels=3,
                      stem_channels=8, planes=(8,) * 8, layers=(1,) * 8),
        decode_head=dict(type='PointFeatureSegHead', in_channels=8, channels=8,
                         num_classes=NUM_CLASSES, dropout_ratio=0.0,
                         loss_decode=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=False,
                                          loss_weight=1.0)),
        train_cfg=dict(), test_cfg=dict(mode='whole'))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def scene(n: int, seed: int):
    rng = np.random.default_rng(seed)
    points = np.concatenate([rng.uniform(0, 2.0, (n, 3)), rng.uniform(0, 1, (n, 3))], 1)
    labels = rng.integers(0, NUM_CLASSES + 1, n)      # NUM_CLASSES = ignore
    sample = Det3DDataSample()
    sample.gt_pts_seg = PointData(pts_semantic_mask=torch.from_numpy(labels))
    return torch.from_numpy(points).float(), sample


def test_ragged_batch_loss_equals_per_scene_reference():
    model = build_model()
    scenes = [scene(300, 1), scene(457, 2), scene(120, 3)]
    points = [p for p, _ in scenes]
    samples = [s for _, s in scenes]
    with torch.no_grad():
        loss = model.loss(dict(points=points), samples)['decode.loss_sem_seg']
        total, count = 0.0, 0
        for p, s in scenes:
            logits = model.decode_head(model.backbone(p.unsqueeze(0)))   # (1, K, N)
            labels = s.gt_pts_seg.pts_semantic_mask
            total += F.cross_entropy(logits[0].t(), labels, ignore_index=NUM_CLASSES,
                                     reduction='sum').item()
            count += len(labels)
    assert loss.item() == pytest.approx(total / count, rel=1e-5)


def test_backbone_scene_list_equals_one_scene_at_a_time():
    model = build_model()
    points = [scene(300, 1)[0], scene(200, 2)[0]]
    with torch.no_grad():
        joint = model.backbone(points)['point_features']               # (1, C, 500)
        alone = [model.backbone(p.unsqueeze(0))['point_features'][0] for p in points]
    assert joint.shape == (1, 8, 500)
    torch.testing.assert_close(joint[0], torch.cat(alone, dim=1), atol=1e-5, rtol=1e-5)


def test_concatenated_batch_equals_the_stacked_one_in_training():
    """Equal sizes in train mode (batch statistics): the concatenated path gives the
    stock stacked loss and the same gradients."""
    scenes = [scene(200, 4), scene(200, 5)]
    points, samples = [p for p, _ in scenes], [s for _, s in scenes]
    results = []
    for path in ('stock', 'concatenated'):
        model = build_model().train()
        if path == 'stock':
            loss = model.loss(dict(points=points), samples)['decode.loss_sem_seg']
        else:
            loss = model.scene_batch_loss(points, samples)['decode.loss_sem_seg']
        loss.backward()
        results.append((loss.detach(), {n: p.grad.clone() for n, p in
                                        model.named_parameters() if p.grad is not None}))
    (stock, stock_grads), (joint, joint_grads) = results
    torch.testing.assert_close(joint, stock, atol=1e-6, rtol=1e-5)
    assert stock_grads.keys() == joint_grads.keys() and len(stock_grads) > 10
    for name, grad in stock_grads.items():
        torch.testing.assert_close(joint_grads[name], grad, atol=1e-5, rtol=1e-4, msg=name)


def test_label_count_mismatch_names_the_sample():
    model = build_model()
    (p1, s1), (p2, s2) = scene(100, 1), scene(150, 2)
    s2.gt_pts_seg = PointData(pts_semantic_mask=torch.zeros(149, dtype=torch.long))
    s2.set_metainfo(dict(lidar_path='scene_b.bin'))
    with pytest.raises(ValueError, match=r'sample 1 has 150 points but 149 labels.*scene_b'):
        model.loss(dict(points=[p1, p2]), [s1, s2])
