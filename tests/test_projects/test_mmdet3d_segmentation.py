"""ScanNet semantic segmentation in mmdet3d with crosspt encoders: the stock
EncoderDecoder3D / Det3DDataPreprocessor / SegMetric around crosspt's SR-UNet and PointMLP
backbones (projects/crosspt_mmdet3d), and PPKT / TAP checkpoint loading."""
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip('mmdet3d.models')

import projects.crosspt_mmdet3d.crosspt_mmdet3d  # noqa: E402,F401  (registers the modules)
from mmdet3d.registry import MODELS  # noqa: E402
from mmdet3d.structures import Det3DDataSample, PointData  # noqa: E402
from mmengine.config import Config, ConfigDict  # noqa: E402
from mmengine.registry import WEIGHT_INITIALIZERS, DefaultScope, build_from_cfg  # noqa: E402

from crosspt.models.backbones import PointMLP, PointMLPPartSeg, SRUNet  # noqa: E402
from crosspt.models.ppkt import PointStudent  # noqa: E402
from crosspt.models.weight_init import ReportingPretrainedInit  # noqa: E402
from projects.crosspt_mmdet3d.crosspt_mmdet3d.segmentation import (  # noqa: E402
    PointFeatureSegHead, PointMLPSegBackbone, SRUNetSegBackbone)

REPO = Path(__file__).resolve().parents[2]
NUM_CLASSES, IGNORE = 20, 20
TINY_SRUNET = dict(stem_channels=8, planes=(8, 16, 16, 16, 16, 16, 12, 12),
                   layers=(1, 1, 1, 1, 1, 1, 1, 1))
TINY_POINTMLP = dict(embed_dims=8, res_expansion=0.5, dim_expansion=(2, 2), pre_blocks=(1, 1),
                     pos_blocks=(1, 1), k_neighbors=(8, 8), reducers=(2, 2), de_dims=(16, 16),
                     de_blocks=(1, 1), gmp_dim=8, cls_dim=8)    # out 16 + 8 + 8 = 32
TINY_ENCODER = {k: TINY_POINTMLP[k] for k in ('embed_dims', 'res_expansion', 'dim_expansion',
                                              'pre_blocks', 'pos_blocks', 'k_neighbors',
                                              'reducers')}


@pytest.fixture(autouse=True)
def mmdet3d_scope():
    """One thread (small convs) and the mmdet3d default scope of mmdet3d configs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        yield
    torch.set_num_threads(threads)


def segmentor_cfg(backbone: dict, in_channels: int, test_cfg: dict = None,
                  **head) -> ConfigDict:
    """An EncoderDecoder3D config as a Config file gives it (attribute access:
    EncoderDecoder3D reads ``self.test_cfg.mode``)."""
    return ConfigDict(
        type='EncoderDecoder3D',
        data_preprocessor=dict(type='Det3DDataPreprocessor'),
        backbone=backbone,
        decode_head=dict(type='PointFeatureSegHead', in_channels=in_channels,
                         channels=head.pop('channels', in_channels), num_classes=NUM_CLASSES,
                         ignore_index=IGNORE, dropout_ratio=head.pop('dropout_ratio', 0.5),
                         **head),
        train_cfg=dict(),
        test_cfg=test_cfg or dict(mode='whole'))


BACKBONES = {
    'srunet': (dict(type='SRUNetSegBackbone', voxel_size=0.1, in_channels=3,
                    feature_keys=('rgb', ), **TINY_SRUNET), 12),
    'pointmlp': (dict(type='PointMLPSegBackbone', in_channels=6, feature_keys=('xyz', 'rgb'),
                      **TINY_POINTMLP), 32),
}


def surface_scene(n: int, seed: int) -> torch.Tensor:
    """(n, 6) xyz + rgb in [0, 1]: a floor, a wall and a box top in a 1.9 x 1.9 x 3 m
    block centred in x, y (an IndoorPatchPointSample patch)."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, 2, generator=g)
    kind = torch.randint(0, 3, (n, ), generator=g)
    x, y = u[:, 0] * 1.9 - 0.95, u[:, 1] * 1.9 - 0.95
    z = torch.where(kind == 0, torch.zeros(n), torch.where(kind == 1, u[:, 1] * 3, 0.75 + 0 * x))
    x = torch.where(kind == 1, torch.full((n, ), -0.95), torch.where(kind == 2, x * 0.3, x))
    y = torch.where(kind == 2, y * 0.3, y)
    xyz = torch.stack([x, y, z], 1) + 0.003 * torch.randn(n, 3, generator=g)
    return torch.cat([xyz, torch.rand(n, 3, generator=g)], 1)


def batch(scenes, with_labels: bool = True, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    samples = []
    for pts in scenes:
        sample = Det3DDataSample()
        if with_labels:        # 0..19 and the ignore label 20
            sample.gt_pts_seg = PointData(
                pts_semantic_mask=torch.randint(0, NUM_CLASSES + 1, (len(pts), ), generator=g))
        samples.append(sample)
    return dict(inputs=dict(points=list(scenes)), data_samples=samples)


def loss_step(model, scenes):
    model.train()
    data = model.data_preprocessor(batch(scenes), True)
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    return losses


def assert_backbone_grads(model, constant_prefixes=()):
    for name, p in model.backbone.named_parameters():
        assert p.grad is not None, f'{name} got no gradient'
        assert torch.isfinite(p.grad).all(), name
        if not name.startswith(constant_prefixes):
            assert p.grad.abs().sum() > 0, f'{name} has an all-zero gradient'


# ------------------------------------------------------------------ training / inference
@pytest.mark.parametrize('name', list(BACKBONES))
def test_loss_step_finite_loss_and_backbone_grads(name):
    backbone, width = BACKBONES[name]
    torch.manual_seed(0)
    model = MODELS.build(segmentor_cfg(backbone, width))
    model.init_weights()
    losses = loss_step(model, [surface_scene(256, 1), surface_scene(256, 2)])
    assert set(losses) == {'decode.loss_sem_seg'}
    assert torch.isfinite(losses['decode.loss_sem_seg'])
    # 20 classes at random init (conv_seg ~ N(0, 0.01)): CE per labelled point ~ ln 20,
    # averaged over all points incl. the ~1/21 ignored ones: about (20/21) ln 20 = 2.85
    assert abs(losses['decode.loss_sem_seg'].item() - 20 / 21 * math.log(20)) < 0.5
    # PointMLP's category branch sees the one-hot of the single dummy category, the same
    # for every sample, so train-mode BN removes it: only its last BN bias is trained
    # (the branch is a learned constant); its other gradients are exactly zero.
    assert_backbone_grads(model, ('cls_map.', ) if name == 'pointmlp' else ())
    if name == 'pointmlp':
        assert model.backbone.cls_map[1].net[1].bias.grad.abs().sum() > 0
    for name_, p in model.decode_head.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name_


@pytest.mark.parametrize('name', list(BACKBONES))
def test_predict_whole_gives_one_label_per_point(name):
    backbone, width = BACKBONES[name]
    torch.manual_seed(0)
    model = MODELS.build(segmentor_cfg(backbone, width)).eval()
    scenes = [surface_scene(200, 3), surface_scene(333, 4)]
    data = model.data_preprocessor(batch(scenes, with_labels=False), False)
    with torch.no_grad():
        out = model(**data, mode='predict')
    assert len(out) == 2
    for sample, pts in zip(out, scenes):
        mask = sample.pred_pts_seg.pts_semantic_mask
        logits = sample.pts_seg_logits.pts_seg_logits
        assert mask.shape == (len(pts), ) and mask.dtype == torch.int64
        assert logits.shape == (NUM_CLASSES, len(pts))
        assert torch.equal(mask, logits.argmax(0))
        assert int(mask.min()) >= 0 and int(mask.max()) < NUM_CLASSES


@pytest.mark.parametrize('name', list(BACKBONES))
def test_predict_slide_with_normalized_coord(name):
    """mmdet3d's sliding-window test: patches of num_points with x, y centred and
    (use_normalized_coord) xyz / scene max appended, i.e. (K, 64, 9) backbone inputs."""
    backbone, width = BACKBONES[name]
    backbone = {**backbone, 'in_channels': 6 + (3 if name == 'pointmlp' else 0),
                'feature_keys': ('xyz', 'attributes') if name == 'pointmlp' else ('attributes', )}
    test_cfg = dict(mode='slide', num_points=64, block_size=1.0, sample_rate=0.5,
                    use_normalized_coord=True, batch_size=2)
    torch.manual_seed(0)
    model = MODELS.build(segmentor_cfg(backbone, width, test_cfg)).eval()
    scene = surface_scene(300, 5)
    scene[:, :3] += torch.tensor([1.5, 1.5, 0.0])     # positive coordinates, as in ScanNet
    data = model.data_preprocessor(batch([scene], with_labels=False), False)
    with torch.no_grad():
        out = model(**data, mode='predict')
    assert out[0].pred_pts_seg.pts_semantic_mask.shape == (300, )


def test_srunet_points_in_one_voxel_share_logits():
    """Voxel -> point map: 30 occupied 0.1 m cells with 4 points each (offsets 0.1-0.9 of
    a cell, so floor(p / 0.1) is the cell), shuffled; points of a cell get identical
    logits, different cells (different mean colours) mostly differ."""
    g = torch.Generator().manual_seed(0)
    cells = torch.randperm(8 ** 3, generator=g)[:30]
    cells = torch.stack([cells // 64, cells // 8 % 8, cells % 8], 1)          # (30, 3)
    cell_of_point = torch.arange(30).repeat_interleave(4)
    xyz = (cells[cell_of_point].double() + 0.1 + 0.8 * torch.rand(120, 3, generator=g,
                                                                   dtype=torch.float64)) * 0.1
    pts = torch.cat([xyz.float(), torch.rand(120, 3, generator=g)], 1)
    order = torch.randperm(120, generator=g)
    pts, cell_of_point = pts[order], cell_of_point[order]
    torch.manual_seed(0)
    model = MODELS.build(segmentor_cfg(BACKBONES['srunet'][0], 12)).eval()
    data = model.data_preprocessor(batch([pts], with_labels=False), False)
    with torch.no_grad():
        logits = model(**data, mode='predict')[0].pts_seg_logits.pts_seg_logits  # (20, 120)
    for c in range(30):
        cols = logits[:, cell_of_point == c]
        assert cols.shape[1] == 4
        assert torch.equal(cols, cols[:, :1].expand_as(cols)), f'cell {c}'
    distinct = torch.unique(logits.t(), dim=0).shape[0]
    assert 15 < distinct <= 30


def test_real_srunet34_defaults_on_2k_points():
    """SR-UNet34 at its defaults (96-d output, no 1x1 head, 2 cm voxels): a loss step on
    2 x 1024 points trains every parameter; predict returns every point's label."""
    model = MODELS.build(segmentor_cfg(dict(type='SRUNetSegBackbone'), 96))
    assert model.backbone.head is None and model.backbone.out_channels == 96
    assert model.backbone.voxel_size == 0.02
    model.init_weights()
    losses = loss_step(model, [surface_scene(1024, 6), surface_scene(1024, 7)])
    assert torch.isfinite(losses['decode.loss_sem_seg'])
    assert_backbone_grads(model)
    model.eval()
    data = model.data_preprocessor(batch([surface_scene(700, 8)], with_labels=False), False)
    with torch.no_grad():
        out = model(**data, mode='predict')
    assert out[0].pred_pts_seg.pts_semantic_mask.shape == (700, )


# ------------------------------------------------------------------ head and its loss
def test_head_loss_by_hand():
    """CE through Base3DDecodeHead.loss with conv_seg = identity, so logits = features.

    point a: logits (0, 0, 0), label 0 -> -ln(1/3) = ln 3 = 1.098612
    point b: logits (ln 3, 0, 0), label 0 -> p = 3 / (3 + 1 + 1) -> -ln 0.6 = 0.510826
    point c: label 3 = ignore (ignore_index defaults to num_classes) -> 0
    mmdet's CrossEntropyLoss (avg_non_ignore=False) divides by all 3 points:
        (1.098612 + 0.510826) / 3 = 0.536479
    with class_weight (2, 1, 1): (2 * 1.098612 + 2 * 0.510826) / 3 = 1.072959
    with avg_non_ignore=True: (1.098612 + 0.510826) / 2 = 0.804719
    """
    feats = torch.tensor([[0.0, math.log(3), 5.0], [0.0, 0.0, -1.0], [0.0, 0.0, 2.0]])
    sample = Det3DDataSample()
    sample.gt_pts_seg = PointData(pts_semantic_mask=torch.tensor([0, 0, 3]))
    expected = [({}, 0.536479), (dict(class_weight=[2.0, 1.0, 1.0]), 1.072959),
                (dict(avg_non_ignore=True), 0.804719)]
    for extra, value in expected:
        head = PointFeatureSegHead(
            in_channels=3, channels=3, num_classes=3, dropout_ratio=0,
            loss_decode=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=False,
                             loss_weight=1.0, **extra))
        assert head.ignore_index == 3
        with torch.no_grad():
            head.conv_seg.weight.copy_(torch.eye(3).unsqueeze(-1))
            head.conv_seg.bias.zero_()
        loss = head.loss(dict(point_features=feats.unsqueeze(0)), [sample], dict())
        assert loss['loss_sem_seg'].item() == pytest.approx(value, abs=1e-5), extra


def test_head_mlp_shapes_and_errors():
    head = PointFeatureSegHead(in_channels=32, channels=16, num_classes=20,
                               mlp_channels=(24, ))
    assert [m.conv.weight.shape[:2] for m in head.mlp] == [(24, 32), (16, 24)]
    assert head(dict(point_features=torch.rand(2, 32, 50))).shape == (2, 20, 50)
    with pytest.raises(KeyError, match="lacks 'point_features'"):
        head(dict(features=torch.rand(2, 32, 50)))
    with pytest.raises(ValueError, match=r'\(B, 32, N\)'):
        head(dict(point_features=torch.rand(2, 50, 32)))
    with pytest.raises(ValueError, match='must equal in_channels'):
        PointFeatureSegHead(in_channels=32, channels=16, num_classes=20)


def test_backbone_argument_errors():
    with pytest.raises(KeyError, match="unknown feature_keys \\['normals'\\]"):
        SRUNetSegBackbone(feature_keys=('normals', ), **TINY_SRUNET)
    with pytest.raises(ValueError, match=r"\['xyz', 'rgb'\] give 6 channels but in_channels=4"):
        PointMLPSegBackbone(in_channels=4, feature_keys=('xyz', 'rgb'), **TINY_POINTMLP)
    net = PointMLPSegBackbone(in_channels=6, **TINY_POINTMLP)
    with pytest.raises(ValueError, match="feature 'rgb' needs points"):
        net(torch.rand(1, 64, 3))
    with pytest.raises(ValueError, match=r'expected points \(B, N, 3 \+ C\)'):
        SRUNetSegBackbone(**TINY_SRUNET)(torch.rand(64, 6))


# ------------------------------------------------------------------ SegMetric by hand
def test_segmetric_hand_made_two_scenes():
    """mmdet3d's SegMetric pools ONE confusion matrix over all scenes.

    scene A  gt  : 0 0 0 1 1 2 20        scene B  gt  : 2 2 1 20 0
             pred: 0 0 1 1 1 2 3                  pred: 2 5 1 0  0
    Points with gt 20 (ignore) are dropped, whatever their prediction (so class 3 never
    counts).  Remaining (gt, pred): A (0,0)x2 (0,1) (1,1)x2 (2,2); B (2,2) (2,5) (1,1) (0,0)

    confusion (rows gt, cols pred):  gt0: p0 3, p1 1   (row 4)
                                      gt1: p1 3         (row 3)
                                      gt2: p2 2, p5 1   (row 3)
    column sums: p0 3, p1 4, p2 2, p5 1; 10 points
    IoU0 = 3 / (4 + 3 - 3) = 0.75      IoU1 = 3 / (3 + 4 - 3) = 0.75
    IoU2 = 2 / (3 + 2 - 2) = 2/3       IoU5 = 0 / (0 + 1 - 0) = 0  (predicted, never gt)
    IoU3 and the other 15 classes: 0/0 = nan
    mIoU = nanmean = (0.75 + 0.75 + 2/3 + 0) / 4 = 13/24 = 0.541667
    acc (aAcc) = (3 + 3 + 2) / 10 = 0.8
    acc_cls = nanmean(3/4, 3/3, 2/3) = 29/36 = 0.805556
    (Averaging per-scene mIoUs instead would give (7/9 + 5/8) / 2 = 0.701389.)
    """
    from mmdet3d.evaluation.metrics import SegMetric

    classes = ('wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window',
               'bookshelf', 'picture', 'counter', 'desk', 'curtain', 'refrigerator',
               'showercurtrain', 'toilet', 'sink', 'bathtub', 'otherfurniture')
    metric = SegMetric()
    metric.dataset_meta = dict(classes=classes, ignore_index=IGNORE,
                               label2cat={i: c for i, c in enumerate(classes)})
    scenes = [([0, 0, 0, 1, 1, 2, 20], [0, 0, 1, 1, 1, 2, 3]),
              ([2, 2, 1, 20, 0], [2, 5, 1, 0, 0])]
    for gt, pred in scenes:
        metric.process({}, [dict(pred_pts_seg=dict(pts_semantic_mask=torch.tensor(pred)),
                                 eval_ann_info=dict(pts_semantic_mask=np.array(gt)))])
    with np.errstate(invalid='ignore', divide='ignore'):
        result = metric.compute_metrics(metric.results)
    assert result['wall'] == pytest.approx(0.75)
    assert result['floor'] == pytest.approx(0.75)
    assert result['cabinet'] == pytest.approx(2 / 3)
    assert result['sofa'] == 0.0
    assert math.isnan(result['bed'])         # class 3: predicted only on an ignored point
    assert sum(not math.isnan(result[c]) for c in classes) == 4
    assert result['miou'] == pytest.approx(13 / 24)
    assert result['acc'] == pytest.approx(0.8)
    assert result['acc_cls'] == pytest.approx(29 / 36)


# ------------------------------------------------------------------ pre-trained weights
def save(path: Path, state: dict, prefix: str, extra: dict = None) -> Path:
    ckpt = {prefix + k: v for k, v in state.items()}
    ckpt.update(extra or {})
    torch.save(dict(state_dict=ckpt, meta=dict(iter=1)), path)
    return path


def test_crosspt_pretrained_spelling_under_mmdet3d_scope():
    """In an mmdet3d-scoped model 'crosspt.Pretrained' is crosspt's reporting loader;
    bare 'Pretrained' is mmengine's (which does not report or refuse empty loads)."""
    cfg = dict(checkpoint='x.pth', prefix='backbone.')
    assert isinstance(build_from_cfg(dict(type='crosspt.Pretrained', **cfg),
                                     WEIGHT_INITIALIZERS), ReportingPretrainedInit)
    assert not isinstance(build_from_cfg(dict(type='Pretrained', **cfg), WEIGHT_INITIALIZERS),
                          ReportingPretrainedInit)


def test_ppkt_srunet34_checkpoint_loads_every_key(tmp_path, key_reports):
    """A PPKT checkpoint (student = SRUNet with the PPKT config's args, under
    'backbone.'; projection / UPL keys beside it) fills every downstream key."""
    args = dict(Config.fromfile(REPO / 'configs/_base_/models/ppkt_srunet34.py').model.backbone)
    assert args.pop('type') == 'SRUNet' and args['out_channels'] is None
    torch.manual_seed(1)
    source = SRUNet(**args)
    for m in source.modules():                  # non-trivial BN statistics too
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    path = save(tmp_path / 'ppkt_srunet34.pth', source.state_dict(), 'backbone.',
                {'projection.weight': torch.zeros(128, 96), 'upl.proj.weight': torch.zeros(1)})
    init = dict(type='crosspt.Pretrained', checkpoint=str(path), prefix='backbone.')
    model = MODELS.build(segmentor_cfg(dict(type='SRUNetSegBackbone', init_cfg=init), 96))
    model.init_weights()
    own, ref = model.backbone.state_dict(), source.state_dict()
    assert set(own) == set(ref)
    for key, value in ref.items():
        assert torch.equal(own[key], value), key
    n = len(ref)
    # (projection / upl keys lie outside the prefix, so they are not even candidates)
    assert any(f'loaded {n}/{n} tensors; missing 0; unexpected 0' in m for m in key_reports), key_reports

    # Same network: backbone output = the PPKT student's voxelise-run-gather per point.
    source.eval()
    model.eval()
    pts = torch.stack([surface_scene(300, 9), surface_scene(300, 10)])
    with torch.no_grad():
        ours = model.backbone(pts)['point_features']                    # (2, 96, 300)
        theirs, _, _ = source.forward_points(pts[..., :3].reshape(-1, 3),
                                             torch.arange(2).repeat_interleave(300), 0.02,
                                             pts[..., 3:].reshape(-1, 3))
    torch.testing.assert_close(ours, theirs.view(2, 300, 96).transpose(1, 2))

    # With a 1x1 head (out_channels set) the PPKT checkpoint leaves exactly it missing.
    key_reports.clear()
    headed = SRUNetSegBackbone(out_channels=20, init_cfg=init)
    headed.init_weights()
    assert any('missing 2' in m and "'head.bias', 'head.weight'" in m for m in key_reports)


def test_ppkt_point_student_checkpoint(tmp_path, key_reports):
    """PPKT with a point student: PointStudent(net=PointMLPPartSeg) under 'backbone.', so
    the network is at 'backbone.net.'; it loads completely and gives the student's output
    (xyz centred per sample as input, zero category)."""
    from crosspt.registry import MODELS as CROSSPT_MODELS
    torch.manual_seed(2)
    with DefaultScope.overwrite_default_scope('crosspt'):
        student = CROSSPT_MODELS.build(dict(
            type='PointStudent', pass_category=True, feature_mode='xyz',
            backbone=dict(type='PointMLPPartSeg', in_channels=3, num_categories=1,
                          **TINY_POINTMLP)))
    assert isinstance(student, PointStudent)
    path = save(tmp_path / 'ppkt_pointmlp.pth', student.state_dict(), 'backbone.')
    net = PointMLPSegBackbone(in_channels=3, feature_keys=('xyz', ), **TINY_POINTMLP,
                              init_cfg=dict(type='crosspt.Pretrained', checkpoint=str(path),
                                            prefix='backbone.net.'))
    net.init_weights()
    ref = student.net.state_dict()
    assert set(net.state_dict()) == set(ref)
    for key, value in ref.items():
        assert torch.equal(net.state_dict()[key], value), key
    n = len(ref)
    assert any(f'loaded {n}/{n} tensors; missing 0; unexpected 0' in m for m in key_reports)

    student.eval()
    net.eval()
    pts = torch.rand(2, 128, 3) * 2 + torch.tensor([1.0, -3.0, 0.0])
    with torch.no_grad():
        theirs = student(pts.reshape(-1, 3), torch.zeros(256, 3), [128, 128])  # (256, 32)
        ours = net(torch.cat([pts, torch.rand(2, 128, 3)], -1))['point_features']
    torch.testing.assert_close(ours, theirs.view(2, 128, 32).transpose(1, 2))


def test_tap_pointmlp_checkpoint(tmp_path, key_reports):
    """TAP keeps the PointMLP encoder (4-d xyz + height input) at 'backbone.': every
    encoder key loads, the decoder keys are reported missing; a 6-d (xyz + rgb) model
    refuses the 4-d embedding unless it is listed in ignore_keys."""
    torch.manual_seed(3)
    encoder = PointMLP(in_channels=4, **TINY_ENCODER)
    path = save(tmp_path / 'tap_pointmlp.pth', encoder.state_dict(), 'backbone.',
                {'query_generator.w': torch.zeros(2)})
    init = dict(type='crosspt.Pretrained', checkpoint=str(path), prefix='backbone.')
    net = PointMLPSegBackbone(in_channels=4, feature_keys=('xyz', 'height'), **TINY_POINTMLP,
                              init_cfg=init)
    net.init_weights()
    ref = encoder.state_dict()
    for key, value in ref.items():
        assert torch.equal(net.state_dict()[key], value), key
    decoder_keys = set(net.state_dict()) - set(ref)
    assert decoder_keys and all(k.split('.')[0] in ('decode_list', 'gmp_map_list',
                                                    'gmp_map_end', 'cls_map')
                                for k in decoder_keys)
    total = len(net.state_dict())
    assert any(f'loaded {len(ref)}/{total} tensors; missing {len(decoder_keys)}' in m
               for m in key_reports)

    rgb = dict(in_channels=6, feature_keys=('xyz', 'rgb'), **TINY_POINTMLP)
    with pytest.raises(ValueError, match=re.escape(
            f'{path}: shape mismatch for embedding.net.0.weight')):
        PointMLPSegBackbone(**rgb, init_cfg=init).init_weights()
    net = PointMLPSegBackbone(**rgb, init_cfg=dict(init, ignore_keys=['embedding.net.0.weight']))
    net.init_weights()
    assert torch.equal(net.state_dict()['pre_blocks_list.1.transfer.net.0.weight'],
                       ref['pre_blocks_list.1.transfer.net.0.weight'])


def test_wrong_backbone_checkpoint_names_the_file(tmp_path):
    srunet_ckpt = save(tmp_path / 'srunet_tiny.pth', SRUNet(out_channels=None,
                                                            **TINY_SRUNET).state_dict(),
                       'backbone.')
    pointmlp_ckpt = save(tmp_path / 'pointmlp_tiny.pth',
                         PointMLPPartSeg(in_channels=3, num_categories=1,
                                         **TINY_POINTMLP).state_dict(), 'backbone.')

    def init(path):
        return dict(type='crosspt.Pretrained', checkpoint=str(path), prefix='backbone.')

    with pytest.raises(KeyError, match=re.escape(
            f'{pointmlp_ckpt} loads nothing into SRUNetSegBackbone')):
        SRUNetSegBackbone(**TINY_SRUNET, init_cfg=init(pointmlp_ckpt)).init_weights()
    with pytest.raises(KeyError, match=re.escape(
            f'{srunet_ckpt} loads nothing into PointMLPSegBackbone')):
        PointMLPSegBackbone(in_channels=3, feature_keys=('xyz', ), **TINY_POINTMLP,
                            init_cfg=init(srunet_ckpt)).init_weights()
    # SR-UNet34 (defaults) vs a tiny SR-UNet: same key names, other widths
    with pytest.raises(ValueError, match=re.escape(f'{srunet_ckpt}: shape mismatch for ')):
        SRUNetSegBackbone(init_cfg=init(srunet_ckpt)).init_weights()
