"""PPKT algorithm: batching, pair sampling, the loss against a by-hand computation on the
full UPL map, what is trained, and point-based students."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import BaseDataElement

from crosspt.models.ppkt import PPKT, PPKTDataPreprocessor
from crosspt.registry import MODELS

TINY_TEACHER = dict(type='ImageTeacher', backbone=dict(type='ResNet', depth=18, base_channels=8),
                    checkpoint=None, allow_random_init=True)
TINY_SRUNET = dict(type='SRUNet', in_channels=3, out_channels=None, stem_channels=8,
                   planes=(8, 16, 16, 16, 16, 16, 12, 12), layers=(1, 1, 1, 1, 1, 1, 1, 1))
TINY_POINTMLP_SEG = dict(type='PointMLPPartSeg', in_channels=3, embed_dims=8,
                         dim_expansion=(2, 2), pre_blocks=(1, 1), pos_blocks=(1, 1),
                         k_neighbors=(8, 8), reducers=(2, 2), de_dims=(16, 16),
                         de_blocks=(1, 1), gmp_dim=8, cls_dim=8, num_categories=1)


@pytest.fixture(autouse=True)
def one_thread():
    """Small sparse convs run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _sample(num_voxels: int, size=(64, 96), seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    coords = torch.randperm(20 ** 3, generator=g)[:num_voxels]
    coords = torch.stack([coords // 400, coords // 20 % 20, coords % 20], dim=1)
    pairs = torch.stack([torch.arange(num_voxels),
                         torch.randint(0, size[0], (num_voxels,), generator=g),
                         torch.randint(0, size[1], (num_voxels,), generator=g)], dim=1)
    inputs = dict(img=torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=g),
                  coords=coords, points=coords.float() * 0.05 + 0.025,
                  feats=torch.ones(num_voxels, 3))
    return inputs, BaseDataElement(pairs=pairs)


def _batch(sizes, seed: int = 0):
    samples = [_sample(n, seed=seed + i) for i, n in enumerate(sizes)]
    inputs = {k: [s[0][k] for s in samples] for k in samples[0][0]}
    return dict(inputs=inputs, data_samples=[s[1] for s in samples])


def test_preprocessor_offsets_voxel_indices_and_tags_images():
    data = PPKTDataPreprocessor()(_batch([5, 7]))
    inp = data['inputs']
    assert inp['img'].shape == (2, 3, 64, 96) and inp['img'].dtype == torch.uint8
    assert inp['coords'].shape == (12, 4)
    assert inp['coords'][:5, 0].tolist() == [0] * 5 and inp['coords'][5:, 0].tolist() == [1] * 7
    pairs = inp['pairs']
    # sample 1's voxel 0 is global voxel 5, on image 1
    assert pairs[:, 0].tolist() == list(range(12))
    assert pairs[:, 1].tolist() == [0] * 5 + [1] * 7
    assert inp['num_voxels'] == [5, 7]


def test_preprocessor_rejects_pairs_outside_the_sample_and_mixed_image_sizes():
    batch = _batch([4, 4])
    batch['data_samples'][1].pairs[0, 0] = 4
    with pytest.raises(ValueError, match='sample 1 has pair voxel indices outside'):
        PPKTDataPreprocessor()(batch)
    batch = _batch([4, 4])
    batch['inputs']['img'][1] = torch.zeros(3, 32, 32, dtype=torch.uint8)
    with pytest.raises(ValueError, match='share a size'):
        PPKTDataPreprocessor()(batch)


def _model(**kwargs):
    cfg = dict(type='PPKT', backbone=TINY_SRUNET, teacher=TINY_TEACHER,
               upl=dict(type='UpsamplingProjection', in_channels=64, out_channels=16, scale=32),
               projection_channels=16, num_pairs=64)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_sample_pairs_keeps_one_pixel_per_voxel_and_at_most_k():
    torch.manual_seed(0)
    model = _model(num_pairs=10)
    voxel = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    pairs = torch.stack([voxel, torch.zeros(10, dtype=torch.long),
                         torch.arange(10), torch.arange(10) * 2], dim=1)
    for _ in range(20):
        got = model.sample_pairs(pairs)
        assert sorted(got[:, 0].tolist()) == [0, 1, 2, 3]
        for row in got.tolist():          # every sampled row is one of the input rows
            assert row in pairs.tolist()
    model.one_pixel_per_voxel = False
    assert len(model.sample_pairs(pairs)) == 10
    model.num_pairs = 3
    assert len(model.sample_pairs(pairs)) == 3


def test_loss_equals_infonce_on_the_full_upl_map():
    torch.manual_seed(0)
    model = _model()
    model.eval()       # BN in eval so that two forwards agree
    data = model.data_preprocessor(_batch([40, 30]))
    inputs = data['inputs']
    torch.manual_seed(5)
    losses = model.loss(inputs)
    # by hand: same sampled pairs, pixel features from the full upsampled map
    torch.manual_seed(5)
    pairs = model.sample_pairs(inputs['pairs'])
    point = F.normalize(model.projection(model.extract_feat(inputs))[pairs[:, 0]], dim=1)
    full = model.upl(model.teacher(inputs['img']), image_size=(64, 96))     # (B, D, H, W)
    pixel = F.normalize(full[pairs[:, 1], :, pairs[:, 2], pairs[:, 3]], dim=1)
    logits = point @ pixel.t() / 0.04
    expected = -torch.stack([logits[a, a] - torch.logsumexp(logits[a], 0)
                             for a in range(len(logits))]).mean()
    torch.testing.assert_close(losses['loss_ppnce'], expected, rtol=1e-4, atol=1e-5)
    assert losses['num_pairs'].item() == 64
    assert 0.0 <= losses['pair_acc'].item() <= 1.0


def test_only_upl_student_and_projection_are_trained():
    torch.manual_seed(0)
    model = _model()
    model.train()
    assert not model.teacher.training          # frozen teacher stays in eval mode
    data = model.data_preprocessor(_batch([40, 30]))
    model.loss(data['inputs'])['loss_ppnce'].backward()
    for name, p in model.named_parameters():
        if name.startswith('teacher.'):
            assert not p.requires_grad and p.grad is None, name
        else:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert any(n.startswith('upl.') for n, _ in model.named_parameters())


def test_loss_falls_below_chance_on_a_fixed_batch():
    torch.manual_seed(0)
    model = _model(num_pairs=48)
    data = model.data_preprocessor(_batch([40, 30], seed=3))
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.Adam(params, lr=3e-3)
    first = None
    for _ in range(40):
        loss = model.loss(data['inputs'])['loss_ppnce']
        first = loss.item() if first is None else first
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert first > 0.8 * math.log(48)
    assert loss.item() < 0.5 * math.log(48), (first, loss.item())


def test_point_based_student_needs_equal_point_counts():
    torch.manual_seed(0)
    student = dict(type='PointStudent', pass_category=True, backbone=TINY_POINTMLP_SEG)
    model = _model(backbone=student)
    data = model.data_preprocessor(_batch([32, 32]))
    losses = model.loss(data['inputs'])
    assert torch.isfinite(losses['loss_ppnce'])
    losses['loss_ppnce'].backward()
    assert all(p.grad is not None for p in model.backbone.parameters())
    data = model.data_preprocessor(_batch([32, 30]))
    with pytest.raises(ValueError, match='SampleVoxels'):
        model.loss(data['inputs'])


def test_every_student_answers_point_features_on_the_packed_batch():
    """One student interface: SRUNet.point_features is its forward on the batch's own
    SparseTensor, PointStudent.point_features its forward on (points, feats, counts), and
    PPKT.extract_feat returns exactly that for either."""
    from crosspt.ops.sparse_conv import SparseTensor
    torch.manual_seed(0)
    model = _model().eval()
    inputs = model.data_preprocessor(_batch([32, 32]))['inputs']
    with torch.no_grad():
        expected = model.backbone(SparseTensor(inputs['coords'], inputs['feats'])).feats
        torch.testing.assert_close(model.extract_feat(inputs), expected, rtol=0, atol=0)
    student = MODELS.build(dict(type='PointStudent', feature_mode='xyz', pass_category=True,
                                backbone=TINY_POINTMLP_SEG)).eval()
    with torch.no_grad():
        got = student.point_features(inputs)
        xyz = inputs['points'].view(2, 32, 3)
        xyz = xyz - xyz.mean(dim=1, keepdim=True)
        ref = student.net(xyz, xyz, torch.zeros(2, dtype=torch.long))['point_features']
        ref = ref.reshape(64, -1)
    assert got.shape == (64, student.out_channels)
    torch.testing.assert_close(got, ref, rtol=0, atol=0)


def test_student_without_point_features_is_refused_by_name():
    with pytest.raises(TypeError, match='PointMLPPartSeg has no point_features'):
        _model(backbone=TINY_POINTMLP_SEG)


@pytest.mark.parametrize('student,expected', [
    ('sparse', 5.742589950561523), ('point', 5.524553298950195)])
def test_loss_matches_the_value_recorded_before_the_student_interface(student, expected):
    """Seeded losses recorded at e62f263, when PPKT still branched on
    ``backbone.input_format``: the one interface computes the same numbers."""
    kwargs = {} if student == 'sparse' else dict(backbone=dict(
        type='PointStudent', pass_category=True, backbone=TINY_POINTMLP_SEG))
    torch.manual_seed(0)
    model = _model(**kwargs)
    data = model.data_preprocessor(_batch([32, 32]))
    torch.manual_seed(5)
    loss = model.loss(data['inputs'])['loss_ppnce'].item()
    assert loss == pytest.approx(expected, rel=1e-5)
