"""3DETR (docs/methods/3detr.md): axis-aligned GIoU, Hungarian matching and losses on
hand-made cases, post-processing pieces, model shapes/gradients on a tiny config, the
masked encoder's radius mask, an overfit sanity run and the default parameter count."""
import math
import time

import pytest
import torch
import torch.nn.functional as F

from crosspt.models.detectors import (ThreeDETRCriterion, ThreeDETRDetector, ThreeDETREncoder,
                                      aligned_box3d_giou, aligned_box3d_iou, aligned_nms_3d,
                                      points_in_boxes_count, radius_attention_mask,
                                      threedetr_post_process, unpack_det_samples)
from crosspt.models.detectors.threedetr import EncoderLayer
from crosspt.models.detectors.threedetr_criterion import angle_to_bin, bin_to_angle
from crosspt.registry import MODELS


@pytest.fixture(autouse=True, scope='module')
def single_thread():
    """Tiny tensors: one intra-op thread is much faster than several on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def box(lo, hi):
    """Axis-aligned box [cx, cy, cz, dx, dy, dz] from min/max corners."""
    lo, hi = torch.tensor(lo, dtype=torch.float64), torch.tensor(hi, dtype=torch.float64)
    return torch.cat([(lo + hi) / 2, hi - lo])


def tiny_detector(num_classes=4, encoder_type='vanilla', dropout=0.1, **kwargs):
    encoder = dict(preenc_npoints=128, preenc_nsample=16, preenc_mlp=(32, 64), enc_dim=64,
                   enc_ffn_dim=64, enc_nhead=4, num_layers=1 if encoder_type == 'vanilla' else 2,
                   enc_dropout=dropout, encoder_type=encoder_type)
    if encoder_type == 'masked':
        encoder.update(masking_radius=(0.8, 1.6), interim_npoints=64, interim_nsample=8,
                       interim_mlp=(64, 64), interim_radius=0.6)
    return ThreeDETRDetector(num_classes=num_classes, encoder=encoder, dec_dim=64,
                             dec_ffn_dim=64, num_decoder_layers=2, nqueries=16,
                             dec_dropout=dropout, head_dropout=dropout * 3, **kwargs)


def scene(seed=0, n=512, offset=(10.0, -3.0, 0.0)):
    """A 4 x 3 x 2 m room shifted by ``offset`` (metres), with two dense boxes."""
    g = torch.Generator().manual_seed(seed)
    off = torch.tensor(offset)
    gt = torch.tensor([[1.0, 1.0, 0.5, 0.8, 0.6, 1.0], [3.0, 2.0, 0.4, 1.0, 1.2, 0.8]])
    bg = torch.rand(n // 2, 3, generator=g) * torch.tensor([4.0, 3.0, 2.0])
    objs = [gt[i, :3] + (torch.rand(n // 4, 3, generator=g) - 0.5) * gt[i, 3:] for i in range(2)]
    pts = torch.cat([bg] + objs) + off
    gt = torch.cat([gt[:, :3] + off, gt[:, 3:]], dim=-1)
    return pts, gt, torch.tensor([1, 3])


# ----------------------------------------------------------------------------- box utils


def test_giou_hand_cases():
    unit = box([0, 0, 0], [1, 1, 1])
    cases = [
        (unit, unit, 1.0),                                                 # identical
        (unit, box([2, 0, 0], [3, 1, 1]), 0.0 - (3 - 2) / 3),              # disjoint in x
        (unit, box([2, 2, 0], [3, 3, 1]), 0.0 - (9 - 2) / 9),              # disjoint in x, y
        (box([0, 0, 0], [2, 2, 2]), box([0.5, 0.5, 0.5], [1.5, 1.5, 1.5]), 1 / 8),  # inside
        (box([0, 0, 0], [2, 1, 1]), box([1, 0, 0], [3, 1, 1]), 1 / 3),     # half overlap
    ]
    a = torch.stack([c[0] for c in cases])
    b = torch.stack([c[1] for c in cases])
    expected = torch.tensor([c[2] for c in cases], dtype=torch.float64)
    assert torch.allclose(aligned_box3d_giou(a, b, pairwise=False), expected, atol=1e-12)
    assert torch.allclose(aligned_box3d_giou(a, b).diagonal(), expected, atol=1e-12)
    assert torch.allclose(aligned_box3d_giou(b, a, pairwise=False), expected, atol=1e-12)
    # IoU: half overlap 1/3, inside 1/8, disjoint 0
    iou = aligned_box3d_iou(a, b, pairwise=False)
    assert torch.allclose(iou, torch.tensor([1, 0, 0, 1 / 8, 1 / 3], dtype=torch.float64))
    # a yaw column is ignored; gradients flow
    a7 = torch.cat([a, torch.ones(5, 1, dtype=torch.float64)], -1).requires_grad_()
    aligned_box3d_giou(a7, b, pairwise=False).sum().backward()
    assert torch.isfinite(a7.grad).all() and a7.grad[:, :6].abs().sum() > 0


def test_angle_bins_round_trip():
    angles = torch.linspace(-math.pi + 1e-3, math.pi, 50, dtype=torch.float64)
    cls, res = angle_to_bin(angles, 12)
    assert (cls >= 0).all() and (cls < 12).all() and (res >= -1).all() and (res < 1).all()
    assert torch.allclose(bin_to_angle(cls, res, 12), angles, atol=1e-9)
    # one bin (ScanNet): angle 0 is bin 0 with zero residual
    cls, res = angle_to_bin(torch.zeros(3), 1)
    assert cls.tolist() == [0, 0, 0] and res.abs().max() == 0


# ----------------------------------------------------------------------------- matcher / losses


def make_outputs(boxes, cls_prob, scene_min, scene_extent, logit_scale=30.0):
    """One decoder layer's outputs from metric boxes (B, Q, 6) and class probabilities
    (B, Q, K + 1) (last = no object), the way the heads parametrise them."""
    logits = torch.log(cls_prob.clamp(min=1e-12)) if logit_scale is None \
        else cls_prob * logit_scale
    prob = cls_prob if logit_scale is None else logits.softmax(-1)
    b, q = boxes.shape[:2]
    return dict(sem_cls_logits=logits, sem_cls_prob=prob[..., :-1],
                objectness_prob=1 - prob[..., -1],
                center_unnormalized=boxes[..., :3], size_unnormalized=boxes[..., 3:6],
                center_normalized=(boxes[..., :3] - scene_min[:, None]) / scene_extent[:, None],
                size_normalized=boxes[..., 3:6] / scene_extent[:, None],
                angle_logits=torch.zeros(b, q, 1, dtype=boxes.dtype),
                angle_residual_normalized=torch.zeros(b, q, 1, dtype=boxes.dtype))


def test_perfect_prediction_recovers_permutation_and_zero_box_losses():
    gt = torch.stack([box([0, 0, 0], [1, 1, 1]), box([2, 0, 0], [3, 2, 1]),
                      box([0, 2, 0.5], [1, 3, 1.5])])
    labels = torch.tensor([2, 0, 1])
    k, q = 3, 5
    perm = {3: 0, 0: 1, 4: 2}                       # query -> GT
    boxes = torch.stack([box([5, 5, 5], [5.5, 5.5, 5.5])] * q)
    cls_prob = torch.zeros(q, k + 1, dtype=torch.float64)
    cls_prob[:, -1] = 1                             # unmatched queries: no object
    for qi, gi in perm.items():
        boxes[qi] = gt[gi]
        cls_prob[qi] = F.one_hot(labels[gi], k + 1).double()
    scene_min, extent = torch.zeros(1, 3, dtype=torch.float64), torch.full((1, 3), 6.0,
                                                                           dtype=torch.float64)
    out = make_outputs(boxes[None], cls_prob[None], scene_min, extent)
    crit = ThreeDETRCriterion(num_classes=k)
    targets = crit.prepare_targets([dict(boxes=gt, labels=labels)], scene_min, extent)
    (qi, gi), = crit.match(out, targets)[0]
    assert qi.tolist() == [0, 3, 4] and gi.tolist() == [1, 0, 2]
    terms = crit.single_layer_losses(out, targets, torch.tensor(3.0, dtype=torch.float64))
    for name in ('center', 'size', 'giou', 'angle_cls', 'angle_reg'):
        assert abs(float(terms[name])) < 1e-9, (name, float(terms[name]))
    assert float(terms['cls']) < 1e-9 and float(terms['cardinality_error']) == 0


def test_matcher_hand_computed_2x2_not_greedy():
    # y, z extents are [0, 1] for every box, so each GIoU is a 1-D interval GIoU in x
    g0, g1 = box([0, 0, 0], [1, 1, 1]), box([-0.5, 0, 0], [1, 1, 1])
    p0, p1 = box([0, 0, 0], [1, 1, 1]), box([0.2, 0, 0], [1.2, 1, 1])
    giou = torch.tensor([[1.0, 1 / 1.5], [0.8 / 1.2, 0.8 / 1.7]], dtype=torch.float64)
    # p(class) incl. no-object column; GT labels (0, 1)
    cls_prob = torch.tensor([[[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]], dtype=torch.float64)
    expected_cost = -2 * giou - torch.tensor([[0.5, 0.5], [1.0, 0.0]], dtype=torch.float64)
    # = [[-2.5, -1.833], [-2.333, -0.941]]: greedy takes (0, 0) first (total -3.44),
    # the optimum is the swap (total -4.17)
    assert expected_cost.argmin() == 0
    assert expected_cost[0, 1] + expected_cost[1, 0] < expected_cost[0, 0] + expected_cost[1, 1]
    scene_min, extent = torch.full((1, 3), -1.0, dtype=torch.float64), \
        torch.full((1, 3), 3.0, dtype=torch.float64)
    out = make_outputs(torch.stack([p0, p1])[None], cls_prob, scene_min, extent,
                       logit_scale=None)
    crit = ThreeDETRCriterion(num_classes=2)
    targets = crit.prepare_targets([dict(boxes=torch.stack([g0, g1]),
                                         labels=torch.tensor([0, 1]))], scene_min, extent)
    pred = torch.stack([p0, p1])
    cost = crit.matcher.cost_matrix(out['sem_cls_prob'][0], out['objectness_prob'][0],
                                    out['center_normalized'][0],
                                    aligned_box3d_giou(pred, targets[0]['boxes']),
                                    targets[0]['labels'], targets[0]['center_normalized'])
    assert torch.allclose(cost, expected_cost, atol=1e-12)
    (qi, gi), = crit.match(out, targets)[0]
    assert qi.tolist() == [0, 1] and gi.tolist() == [1, 0]
    # a centre cost changes the cost by exactly weight x L1 distance of normalised centres
    crit_c = ThreeDETRCriterion(num_classes=2, matcher=dict(cost_center=0.5))
    cost_c = crit_c.matcher.cost_matrix(out['sem_cls_prob'][0], out['objectness_prob'][0],
                                        out['center_normalized'][0],
                                        aligned_box3d_giou(pred, targets[0]['boxes']),
                                        targets[0]['labels'], targets[0]['center_normalized'])
    l1 = (out['center_normalized'][0][:, None] - targets[0]['center_normalized'][None]).abs()
    assert torch.allclose(cost_c - cost, 0.5 * l1.sum(-1), atol=1e-12)


def random_layer(seed, b=2, q=6, k=3, n_bins=1):
    g = torch.Generator().manual_seed(seed)
    scene_min, extent = torch.zeros(b, 3), torch.full((b, 3), 4.0)
    boxes = torch.cat([torch.rand(b, q, 3, generator=g) * 4,
                       torch.rand(b, q, 3, generator=g) + 0.2], -1)
    logits = torch.randn(b, q, k + 1, generator=g)
    out = make_outputs(boxes, logits.softmax(-1), scene_min, extent, logit_scale=None)
    out['sem_cls_logits'] = logits
    out['angle_logits'] = torch.randn(b, q, n_bins, generator=g)
    out['angle_residual_normalized'] = torch.randn(b, q, n_bins, generator=g)
    return out, scene_min, extent


def test_loss_weights_scale_only_their_term_and_layers_sum():
    targets = [dict(boxes=torch.tensor([[1.0, 1, 1, 1, 1, 1], [3, 3, 1, 0.5, 0.5, 0.5]]),
                    labels=torch.tensor([0, 2])),
               dict(boxes=torch.tensor([[2.0, 2, 2, 1, 2, 1, 0]]), labels=torch.tensor([1]))]
    layers = [random_layer(s)[0] for s in range(3)]
    _, scene_min, extent = random_layer(0)
    base = ThreeDETRCriterion(num_classes=3, log_per_layer=True)(layers, targets, scene_min,
                                                                 extent)
    defaults = dict(cls=1.0, center=5.0, size=1.0, giou=1.0, angle_cls=0.1, angle_reg=0.5)
    # totals = sum over layers of weight x per-layer term
    for name, w in defaults.items():
        per_layer = sum(base[f'd{i}.{name}'] for i in range(3))
        assert torch.allclose(base[f'loss_{name}'], w * per_layer, rtol=1e-5, atol=1e-7)
        assert name == 'angle_cls' or float(base[f'loss_{name}']) > 0
    for name in defaults:
        scaled = ThreeDETRCriterion(num_classes=3, loss_weights={name: defaults[name] * 3})(
            layers, targets, scene_min, extent)
        for other in defaults:
            factor = 3.0 if other == name else 1.0
            assert torch.allclose(scaled[f'loss_{other}'], factor * base[f'loss_{other}'],
                                  rtol=1e-6, atol=1e-8), (name, other)
    with pytest.raises(KeyError):
        ThreeDETRCriterion(loss_weights=dict(centre=1.0))


def test_class_loss_no_object_weight_and_num_boxes_normalisation():
    crit = ThreeDETRCriterion(num_classes=2)
    scene_min, extent = torch.zeros(1, 3, dtype=torch.float64), torch.ones(1, 3,
                                                                         dtype=torch.float64)
    gt = box([0.1, 0.1, 0.1], [0.5, 0.5, 0.5])
    pred = torch.stack([gt, box([0.6, 0.6, 0.6], [0.9, 0.9, 0.9])])
    logits = torch.tensor([[[2.0, 0.0, 1.0], [0.5, 0.3, -1.0]]], dtype=torch.float64)
    out = make_outputs(pred[None], logits.softmax(-1), scene_min, extent, logit_scale=None)
    out['sem_cls_logits'] = logits
    losses = crit([out], [dict(boxes=gt[None], labels=torch.tensor([0]))], scene_min, extent)
    ls = logits[0].log_softmax(-1)
    # query 0 matched to class 0 (weight 1), query 1 -> no object (weight 0.25)
    expected = (-ls[0, 0] * 1.0 - ls[1, 2] * 0.25) / 1.25
    assert torch.allclose(losses['loss_cls'], expected)
    # two scenes, 3 GT: the centre loss is the summed L1 over matched pairs / 3
    out2, smin, ext = random_layer(3, b=2, q=4, k=2)
    targets = [dict(boxes=torch.tensor([[1.0, 1, 1, 1, 1, 1], [2, 2, 2, 1, 1, 1]]),
                    labels=torch.tensor([0, 1])),
               dict(boxes=torch.tensor([[3.0, 1, 1, 1, 1, 1]]), labels=torch.tensor([1]))]
    prepared = crit.prepare_targets(targets, smin, ext)
    indices = crit.match(out2, prepared)[0]
    total = sum((out2['center_normalized'][b, qi] - prepared[b]['center_normalized'][gi])
                .abs().sum() for b, (qi, gi) in enumerate(indices))
    losses2 = crit([out2], targets, smin, ext)
    assert torch.allclose(losses2['loss_center'], 5.0 * total / 3, rtol=1e-6)
    # no GT at all: only the class loss is non-zero, the rest are exact zeros
    empty = crit([out2], [dict(boxes=torch.zeros(0, 6), labels=torch.zeros(0, dtype=torch.long))]
                 * 2, smin, ext)
    assert float(empty['loss_cls']) > 0
    assert all(float(empty[f'loss_{n}']) == 0 for n in ('center', 'size', 'giou', 'angle_reg'))
    with pytest.raises(ValueError, match='rotated boxes'):
        crit([out2], [dict(boxes=torch.tensor([[1.0, 1, 1, 1, 1, 1, 0.3]]),
                           labels=torch.tensor([0]))] * 2, smin, ext)


# ----------------------------------------------------------------------------- post-processing


def test_points_in_boxes_nms_and_post_process():
    pts = torch.tensor([[0.1, 0.0, 0.0], [0.9, 0.0, 0.0], [0.0, 0.3, 0.0], [2.0, 2.0, 2.0]])
    boxes = torch.tensor([[0.0, 0.0, 0.0, 2.0, 1.0, 1.0, 0.0],          # holds points 0, 1, 2
                          [0.0, 0.0, 0.0, 2.0, 1.0, 1.0, math.pi / 2],  # long along y: 0, 2
                          [2.0, 2.0, 2.0, 0.1, 0.1, 0.1, 0.0]])         # point 3
    assert points_in_boxes_count(pts, boxes).tolist() == [3, 2, 1]

    b = torch.stack([box([0, 0, 0], [1, 1, 1]), box([0.1, 0, 0], [1.1, 1, 1]),
                     box([0.1, 0, 0], [1.1, 1, 1]), box([5, 5, 5], [6, 6, 6]),
                     box([0.8, 0, 0], [1.8, 1, 1])]).float()
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.95])
    labels = torch.tensor([0, 0, 1, 0, 0])
    # IoU(0, 1) = 0.9 / 1.1 > 0.25 -> 1 suppressed; 2 is another class; 4 overlaps 0 by 0.2/1.8
    assert aligned_nms_3d(b, scores, 0.25, labels).tolist() == [4, 0, 2, 3]
    assert aligned_nms_3d(b, scores, 0.25).tolist() == [4, 0, 3]

    # post-processing: 3 queries, K = 2; query 2 is empty, query 1 has low objectness
    cloud = torch.rand(200, 3) * 2
    qboxes = torch.tensor([[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
                           [0.5, 0.5, 0.5, 0.6, 0.6, 0.6, 0.0],
                           [9.0, 9.0, 9.0, 1.0, 1.0, 1.0, 0.0]])
    prob = torch.tensor([[0.6, 0.2], [0.5, 0.3], [0.9, 0.05]])
    obj = torch.tensor([0.8, 0.04, 0.95])
    res = threedetr_post_process(qboxes, prob, obj, cloud)
    assert res['boxes'].shape == (2, 7) and res['labels'].tolist() == [0, 1]
    assert torch.allclose(res['scores'], torch.tensor([0.6 * 0.8, 0.2 * 0.8]))
    res = threedetr_post_process(qboxes, prob, obj, cloud, dict(per_class_proposal=False))
    assert res['labels'].tolist() == [0] and torch.allclose(res['scores'], obj[:1])
    # every box empty -> the most confident one survives
    res = threedetr_post_process(qboxes[2:], prob[2:], obj[2:], cloud,
                                 dict(per_class_proposal=False))
    assert len(res['boxes']) == 1 and float(res['scores'][0]) == pytest.approx(0.95)


def test_unpack_formats():
    class Boxes:  # mmdet3d-style: .tensor stores the bottom centre
        def __init__(self, t):
            self.tensor = t

        @property
        def gravity_center(self):
            return torch.cat([self.tensor[:, :2], self.tensor[:, 2:3] + self.tensor[:, 5:6] / 2],
                             -1)

    class Inst:
        def __init__(self):
            self.bboxes_3d = Boxes(torch.tensor([[1.0, 2.0, 0.0, 1.0, 1.0, 2.0, 0.0]]))
            self.labels_3d = torch.tensor([4])

    class Sample:
        gt_instances_3d = Inst()

    plain = dict(gt_bboxes=torch.tensor([[1.0, 2.0, 1.0, 1.0, 1.0, 2.0]]), gt_labels=[4])
    a, b = unpack_det_samples([plain, Sample()], 'cpu')
    assert torch.equal(a['boxes'], b['boxes']) and a['boxes'].shape == (1, 7)
    assert torch.equal(a['labels'], b['labels']) and a['labels'].dtype == torch.long
    empty, = unpack_det_samples([dict(gt_bboxes=torch.zeros(0, 6), gt_labels=[])], 'cpu')
    assert empty['boxes'].shape == (0, 7)
    with pytest.raises(KeyError):
        unpack_det_samples([dict(points=1)], 'cpu')


# ----------------------------------------------------------------------------- model


def test_tiny_model_loss_backward_and_gradients():
    torch.manual_seed(0)
    model = tiny_detector()
    pts, gt, labels = scene()
    pts2, gt2, labels2 = scene(seed=1)
    samples = [dict(gt_bboxes=gt, gt_labels=labels), dict(gt_bboxes=gt2[:1], gt_labels=labels2[:1])]
    data = model.data_preprocessor(dict(inputs=dict(points=[pts, pts2]), data_samples=samples),
                                   training=True)
    losses = model(**data, mode='loss')
    names = {f'loss_{n}' for n in ('cls', 'center', 'size', 'giou', 'angle_cls', 'angle_reg')}
    assert names <= set(losses) and all(torch.isfinite(losses[n]) for n in names)
    total = sum(losses[n] for n in names)
    total.backward()
    assert all(p.grad is not None for p in model.parameters())
    zero = {n for n, p in model.named_parameters() if float(p.grad.abs().sum()) == 0}
    # Structural zeros at initialisation: the decoder input is zeros, so layer 0's
    # self-attention sees identical tokens (LN(0) = beta = 0, in-proj bias 0), and with one
    # angle bin the angle cross-entropy is identically 0.
    allowed = {'decoder.layers.0.self_attn.in_proj_weight',
               'decoder.layers.0.self_attn.out_proj.weight',
               'decoder.layers.0.norm1.weight', 'decoder.layers.0.norm2.weight'}
    assert all(n in allowed or n.startswith('heads.angle_cls.') for n in zero), zero
    # the Fourier matrix is a saved, non-trainable buffer
    sd = model.state_dict()
    assert sd['pos_embedding.gauss_B'].shape == (3, 32)
    assert 'pos_embedding.gauss_B' not in dict(model.named_parameters())
    assert torch.equal(tiny_detector().pos_embedding.gauss_B, model.pos_embedding.gauss_B)


def test_tensor_and_predict_in_metres():
    torch.manual_seed(0)
    model = tiny_detector().eval()
    pts, gt, labels = scene()
    batch = torch.stack([pts, scene(seed=2)[0]])
    out = model(dict(points=batch), mode='tensor')
    assert out['sem_cls_logits'].shape == (2, 2, 16, 5)
    assert out['center_unnormalized'].shape == (2, 2, 16, 3)
    assert out['angle_continuous'].abs().max() == 0
    assert out['encoder_xyz'].shape == (2, 128, 3)
    assert torch.equal(out['encoder_xyz'], torch.stack([batch[b, out['encoder_inds'][b], :3]
                                                        for b in range(2)]))
    preds = model(dict(points=batch), [dict(gt_bboxes=gt, gt_labels=labels)] * 2, mode='predict')
    assert len(preds) == 2
    for b, pred in enumerate(preds):
        lo, hi = batch[b].min(0).values, batch[b].max(0).values
        boxes = pred['boxes']
        assert boxes.shape[-1] == 7 and len(boxes) > 0
        assert len(boxes) == len(pred['scores']) == len(pred['labels'])
        assert (boxes[:, :3] >= lo - 0.5).all() and (boxes[:, :3] <= hi + 0.5).all()
        assert (boxes[:, 3:6] > 0).all() and (boxes[:, 3:6] <= hi - lo).all()
        assert (pred['labels'] >= 0).all() and (pred['labels'] < 4).all()
        assert (pred['scores'] >= 0).all() and (pred['scores'] <= 1).all()
        assert (points_in_boxes_count(batch[b], boxes) >= 5).all()


def test_radius_attention_mask_brute_force():
    g = torch.Generator().manual_seed(0)
    xyz = torch.rand(2, 40, 3, generator=g) * 2
    mask = radius_attention_mask(xyz, 0.7)
    for b in range(2):
        for i in range(40):
            for j in range(40):
                d = math.sqrt(sum((float(xyz[b, i, c]) - float(xyz[b, j, c])) ** 2
                                  for c in range(3)))
                if abs(d - 0.7) > 1e-5:
                    assert bool(mask[b, i, j]) == (d >= 0.7)
    assert not mask.diagonal(dim1=1, dim2=2).any()
    # the masked layer ignores tokens outside the radius and sees those inside
    layer = EncoderLayer(16, 4, 32, 0.0).eval()
    x = torch.randn(1, 40, 16, generator=g)
    m = mask[:1].repeat_interleave(4, 0)
    base = layer(x, m)
    i = 0
    far = int(mask[0, i].nonzero()[0])
    near = int((~mask[0, i]).nonzero()[-1])
    assert near != i
    for j, changes in ((far, False), (near, True)):
        x2 = x.clone()
        x2[0, j] += torch.randn(16, generator=g)      # not a constant shift: LN removes it
        assert torch.allclose(layer(x2, m)[0, i], base[0, i], atol=1e-6) != changes


def test_masked_encoder_variant_and_standalone_encoder(tmp_path):
    torch.manual_seed(0)
    model = tiny_detector(encoder_type='masked')
    assert [len(m) for m in (model.encoder_to_decoder,)] == [2]     # hidden [256] -> 2 convs
    pts, gt, labels = scene()
    losses = model(dict(points=pts[None]), [dict(gt_bboxes=gt, gt_labels=labels)], mode='loss')
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert model.encoder.interim_downsample.mlp[0].conv.weight.grad.abs().sum() > 0
    enc = model.encoder.eval()
    xyz, feats, inds = enc(pts[None])
    assert xyz.shape == (1, 64, 3) and feats.shape == (1, 64, 64) and inds.shape == (1, 64)
    assert torch.equal(xyz[0], pts[inds[0]])

    # the encoder alone, with colour channels, as a registered backbone
    backbone = MODELS.build(dict(type='ThreeDETREncoder', in_channels=3, preenc_npoints=64,
                                 preenc_nsample=8, preenc_mlp=(16, 32), enc_dim=32,
                                 enc_ffn_dim=32, num_layers=2, output_format='dict'))
    out = backbone(torch.cat([pts, torch.rand_like(pts)], -1)[None])
    assert out['features'].shape == (1, 64, 32) and out['global_features'].shape == (1, 32)
    # a TAP-style checkpoint with 'backbone.' keys loads into the detector's encoder
    ckpt = tmp_path / 'tap.pth'
    src = ThreeDETREncoder(preenc_npoints=128, preenc_nsample=16, preenc_mlp=(32, 64),
                           enc_dim=64, enc_ffn_dim=64, num_layers=1)
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in src.state_dict().items()}), ckpt)
    det = ThreeDETRDetector(num_classes=4, encoder=dict(
        preenc_npoints=128, preenc_nsample=16, preenc_mlp=(32, 64), enc_dim=64, enc_ffn_dim=64,
        num_layers=1, init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                                    prefix='backbone.')),
        dec_dim=64, dec_ffn_dim=64, num_decoder_layers=2, nqueries=16)
    det.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(det.encoder.state_dict()[k], v), k


def test_overfit_one_scene():
    torch.manual_seed(0)
    model = tiny_detector(num_classes=4, dropout=0.0)
    pts, gt, labels = scene()
    inputs, samples = dict(points=pts[None]), [dict(gt_bboxes=gt, gt_labels=labels)]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.time()
    history = []
    for _ in range(150):
        losses = model(inputs, samples, mode='loss')
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        opt.zero_grad()
        total.backward()
        opt.step()
        history.append(total.item())
    elapsed = time.time() - start
    print(f'overfit: total loss {history[0]:.3f} -> {history[-1]:.3f} in {elapsed:.1f} s')
    assert history[-1] < 0.25 * history[0]
    model.eval()
    out = model(inputs, mode='tensor')
    # the two GT boxes are found by the final layer: some query has GIoU > 0.5 with each
    pred = torch.cat([out['center_unnormalized'][-1, 0], out['size_unnormalized'][-1, 0]], -1)
    assert (aligned_box3d_giou(pred, gt).max(0).values > 0.5).all()


# ----------------------------------------------------------------------------- parameter count


def analytic_count(num_classes=18, enc='vanilla', c_in=0):
    """Parameters from the layers of docs/methods/3detr.md, 'Model' (convs followed by BN
    have no bias; BN/LN: weight + bias; nn.MultiheadAttention: in-proj 3 d^2 + 3 d,
    out-proj d^2 + d)."""
    d, n_dec = 256, 8

    def conv_bn(i, o):
        return i * o + 2 * o

    def attn(dim):
        return 3 * dim * dim + 3 * dim + dim * dim + dim

    def ffn(dim, hid):
        return dim * hid + hid + hid * dim + dim

    total = conv_bn(3 + c_in, 64) + conv_bn(64, 128) + conv_bn(128, 256)        # pre-encoder
    total += 3 * (attn(d) + ffn(d, 128) + 2 * 2 * d)                           # encoder
    if enc == 'masked':
        total += conv_bn(256 + 3, 256) + 2 * conv_bn(256, 256)                  # interim SA
        total += 2 * conv_bn(256, 256)                                          # projection
    else:
        total += 3 * conv_bn(256, 256)
    total += 2 * (d * d + d)                                                    # query MLP
    total += n_dec * (2 * attn(d) + ffn(d, 256) + 3 * 2 * d) + 2 * d            # decoder
    for out in (num_classes + 1, 3, 3, 1, 1):                                  # heads
        total += 2 * conv_bn(d, d) + d * out + out
    return total


def test_default_parameter_count():
    vanilla = sum(p.numel() for p in ThreeDETRDetector(num_classes=18).parameters())
    masked = sum(p.numel() for p in ThreeDETRDetector(
        num_classes=18, encoder=dict(encoder_type='masked', enc_dropout=0.3)).parameters())
    print(f'3DETR params: vanilla {vanilla:,}, masked {masked:,}')
    assert vanilla == analytic_count() == 7_305_691
    assert masked == analytic_count(enc='masked') == 7_438_555
