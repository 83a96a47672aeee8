"""Synthetic scenes in mmdet3d's ScanNet format (crosspt.synthetic.scannet_mmdet3d),
checked without mmdet3d.

References used here, independent of the implementation:
- mmdet3d's converter rules (tools/dataset_converters/scannet_data_utils.py,
  ``ScanNetSegData.get_scene_idxs_and_label_weight``) worked by hand on small inputs;
- the class tables of docs/methods/benchmarks.md ('ScanNet detection classes', 'Classes
  and ignore index') written out literally;
- boxes recomputed by a per-instance loop over the points, alignment by the 4x4 product
  ``M @ [x, y, z, 1]`` on homogeneous coordinates, geometry from ``generate_scene``.
"""
import hashlib
import json
import math
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from crosspt.synthetic.scannet_mmdet3d import (generate_synthetic_scannet_mmdet3d,
                                               label_weight, resampled_scene_idxs,
                                               write_scannet_infos,
                                               write_scannet_mmdet3d_scene)
from crosspt.synthetic.room_planner import generate_scene
from crosspt.synthetic.scene_points import sample_scene_points

REPO = Path(__file__).resolve().parents[2]
SEED = 0
SMALL = dict(num_scenes=3, num_val_scenes=1, num_points=10000, seed=SEED)
# docs/methods/benchmarks.md, 'Classes and ignore index': NYU40 ids of the 20 segmentation
# classes, train ids 0..19, else 20
SEG_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33, 34, 36, 39]
# docs/methods/benchmarks.md, 'ScanNet detection classes': the 18 detection classes
DET_CLASSES = ['cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window', 'bookshelf',
               'picture', 'counter', 'desk', 'curtain', 'refrigerator', 'showercurtrain',
               'toilet', 'sink', 'bathtub', 'garbagebin']
DET_IDS = {3: 0, 4: 1, 5: 2, 6: 3, 7: 4, 8: 5, 9: 6, 10: 7, 11: 8, 12: 9, 14: 10, 16: 11,
           24: 12, 28: 13, 33: 14, 34: 15, 36: 16, 39: 17}
ALIGN_TOL = 1e-5   # m: float32 storage of |xyz| < ~9 m, then R p + t in float64
BOX_TOL = 1e-6     # m: both sides take min/max of the same float32 points in float64


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('mm3d') / 'scannet'
    info = generate_synthetic_scannet_mmdet3d(root, **SMALL)
    return root, info


def load_infos(root, split):
    with open(root / f'scannet_infos_{split}.pkl', 'rb') as f:
        return pickle.load(f)


def read_scene(root, name):
    points = np.fromfile(root / 'points' / f'{name}.bin', np.float32)
    semantic = np.fromfile(root / 'semantic_mask' / f'{name}.bin', np.int64)
    instance = np.fromfile(root / 'instance_mask' / f'{name}.bin', np.int64)
    return points.reshape(-1, 6), semantic, instance


def homogeneous_align(xyz, matrix):
    """M @ [x, y, z, 1] per point, one point at a time in float64."""
    m = np.asarray(matrix, np.float64)
    out = np.empty((len(xyz), 3))
    for k, p in enumerate(np.asarray(xyz, np.float64)):
        out[k] = (m @ np.array([p[0], p[1], p[2], 1.0]))[:3]
    return out


# ----------------------------------------------------------------------------- rules
def test_resampled_scene_idxs_hand_worked():
    # T = 100000, num_iter = int(100000 / 8192) = 12; 12 * (0.5, 0.3, 0.2) = 6, 3.6, 2.4
    out = resampled_scene_idxs([50000, 30000, 20000], 8192)
    assert out.dtype == np.int32
    assert out.tolist() == [0] * 6 + [1] * 4 + [2] * 2
    # T = 16, num_iter = 8: 8 * 5/16 = 2.5 -> 2 and 8 * 11/16 = 5.5 -> 6 (halves to even)
    assert resampled_scene_idxs([5, 11], 2).tolist() == [0, 0] + [1] * 6
    # T = 4, num_iter = 2: 0.5 -> 0, 1.5 -> 2; the small scene gets no patch
    assert resampled_scene_idxs([1, 3], 2).tolist() == [1, 1]
    # T = 21000, num_iter = 2: 2 * 1000/21000 = 0.095 -> 0, 2 * 20000/21000 = 1.905 -> 2
    assert resampled_scene_idxs([1000, 20000]).tolist() == [1, 1]
    # T < 8192: num_iter = 0, nothing
    assert resampled_scene_idxs([3000, 4000]).tolist() == []
    # 12 scenes of 50,000 points: num_iter = int(600000 / 8192) = 73, 73 / 12 = 6.08 -> 6
    assert resampled_scene_idxs([50000] * 12).tolist() == \
        [i for i in range(12) for _ in range(6)]
    with pytest.raises(ValueError, match='num_points_per_scene'):
        resampled_scene_idxs([])
    with pytest.raises(ValueError, match='num_points_per_sample'):
        resampled_scene_idxs([10], 0)


def test_label_weight_hand_worked():
    # class 0: 3 points, class 1: 1 point, ignore (2): 4 points -> freq 0.75, 0.25
    weight = label_weight([np.array([0, 0, 2, 2]), np.array([0, 1, 2, 2])], num_classes=2)
    assert weight.dtype == np.float32 and weight.shape == (2,)
    np.testing.assert_allclose(weight, [1 / math.log(1.95), 1 / math.log(1.45)], rtol=1e-6)
    np.testing.assert_allclose(weight, [1.4974, 2.6914], atol=1e-4)
    # a class without points weighs 1 / ln(1.2) = 5.4848
    weight = label_weight([np.array([0, 0, 3])], num_classes=3)
    np.testing.assert_allclose(weight, [1 / math.log(2.2), 1 / math.log(1.2),
                                        1 / math.log(1.2)], rtol=1e-6)
    with pytest.raises(ValueError, match='all ignore'):
        label_weight([np.array([2, 2])], num_classes=2)
    with pytest.raises(ValueError, match='train ids'):
        label_weight([np.array([0, 5])], num_classes=2)


# ----------------------------------------------------------------------------- files
def test_files_dtypes_shapes_and_info_keys(data):
    root, info = data
    names = {'train': ['scene0000_00', 'scene0001_00', 'scene0002_00'],
             'val': ['scene0003_00']}
    assert info['splits'] == names
    for split, scenes in names.items():
        infos = load_infos(root, split)
        assert set(infos) == {'metainfo', 'data_list'}
        assert infos['metainfo'] == {'categories': {c: i for i, c in enumerate(DET_CLASSES)},
                                     'dataset': 'scannet', 'info_version': '1.1'}
        assert [e['sample_idx'] for e in infos['data_list']] == scenes
        for entry in infos['data_list']:
            name = entry['sample_idx']
            assert set(entry) == {'sample_idx', 'lidar_points', 'instances',
                                  'pts_semantic_mask_path', 'pts_instance_mask_path',
                                  'axis_align_matrix'}
            assert entry['lidar_points']['num_pts_feats'] == 6
            assert entry['lidar_points']['lidar_path'] == f'{name}.bin'
            assert entry['pts_semantic_mask_path'] == entry['pts_instance_mask_path'] == \
                f'{name}.bin'
            assert entry['lidar_points']['axis_align_matrix'] == entry['axis_align_matrix']
            assert isinstance(entry['axis_align_matrix'], list)
            assert np.asarray(entry['axis_align_matrix']).shape == (4, 4)
            for inst in entry['instances']:
                assert set(inst) == {'bbox_3d', 'bbox_label_3d'}
                assert len(inst['bbox_3d']) == 6
                assert all(type(v) is float for v in inst['bbox_3d'])
                assert type(inst['bbox_label_3d']) is int and 0 <= inst['bbox_label_3d'] < 18
            sizes = {key: os.path.getsize(root / key / f'{name}.bin')
                     for key in ('points', 'semantic_mask', 'instance_mask')}
            assert sizes == {'points': 10000 * 6 * 4, 'semantic_mask': 10000 * 8,
                             'instance_mask': 10000 * 8}
            points, semantic, instance = read_scene(root, name)
            rgb = points[:, 3:]
            assert (rgb == np.round(rgb)).all() and rgb.min() >= 0 and rgb.max() <= 255
            assert set(np.unique(semantic)) <= set(SEG_IDS) and (instance >= 1).all()
    seg = root / 'seg_info'
    assert sorted(os.listdir(seg)) == ['train_label_weight.npy',
                                       'train_resampled_scene_idxs.npy',
                                       'val_label_weight.npy', 'val_resampled_scene_idxs.npy']
    # 3 x 10000 points: num_iter = int(30000 / 8192) = 3, each scene 3 * 1/3 = 1 patch
    train_idxs = np.load(seg / 'train_resampled_scene_idxs.npy')
    assert train_idxs.dtype == np.int32 and train_idxs.tolist() == [0, 1, 2]
    # 1 x 10000 points: num_iter = 1, 1 patch
    assert np.load(seg / 'val_resampled_scene_idxs.npy').tolist() == [0]
    # label weights from the masks with the class table written above
    counts = np.zeros(21)
    for name in names['train']:
        for nyu in read_scene(root, name)[1]:
            counts[SEG_IDS.index(nyu) if nyu in SEG_IDS else 20] += 1
    freq = counts[:20] / counts[:20].sum()
    weight = np.load(seg / 'train_label_weight.npy')
    assert weight.dtype == np.float32 and weight.shape == (20,)
    np.testing.assert_allclose(weight, [1 / math.log(1.2 + f) for f in freq], rtol=1e-5)


def test_alignment_restores_the_generator_world(data):
    root, _ = data
    for split in ('train', 'val'):
        for entry in load_infos(root, split)['data_list']:
            name = entry['sample_idx']
            index = int(name[5:9])
            matrix = np.asarray(entry['axis_align_matrix'])
            rot = matrix[:3, :3]
            # a rotation about z, as GlobalAlignment(rotation_axis=2) requires exactly
            assert (rot[2] == [0, 0, 1]).all() and (rot[:, 2] == [0, 0, 1]).all()
            np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
            assert np.isclose(np.linalg.det(rot), 1) and (matrix[3] == [0, 0, 0, 1]).all()
            points, semantic, instance = read_scene(root, name)
            aligned = homogeneous_align(points[:, :3], matrix)
            # the generator's world points of this scene (sampling stream documented in
            # generate_synthetic_scannet_mmdet3d: default_rng([seed, 21, index]))
            scene = generate_scene(SEED, index)
            world, rgb, sem, ins = sample_scene_points(
                scene, 10000, np.random.default_rng([SEED, 21, index]))
            assert np.abs(aligned - world).max() < ALIGN_TOL
            assert np.abs(points[:, :3] - world).max() > 0.5      # stored unaligned
            np.testing.assert_array_equal(points[:, 3:], rgb.astype(np.float32))
            np.testing.assert_array_equal(semantic, sem)
            np.testing.assert_array_equal(instance, ins)
            # independent of the sampler: every aligned point lies in its object's box
            for obj in scene.objects:
                member = instance == obj.instance
                assert (semantic[member] == obj.label).all()
                assert (aligned[member] >= obj.lo - ALIGN_TOL).all()
                assert (aligned[member] <= obj.hi + ALIGN_TOL).all()


def test_boxes_are_min_max_boxes_of_aligned_instance_points(data):
    root, _ = data
    num_boxes = 0
    for split in ('train', 'val'):
        for entry in load_infos(root, split)['data_list']:
            points, semantic, instance = read_scene(root, entry['sample_idx'])
            aligned = homogeneous_align(points[:, :3], entry['axis_align_matrix'])
            lo, hi, cls = {}, {}, {}   # brute force: one pass over the points
            for k in range(len(aligned)):
                inst, p = int(instance[k]), aligned[k].tolist()
                cls[inst] = int(semantic[k])
                lo[inst] = [min(a, b) for a, b in zip(lo.get(inst, p), p)]
                hi[inst] = [max(a, b) for a, b in zip(hi.get(inst, p), p)]
            expected = [((np.add(lo[i], hi[i]) / 2), np.subtract(hi[i], lo[i]), DET_IDS[cls[i]])
                        for i in sorted(lo) if cls[i] in DET_IDS]
            assert len(entry['instances']) == len(expected) > 0
            for inst, (centre, size, label) in zip(entry['instances'], expected):
                box = np.asarray(inst['bbox_3d'])
                assert np.abs(box[:3] - centre).max() < BOX_TOL
                assert np.abs(box[3:] - size).max() < BOX_TOL
                assert inst['bbox_label_3d'] == label
            num_boxes += len(expected)
            # walls and floor (NYU40 1, 2) are in the masks but get no box
            assert {1, 2} <= set(semantic.tolist())
    assert num_boxes >= 20


def test_deterministic_idempotent_and_refuses_real_data(tmp_path, data):
    root, _ = data
    other = tmp_path / 'again'
    info = generate_synthetic_scannet_mmdet3d(other, **SMALL)
    assert info['created']

    def digests(folder):
        return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob('*')) if p.is_file()}

    first = digests(root)
    assert first == digests(other) and len(first) == 4 * 3 + 2 + 4 + 1
    marker = other / 'synthetic_info.json'
    mtime = os.stat(marker).st_mtime_ns
    again = generate_synthetic_scannet_mmdet3d(other, **SMALL)
    assert not again['created'] and os.stat(marker).st_mtime_ns == mtime
    changed = generate_synthetic_scannet_mmdet3d(other, **{**SMALL, 'seed': 1})
    assert changed['created'] and json.loads(marker.read_text())['params']['seed'] == 1
    assert digests(other)['points/scene0000_00.bin'] != first['points/scene0000_00.bin']
    real = tmp_path / 'real'
    real.mkdir()
    (real / 'scannet_infos_train.pkl').write_bytes(b'x')
    with pytest.raises(ValueError, match='refusing'):
        generate_synthetic_scannet_mmdet3d(real, **SMALL)


def test_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match='num_points'):
        generate_synthetic_scannet_mmdet3d(tmp_path / 'x', num_scenes=1, num_points=2000)
    with pytest.raises(ValueError, match='num_val_scenes'):
        generate_synthetic_scannet_mmdet3d(tmp_path / 'x', num_val_scenes=0)
    xyz = np.zeros((4, 3), np.float32)
    rgb = np.zeros((4, 3), np.uint8)
    ids = np.ones(4, np.int64)
    with pytest.raises(ValueError, match='scene0000_00.*axis_align_matrix'):
        write_scannet_mmdet3d_scene(tmp_path, 'scene0000_00', xyz, rgb, ids, ids, np.eye(3))
    with pytest.raises(ValueError, match='scene0000_00.*semantic'):
        write_scannet_mmdet3d_scene(tmp_path, 'scene0000_00', xyz, rgb, ids[:3], ids,
                                    np.eye(4))
    with pytest.raises(ValueError, match='split'):
        write_scannet_infos(tmp_path, 'training', [])
    with pytest.raises(ValueError, match=r'data_list\[0\].*axis_align_matrix'):
        write_scannet_infos(tmp_path, 'train', [{'lidar_points': {}, 'instances': []}])


def test_write_scene_round_trip(tmp_path):
    """Hand-made scene: one chair (NYU40 5 -> det 2) and one wall point cloud; yaw 90 deg
    and a shift, so the stored points map to known aligned boxes."""
    matrix = np.array([[0., -1., 0., 1.], [1., 0., 0., 2.], [0., 0., 1., 0.5], [0, 0, 0, 1]])
    xyz = np.array([[0, 0, 0], [1, 2, 3], [5, 5, 5], [6, 5, 5]], np.float32)
    rgb = np.array([[0, 10, 20]] * 4, np.uint8)
    semantic = np.array([5, 5, 1, 1])
    instance = np.array([7, 7, 2, 2])
    entry = write_scannet_mmdet3d_scene(tmp_path, 'scene0042_00', xyz, rgb, semantic,
                                        instance, matrix)
    # aligned chair points: (1, 2, 0.5) and (-1, 3, 3.5) -> centre (0, 2.5, 2), size (2, 1, 3)
    assert entry['instances'] == [{'bbox_3d': [0.0, 2.5, 2.0, 2.0, 1.0, 3.0],
                                   'bbox_label_3d': 2}]
    points = np.fromfile(tmp_path / 'points' / 'scene0042_00.bin', np.float32).reshape(-1, 6)
    np.testing.assert_array_equal(points, np.concatenate([xyz, rgb], 1))
    path = write_scannet_infos(tmp_path, 'val', [entry])
    with open(path, 'rb') as f:
        assert pickle.load(f)['data_list'] == [entry]


def test_create_data_cli(tmp_path, capsys):
    sys.path.insert(0, str(REPO / 'tools'))
    try:
        import create_data
    finally:
        sys.path.pop(0)
    args = create_data.parse_args(['synthetic-scannet-mmdet3d'])
    assert (args.out_dir, args.num_scenes, args.num_val_scenes, args.num_points, args.seed) == \
        ('data/synthetic_scannet_mmdet3d', 12, 4, 50000, 0)
    create_data.main(['synthetic-scannet-mmdet3d', '--out-dir', str(tmp_path / 'd'),
                      '--num-scenes', '1', '--num-val-scenes', '1', '--num-points', '9000',
                      '--no-progress'])
    out = capsys.readouterr().out
    assert 'wrote' in out and 'scene0000_00' in out and 'scene0001_00' in out
    assert (tmp_path / 'd' / 'scannet_infos_val.pkl').is_file()
    assert np.load(tmp_path / 'd' / 'seg_info' / 'train_resampled_scene_idxs.npy').tolist() \
        == [0]
