"""PointMLP part segmentation: backbone (layer table, levels, pretrained keys, 3-NN
propagation, equivariance, category input), losses (hand-worked), head and segmentor."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from crosspt.evaluation.part_seg_metric import SHAPENETPART_PARTS, PartSegMIoU
from crosspt.models.backbones import PointMLP
from crosspt.models.backbones.pointmlp_partseg import FeaturePropagation, PointMLPPartSeg
from crosspt.models.segmentors import (PartSegHead, PointCrossEntropyLoss, Poly1FocalLoss,
                                       PointPartSegmentor, refine_part_labels)
from crosspt.registry import MODELS

SMALL = dict(type='PointMLPPartSeg', embed_dims=16, res_expansion=0.5,
             pre_blocks=(1, 1, 1, 1), pos_blocks=(1, 1, 1, 1), k_neighbors=(8, 8, 8, 8),
             de_dims=(64, 32, 32, 32), de_blocks=(1, 1, 1, 1), gmp_dim=16, cls_dim=16)
SMALL_HEAD = dict(type='PartSegHead', in_channels=32 + 16 + 16, num_classes=50)
PARTS = list(SHAPENETPART_PARTS.values())


@pytest.fixture(autouse=True)
def single_thread():
    """The many tiny per-group convs run far faster on one thread (and do not stall
    when the 2 cores are shared); the previous setting is restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def count(module):
    return sum(p.numel() for p in module.parameters())


def cloud(b, n, generator, channels=6):
    points = torch.rand(b, n, 3, generator=generator) * 2 - 1
    normals = torch.nn.functional.normalize(torch.randn(b, n, 3, generator=generator), dim=-1)
    return points, torch.cat([points, normals], dim=-1)[..., :channels]


# ---------------------------------------------------------------- backbone

def conv_bn(cin, cout):            # 1x1 conv without bias + BN (weight, bias)
    return cin * cout + 2 * cout


def res_block(c, expansion=1.0):   # conv-BN-act-conv-BN
    h = int(c * expansion)
    return conv_bn(c, h) + conv_bn(h, c)


def layer_table_count(in_ch=6, embed=64, stages=4, blocks=2, de_dims=(512, 256, 128, 128),
                      de_blocks=(4, 4, 4, 4), gmp=64, cls=64, categories=16, parts=50):
    """Default PointMLPPartSeg + PartSegHead, layer by layer (docs/methods/tap.md,
    'ShapeNetPart fine-tuning')."""
    enc = [embed * 2 ** i for i in range(stages + 1)]           # 64 128 256 512 1024
    total = conv_bn(in_ch, embed)                               # embedding
    for c, out in zip(enc[:-1], enc[1:]):
        total += 2 * c                                          # affine alpha, beta
        total += conv_bn(2 * c, out)                            # transfer
        total += 2 * blocks * res_block(out)                    # pre + pos blocks
    coarse = enc[-1]
    for skip, de, nb in zip(reversed(enc[:-1]), de_dims, de_blocks):
        total += conv_bn(skip + coarse, de) + nb * res_block(de)  # fuse + residual blocks
        coarse = de
    total += sum(conv_bn(c, gmp) for c in enc) + conv_bn(gmp * len(enc), gmp)
    total += conv_bn(categories, cls) + conv_bn(cls, cls)
    head = conv_bn(de_dims[-1] + gmp + cls, 128) + 128 * parts + parts
    return total, head


def test_parameter_count_from_layer_table():
    backbone = PointMLPPartSeg()
    head = PartSegHead()
    expected_backbone, expected_head = layer_table_count()
    assert backbone.out_channels == 256 and head.in_channels == 256
    assert count(backbone) == expected_backbone == 16_683_136
    assert count(head) == expected_head == 39_474
    assert count(backbone) + count(head) == 16_722_610
    # fuse conv counted as one of the de_blocks: one residual block fewer per step
    fewer = PointMLPPartSeg(de_blocks_include_fuse=True)
    assert count(backbone) - count(fewer) == sum(res_block(d) for d in (512, 256, 128, 128))


def test_levels_shapes_default_config():
    torch.manual_seed(0)
    model = PointMLPPartSeg().eval()
    points, feats = cloud(2, 256, torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model(points, feats, torch.tensor([0, 15]))
    assert [tuple(x.shape) for x in out['encoder_points']] == \
        [(2, n, 3) for n in (256, 128, 64, 32, 16)]
    assert [tuple(x.shape) for x in out['encoder_features']] == \
        [(2, 256, 64), (2, 128, 128), (2, 64, 256), (2, 32, 512), (2, 16, 1024)]
    assert [tuple(x.shape) for x in out['decoder_features']] == \
        [(2, 32, 512), (2, 64, 256), (2, 128, 128), (2, 256, 128)]
    assert out['global_context'].shape == (2, 64) and out['category_features'].shape == (2, 64)
    assert out['point_features'].shape == (2, 256, 256)
    # each level's anchors are points of the finer level
    for fine, coarse in zip(out['encoder_points'][:-1], out['encoder_points'][1:]):
        assert (coarse[:, :, None] == fine[:, None]).all(-1).any(-1).all()
    # the output is [last decoder level, broadcast global context, broadcast category]
    pf = out['point_features']
    torch.testing.assert_close(pf[..., :128], out['decoder_features'][-1])
    torch.testing.assert_close(pf[..., 128:192], out['global_context'][:, None].expand(-1, 256, -1))
    torch.testing.assert_close(pf[..., 192:], out['category_features'][:, None].expand(-1, 256, -1))


def test_tap_pretrained_pointmlp_keys_load_into_encoder():
    pretrained = PointMLP(in_channels=4).state_dict()        # TAP: xyz + height
    model = PointMLPPartSeg()
    own = model.state_dict()
    encoder_prefixes = ('embedding.', 'local_grouper_list.', 'pre_blocks_list.',
                        'pos_blocks_list.')
    encoder_keys = {k for k in own if k.startswith(encoder_prefixes)}
    assert set(pretrained) == encoder_keys
    mismatched = [k for k in pretrained if pretrained[k].shape != own[k].shape]
    assert mismatched == ['embedding.net.0.weight']
    assert own['embedding.net.0.weight'].shape == (64, 6, 1)
    state = {k: v for k, v in pretrained.items() if k != 'embedding.net.0.weight'}
    result = model.load_state_dict(state, strict=False)
    assert result.unexpected_keys == []
    # (torch does not report missing BN ``num_batches_tracked`` buffers)
    expected_missing = {k for k in set(own) - encoder_keys if 'num_batches_tracked' not in k}
    assert set(result.missing_keys) == expected_missing | {'embedding.net.0.weight'}
    for key in ('pos_blocks_list.3.operation.1.net2.0.weight', 'local_grouper_list.2.affine_alpha',
                'pre_blocks_list.0.transfer.net.1.running_var'):
        assert torch.equal(model.state_dict()[key], pretrained[key])


def brute_force_interpolate(fine, coarse, feats, squared):
    out = np.zeros((len(fine), feats.shape[1]))
    for i, p in enumerate(fine):
        d2 = ((coarse - p) ** 2).sum(-1)
        near = np.argsort(d2)[:3]
        d = d2[near] if squared else np.sqrt(d2[near])
        w = 1.0 / (d + 1e-8)
        out[i] = (w[:, None] * feats[near]).sum(0) / w.sum()
    return out


@pytest.mark.parametrize('distance', ['squared', 'euclidean'])
@pytest.mark.parametrize('num_coarse', [5, 2, 1])
def test_three_nn_propagation_matches_brute_force(distance, num_coarse):
    rng = np.random.default_rng(num_coarse)
    fine = rng.uniform(-1, 1, (7, 3))
    coarse = rng.uniform(-1, 1, (num_coarse, 3))
    feats = rng.normal(size=(num_coarse, 2))
    step = FeaturePropagation(4, 8, 1, 1.0, False, 'relu', distance)
    got = step.interpolate(*(torch.from_numpy(a)[None] for a in (fine, coarse, feats)))
    np.testing.assert_allclose(got[0].numpy(), brute_force_interpolate(
        fine, coarse, feats, distance == 'squared'), rtol=1e-10, atol=1e-12)


def test_permutation_equivariance_in_eval_mode():
    torch.manual_seed(0)
    model = MODELS.build(SMALL).eval()
    gen = torch.Generator().manual_seed(1)
    points, feats = cloud(2, 128, gen)
    # FPS starts at point 0, so the permutation keeps point 0 in place
    perm = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.randperm(127, generator=gen)])
    category = torch.tensor([3, 7])
    with torch.no_grad():
        ref = model(points, feats, category)['point_features']
        out = model(points[:, perm], feats[:, perm], category)['point_features']
    torch.testing.assert_close(out, ref[:, perm], rtol=1e-4, atol=1e-5)


def test_category_one_hot_changes_output():
    torch.manual_seed(0)
    model = MODELS.build(SMALL).eval()
    points, feats = cloud(2, 64, torch.Generator().manual_seed(2))
    with torch.no_grad():
        a = model(points, feats, torch.tensor([0, 0]))['point_features']
        b = model(points, feats, torch.tensor([5, 0]))['point_features']
    torch.testing.assert_close(a[..., :48], b[..., :48])      # decoder + global context
    torch.testing.assert_close(a[1], b[1])                     # other cloud unchanged
    assert (a[0, :, 48:] - b[0, :, 48:]).abs().max() > 1e-3   # category branch differs
    with pytest.raises(ValueError, match=r'category ids must lie in \[0, 16\)'):
        model(points, feats, torch.tensor([0, 16]))
    with pytest.raises(ValueError, match='category must be an integer tensor'):
        model(points, feats, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r'features must be \(B, N, 6\)'):
        model(points, feats[..., :4], torch.tensor([0, 1]))


# ---------------------------------------------------------------- losses and head

def test_poly1_focal_loss_hand_worked():
    # 3 points x 2 classes, labels [0, 1, 0]; sigmoid(ln 3) = 3/4, sigmoid(0) = 1/2,
    # sigmoid(-ln 3) = 1/4.  Per element alpha_t (1-p_t)^2 BCE + (1-p_t)^3:
    #   (0,0) y=1 p=3/4: .25 * (1/4)^2 * ln(4/3) + (1/4)^3
    #   (0,1) y=0 p=1/2: .75 * (1/2)^2 * ln 2    + (1/2)^3      (1,0) the same
    #   (1,1) y=1 p=1/4: .25 * (3/4)^2 * ln 4    + (3/4)^3      (2,0) the same
    #   (2,1) y=0 p=3/4: .75 * (3/4)^2 * ln 4    + (3/4)^3
    # sum = ln(4/3)/64 + (3/8 + 9/16 + 27/32) ln 2 + (1 + 16 + 81)/64
    #     = ln(4/3)/64 + 57/32 ln 2 + 49/32 = 2.770413; mean over 6 elements = 0.461736
    ln3 = math.log(3)
    logits = torch.tensor([[ln3, 0.0], [0.0, -ln3], [-ln3, ln3]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 0])
    expected = (math.log(4 / 3) / 64 + 57 / 32 * math.log(2) + 49 / 32) / 6
    assert expected == pytest.approx(0.461736, abs=1e-6)
    loss = Poly1FocalLoss()(logits, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    summed = Poly1FocalLoss(reduction='sum')(logits[None], labels[None])   # (B, N, K) input
    assert summed.item() == pytest.approx(6 * expected, rel=1e-12)
    assert Poly1FocalLoss(reduction='none')(logits, labels).shape == (3, 2)
    # without alpha weighting the BCE terms are unweighted
    no_alpha = (math.log(4 / 3) / 16 + 2 * math.log(2) / 4 + 3 * 9 / 16 * math.log(4) + 49 / 32)
    assert Poly1FocalLoss(alpha=-1)(logits, labels).item() == pytest.approx(no_alpha / 6)


def test_poly1_focal_loss_on_log_softmax_hand_worked():
    # TAP's quirk: log_softmax([5, 5]) = [-ln 2, -ln 2], sigmoid(-ln 2) = 1/3; label 0:
    #   (0,0) y=1: .25 * (2/3)^2 * ln 3   + (2/3)^3
    #   (0,1) y=0: .75 * (1/3)^2 * ln 3/2 + (1/3)^3
    # mean = (ln 3 / 9 + ln(3/2) / 12 + 9/27) / 2 = 0.244595
    logits = torch.tensor([[5.0, 5.0]], dtype=torch.float64)
    expected = (math.log(3) / 9 + math.log(1.5) / 12 + 1 / 3) / 2
    assert expected == pytest.approx(0.244595, abs=1e-6)
    quirk = Poly1FocalLoss(input='log_softmax')(logits, torch.tensor([0]))
    assert quirk.item() == pytest.approx(expected, rel=1e-12)
    plain = Poly1FocalLoss(input='logits')(logits, torch.tensor([0]))
    assert plain.item() != pytest.approx(expected, rel=1e-3)
    with pytest.raises(ValueError, match='input must be'):
        Poly1FocalLoss(input='probs')
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 2\)'):
        Poly1FocalLoss()(logits, torch.tensor([2]))


def test_cross_entropy_hand_worked():
    # softmax([ln 3, 0]) = [3/4, 1/4]; labels [0, 1] -> (ln 4/3 + ln 4) / 2
    logits = torch.tensor([[[math.log(3), 0.0], [math.log(3), 0.0]]], dtype=torch.float64)
    loss = PointCrossEntropyLoss()(logits, torch.tensor([[0, 1]]))
    assert loss.item() == pytest.approx((math.log(4 / 3) + math.log(4)) / 2, rel=1e-12)
    ignored = PointCrossEntropyLoss(ignore_index=-1)(logits, torch.tensor([[0, -1]]))
    assert ignored.item() == pytest.approx(math.log(4 / 3), rel=1e-12)
    with pytest.raises(ValueError, match='need labels of shape'):
        PointCrossEntropyLoss()(logits, torch.tensor([0, 1]))


def test_head_structure_and_loss_choice():
    head = PartSegHead()
    keys = set(head.state_dict())
    assert {'layers.0.weight', 'layers.1.running_mean', 'layers.4.weight',
            'layers.4.bias'} <= keys and 'layers.0.bias' not in keys
    assert isinstance(head.layers[2], torch.nn.ReLU)
    assert isinstance(PartSegHead(act=None).layers[2], torch.nn.Identity)
    tap = PartSegHead(loss=dict(type='Poly1FocalLoss', input='log_softmax'))
    assert isinstance(tap.loss_module, Poly1FocalLoss) and tap.loss_module.input == 'log_softmax'
    logits = torch.randn(2, 5, 50)
    gt = torch.randint(50, (2, 5))
    out = tap.loss(logits, gt)
    torch.testing.assert_close(out['loss_seg'], Poly1FocalLoss(input='log_softmax')(logits, gt))
    with pytest.raises(ValueError, match=r'\(B, N, 256\)'):
        head(torch.randn(2, 5, 128))


# ---------------------------------------------------------------- segmentor

def part_batch(categories, n, generator):
    """Clouds whose gt part is the x-slab index among the category's parts."""
    points, feats = cloud(len(categories), n, generator)
    samples, cats = [], []
    for b, c in enumerate(categories):
        parts = torch.tensor(PARTS[c])
        slab = ((points[b, :, 0] + 1) / 2 * len(parts)).long().clamp(max=len(parts) - 1)
        samples.append(BaseDataElement(gt_part=parts[slab]))
        cats.append(torch.tensor(c))                       # 0-dim int64, as packed
    return dict(inputs=dict(points=list(points), features=list(feats), category=cats),
                data_samples=samples)


def small_segmentor(**kwargs):
    return MODELS.build(dict(type='PointPartSegmentor', backbone=SMALL, head=SMALL_HEAD,
                             **kwargs))


def test_loss_falls_when_overfitting_a_tiny_batch():
    torch.manual_seed(0)
    model = small_segmentor()
    batch = model.data_preprocessor(part_batch([0, 1, 4, 15], 128,
                                               torch.Generator().manual_seed(3)), True)
    assert batch['inputs']['category'].tolist() == [0, 1, 4, 15]
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        out = model(**batch, mode='loss')
        optimizer.zero_grad()
        out['loss_seg'].backward()
        optimizer.step()
        losses.append(out['loss_seg'].item())
    assert np.mean(losses[-3:]) < 0.25 * np.mean(losses[:3])   # about 4.0 -> 0.25
    assert out['accuracy'] > 80


def test_predict_fields_restriction_and_metric():
    torch.manual_seed(0)
    model = small_segmentor().eval()
    categories = [1, 15, 4]
    data = model.data_preprocessor(part_batch(categories, 64, torch.Generator().manual_seed(4)))
    with torch.no_grad():
        logits = model(**data, mode='tensor')
        samples = model(**data, mode='predict')
        free = small_segmentor(restrict_to_category=False)
        free.load_state_dict(model.state_dict())
        free_samples = free.eval()(**part_batch_copy(data), mode='predict')
    assert logits.shape == (3, 64, 50)
    for sample, c, free_sample in zip(samples, categories, free_samples):
        assert sample.category == c
        assert sample.pred_part.shape == (64,) and sample.pred_part.dtype == torch.long
        assert sample.pred_part_score.shape == (64, 50)
        torch.testing.assert_close(sample.pred_part_score.sum(-1), torch.ones(64))
        # reference: numpy argmax over the category's own columns
        score = sample.pred_part_score.numpy()
        parts = np.array(PARTS[c])
        np.testing.assert_array_equal(sample.pred_part.numpy(),
                                      parts[score[:, parts].argmax(1)])
        assert set(sample.pred_part.tolist()) <= set(PARTS[c])
        np.testing.assert_array_equal(free_sample.pred_part.numpy(), score.argmax(1))
    # an untrained model puts most argmaxes outside the category when unrestricted
    assert any(not set(s.pred_part.tolist()) <= set(PARTS[c])
               for s, c in zip(free_samples, categories))
    metric = PartSegMIoU()
    metric.process(None, samples)
    result = metric.compute_metrics(metric.results)
    assert set(result) == {'instance_miou', 'class_miou'}
    assert 0 <= result['instance_miou'] <= 100
    for sample in samples:                                   # perfect predictions -> 100
        sample.gt_part = sample.pred_part.clone()
    perfect = PartSegMIoU()
    perfect.process(None, samples)
    assert perfect.compute_metrics(perfect.results) == dict(instance_miou=100.0,
                                                            class_miou=100.0)


def part_batch_copy(data):
    return dict(inputs=dict(data['inputs']),
                data_samples=[BaseDataElement(gt_part=s.gt_part) for s in data['data_samples']])


def test_refine_part_labels_hand_worked():
    x = torch.tensor([0, 1, 2, 3.1, 4.3, 5.6, 7.0, 8.1, 9.3, 10.6, 12.0, 13.5,
                      100, 100.1, 100.2, 100.3], dtype=torch.float64)
    points = torch.stack([x, torch.zeros_like(x), torch.zeros_like(x)], dim=-1)
    pred = torch.tensor([0, 0, 3, 0, 0, 0, 1, 1, 1, 2, 1, 1, 5, 5, 5, 5])
    refined = refine_part_labels(pred, points, parts=(0, 1, 2), n=3, num_parts=50)
    # label 3 (not a part of the shape): point 2's 4 nearest are x = 2, 1, 3.1, 0 with
    # labels 3, 0, 0, 0 -> 0.  Label 2 (1 point < n = 3): x = 10.6, 9.3, 12.0, 8.1 with
    # labels 2, 1, 1, 1 -> 1.  Label 5 (foreign) sits in an isolated cluster of 4: its
    # 4 neighbours are all 5, no other vote, so it stays.  Labels 0 and 1 are kept.
    expected = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 5, 5, 5, 5])
    assert torch.equal(refined, expected)
    assert torch.equal(pred[2], torch.tensor(3))                         # input untouched
    single = torch.full((16,), 7)
    assert torch.equal(refine_part_labels(single, points, (0, 1), n=3), single)


def test_segmentor_refine_option_runs_and_keeps_category_parts():
    torch.manual_seed(0)
    model = small_segmentor(refine=True, refine_n=5).eval()
    data = model.data_preprocessor(part_batch([0, 12], 64, torch.Generator().manual_seed(5)))
    with torch.no_grad():
        samples = model(**data, mode='predict')
    for sample, c in zip(samples, [0, 12]):
        assert set(sample.pred_part.tolist()) <= set(PARTS[c])


def test_mode_and_input_errors():
    model = small_segmentor()
    data = model.data_preprocessor(part_batch([0, 1], 64, torch.Generator().manual_seed(6)))
    with pytest.raises(ValueError, match="mode must be 'loss', 'predict' or 'tensor'"):
        model(**data, mode='logits')
    with pytest.raises(KeyError, match='gt_part'):
        model(data['inputs'], [BaseDataElement(), BaseDataElement()], mode='loss')
    with pytest.raises(ValueError, match=r'gt_part of shape \(63,\)'):
        model(data['inputs'], [BaseDataElement(gt_part=torch.zeros(63, dtype=torch.long))] * 2,
              mode='loss')
    no_category = {k: v for k, v in data['inputs'].items() if k != 'category'}
    with pytest.raises(KeyError, match=r"inputs\['category'\]"):
        model(no_category, mode='tensor')
    with pytest.raises(ValueError, match='lists 2 categories, expected num_categories=16'):
        small_segmentor(category_parts=[(0, 1), (2, 3)])
    with pytest.raises(ValueError, match='num_categories=4 but the backbone expects 16'):
        small_segmentor(num_categories=4, category_parts=[(0,), (1,), (2,), (3,)])
