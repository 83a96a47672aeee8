"""crosspt.apis: init_model's checkpoint handling, extract_features / render_views against
the dataset path (config pipeline -> data preprocessor -> model) on the embedded data,
the interpolation against a numpy brute force, and load_points' formats and errors."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from crosspt.apis import extract_features, init_model, load_points, render_views
from crosspt.fileio.ply import write_ply_points
from crosspt.rendering.mesh_io import write_obj
from crosspt.rendering.poses import tap_view_rotations

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / 'data' / 'test_cache'
TAP_CONFIG = REPO / 'configs/tap/pointmlp_synthetic.py'
CLS_CONFIG = REPO / 'configs/tap/benchmarks/pointmlp_ft_modelnet40_synthetic.py'
PPKT_CONFIG = REPO / 'configs/ppkt/srunet34_synthetic.py'
IMAGE = Config.fromfile(str(TAP_CONFIG)).image_size      # the TAP config's view size


def build_dataset(cfg: Config, loader: str):
    from crosspt.registry import DATASETS
    with DefaultScope.overwrite_default_scope('crosspt'):
        return DATASETS.build(cfg[loader].dataset)


def tap_cfg() -> Config:
    """The TAP config on the small cached ShapeNet55-format set of the TAP tool tests."""
    cfg = Config.fromfile(str(TAP_CONFIG))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(CACHE / 'synthetic_shapenet55_small_56px')
        cfg[loader].dataset.auto_generate.update(num_train=12, num_val=4, num_test=4)
    return cfg


def save_checkpoint(state: dict, path: Path) -> str:
    torch.save({'state_dict': state, 'meta': {'epoch': 1}}, path)
    return str(path)


@pytest.fixture(scope='module')
def tap_checkpoint(tmp_path_factory):
    """A full TAP checkpoint with non-default weights (so loading is visible)."""
    torch.manual_seed(0)
    model = init_model(tap_cfg())
    state = {k: v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    return save_checkpoint(state, tmp_path_factory.mktemp('tap') / 'full.pth'), state


def test_init_model_loads_every_tensor_of_a_full_checkpoint(tap_checkpoint):
    path, state = tap_checkpoint
    model = init_model(tap_cfg(), path)
    assert model.checkpoint_report['missing'] == []
    assert model.checkpoint_report['unexpected'] == []
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert not model.training


def test_backbone_only_checkpoint_extracts_features_but_cannot_render(tap_checkpoint, tmp_path):
    _, state = tap_checkpoint
    backbone = {k: v for k, v in state.items() if k.startswith('backbone.')}
    model = init_model(tap_cfg(), save_checkpoint(backbone, tmp_path / 'backbone.pth'))
    assert set(model.checkpoint_report['loaded']) == set(backbone)
    points = np.random.default_rng(0).normal(size=(1500, 3)).astype(np.float32)
    assert extract_features(model, points)['global_features'].shape == (256,)
    with pytest.raises(ValueError, match='photograph'):
        render_views(model, points, poses=[0])


def test_checkpoints_that_do_not_fit_are_errors_naming_the_file(tap_checkpoint, tmp_path):
    _, state = tap_checkpoint
    wrong = dict(state)
    wrong['head.decoder.layer2.0.bias'] = torch.zeros(5)
    path = save_checkpoint(wrong, tmp_path / 'wrong_shape.pth')
    with pytest.raises(ValueError, match='wrong_shape.pth.*head.decoder.layer2.0.bias'):
        init_model(tap_cfg(), path)
    path = save_checkpoint({'other.weight': torch.zeros(2)}, tmp_path / 'foreign.pth')
    with pytest.raises(KeyError, match='foreign.pth shares no key'):
        init_model(tap_cfg(), path)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        init_model(tap_cfg(), str(tmp_path / 'missing.pth'))
    with pytest.raises(KeyError, match='model.no_such_key'):
        init_model(tap_cfg(), cfg_options={'model.no_such_key.x': 1})


def test_render_views_and_features_equal_the_dataset_path(tap_checkpoint):
    """A val object through the dataset pipeline + TAP.predict gives the same views and
    backbone features as the API on the raw .ply file (loaded y up, as TAP's loader
    expects)."""
    cfg = tap_cfg()
    model = init_model(cfg, tap_checkpoint[0])
    dataset = build_dataset(cfg, 'val_dataloader')
    sample = dataset[1]
    batch = model.data_preprocessor(pseudo_collate([sample]), False)
    with torch.no_grad():
        expected = model.predict(batch['inputs'])[0].pred_images.numpy()
        expected_global = model.backbone(batch['inputs']['points'],
                                         batch['inputs']['features'])['global_features'][0]
    poses = sample['data_samples'].metainfo['view_indices']
    points = load_points(sample['data_samples'].metainfo['ply_path'], up_axis='y')
    views = render_views(model, points, poses=poses)
    assert views.shape == expected.shape == (len(poses), 3, IMAGE, IMAGE)
    np.testing.assert_allclose(views, expected, atol=1e-5)
    np.testing.assert_allclose(extract_features(model, points)['global_features'],
                               expected_global, atol=1e-5)
    # the same poses given as rotation matrices
    np.testing.assert_allclose(render_views(model, points, tap_view_rotations()[poses]),
                               expected, atol=1e-5)


def test_classifier_features_equal_the_dataset_path():
    """ModelNet40-format h5 cloud (2048 points, y up): the config's TakeFirstPoints +
    ComputeHeight(gravity_dim=1) run inside the API as in the dataset."""
    cfg = Config.fromfile(str(CLS_CONFIG))
    root = str(CACHE / 'synthetic_objects' / 'modelnet40')
    cfg.test_dataloader.dataset.data_root = root
    torch.manual_seed(0)
    model = init_model(cfg)
    dataset = build_dataset(cfg, 'test_dataloader')
    batch = model.data_preprocessor(pseudo_collate([dataset[3]]), False)
    with torch.no_grad():
        expected = model.extract_feat(batch['inputs'])[0]
    cloud = dataset.get_data_info(3)['cloud']
    assert cloud.shape == (2048, 3)
    feats = extract_features(model, cloud)
    np.testing.assert_allclose(feats['global_features'], expected, atol=1e-5)
    np.testing.assert_allclose(feats['points'], cloud[:1024], atol=0)


def test_point_features_are_inverse_distance_interpolated_from_the_centres(tap_checkpoint):
    """Numpy brute force of PointNet++'s rule: 3 nearest centres, weights 1/(d + 1e-8)
    normalised."""
    model = init_model(tap_cfg(), tap_checkpoint[0])
    points = np.random.default_rng(1).uniform(-1, 1, size=(1024, 3)).astype(np.float32)
    out = {k: v.double().numpy() for k, v in extract_features(model, points).items()}
    dist = np.linalg.norm(out['points'][:, None] - out['center_points'][None], axis=-1)
    nearest = np.argsort(dist, axis=1)[:, :3]
    d = np.take_along_axis(dist, nearest, axis=1)
    w = 1.0 / (d + 1e-8)
    w /= w.sum(axis=1, keepdims=True)
    expected = (out['center_features'][nearest] * w[..., None]).sum(axis=1)
    np.testing.assert_allclose(out['point_features'], expected, rtol=1e-4, atol=1e-5)
    # a point that is a centre carries that centre's features
    at_centre = dist.min(axis=1) < 1e-6
    assert at_centre.sum() >= 1
    np.testing.assert_allclose(out['point_features'][at_centre],
                               out['center_features'][dist.argmin(axis=1)[at_centre]],
                               rtol=1e-4, atol=1e-4)


def test_pose_and_point_errors(tap_checkpoint):
    model = init_model(tap_cfg(), tap_checkpoint[0])
    points = np.random.default_rng(0).normal(size=(1024, 3)).astype(np.float32)
    assert render_views(model, points).shape == (12, 3, IMAGE, IMAGE)
    with pytest.raises(ValueError, match=r'\[0, 12\)'):
        render_views(model, points, poses=[12])
    with pytest.raises(ValueError, match='rotations'):
        render_views(model, points, poses=np.full((1, 3, 3), 2.0))
    bad = points.copy()
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match='row 7'):
        extract_features(model, bad)
    with pytest.raises(ValueError, match='400 points'):
        extract_features(model, points[:400])   # the config reads 512
    classifier = init_model(str(CLS_CONFIG))
    with pytest.raises(TypeError, match='TAP model'):
        render_views(classifier, points)


def test_ppkt_point_features_are_shared_within_a_voxel(tmp_path):
    from crosspt.registry import MODELS
    cfg = Config.fromfile(str(PPKT_CONFIG))
    cfg.model.teacher.update(checkpoint=None, allow_random_init=True)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('crosspt'):
        state = MODELS.build(cfg.model).state_dict()
    cfg = Config.fromfile(str(PPKT_CONFIG))
    model = init_model(cfg, save_checkpoint(state, tmp_path / 'ppkt.pth'))
    assert model.checkpoint_report['missing'] == []
    rng = np.random.default_rng(0)
    size = cfg.model.voxel_size
    xyz = rng.uniform(0, 2.0, size=(3000, 3))
    xyz[0] = np.floor(xyz[0] / size) * size + 0.4 * size
    xyz[1] = xyz[0] + 0.02 * size                 # the same voxel as point 0 ...
    xyz[2] = xyz[0] + 6 * size                    # ... and a point 6 voxels away
    cloud = np.concatenate([xyz, rng.integers(0, 256, size=(3000, 3))], axis=1)
    out = extract_features(model, cloud)
    assert out['point_features'].shape == (3000, 96)
    assert torch.equal(out['point_features'][0], out['point_features'][1])
    assert not torch.equal(out['point_features'][0], out['point_features'][2])
    assert torch.equal(out['global_features'], out['point_features'].max(dim=0).values)
    with pytest.raises(ValueError, match='xyz \\+ rgb'):
        extract_features(model, xyz)


def test_load_points_formats_axes_and_errors(tmp_path):
    z_up = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]], dtype=np.float32)
    np.save(tmp_path / 'cloud.npy', np.concatenate([z_up, np.ones((3, 3))], axis=1))
    loaded = load_points(tmp_path / 'cloud.npy', up_axis='z')
    # z up -> y up: (0, 0, 1) -> (0, 1, 0); x stays horizontal, old y becomes x
    np.testing.assert_array_equal(loaded, [[0, 1, 0], [0, 0, 1], [2, 0, 0]])
    np.testing.assert_array_equal(load_points(tmp_path / 'cloud.npy'), z_up)
    write_ply_points(tmp_path / 'cloud.ply', z_up)
    np.testing.assert_array_equal(load_points(tmp_path / 'cloud.ply'), z_up)
    cube_v = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
    cube_f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                       [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    write_obj(tmp_path / 'cube.obj', cube_v, cube_f)
    samples = load_points(tmp_path / 'cube.obj', num_mesh_points=500)
    assert samples.shape == (500, 3)
    on_face = np.isclose(samples, 0, atol=1e-6) | np.isclose(samples, 1, atol=1e-6)
    assert on_face.any(axis=1).all()              # every sample lies on a cube face
    bad = z_up.copy()
    bad[2, 0] = np.inf
    np.save(tmp_path / 'bad.npy', bad)
    with pytest.raises(ValueError, match='bad.npy.*row 2'):
        load_points(tmp_path / 'bad.npy')
    with pytest.raises(ValueError, match=r"\.xyz"):
        (tmp_path / 'cloud.xyz').write_text('0 0 0\n')
        load_points(tmp_path / 'cloud.xyz')
    with pytest.raises(FileNotFoundError, match='nothing.ply'):
        load_points(tmp_path / 'nothing.ply')
    np.save(tmp_path / 'flat.npy', np.zeros((4, 2)))
    with pytest.raises(ValueError, match='flat.npy'):
        load_points(tmp_path / 'flat.npy')
