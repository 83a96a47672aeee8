"""The linear-probe protocol (crosspt.evaluation.linear_probe) against independent
references: separable Gaussian blobs, shuffled labels at chance, hand-worked accuracies,
confusion matrices and IoUs (and mmdet3d's own ``seg_eval``), sliding-window feature
averaging worked by hand, strict checkpoint loading, and global features extracted through
a config's test pipeline equal to a forward of the backbone on clouds read from the h5
file with h5py."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement
from torch import nn

import crosspt.models  # noqa: F401  (registers the models and datasets)
from crosspt.engine.runner import CheckpointMismatchError
from crosspt.evaluation import linear_probe as lp
from crosspt.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / 'data' / 'test_cache' / 'synthetic_objects' / 'modelnet40'


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def blobs(rng, num_classes=4, per_class=50, dims=16, spread=1.0):
    """Gaussian blobs around 10 * e_c: linearly separable with a wide margin."""
    y = np.repeat(np.arange(num_classes), per_class)
    x = rng.normal(0, spread, (len(y), dims))
    x[np.arange(len(y)), y] += 10.0
    return x.astype(np.float32), y


# ----------------------------------------------------------------------------- classifiers
@pytest.mark.parametrize('classifier', ['svm', 'logreg'])
def test_separable_blobs_are_classified_perfectly(classifier):
    rng = np.random.default_rng(0)
    train, test = blobs(rng), blobs(rng, per_class=25)
    result = lp.fit_linear_probe(*train, *test, classifier=classifier, C=0.01, seed=0)
    assert result['accuracy'] == 1.0 and result['mean_class_accuracy'] == 1.0
    assert (result['num_train'], result['num_test'], result['num_features']) == (200, 100, 16)
    assert result['num_train_classes'] == 4 and result['converged']


def test_shuffled_training_labels_give_chance_accuracy():
    # labels = argmax of a random linear map of 64-d Gaussian features: learnable by a
    # linear probe, no cluster structure; shuffling the training labels destroys the rule
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(64, 4))
    train_x, test_x = (rng.normal(size=(n, 64)).astype(np.float32) for n in (800, 400))
    train_y, test_y = (np.argmax(x @ weights, axis=1) for x in (train_x, test_x))
    shuffled = lp.fit_linear_probe(train_x, rng.permutation(train_y), test_x, test_y)
    # chance is 1/4; over 20 data seeds the shuffled accuracy was 0.254 +- 0.023, so the
    # band is > 4 std wide
    assert abs(shuffled['accuracy'] - 0.25) < 0.1, shuffled
    honest = lp.fit_linear_probe(train_x, train_y, test_x, test_y)
    assert honest['accuracy'] > 0.75, honest


@pytest.mark.parametrize('classifier', ['svm', 'logreg'])
def test_same_seed_same_classifier(classifier):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(120, 8)).astype(np.float32)
    y = rng.integers(0, 3, 120)        # not separable: the solver's path matters
    first, _ = lp.fit_classifier(x, y, classifier, 1.0, seed=3)
    second, _ = lp.fit_classifier(x, y, classifier, 1.0, seed=3)
    np.testing.assert_array_equal(first[-1].coef_, second[-1].coef_)
    np.testing.assert_array_equal(first.predict(x), second.predict(x))


def test_standardisation_uses_the_training_statistics_only():
    # 1-d: class 0 at {0, 1}, class 1 at {2, 3}: the boundary is near 1.5 in raw units.
    train_x = np.array([[0.], [1.], [2.], [3.]] * 5, dtype=np.float32)
    train_y = np.array([0, 0, 1, 1] * 5)
    # test clouds far on the class-1 side: standardised with their own mean / std they
    # would straddle 0, i.e. the boundary, and half would become class 0
    test_x, test_y = np.array([[10.], [11.]], dtype=np.float32), np.array([1, 1])
    for classifier in ('svm', 'logreg'):
        result = lp.fit_linear_probe(train_x, train_y, test_x, test_y, classifier, C=1.0)
        assert result['accuracy'] == 1.0, classifier
    model, _ = lp.fit_classifier(train_x, train_y, 'svm', 1.0)
    assert model[0].mean_ == pytest.approx([1.5]) and model[0].scale_ == pytest.approx(
        [np.std([0, 1, 2, 3])])


def test_accuracy_and_mean_class_accuracy_hand_worked():
    train_x = np.array([[0.], [0.5], [10.], [10.5]] * 3, dtype=np.float32)
    train_y = np.array([0, 0, 1, 1] * 3)
    # class 0: three clouds on its side, one on class 1's side; class 1: one cloud
    test_x = np.array([[0.], [0.2], [0.4], [10.], [10.2]], dtype=np.float32)
    test_y = np.array([0, 0, 0, 0, 1])
    result = lp.fit_linear_probe(train_x, train_y, test_x, test_y, 'svm', C=1.0)
    assert result['accuracy'] == pytest.approx(4 / 5)
    assert result['mean_class_accuracy'] == pytest.approx((3 / 4 + 1) / 2)


def test_classifier_errors_name_the_problem():
    x, y = blobs(np.random.default_rng(0), per_class=3)
    with pytest.raises(ValueError, match="one of \\['svm', 'logreg'\\]"):
        lp.fit_linear_probe(x, y, x, y, classifier='knn')
    with pytest.raises(ValueError, match='C must be a positive number'):
        lp.fit_linear_probe(x, y, x, y, C=0)
    with pytest.raises(ValueError, match='at least 2 classes'):
        lp.fit_linear_probe(x, np.zeros_like(y), x, y)
    bad = x.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match=r'train split: features contain NaN or inf \(row 5\)'):
        lp.fit_linear_probe(bad, y, x, y)
    with pytest.raises(ValueError, match='test split has 15 feature channels'):
        lp.fit_linear_probe(x, y, x[:, 1:], y)


# ----------------------------------------------------------------------------- mIoU
CONFUSION = np.array([[3, 1, 0, 0],     # rows: ground truth, columns: prediction
                      [0, 2, 2, 0],
                      [1, 0, 1, 0],
                      [0, 0, 0, 0]])   # class 3: neither in the ground truth nor predicted


def labels_of(confusion):
    gt, pred = [], []
    for (g, p), count in np.ndenumerate(confusion):
        gt += [g] * count
        pred += [p] * count
    return np.array(gt), np.array(pred)


def test_confusion_matrix_and_iou_hand_worked():
    gt, pred = labels_of(CONFUSION)
    # ignored points (label 4) with any prediction do not count
    gt, pred = np.concatenate([gt, [4, 4, 4]]), np.concatenate([pred, [0, 1, 3]])
    confusion = lp.confusion_matrix(gt, pred, num_classes=4, ignore_index=4)
    np.testing.assert_array_equal(confusion, CONFUSION)
    scores = lp.segmentation_scores(confusion)
    # IoU = TP / (row + column - TP): 3 / (4 + 4 - 3), 2 / (4 + 3 - 2), 1 / (2 + 3 - 1)
    np.testing.assert_allclose(scores['per_class_iou'][:3], [3 / 5, 2 / 5, 1 / 4])
    assert np.isnan(scores['per_class_iou'][3])
    assert scores['miou'] == pytest.approx((3 / 5 + 2 / 5 + 1 / 4) / 3)
    assert scores['oa'] == pytest.approx(6 / 10) and scores['num_points'] == 10


def test_a_predicted_class_absent_from_the_ground_truth_counts_zero():
    confusion = np.array([[2, 1], [0, 0]])   # class 1 predicted once, never true
    scores = lp.segmentation_scores(confusion)
    assert scores['per_class_iou'] == [pytest.approx(2 / 3), 0.0]
    assert scores['miou'] == pytest.approx(1 / 3)


@pytest.mark.filterwarnings('ignore:invalid value encountered:RuntimeWarning')
def test_miou_agrees_with_mmdet3d_seg_eval():
    functional = pytest.importorskip('mmdet3d.evaluation.functional')
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 6, 500)        # 6 = ignore index of 6 classes
    pred = np.where(rng.random(500) < 0.6, gt % 6, rng.integers(0, 6, 500))
    pred[gt == 6] = rng.integers(0, 6, int((gt == 6).sum()))
    pred[pred == 4] = 0                 # class 4 is never predicted; class 5 never true
    gt[gt == 5] = 3
    ours = lp.segmentation_scores(lp.confusion_matrix(gt, pred, 6, ignore_index=6))
    reference = functional.seg_eval([gt], [pred], {i: str(i) for i in range(6)}, 6)
    assert ours['miou'] == pytest.approx(reference['miou'])
    assert ours['oa'] == pytest.approx(reference['acc'])


def test_confusion_matrix_refuses_labels_out_of_range():
    with pytest.raises(ValueError, match=r'ground truth labels \[7\] outside \[0, 4\)'):
        lp.confusion_matrix(np.array([0, 7]), np.array([0, 1]), 4, ignore_index=255)
    with pytest.raises(ValueError, match=r'prediction labels \[4\] outside'):
        lp.confusion_matrix(np.array([0, 1]), np.array([0, 4]), 4, ignore_index=4)
    with pytest.raises(ValueError, match='confusion matrix is empty'):
        lp.segmentation_scores(np.zeros((3, 3)))


# ----------------------------------------------------------------------------- scenes
class FakeSegmentor(nn.Module):
    """A segmentor whose 'backbone' returns column 0 of its input as the only feature and
    whose sliding windows are fixed: three windows of two points over four points."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.test_cfg = dict(mode=mode, num_points=2, block_size=1.0, sample_rate=0.5,
                             use_normalized_coord=False, batch_size=2)
        self.calls = []

    def data_preprocessor(self, batch, training):
        return batch

    def _sliding_patch_generation(self, points, num_points, block_size, sample_rate,
                                  use_normalized_coord):
        idxs = torch.tensor([0, 1, 1, 2, 2, 3])
        patches = torch.zeros(6, points.shape[1])
        patches[:, 0] = torch.tensor([0., 0., 1., 1., 2., 2.])   # the window's number
        return patches, idxs

    def extract_feat(self, points):
        self.calls.append(tuple(points.shape))
        return dict(point_features=points[..., :1].transpose(1, 2))


def test_sliding_window_features_are_averaged_per_point():
    seg = FakeSegmentor('slide')
    feats = lp.scene_point_features(seg, torch.zeros(4, 6))
    # point 0: window 0; point 1: windows 0, 1; point 2: windows 1, 2; point 3: window 2
    np.testing.assert_allclose(feats[:, 0].numpy(), [0, 0.5, 1.5, 2])
    assert seg.calls == [(2, 2, 6), (1, 2, 6)]      # batch_size 2 windows per forward
    whole = FakeSegmentor('whole')
    points = torch.arange(12.).view(4, 3)
    np.testing.assert_array_equal(lp.scene_point_features(whole, points)[:, 0], points[:, 0])


def scene_batches(rng, scenes=3, n=50, ignore=9):
    """Batches of one scene each whose point feature (column 0) is the point's label."""
    batches = []
    for _ in range(scenes):
        labels = rng.integers(0, 3, n)
        labels[rng.random(n) < 0.2] = ignore
        points = torch.zeros(n, 6)
        points[:, 0] = torch.from_numpy(labels).float()
        sample = BaseDataElement(eval_ann_info=dict(pts_semantic_mask=labels))
        batches.append(dict(inputs=dict(points=[points]), data_samples=[sample]))
    return batches


def test_point_features_drop_ignored_points_and_subsample_with_the_seed():
    batches = scene_batches(np.random.default_rng(0))
    seg = FakeSegmentor('whole')   # in training mode, as a built nn.Module
    x, y = lp.extract_point_features(seg, batches, ignore_index=9)
    assert seg.training                                  # the mode is restored
    every = np.concatenate([b['data_samples'][0].eval_ann_info['pts_semantic_mask']
                            for b in batches])
    np.testing.assert_array_equal(y, every[every != 9])
    np.testing.assert_array_equal(x[:, 0], y)          # each feature row is its own point
    sub_x, sub_y = lp.extract_point_features(seg, batches, 9, max_points_per_scene=10,
                                             seed=4)
    assert len(sub_y) == 30 and (sub_x[:, 0] == sub_y).all()
    again = lp.extract_point_features(seg, batches, 9, max_points_per_scene=10, seed=4)
    np.testing.assert_array_equal(again[1], sub_y)
    other = lp.extract_point_features(seg, batches, 9, max_points_per_scene=10, seed=5)
    assert not np.array_equal(other[1], sub_y)


def test_point_probe_on_separable_points_with_ignored_ones():
    rng = np.random.default_rng(0)
    train_x, train_y = blobs(rng, num_classes=3, per_class=200)
    test_x, test_y = blobs(rng, num_classes=3, per_class=50)
    # ignored points (label 3) sit on class 0's blob; they must not become a class
    noise = blobs(rng, num_classes=1, per_class=100)[0]
    train_x, train_y = np.concatenate([train_x, noise]), np.concatenate([train_y, [3] * 100])
    test_x, test_y = np.concatenate([test_x, noise]), np.concatenate([test_y, [3] * 100])
    result = lp.fit_point_probe(train_x, train_y, test_x, test_y, num_classes=3,
                                ignore_index=3, max_train_points=300, seed=1)
    assert result['miou'] == 1.0 and result['oa'] == 1.0
    assert result['num_points'] == 150 and result['num_train_points'] == 300
    model, info = lp.fit_point_classifier(train_x, train_y, 3, max_train_points=300, seed=1)
    assert model.classes_.tolist() == [0, 1, 2] and info['num_train_points'] == 300


# ----------------------------------------------------------------------------- checkpoints
class TinyBackbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)


def test_checkpoint_loads_strictly_under_the_prefix(tmp_path):
    torch.manual_seed(0)
    source = TinyBackbone()
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    path = tmp_path / 'published.pth'
    torch.save(dict(state_dict=dict(state, **{'head.w': torch.ones(2)}), meta={}), path)
    target = TinyBackbone()
    assert lp.load_backbone_checkpoint(target, str(path), 'backbone.') == len(state)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key

    extra = tmp_path / 'extra.pth'
    torch.save(dict(state_dict=dict(state, **{'backbone.fc2.weight': torch.ones(2)})), extra)
    with pytest.raises(CheckpointMismatchError,
                       match=rf'(?s){extra}.*unexpected \(not in the model\): 1.*fc2.weight'):
        lp.load_backbone_checkpoint(TinyBackbone(), str(extra), 'backbone.')
    partial = tmp_path / 'partial.pth'
    torch.save(dict(state_dict={k: v for k, v in state.items() if 'bn' not in k}), partial)
    with pytest.raises(CheckpointMismatchError, match=r'missing in the checkpoint: 4.*bn.bias'):
        lp.load_backbone_checkpoint(TinyBackbone(), str(partial), 'backbone.')
    with pytest.raises(KeyError, match=rf"{path}: no tensor key starts with 'encoder.'"):
        lp.load_backbone_checkpoint(TinyBackbone(), str(path), 'encoder.')


def test_checkpoint_url_is_downloaded_verified_and_loaded(tmp_path, monkeypatch):
    import hashlib
    monkeypatch.setenv('CROSSPT_HOME', str(tmp_path / 'home'))
    source = TinyBackbone()
    plain = tmp_path / 'tiny.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}},
               plain)
    sha = hashlib.sha256(plain.read_bytes()).hexdigest()
    named = plain.rename(tmp_path / f'tiny-{sha[:8]}.pth')
    target = TinyBackbone()
    assert lp.load_backbone_checkpoint(target, f'file://{named}') == len(source.state_dict())
    assert torch.equal(target.fc.weight, source.fc.weight)
    assert (tmp_path / 'home' / 'checkpoints' / named.name).is_file()   # the cached copy
    wrong = tmp_path / 'tiny-00000000.pth'
    wrong.write_bytes(named.read_bytes())
    with pytest.raises(ValueError, match='sha256'):
        lp.load_backbone_checkpoint(TinyBackbone(), f'file://{wrong}')


# ----------------------------------------------------------------------------- objects
def h5_clouds(root: Path, split: str, count: int):
    """The first ``count`` clouds and labels of a split, read with h5py in the order of
    ``{split}_files.txt``."""
    import h5py
    folder = root / 'modelnet40_ply_hdf5_2048'
    clouds, labels = [], []
    for line in (folder / f'{split}_files.txt').read_text().split():
        with h5py.File(folder / Path(line).name, 'r') as f:
            clouds.append(f['data'][:])
            labels.append(f['label'][:].ravel())
    return np.concatenate(clouds)[:count], np.concatenate(labels)[:count]


def test_global_features_through_the_test_pipeline_equal_a_manual_forward(one_thread):
    config = REPO / 'configs/tap/benchmarks/linear-probe_pointmlp_modelnet40_synthetic.py'
    cfg = Config.fromfile(str(config))
    loader = cfg.train_dataloader
    loader.dataset.data_root, loader.dataset.indices, loader.batch_size = str(CACHE), 6, 4
    with DefaultScope.overwrite_default_scope('crosspt'):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        model.init_weights()
        dataloader = Runner.build_dataloader(loader, seed=0)   # generates the cache once
        model.train()
        feats, labels = lp.extract_global_features(model, dataloader)
    assert model.training and model.backbone.training       # mode restored
    clouds, expected_labels = h5_clouds(CACHE, 'train', 6)
    np.testing.assert_array_equal(labels, expected_labels)
    model.eval()
    with torch.no_grad():
        for i, cloud in enumerate(clouds):
            xyz = torch.from_numpy(cloud[:1024]).float()[None]     # TakeFirstPoints(1024)
            height = xyz[..., 1:2] - xyz[..., 1].min()            # ComputeHeight(y up)
            ref = model.backbone(xyz, torch.cat([xyz, height], -1))['global_features'][0]
            np.testing.assert_allclose(feats[i], ref.numpy(), rtol=1e-5, atol=1e-5)
    assert feats.shape == (6, 256) and feats.dtype == np.float32
    with pytest.raises(ValueError, match='pass data_preprocessor='):
        lp.extract_global_features(model.backbone, dataloader)


class BNCloudBackbone(torch.nn.Module):
    """points (B, N, 3) -> BatchNorm1d over the points of the batch -> max over points."""

    def __init__(self):
        super().__init__()
        self.bn = torch.nn.BatchNorm1d(3, affine=False)

    def forward(self, points, features):
        return dict(global_features=self.bn(points.transpose(1, 2)).amax(-1))


def test_per_cloud_batchnorm_normalises_each_cloud_by_its_own_statistics():
    torch.manual_seed(0)
    backbone = BNCloudBackbone()
    backbone.bn.running_mean.fill_(5.0)
    backbone.bn.running_var.fill_(4.0)
    clouds = [torch.randn(1, 7, 3) * (i + 1) + i for i in range(3)]
    batch = dict(inputs=dict(points=torch.cat(clouds), features=torch.cat(clouds)),
                 data_samples=[BaseDataElement(gt_label=torch.tensor(i)) for i in range(3)])
    preprocessor = type('P', (torch.nn.Module,), {'forward': lambda self, d, t: d})()
    per_cloud, labels = lp.extract_global_features(backbone, [batch], preprocessor,
                                                   batchnorm='per_cloud')
    running, _ = lp.extract_global_features(backbone, [batch], preprocessor)
    for i, cloud in enumerate(clouds):          # by hand: biased variance of that cloud
        x = cloud[0]
        ref = ((x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + 1e-5)).amax(0)
        np.testing.assert_allclose(per_cloud[i], ref.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(running[i], ((x - 5.0) / np.sqrt(4.0 + 1e-5)).amax(0),
                                   rtol=1e-5, atol=1e-5)
    assert labels.tolist() == [0, 1, 2]
    # the model's own statistics are untouched
    assert torch.all(backbone.bn.running_mean == 5.0) and backbone.training
    with pytest.raises(ValueError, match='batchnorm'):
        lp.extract_global_features(backbone, [batch], preprocessor, batchnorm='batch')
