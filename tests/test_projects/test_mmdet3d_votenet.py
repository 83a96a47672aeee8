"""mmdet3d's own VoteNet and a stock segmentation head on crosspt encoders
(projects/crosspt_mmdet3d/crosspt_mmdet3d/point_contract.py and votenet_cpu.py).

- the adapter's output contract: keys, shapes, dtypes, and seeds that are input points;
- the CPU set-abstraction module against a brute-force FPS + ball query + PointNet;
- the CPU points-in-boxes test against a hand-written rotated-box check;
- a class subset re-indexes the semantic ids the vote targets read;
- mmdet3d's DGCNNHead segments from a crosspt SR-UNet (loss and backward);
- end to end: the embedded VoteNet twin trains through tools/train.py from a PPKT
  SR-UNet34 checkpoint (every encoder tensor loaded) and reports IndoorMetric's mAPs.
"""
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip('mmdet3d.models')

import projects.crosspt_mmdet3d.crosspt_mmdet3d  # noqa: E402,F401  (registers the modules)
from mmdet3d.models.layers.pointnet_modules import PointSAModule  # noqa: E402
from mmdet3d.models.layers.pointnet_modules.builder import build_sa_module  # noqa: E402
from mmdet3d.registry import DATASETS, MODELS  # noqa: E402
from mmdet3d.structures import DepthInstance3DBoxes, Det3DDataSample, PointData  # noqa: E402
from mmengine.config import Config, ConfigDict  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

from projects.crosspt_mmdet3d.crosspt_mmdet3d.votenet_cpu import cpu_box_type  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TINY_SRUNET = dict(type='SRUNetSegBackbone', voxel_size=0.1, in_channels=3,
                   feature_keys=('rgb', ), stem_channels=8,
                   planes=(8, 16, 16, 16, 16, 16, 12, 12), layers=(1, ) * 8)   # 12-d out
CONTRACT = ('fp_xyz', 'fp_features', 'fp_indices', 'sa_xyz', 'sa_features', 'sa_indices',
            'fa_points', 'point_features')


@pytest.fixture(autouse=True)
def mmdet3d_scope():
    """Bare type names resolve in mmdet3d's registries, as in a Runner of these configs."""
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        yield


def room(n: int, seed: int) -> torch.Tensor:
    """(n, 6): xyz uniform in a 4 x 3 x 2 m box, rgb in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([torch.rand(n, 3, generator=g) * torch.tensor([4.0, 3.0, 2.0]),
                      torch.rand(n, 3, generator=g)], dim=1)


# ----------------------------------------------------------------------------- adapter


def test_adapter_contract_per_point_encoder():
    adapter = MODELS.build(dict(type='PointBackboneAdapter', encoder=TINY_SRUNET,
                                num_seeds=32)).eval()
    points = torch.stack([room(300, 0), room(300, 1)])
    with torch.no_grad():
        out = adapter(points)
        per_point = adapter.encoder(points)['point_features']         # (2, 12, 300)
    assert set(out) == set(CONTRACT)
    xyz, feats, inds = out['fp_xyz'][-1], out['fp_features'][-1], out['fp_indices'][-1]
    assert xyz.shape == (2, 32, 3) and feats.shape == (2, 12, 32) and inds.shape == (2, 32)
    assert inds.dtype == torch.int64 and xyz.dtype == feats.dtype == torch.float32
    for b in range(2):
        assert len(set(inds[b].tolist())) == 32                       # FPS: distinct points
        assert torch.equal(xyz[b], points[b, inds[b], :3])            # seeds are input points
        assert torch.equal(feats[b], per_point[b][:, inds[b]])
    assert torch.equal(out['sa_xyz'][0], points[..., :3])
    assert torch.equal(out['sa_features'][0], points[..., 3:].transpose(1, 2))
    assert torch.equal(out['sa_indices'][0][1], torch.arange(300))
    assert out['fa_points'].shape == (2, 300, 12)
    assert torch.equal(out['fa_points'], per_point.transpose(1, 2))


def test_adapter_on_threedetr_encoder_indexes_input_points():
    encoder = dict(type='crosspt.ThreeDETREncoder', preenc_npoints=64, preenc_nsample=8,
                   preenc_mlp=(16, 32), enc_dim=32, enc_ffn_dim=32, enc_nhead=4, num_layers=1)
    adapter = MODELS.build(dict(type='PointBackboneAdapter', encoder=encoder,
                                num_seeds=16)).eval()
    points = torch.stack([room(256, 2)[:, :3], room(256, 3)[:, :3]])
    with torch.no_grad():
        out = adapter(points)
    inds = out['fp_indices'][-1]
    assert out['fp_features'][-1].shape == (2, 32, 16) and inds.dtype == torch.int64
    for b in range(2):
        assert torch.equal(out['fp_xyz'][-1][b], points[b, inds[b]])
    assert out['sa_features'][0] is None                              # xyz-only input
    too_many = MODELS.build(dict(type='PointBackboneAdapter', encoder=encoder,
                                 num_seeds=128))
    with pytest.raises(ValueError, match='num_seeds=128 but the encoder gives only 64'):
        too_many(points)


# ----------------------------------------------------------------------------- SA module


def brute_force_fps(xyz: np.ndarray, m: int) -> list:
    chosen, dist = [0], np.full(len(xyz), np.inf)
    while len(chosen) < m:
        dist = np.minimum(dist, ((xyz - xyz[chosen[-1]]) ** 2).sum(1))
        chosen.append(int(np.argmax(dist)))
    return chosen


def brute_force_sa(module, xyz: torch.Tensor, feats: torch.Tensor, centres: list,
                   radius: float, k: int) -> torch.Tensor:
    """PointNet++ set abstraction of one cloud, one centre at a time: the first k points
    (index order) with |p - c|^2 < r^2, empty slots repeat the first; [(p - c) / r, f]
    through the module's shared MLP, max over the k.  -> (C_out, M)."""
    columns = []
    for c in centres:
        inside = [j for j in range(len(xyz)) if ((xyz[j] - xyz[c]) ** 2).sum() < radius ** 2]
        picked = (inside + [inside[0]] * k)[:k]
        grouped = torch.stack([torch.cat([(xyz[j] - xyz[c]) / radius, feats[:, j]])
                               for j in picked], dim=1)                # (3 + C, k)
        columns.append(module.mlps[0](grouped[None, :, None]).amax(dim=-1)[0, :, 0])
    return torch.stack(columns, dim=1)


def test_cpu_sa_module_equals_brute_force():
    cfg = dict(num_point=8, radius=0.35, num_sample=5, mlp_channels=[4, 8, 16],
               use_xyz=True, normalize_xyz=True)
    module = build_sa_module(dict(cfg, type='CrossptPointSAModule')).double().eval()
    stock = PointSAModule(**cfg)
    assert set(module.state_dict()) == set(stock.state_dict())       # checkpoints swap
    torch.manual_seed(0)
    for p in module.parameters():
        p.data.uniform_(-1, 1)
    xyz = torch.rand(2, 60, 3, dtype=torch.float64)
    feats = torch.randn(2, 4, 60, dtype=torch.float64)
    with torch.no_grad():
        new_xyz, new_feats, inds = module(xyz, feats)
        for b in range(2):
            centres = brute_force_fps(xyz[b].numpy(), 8)
            assert inds[b].tolist() == centres
            assert torch.equal(new_xyz[b], xyz[b, centres])
            ref = brute_force_sa(module, xyz[b], feats[b], centres, 0.35, 5)
            torch.testing.assert_close(new_feats[b], ref, rtol=1e-12, atol=1e-12)
        given = torch.tensor([[5, 1, 7, 9, 0, 2, 3, 4]] * 2)          # 'seed' / 'random' modes
        xyz_given, feats_given, inds_given = module(xyz, feats, indices=given)
        assert torch.equal(xyz_given, xyz[:, given[0]]) and torch.equal(inds_given, given)
        torch.testing.assert_close(
            feats_given[1], brute_force_sa(module, xyz[1], feats[1], given[1].tolist(), 0.35, 5),
            rtol=1e-12, atol=1e-12)


def test_cpu_points_in_boxes_against_rotated_box_check():
    """A box of 2 x 1 x 1 m at (1, 1, bottom 0), yawed 30 degrees, and a point grid."""
    yaw = np.pi / 6
    boxes = cpu_box_type(DepthInstance3DBoxes)(torch.tensor([[1.0, 1.0, 0.0, 2.0, 1.0, 1.0,
                                                               yaw]]))
    g = torch.linspace(-0.5, 2.5, 31)
    points = torch.stack(torch.meshgrid(g, g, torch.tensor([0.5, 1.2]), indexing='ij'),
                         -1).reshape(-1, 3)
    got = boxes.points_in_boxes_all(points)[:, 0].bool()
    d = points[:, :2] - torch.tensor([1.0, 1.0])
    # mmdet3d's yaw convention for depth boxes: local = R(-yaw) (p - centre)
    local_x = d[:, 0] * np.cos(yaw) + d[:, 1] * np.sin(yaw)
    local_y = -d[:, 0] * np.sin(yaw) + d[:, 1] * np.cos(yaw)
    want = (local_x.abs() < 1.0) & (local_y.abs() < 0.5) & (points[:, 2] <= 1.0)
    assert got.sum() > 20 and torch.equal(got, want)
    assert boxes[[0]].points_in_boxes_all(points).shape == (len(points), 1)   # kept on index


# ----------------------------------------------------------------------------- segmentation


def test_stock_dgcnn_head_segments_from_crosspt_srunet():
    model = MODELS.build(ConfigDict(
        type='EncoderDecoder3D', data_preprocessor=dict(type='Det3DDataPreprocessor'),
        backbone=dict(type='PointBackboneAdapter', encoder=TINY_SRUNET, num_seeds=None),
        decode_head=dict(type='DGCNNHead', fp_channels=(12, 16), channels=16, num_classes=4,
                         dropout_ratio=0.0, ignore_index=4,
                         loss_decode=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=False,
                                          class_weight=None, loss_weight=1.0)),
        train_cfg=dict(), test_cfg=dict(mode='whole')))
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        sample = Det3DDataSample()
        sample.gt_pts_seg = PointData(pts_semantic_mask=torch.randint(0, 5, (200, ), generator=g))
        samples.append(sample)
    data = model.data_preprocessor(dict(inputs=dict(points=[room(200, 4), room(200, 5)]),
                                        data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'decode.loss_sem_seg'} and torch.isfinite(losses['decode.loss_sem_seg'])
    losses['decode.loss_sem_seg'].backward()
    for part in (model.backbone.encoder, model.decode_head.FP_module, model.decode_head.conv_seg):
        grads = [p.grad for p in part.parameters()]
        assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
        assert sum(float(gr.abs().sum()) for gr in grads) > 0, type(part).__name__
    model.eval()
    with torch.no_grad():
        pred = model(**model.data_preprocessor(data, False), mode='predict')
    assert pred[0].pred_pts_seg.pts_semantic_mask.shape == (200, )


# ----------------------------------------------------------------------------- end to end

sys.path.insert(0, str(REPO / 'tests' / 'test_tools'))
from tool_runner import WEIGHTS_ONLY, run  # noqa: E402

DATA_ROOT = REPO / 'data' / 'test_cache' / 'synthetic_scannet_mmdet3d'
SMALL = dict(num_scenes=4, num_val_scenes=2, num_points=8000, seed=0)   # test_scene_benchmarks'
VOTENET_FT = 'projects/crosspt_mmdet3d/configs/ppkt/votenet-srunet34_ft_scannet-det_synthetic.py'


def test_class_subset_reindexes_semantic_ids():
    """5 classes kept: their NYU40 ids map to 0..4 in the kept order, every other id to 5
    (what PointSegClassMapping and so VoteHead's vote targets then see)."""
    cfg = Config.fromfile(str(REPO / VOTENET_FT))
    dataset_cfg = dict(cfg.train_dataloader.dataset, data_root=f'{DATA_ROOT}/',
                       auto_generate=SMALL, pipeline=[])
    dataset = DATASETS.build(dataset_cfg)
    mapping = dataset.get_data_info(0)['seg_label_mapping']
    # NYU40 ids of cabinet, bed, chair, table, bookshelf (mmdet3d's ScanNet valid ids)
    assert [int(mapping[i]) for i in (3, 4, 5, 7, 10)] == [0, 1, 2, 3, 4]
    assert int(mapping[6]) == 5 and int(mapping[39]) == 5 and (mapping <= 5).all()


def ppkt_srunet34_checkpoint(path: Path) -> int:
    """The PPKT student of configs/ppkt/srunet34_synthetic.py under ``backbone.`` (as PPKT
    training saves it) plus a projection key; returns the student's tensor count."""
    from crosspt.registry import MODELS as CROSSPT_MODELS
    cfg = Config.fromfile(str(REPO / 'configs/ppkt/srunet34_synthetic.py'))
    with DefaultScope.overwrite_default_scope('crosspt'):
        student = CROSSPT_MODELS.build(cfg.model.backbone)
    state = {f'backbone.{k}': v for k, v in student.state_dict().items()}
    torch.save({'state_dict': dict(state, **{'projection.weight': torch.zeros(128, 96)})}, path)
    return len(state)


def test_scannet_config_loads_ppkt_trains_and_predicts_on_cpu(tmp_path, key_reports):
    """The ScanNet ft config (18 classes, 2.5 cm voxels, ones): every SR-UNet34 tensor
    of a PPKT checkpoint lands in model.backbone.encoder; loss, backward and the 'seed'
    mode prediction run on CPU."""
    path = tmp_path / 'ppkt.pth'
    tensors = ppkt_srunet34_checkpoint(path)
    cfg = Config.fromfile(str(REPO / VOTENET_FT.replace('_synthetic', '')))
    cfg.model.backbone.encoder.init_cfg.checkpoint = str(path)
    model = MODELS.build(cfg.model)
    model.init_weights()
    saved = torch.load(path, weights_only=True)['state_dict']
    own = model.backbone.encoder.state_dict()
    assert len(own) == tensors and all(torch.equal(v, saved[f'backbone.{k}'])
                                       for k, v in own.items())
    assert any(f'loaded {tensors}/{tensors} tensors; missing 0; unexpected 0' in m
               for m in key_reports), key_reports
    sample = Det3DDataSample(metainfo=dict(box_type_3d=DepthInstance3DBoxes))
    sample.gt_instances_3d = InstanceData(
        bboxes_3d=DepthInstance3DBoxes(torch.tensor([[1.0, 1.0, 0.0, 0.8, 0.8, 1.0, 0.0]])),
        labels_3d=torch.tensor([2]))
    points = room(2048, 6)
    inside = ((points[:, :2] - 1.0).abs() < 0.4).all(1) & (points[:, 2] < 1.0)
    sample.gt_pts_seg = PointData(pts_semantic_mask=torch.where(inside, 2, 18),
                                  pts_instance_mask=inside.long())
    losses = model.loss(dict(points=[points]), [sample])
    assert losses['vote_loss'] > 0 and all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.backbone.encoder.stem.conv.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        pred = model.predict(dict(points=[points]), [sample])[0].pred_instances_3d
    assert pred.bboxes_3d.tensor.shape[1] == 7 and len(pred.scores_3d) == len(pred.labels_3d)


def test_votenet_twin_trains_from_ppkt_and_reports_indoor_metric(tmp_path):
    tensors = ppkt_srunet34_checkpoint(tmp_path / 'ppkt_srunet34.pth')
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    opts = [f'{loader}.dataset.{key}' for loader in loaders for key in (
        f'data_root={DATA_ROOT}/', *(f'auto_generate.{k}={v}' for k, v in SMALL.items()))]
    opts += ['train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
             'val_dataloader.num_workers=0', 'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
             'param_scheduler.0.end=3', 'param_scheduler.0.milestones=[2]',
             'default_hooks.checkpoint.interval=3', 'default_hooks.logger.interval=1', WEIGHTS_ONLY,
             # 4,096 of the 8,000 points (PointSample is train step 5, test step 3)
             'train_dataloader.dataset.pipeline.5.num_points=4096',
             'val_dataloader.dataset.pipeline.3.num_points=4096',
             'model.test_cfg.score_thr=0.0']
    out = run([sys.executable, 'tools/train.py', VOTENET_FT, '--work-dir',
               str(tmp_path / 'work'), '--cfg-options', *opts],
              env=dict(CROSSPT_PRETRAINED=str(tmp_path / 'ppkt_srunet34.pth')))
    report = re.search(r"prefix 'backbone\.'\) -> SRUNetSegBackbone: loaded (\d+)/(\d+) tensors; "
                       r'missing 0; unexpected 0', out)
    assert report and int(report.group(1)) == int(report.group(2)) == tensors, out[-3000:]
    assert 'Iter(train) [3/3]' in out and 'vote_loss' in out
    maps = {k: float(v) for k, v in re.findall(r'\b(mAP_0\.(?:25|50)): (\S+)', out)}
    assert set(maps) == {'mAP_0.25', 'mAP_0.50'}, out[-3000:]
    assert 0.0 <= maps['mAP_0.50'] <= maps['mAP_0.25'] <= 1.0
