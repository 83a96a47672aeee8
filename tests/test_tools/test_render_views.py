"""tools/dataset_converters/render_views.py on mesh files this test writes by hand
(.obj, .off, binary and ASCII .ply; quads and polygons, degenerate faces, a file without
faces), the layout it writes read back through ShapeNet55ViewsDataset, and (slow) one
epoch of TAP trained on it."""
import importlib.util
import json
import os
import re
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tool_runner import run

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'dataset_converters' / 'render_views.py'
STEMS = ['box', 'prism_bin', 'pyramid_ascii', 'scan', 'tetra']   # sorted file stems
BOX_HALF = np.array([0.5, 1.0, 2.0])                              # box.obj, file frame
# box corners (index = 4 ix + 2 iy + iz) and its six faces as quads
BOX = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * BOX_HALF
BOX_QUADS = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4],
             [1, 5, 7, 3]]


# ----------------------------------------------------------------------------- mesh writers
def write_obj(path, verts, polys):
    lines = ['# written by test_render_views'] + [f'v {x} {y} {z}' for x, y, z in verts]
    lines += ['f ' + ' '.join(f'{i + 1}//{i + 1}' if k == 0 else str(i + 1)
                              for i in poly) for k, poly in enumerate(polys)]
    Path(path).write_text('\n'.join(lines) + '\n')


def write_off(path, verts, polys):
    lines = ['OFF', f'{len(verts)} {len(polys)} 0'] + [f'{x} {y} {z}' for x, y, z in verts]
    lines += [f'{len(p)} ' + ' '.join(map(str, p)) for p in polys]
    Path(path).write_text('\n'.join(lines) + '\n')


def write_ply(path, verts, polys, binary):
    head = ['ply', f'format {"binary_little_endian" if binary else "ascii"} 1.0',
            f'element vertex {len(verts)}', 'property float x', 'property float y',
            'property float z']
    if polys is not None:
        head += [f'element face {len(polys)}', 'property list uchar int vertex_indices']
    head = ('\n'.join(head + ['end_header']) + '\n').encode()
    if binary:
        body = b''.join(struct.pack('<3f', *v) for v in verts)
        body += b''.join(struct.pack(f'<B{len(p)}i', len(p), *p) for p in polys or [])
    else:
        rows = [f'{x} {y} {z}' for x, y, z in verts]
        rows += [f'{len(p)} ' + ' '.join(map(str, p)) for p in polys or []]
        body = ('\n'.join(rows) + '\n').encode()
    Path(path).write_bytes(head + body)


def scan_points(n=1500):
    """Points on a sphere of radius 0.5, float32 (the faceless 'scan')."""
    p = np.random.default_rng(7).normal(size=(n, 3))
    return (0.5 * p / np.linalg.norm(p, axis=1, keepdims=True)).astype(np.float32)


def write_meshes(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_obj(folder / 'box.obj', BOX, BOX_QUADS)                                # quads
    tetra = [[0, 0, 0], [1.2, 0, 0], [0.3, 0.9, 0], [0.2, 0.3, 1.1], [0.6, 0, 0]]
    write_off(folder / 'tetra.off', tetra,                                        # degenerate
              [[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2], [0, 4, 1], [2, 2, 3]])
    prism = [[0, 0, 0], [1, 0, 0], [0, 0, 1], [0, 1.5, 0], [1, 1.5, 0], [0, 1.5, 1]]
    write_ply(folder / 'prism_bin.ply', prism,
              [[0, 1, 2], [3, 5, 4], [0, 3, 4, 1], [1, 4, 5, 2], [2, 5, 3, 0]], binary=True)
    pyramid = [[-1, 0, -1], [1, 0, -1], [1, 0, 1], [-1, 0, 1], [0.2, 1.3, 0.1]]
    write_ply(folder / 'pyramid_ascii.ply', pyramid,
              [[0, 1, 2, 3], [0, 4, 1], [1, 4, 2], [2, 4, 3], [3, 4, 0]], binary=False)
    write_ply(folder / 'scan.ply', scan_points(), None, binary=True)            # no faces
    return folder


def expected_splits(seed=0):
    """The documented rule for 5 meshes at 0.2 / 0.2: permutation[0] -> val, [1] -> test."""
    order = np.random.default_rng(seed).permutation(len(STEMS))
    splits = {stem: 'train' for stem in STEMS}
    splits[STEMS[order[0]]], splits[STEMS[order[1]]] = 'val', 'test'
    return splits


def read_cloud(root, split, stem):
    from crosspt.fileio.ply import read_ply_points
    return read_ply_points(os.path.join(root, 'pointclouds', split, f'{stem}.ply'))


def load_tool():
    spec = importlib.util.spec_from_file_location('render_views_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """One converter run: z-up meshes, 256 points, 64-px views, 20 % val, 20 % test."""
    base = tmp_path_factory.mktemp('render_views')
    mesh_dir = write_meshes(base / 'meshes')
    out = base / 'out'
    output = run([sys.executable, TOOL, mesh_dir, out, '--up-axis', 'z', '--num-points', 256,
                  '--image-size', 64, '--val-fraction', 0.2, '--test-fraction', 0.2],
                 timeout=300)
    return out, output


# ----------------------------------------------------------------------------- fast tests
def test_converter_writes_all_three_splits(converted):
    out, output = converted
    for stem, split in expected_splits().items():
        found = [s for s in ('train', 'val', 'test')
                 if (out / 'pointclouds' / s / f'{stem}.ply').is_file()]
        assert found == [split], (stem, found)
        views = sorted(p.name for p in (out / 'shapenet55v1' / split).glob(f'{stem}_*.jpg'))
        assert views == [f'{stem}_{v:03d}.jpg' for v in range(1, 13)]
        cloud = read_cloud(out, split, stem)
        assert cloud.shape == (256, 3) and np.isfinite(cloud).all()
    assert re.search(r'note: .*scan\.ply: no faces, used as a point cloud', output)
    assert 'train: wrote 3 model(s)' in output and 'val: wrote 1' in output


def test_clouds_follow_the_meshes_in_the_y_up_frame(converted):
    out, _ = converted
    splits = expected_splits()
    # box.obj is z up (half sizes 0.5, 1, 2 along x, y, z): stored y up as (y, z, x)
    box = read_cloud(out, splits['box'], 'box').astype(np.float64)
    np.testing.assert_allclose(box.max(0) - box.min(0), 2 * BOX_HALF[[1, 2, 0]], rtol=0.03)
    file_frame = box[:, [2, 0, 1]]
    on_face = np.abs(np.abs(file_frame) - BOX_HALF) < 1e-5                      # (N, 3)
    assert on_face.any(1).all()
    # every quad was triangulated whole: points on both sides of its fan diagonal
    for quad in BOX_QUADS:
        a, c = BOX[quad[0]], BOX[quad[2]]
        normal = np.cross(BOX[quad[1]] - a, c - a)
        axis = int(np.argmax(np.abs(normal)))
        pts = file_frame[on_face[:, axis] & (np.sign(file_frame[:, axis]) == np.sign(a[axis]))]
        side = np.cross(c - a, pts - a) @ normal
        assert (side > 1e-3).sum() >= 3 and (side < -1e-3).sum() >= 3, quad
    # the faceless scan: its own vertices (y up), thinned
    scan = read_cloud(out, splits['scan'], 'scan')
    vertices = {tuple(p) for p in scan_points()[:, [1, 2, 0]]}
    assert all(tuple(p) in vertices for p in scan) and len({tuple(p) for p in scan}) == 256
    # the tetrahedron's degenerate faces add nothing: every point on one of its 4 faces
    tetra = read_cloud(out, splits['tetra'], 'tetra').astype(np.float64)[:, [2, 0, 1]]
    corners = np.array([[0, 0, 0], [1.2, 0, 0], [0.3, 0.9, 0], [0.2, 0.3, 1.1]])
    dist = []
    for tri in ([0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]):
        a, b, c = corners[tri]
        n = np.cross(b - a, c - a)
        dist.append(np.abs((tetra - a) @ n) / np.linalg.norm(n))
    assert np.min(dist, axis=0).max() < 1e-5


def _hit_rates(sample, img_size):
    """(12, 12) share of the cloud's projected points (pose j) on foreground of image i."""
    from crosspt.models.tap.query_generator import TAPQueryGenerator

    points = torch.from_numpy(sample['points'])[None]
    rotations = torch.from_numpy(sample['view_rotations'])[None].expand(1, 12, 3, 3)
    generator = TAPQueryGenerator(img_size=img_size, obj_size=round(img_size * 200 / 224))
    pix = np.floor(generator.project(points, rotations)[0].numpy()).astype(int)   # (12, N, 2)
    pix = np.clip(pix, 0, img_size - 1)
    foreground = sample['images'].min(axis=1) < 245                             # (12, H, W)
    return np.array([[foreground[i][pix[j, :, 0], pix[j, :, 1]].mean() for j in range(12)]
                     for i in range(12)])


def test_layout_loads_with_views_paired_with_poses(converted):
    from crosspt.datasets import ShapeNet55ViewsDataset

    out, _ = converted
    splits = expected_splits()
    pipeline = [dict(type='LoadPointsFromPLY', num_points=256, axis_order=(2, 0, 1)),
                dict(type='NormalizeToUnitSphere'),
                dict(type='RandomSampleViews', num_views=12, num_views_total=12,
                     deterministic=True),
                dict(type='LoadViewImages', image_size=64)]
    train = ShapeNet55ViewsDataset(str(out), split='train', pipeline=pipeline)
    test = ShapeNet55ViewsDataset(str(out), split='test', pipeline=pipeline)
    names = {Path(train.get_data_info(i)['ply_path']).stem: train for i in range(len(train))}
    names.update({Path(test.get_data_info(i)['ply_path']).stem: test for i in range(len(test))})
    assert sorted(names) == STEMS and len(train) == 4 and len(test) == 1
    assert names[[s for s in STEMS if splits[s] == 'test'][0]] is test
    dataset = names['tetra']
    index = next(i for i in range(len(dataset))
                 if Path(dataset.get_data_info(i)['ply_path']).stem == 'tetra')
    rates = _hit_rates(dataset[index], 64)
    # image k shows the cloud under pose k: its points land on foreground ...
    assert rates.diagonal().min() >= 0.95, rates.diagonal()
    # ... and (asymmetric tetrahedron) under another pose they often do not
    off = rates[~np.eye(12, dtype=bool)].reshape(12, 11)
    assert (off.min(axis=1) < rates.diagonal() - 0.1).all(), rates


def test_bad_inputs_are_refused_with_the_file_named(tmp_path, capsys):
    tool = load_tool()
    meshes = write_meshes(tmp_path / 'meshes')
    few = meshes / 'few.ply'
    write_ply(few, scan_points(10), None, binary=False)
    args = ['--num-points', '16', '--image-size', '16', '--split', 'train']
    with pytest.raises(ValueError, match=re.escape(f'mesh file {few} has no faces and only 10')):
        tool.main([str(meshes), str(tmp_path / 'a'), *args])
    assert tool.main([str(meshes), str(tmp_path / 'b'), *args, '--skip-bad']) == 1
    printed = capsys.readouterr().out
    assert f'skipped 1 bad mesh(es):\n  {few}:' in printed
    assert len(list((tmp_path / 'b' / 'pointclouds' / 'train').glob('*.ply'))) == 5
    # the same clouds are not written into another split on a later run
    with pytest.raises(ValueError, match='already have a cloud in another split'):
        tool.main([str(meshes), str(tmp_path / 'b'), '--num-points', '16', '--image-size',
                   '16', '--skip-bad'])
    (meshes / 'box.off').write_text('OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n')
    with pytest.raises(ValueError, match='box.obj and .*box.off have the same name'):
        tool.main([str(meshes), str(tmp_path / 'c'), *args])


def test_split_fractions_and_synthetic_roots_are_checked(tmp_path):
    tool = load_tool()
    assert tool.assign_splits(10, 0.1, 0.2, seed=3) == tool.assign_splits(10, 0.1, 0.2, seed=3)
    counts = [tool.assign_splits(10, 0.1, 0.2, seed=3).count(s) for s in ('train', 'val', 'test')]
    assert counts == [7, 1, 2]
    assert tool.assign_splits(3, 0.01, 0.0, seed=0).count('val') == 1   # at least one
    with pytest.raises(ValueError, match='2 mesh\\(es\\) cannot give 1 val \\+ 1 test'):
        tool.assign_splits(2, 0.5, 0.5, seed=0)
    with pytest.raises(SystemExit):
        tool.parse_args(['m', 'o', '--split', 'train', '--val-fraction', '0.2'])
    with pytest.raises(SystemExit):
        tool.parse_args(['m', 'o', '--up-axis', 'w'])
    meshes = write_meshes(tmp_path / 'meshes')
    out = tmp_path / 'synthetic'
    out.mkdir()
    (out / 'synthetic_info.json').write_text(json.dumps({'format_version': 1}))
    with pytest.raises(ValueError, match=re.escape(f'{out} holds generated synthetic data')):
        tool.main([str(meshes), str(out), '--split', 'train'])


def test_train_only_run_works_and_the_loader_names_the_missing_subset(tmp_path):
    """The converter as run before (``--split train``, a subprocess), then a loader with
    ``auto_generate`` over that folder: the error names the missing val subset."""
    from crosspt.datasets import ShapeNet55ViewsDataset

    meshes = tmp_path / 'meshes'
    meshes.mkdir()
    write_obj(meshes / 'box.obj', BOX, BOX_QUADS)
    root = tmp_path / 'real'
    output = run([sys.executable, TOOL, meshes, root, '--split', 'train', '--num-points', 16,
                  '--image-size', 16], timeout=300)
    assert 'train: wrote 1 model(s)' in output and 'write all three' in output
    assert len(list((root / 'shapenet55v1' / 'train').glob('box_*.jpg'))) == 12
    with pytest.raises(FileNotFoundError) as info:
        ShapeNet55ViewsDataset(str(root), split='train', auto_generate=dict(num_train=2))
    message = str(info.value)
    assert f"no val subset in {root}" in message and '--val-fraction' in message
    assert 'refusing' not in message
    assert sorted(os.listdir(root)) == ['pointclouds', 'shapenet55v1']   # nothing generated


def test_auto_generate_over_a_hand_made_real_root_names_each_missing_subset(tmp_path):
    from PIL import Image

    from crosspt.datasets import ShapeNet55ViewsDataset
    from crosspt.fileio.ply import write_ply_points

    root = tmp_path / 'real'
    write_ply_points(root / 'pointclouds' / 'val' / 'a.ply', scan_points(32))
    (root / 'shapenet55v1' / 'val').mkdir(parents=True)
    for v in range(1, 13):
        Image.new('RGB', (8, 8)).save(root / 'shapenet55v1' / 'val' / f'a_{v:03d}.jpg')
    for split, missing in (('train', 'train'), ('test', 'test')):
        pattern = f'no {missing} subset in {re.escape(str(root))}'
        with pytest.raises(FileNotFoundError, match=pattern):
            ShapeNet55ViewsDataset(str(root), split=split, auto_generate=dict(num_train=2))
    assert sorted(os.listdir(root)) == ['pointclouds', 'shapenet55v1']


# ----------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_converted_meshes_train_one_tap_epoch(tmp_path):
    mesh_dir = write_meshes(tmp_path / 'meshes')
    data = tmp_path / 'MyShapes'
    # the quick-start config trains on 56-px views
    run([sys.executable, TOOL, mesh_dir, data, '--val-fraction', 0.2, '--test-fraction', 0.2,
         '--image-size', 56])
    box = read_cloud(data, expected_splits()['box'], 'box')             # y up: kept as is
    np.testing.assert_allclose(box.max(0) - box.min(0), 2 * BOX_HALF, rtol=0.03)
    work_dir = tmp_path / 'work'
    loaders = [f'{loader}.{key}' for loader in ('train_dataloader', 'val_dataloader')
               for key in (f'dataset.data_root={data}', 'dataset.auto_generate=None',
                           'batch_size=2', 'num_workers=0', 'persistent_workers=False')]
    output = run([sys.executable, 'tools/train.py', 'configs/tap/pointmlp_synthetic.py',
                  '--work-dir', work_dir, '--cfg-options', *loaders, 'train_cfg.max_epochs=1',
                  'train_cfg.val_interval=1', 'default_hooks.logger.interval=1',
                  'randomness.seed=0'])
    losses = [json.loads(line) for path in work_dir.glob('2*/vis_data/scalars.json')
              for line in path.read_text().splitlines()]
    train = [r for r in losses if 'loss' in r and 'lr' in r]
    assert [r['iter'] for r in train] == [1, 2]          # 4 train+val objects, batch 2
    assert all(np.isfinite(r['loss']) for r in train)
    assert any(np.isfinite(r.get('view/loss', np.nan)) for r in losses), output[-2000:]
    assert (work_dir / 'epoch_1.pth').is_file()
