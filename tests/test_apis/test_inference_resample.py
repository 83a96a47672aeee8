"""Clouds with fewer points than the config's pipeline needs: an error that names the
counts, the step and the ``resample=True`` remedy; with it, every input point is kept
and the rest are copies of input points (extract_features, render_views, the demo)."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from crosspt.apis import extract_features, init_model, render_views

REPO = Path(__file__).resolve().parents[2]
TAP_CONFIG = REPO / 'configs/tap/pointmlp_synthetic.py'
TAP = Config.fromfile(str(TAP_CONFIG))     # its image_size and num_points
CLS_CONFIG = REPO / 'configs/tap/benchmarks/pointmlp_ft_modelnet40_synthetic.py'


def cloud(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, size=(count, 3)).astype(np.float32)


@pytest.fixture(scope='module')
def classifier():
    torch.manual_seed(0)
    return init_model(str(CLS_CONFIG))        # test pipeline: TakeFirstPoints(1024)


def rows_of(points: np.ndarray, source: np.ndarray) -> np.ndarray:
    """For each row of ``points`` the index of the equal row of ``source`` (-1: none)."""
    equal = (points[:, None, :] == source[None, :, :]).all(axis=-1)
    return np.where(equal.any(axis=1), equal.argmax(axis=1), -1)


def test_too_few_points_is_an_error_naming_the_remedy(classifier):
    with pytest.raises(ValueError) as error:
        extract_features(classifier, cloud(700))
    message = str(error.value)
    assert message.startswith('extract_features: the cloud has 700 points')
    assert 'needs at least 1024' in message and 'TakeFirstPoints(num_points=1024)' in message
    assert 'resample=True' in message and str(CLS_CONFIG.name) in message


def test_resample_keeps_every_point_and_adds_copies(classifier):
    small = cloud(700)
    out = extract_features(classifier, small, resample=True)
    points = out['points'].numpy()
    assert points.shape == (1024, 3)
    # TakeFirstPoints keeps the order: the input first, then 324 copies of input points
    np.testing.assert_array_equal(points[:700], small)
    assert (rows_of(points[700:], small) >= 0).all()
    # the same input gives the same features; they equal those of the filled cloud
    again = extract_features(classifier, small, resample=True)
    assert torch.equal(out['global_features'], again['global_features'])
    filled = extract_features(classifier, points)
    assert torch.equal(out['global_features'], filled['global_features'])


def test_resample_leaves_large_enough_clouds_alone(classifier):
    big = cloud(1500, seed=1)
    a = extract_features(classifier, big)
    b = extract_features(classifier, big, resample=True)
    assert torch.equal(a['points'], b['points'])
    np.testing.assert_array_equal(a['points'].numpy(), big[:1024])


@pytest.fixture(scope='module')
def tap_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = init_model(str(TAP_CONFIG))
    path = tmp_path_factory.mktemp('tap') / 'tap_full.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'epoch': 1}}, path)
    return path


def test_render_views_and_the_demo_resample_on_request(tap_checkpoint, tmp_path):
    model = init_model(str(TAP_CONFIG), str(tap_checkpoint))
    small = cloud(300)
    with pytest.raises(ValueError, match=r'render_views: the cloud has 300 points.*'
                                         r'LoadPointsFromPLY.*resample=True'):
        render_views(model, small, poses=[0])
    views = render_views(model, small, poses=[0], resample=True)
    assert views.shape == (1, 3, TAP.image_size, TAP.image_size) and np.isfinite(views).all()
    # the demo's --resample flag reaches both calls
    sys.path.insert(0, str(REPO / 'demo'))
    try:
        import tap_views_demo
    finally:
        sys.path.remove(str(REPO / 'demo'))
    np.save(tmp_path / 'sparse.npy', small)
    args = [str(tmp_path / 'sparse.npy'), str(TAP_CONFIG), str(tap_checkpoint), '--views', '0']
    with pytest.raises(ValueError, match='resample=True'):
        tap_views_demo.main(args)
    written = tap_views_demo.main(args + ['--resample'])
    assert str(tmp_path / 'sparse_tap_view00.png') in written
    features = np.load(tmp_path / 'sparse_tap_features.npz')
    assert features['point_features'].shape[0] == TAP.num_points


def test_subsampling_and_fill_up_are_logged(classifier):
    """The API says which step changed the number of points, from and to how many."""
    import logging
    import re

    from mmengine.logging import MMLogger
    messages = []
    handler = logging.Handler(level=logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        extract_features(classifier, cloud(3000))
        extract_features(classifier, cloud(700), resample=True)
    finally:
        logger.removeHandler(handler)
    assert any(re.fullmatch(r'extract_features: TakeFirstPoints\(num_points=1024\) subsampled '
                            r'the cloud from 3000 to 1024 points in \d+\.\d\d s', m)
               for m in messages), messages
    assert ('extract_features: filled the cloud up from 700 to 1024 points by resampling '
            'with replacement (TakeFirstPoints(num_points=1024) needs 1024)') in messages
