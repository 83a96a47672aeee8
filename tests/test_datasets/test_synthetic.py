"""Synthetic ShapeNet55 stand-in: layout, determinism, idempotence, image/query agreement."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from crosspt.fileio import read_ply_points
from crosspt.rendering import read_mesh, sample_surface_points, tap_view_rotations
from crosspt.synthetic.shapenet55 import generate_synthetic_shapenet55
from crosspt.synthetic.shapes import SYNTHETIC_CATEGORIES, make_object

COUNTS = dict(num_train=2, num_val=1, num_test=1)


def _all_files(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root)] = path
    return out


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('synth') / 'shapenet55'
    info = generate_synthetic_shapenet55(root, seed=0, progress=False, **COUNTS)
    return root, info


def test_layout_matches_tap_loader(dataset):
    root, info = dataset
    assert info['created'] is True
    expected = {'synthetic_info.json'}
    ids = {'train': [0, 1], 'val': [2], 'test': [3]}
    for split, model_ids in ids.items():
        for i in model_ids:
            expected.add(f'pointclouds/{split}/model_{i:06d}.ply')
            expected.add(f'meshes/{split}/model_{i:06d}.off')
            expected.update(f'shapenet55v1/{split}/model_{i:06d}_{v:03d}.jpg'
                            for v in range(1, 13))
    assert set(_all_files(root)) == expected
    # the loader derives image paths by string replacement (docs/methods/tap.md, 'Layout on
    # disk')
    ply = os.path.join(str(root), 'pointclouds', 'val', 'model_000002.ply')
    for v in range(12):
        img = ply.replace('pointclouds', 'shapenet55v1').replace('.ply', f'_{v + 1:03d}.jpg')
        assert os.path.isfile(img)
    stored = json.loads((root / 'synthetic_info.json').read_text())
    assert stored['params']['seed'] == 0 and stored['format_version'] >= 1
    assert stored['counts'] == {'train': 2, 'val': 1, 'test': 1}
    assert [m['category'] for m in stored['models']] == list(SYNTHETIC_CATEGORIES[:4])
    assert not os.path.exists(str(root) + '.tmp')


def test_points_and_images_format(dataset):
    root, _ = dataset
    for path in sorted((root / 'pointclouds').rglob('*.ply')):
        pts = read_ply_points(path)
        assert pts.shape == (1024, 3) and np.isfinite(pts).all()
        assert len(np.unique(pts, axis=0)) == 1024
    for path in sorted((root / 'shapenet55v1').rglob('*.jpg')):
        with Image.open(path) as img:
            assert img.mode == 'RGB' and img.size == (224, 224) and img.format == 'JPEG'
    img = np.asarray(Image.open(root / 'shapenet55v1/train/model_000000_001.jpg'))
    assert (img[:5] >= 250).all() and (img[:, :5] >= 250).all()     # white border
    assert (img < 200).any()                                          # an object


def test_images_agree_with_query_generator(dataset):
    """Load like TAP (permute [2,0,1], unit sphere), project with the query generator."""
    from crosspt.models.tap.query_generator import TAPQueryGenerator
    root, _ = dataset
    rot = torch.from_numpy(tap_view_rotations())[None]
    for split, i in (('train', 0), ('train', 1), ('val', 2), ('test', 3)):
        pts = read_ply_points(root / f'pointclouds/{split}/model_{i:06d}.ply')[:, [2, 0, 1]]
        pts = pts - pts.mean(0)
        pts = pts / np.linalg.norm(pts, axis=1).max()
        pix = np.floor(TAPQueryGenerator().project(torch.from_numpy(pts)[None], rot)[0].numpy())
        pix = pix.astype(int)
        for v in range(12):
            img = np.asarray(Image.open(root / f'shapenet55v1/{split}/model_{i:06d}_{v + 1:03d}.jpg'))
            fg = (img < 250).any(-1)
            assert fg[pix[v, :, 0], pix[v, :, 1]].mean() >= 0.95, (split, i, v)
            rows, cols = np.nonzero(fg.any(1))[0], np.nonzero(fg.any(0))[0]
            # the points lie inside the silhouette's box; the mesh may reach a few pixels past
            # its 1024 surface samples (rims, tips), as with TAP's Poisson-disk clouds
            assert 0 <= pix[v, :, 0].min() - rows.min() <= 8
            assert 0 <= rows.max() - pix[v, :, 0].max() <= 8
            assert 0 <= pix[v, :, 1].min() - cols.min() <= 8
            assert 0 <= cols.max() - pix[v, :, 1].max() <= 8


def test_meshes_are_y_up_and_consistent_with_points(dataset):
    root, _ = dataset
    verts, faces = read_mesh(root / 'meshes/train/model_000000.off')   # a table
    assert faces.shape[1] == 3 and len(faces) > 0
    pts = read_ply_points(root / 'pointclouds/train/model_000000.ply')
    assert (pts.min(0) >= verts.min(0) - 1e-4).all() and (pts.max(0) <= verts.max(0) + 1e-4).all()
    # table top is the highest part along +y: many points at max y
    assert (pts[:, 1] > verts[:, 1].max() - 1e-3).mean() > 0.1


def test_deterministic_and_seed_dependent(dataset, tmp_path):
    root, _ = dataset
    again = tmp_path / 'again'
    generate_synthetic_shapenet55(again, seed=0, progress=False, **COUNTS)
    a, b = _all_files(root), _all_files(again)
    assert set(a) == set(b)
    for rel in a:
        with open(a[rel], 'rb') as fa, open(b[rel], 'rb') as fb:
            assert fa.read() == fb.read(), rel
    other = tmp_path / 'other'
    generate_synthetic_shapenet55(other, seed=1, progress=False, num_train=1, num_val=0,
                                  num_test=0)
    assert not np.array_equal(read_ply_points(other / 'pointclouds/train/model_000000.ply'),
                              read_ply_points(root / 'pointclouds/train/model_000000.ply'))


def test_idempotent_and_repairs_incomplete(tmp_path):
    root = tmp_path / 'ds'
    generate_synthetic_shapenet55(root, seed=0, progress=False, num_train=1, num_val=1,
                                  num_test=0)
    files = _all_files(root)
    mtimes = {rel: os.stat(p).st_mtime_ns for rel, p in files.items()}
    info = generate_synthetic_shapenet55(root, seed=0, progress=False, num_train=1, num_val=1,
                                         num_test=0)
    assert info['created'] is False
    assert {rel: os.stat(p).st_mtime_ns for rel, p in _all_files(root).items()} == mtimes
    # a missing file makes it rebuild the whole set
    os.remove(root / 'shapenet55v1/val/model_000001_007.jpg')
    info = generate_synthetic_shapenet55(root, seed=0, progress=False, num_train=1, num_val=1,
                                         num_test=0)
    assert info['created'] is True and (root / 'shapenet55v1/val/model_000001_007.jpg').is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ds', 'ds.lock']


def test_refuses_to_replace_foreign_directory(tmp_path):
    root = tmp_path / 'mine'
    root.mkdir()
    (root / 'keep.txt').write_text('user data')
    with pytest.raises(ValueError, match='mine'):
        generate_synthetic_shapenet55(root, progress=False, num_train=1, num_val=0, num_test=0)
    assert (root / 'keep.txt').read_text() == 'user data'


@pytest.mark.parametrize('category', SYNTHETIC_CATEGORIES)
def test_make_object_categories(category):
    assert len(SYNTHETIC_CATEGORIES) >= 6
    v1, f1 = make_object(category, np.random.default_rng(5))
    v2, f2 = make_object(category, np.random.default_rng(5))
    v3, _ = make_object(category, np.random.default_rng(6))
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_array_equal(f1, f2)
    assert v1.shape != v3.shape or not np.allclose(v1, v3)
    assert f1.min() >= 0 and f1.max() < len(v1) and np.isfinite(v1).all()
    np.testing.assert_allclose((v1.max(0) - v1.min(0)).max(), 1.0)
    with pytest.raises(KeyError, match='spaceship'):
        make_object('spaceship', np.random.default_rng(0))


def test_surface_sampling_area_weighted():
    # 2 x 1 x 1 box: faces normal to x have area 1 + 1 out of a total of 10
    corners = np.array([[x, y, z] for x in (-1., 1.) for y in (-.5, .5) for z in (-.5, .5)])
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    pts = sample_surface_points(corners, faces, 2000, np.random.default_rng(0))
    assert pts.shape == (2000, 3) and pts.dtype == np.float32
    on_surface = (np.isclose(np.abs(pts[:, 0]), 1, atol=1e-5) |
                  np.isclose(np.abs(pts[:, 1]), .5, atol=1e-5) |
                  np.isclose(np.abs(pts[:, 2]), .5, atol=1e-5))
    assert on_surface.all()
    frac_x = np.isclose(np.abs(pts[:, 0]), 1, atol=1e-5).mean()
    assert abs(frac_x - 0.2) < 0.04
    # FPS thinning spreads points: min spacing well above that of plain random samples
    from scipy.spatial import cKDTree
    nn = cKDTree(pts).query(pts, k=2)[0][:, 1]
    assert nn.min() > 0.01
