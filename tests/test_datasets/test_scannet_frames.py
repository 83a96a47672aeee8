"""ScanNetFramesDataset on tiny hand-made scenes in the extracted ScanNet layout:
geometry against analytic planes, frame selection, invalid frames and bad files."""
import math
import os
import re

import numpy as np
import pytest

from crosspt.datasets import scannet_frames
from crosspt.datasets.scannet_frames import ScanNetFramesDataset
from crosspt.fileio.scannet_layout import write_color, write_depth, write_matrix

H, W = 24, 32
FX, FY, CX, CY = 30.0, 32.0, 15.5, 11.5
K4 = np.array([[FX, 0, CX, 0], [0, FY, CY, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
INF_POSE = np.full((4, 4), -np.inf)


def ramp_color(h, w):
    """R = row ramp, G = column ramp, B = 7 (smooth, so resizing keeps it a ramp)."""
    rows, cols = np.mgrid[0:h, 0:w]
    return np.stack([rows * 200 // max(h - 1, 1), cols * 200 // max(w - 1, 1),
                     np.full_like(rows, 7)], -1).astype(np.uint8)


def write_frame(scene_dir, frame, depth_mm, pose=np.eye(4), color=None):
    for sub in ('color', 'depth', 'pose'):
        os.makedirs(os.path.join(scene_dir, sub), exist_ok=True)
    color = ramp_color(*depth_mm.shape) if color is None else color
    write_color(os.path.join(scene_dir, 'color', f'{frame}.png'), color)
    write_depth(os.path.join(scene_dir, 'depth', f'{frame}.png'), depth_mm.astype(np.uint16))
    write_matrix(os.path.join(scene_dir, 'pose', f'{frame}.txt'), pose)


def write_intrinsic(scene_dir, k=K4):
    os.makedirs(os.path.join(scene_dir, 'intrinsic'), exist_ok=True)
    write_matrix(os.path.join(scene_dir, 'intrinsic', 'intrinsic_depth.txt'), k)


def flat_scene(root, name='scene0000_00', frames=(0, 25, 50), depth_mm=2000, pose=np.eye(4)):
    scene_dir = os.path.join(root, name)
    write_intrinsic(scene_dir)
    for frame in frames:
        write_frame(scene_dir, frame, np.full((H, W), depth_mm, np.uint16), pose)
    return scene_dir


def looking_down_pose(tilt_deg=30.0, t=(1.0, 2.0, 2.5)):
    """Camera-to-world: camera at height t_z looking down, tilted forward by ``tilt``.
    Columns = camera x, y (image down), z (optical axis) in world coordinates."""
    c, s = math.cos(math.radians(tilt_deg)), math.sin(math.radians(tilt_deg))
    pose = np.eye(4)
    pose[:3, :3] = np.array([[1, 0, 0], [0, -c, s], [0, -s, -c]], dtype=float)
    pose[:3, 3] = t
    return pose


def floor_depth(pose):
    """Depth (mm, rounded) of the world floor z = 0 seen through ``pose`` (ray casting)."""
    v, u = np.mgrid[0:H, 0:W]
    rays = np.stack([(u - CX) / FX, (v - CY) / FY, np.ones((H, W))], -1)   # z_cam = 1
    world_dz = rays @ pose[:3, :3].T[:, 2]                                  # (R d)_z
    z_cam = -pose[2, 3] / world_dz
    return np.round(z_cam * 1000).astype(np.uint16)


LOAD = [dict(type='LoadRGBDFrame')]


def test_world_points_lie_on_the_floor_and_pair_with_their_pixels(tmp_path):
    pose = looking_down_pose()
    assert np.allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3))
    assert np.isclose(np.linalg.det(pose[:3, :3]), 1.0)
    scene_dir = os.path.join(tmp_path, 'scene0001_00')
    write_intrinsic(scene_dir)
    depth = floor_depth(pose)
    assert depth.min() > 2000 and depth.max() < 5000             # the whole image sees floor
    write_frame(scene_dir, 0, depth, pose)
    ds = ScanNetFramesDataset(str(tmp_path), pipeline=LOAD)
    out = ds[0]
    points, pixels = out['points'], out['pixels']
    assert points.dtype == np.float32 and points.shape == (H * W, 3)
    assert pixels.dtype == np.int64 and pixels.shape == (H * W, 2)
    # tolerance: depth rounded to 1 mm moves a point by <= 0.5 mm * |ray| (|ray| < 1.5)
    # along its ray, so |z_world| < 1 mm; float32 adds < 1e-6 m
    assert np.abs(points[:, 2]).max() < 1e-3
    # hand reprojection into the camera: the point of pixel (v, u) projects onto (v, u)
    cam = (points - pose[:3, 3]) @ pose[:3, :3]
    np.testing.assert_allclose(cam[:, 0] / cam[:, 2] * FX + CX, pixels[:, 1], atol=1e-3)
    np.testing.assert_allclose(cam[:, 1] / cam[:, 2] * FY + CY, pixels[:, 0], atol=1e-3)
    np.testing.assert_array_equal(out['pair_point'], np.arange(H * W))
    np.testing.assert_array_equal(out['pair_pixel'], pixels)
    np.testing.assert_array_equal(out['point_rgb'], out['img'][pixels[:, 0], pixels[:, 1]])
    assert out['scene'] == 'scene0001_00' and out['frame'] == 0
    assert out['img_path'].endswith(os.path.join('color', '0.png'))
    assert out['depth_path'].endswith(os.path.join('depth', '0.png'))
    np.testing.assert_allclose(out['intrinsic'], K4[:3, :3])
    np.testing.assert_allclose(out['pose'], pose, atol=1e-6)


def test_camera_mode_constant_depth_plane_by_hand(tmp_path):
    flat_scene(tmp_path, frames=(0,), depth_mm=2000, pose=looking_down_pose())
    out = ScanNetFramesDataset(str(tmp_path), coordinate='camera', pipeline=LOAD)[0]
    pts, pix = out['points'], out['pixels']
    np.testing.assert_allclose(pts[:, 2], 2.0)
    np.testing.assert_allclose(pts[:, 0], (pix[:, 1] - CX) * 2.0 / FX, atol=1e-6)
    np.testing.assert_allclose(pts[:, 1], (pix[:, 0] - CY) * 2.0 / FY, atol=1e-6)
    i = np.nonzero((pix[:, 0] == 0) & (pix[:, 1] == 31))[0][0]       # corner pixel by hand
    np.testing.assert_allclose(pts[i], [15.5 * 2 / 30, -11.5 * 2 / 32, 2.0], atol=1e-6)


def test_depth_range_filter_drops_points(tmp_path):
    scene_dir = os.path.join(tmp_path, 'scene0000_00')
    write_intrinsic(scene_dir)
    depth = np.full((H, W), 2000, np.uint16)
    depth[0, :] = 50          # 5 cm < min_depth 0.1 m
    depth[1, :] = 12000       # 12 m > max_depth 10 m
    depth[2, :] = 0           # no depth
    write_frame(scene_dir, 0, depth)
    out = ScanNetFramesDataset(str(tmp_path), coordinate='camera', pipeline=LOAD)[0]
    assert len(out['points']) == (H - 3) * W and out['pixels'][:, 0].min() == 3
    out = ScanNetFramesDataset(str(tmp_path), coordinate='camera', min_depth=None,
                               max_depth=None, pipeline=LOAD)[0]
    assert len(out['points']) == (H - 1) * W


def test_frame_skip(tmp_path):
    flat_scene(tmp_path, frames=(0, 5, 10, 25, 50, 51))
    ds = ScanNetFramesDataset(str(tmp_path), frame_skip=25)
    assert [ds.get_data_info(i)['frame'] for i in range(len(ds))] == [0, 25, 50]
    ds = ScanNetFramesDataset(str(tmp_path), frame_skip=5)
    assert [ds.get_data_info(i)['frame'] for i in range(len(ds))] == [0, 5, 10, 25, 50]
    ds = ScanNetFramesDataset(str(tmp_path), frame_skip=1, max_frames=4)
    assert len(ds) == 4


def test_scene_selection_list_split_file_and_missing_scene(tmp_path):
    flat_scene(tmp_path, 'scene0000_00', frames=(0,))
    flat_scene(tmp_path, 'scene0001_00', frames=(0, 25))
    os.makedirs(os.path.join(tmp_path, 'not_a_scene'))
    assert len(ScanNetFramesDataset(str(tmp_path))) == 3
    assert len(ScanNetFramesDataset(str(tmp_path), scenes=['scene0001_00'])) == 2
    split = tmp_path / 'train.txt'
    split.write_text('# training scenes\nscene0000_00\n\n')
    ds = ScanNetFramesDataset(str(tmp_path), scenes=str(split))
    assert len(ds) == 1 and ds.get_data_info(0)['scene'] == 'scene0000_00'
    assert len(ScanNetFramesDataset(str(tmp_path), scenes='train.txt')) == 1  # data_root-relative
    with pytest.raises(FileNotFoundError, match='scene0099_00'):
        ScanNetFramesDataset(str(tmp_path), scenes=['scene0099_00'])
    with pytest.raises(FileNotFoundError, match='val.txt'):
        ScanNetFramesDataset(str(tmp_path), scenes='val.txt')


def test_colour_resized_to_depth_resolution(tmp_path):
    scene_dir = os.path.join(tmp_path, 'scene0000_00')
    write_intrinsic(scene_dir)
    big = ramp_color(2 * H, 2 * W)              # R = rows2 * 200 // 47, G = cols2 * 200 // 63
    write_frame(scene_dir, 0, np.full((H, W), 1500, np.uint16), color=big)
    img = ScanNetFramesDataset(str(tmp_path), pipeline=LOAD)[0]['img']
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    # depth pixel r covers colour rows 2r, 2r+1 -> centre 2r + 0.5; the ramp is linear up
    # to integer flooring (<= 1 level) and border effects of the filter (<= ~2 levels)
    rows, cols = np.mgrid[0:H, 0:W]
    np.testing.assert_allclose(img[..., 0], (2 * rows + 0.5) * 200 / 47, atol=3)
    np.testing.assert_allclose(img[..., 1], (2 * cols + 0.5) * 200 / 63, atol=3)


def test_inf_pose_rejected_counted_and_logged(tmp_path, monkeypatch):
    scene_dir = flat_scene(tmp_path, frames=(0, 25, 50, 75))
    for frame in (25, 75):
        write_matrix(os.path.join(scene_dir, 'pose', f'{frame}.txt'), INF_POSE)
    messages = []
    monkeypatch.setattr(scannet_frames, 'print_log',
                        lambda msg, logger=None, level=None: messages.append(msg))
    ds = ScanNetFramesDataset(str(tmp_path))
    assert [ds.get_data_info(i)['frame'] for i in range(len(ds))] == [0, 50]
    assert ds.rejected['invalid_pose'] == [os.path.join(scene_dir, 'pose', '25.txt'),
                                           os.path.join(scene_dir, 'pose', '75.txt')]
    assert ds.rejected['empty_depth'] == [] and ds.num_scanned == 4
    summary = [m for m in messages if m.startswith('ScanNetFramesDataset: rejected')]
    assert len(summary) == 1
    assert 'rejected 2 of 4 frames: 2 with -inf pose (' in summary[0]
    assert os.path.join('scene0000_00', 'pose', '25.txt') in summary[0]

    with pytest.raises(ValueError, match=re.escape(os.path.join(scene_dir, 'pose', '25.txt'))):
        ScanNetFramesDataset(str(tmp_path), invalid_frames='error')

    # camera coordinates do not need the pose: nothing is rejected
    cam = ScanNetFramesDataset(str(tmp_path), coordinate='camera', invalid_frames='error',
                               pipeline=LOAD)
    assert len(cam) == 4 and cam.rejected['invalid_pose'] == []
    assert len(cam[1]['points']) == H * W


def test_empty_depth_rejected_or_raises_at_load(tmp_path):
    scene_dir = flat_scene(tmp_path, frames=(0, 25))
    empty = os.path.join(scene_dir, 'depth', '25.png')
    write_depth(empty, np.zeros((H, W), np.uint16))
    ds = ScanNetFramesDataset(str(tmp_path), pipeline=LOAD)
    assert len(ds) == 1 and ds.rejected['empty_depth'] == [empty]
    with pytest.raises(ValueError, match=re.escape(empty)):
        ScanNetFramesDataset(str(tmp_path), invalid_frames='error')
    lazy = ScanNetFramesDataset(str(tmp_path), check_depth_at_init=False, pipeline=LOAD)
    assert len(lazy) == 2
    with pytest.raises(ValueError, match=re.escape(empty) + '.*no valid depth'):
        lazy[1]
    # out-of-range depth only counts as empty too
    write_depth(empty, np.full((H, W), 20000, np.uint16))
    assert ScanNetFramesDataset(str(tmp_path)).rejected['empty_depth'] == [empty]


def test_no_usable_frame_names_data_root(tmp_path):
    scene_dir = flat_scene(tmp_path, frames=(0,))
    write_matrix(os.path.join(scene_dir, 'pose', '0.txt'), INF_POSE)
    with pytest.raises(ValueError, match='no usable frame under ' + re.escape(str(tmp_path))):
        ScanNetFramesDataset(str(tmp_path))
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / 'nothing'))):
        ScanNetFramesDataset(str(tmp_path / 'nothing'))


def test_missing_intrinsic_depth_names_the_file(tmp_path):
    scene_dir = flat_scene(tmp_path, frames=(0,))
    path = os.path.join(scene_dir, 'intrinsic', 'intrinsic_depth.txt')
    os.remove(path)
    with pytest.raises(FileNotFoundError, match=re.escape(path)):
        ScanNetFramesDataset(str(tmp_path))


def test_depth_of_the_wrong_size_names_the_file(tmp_path):
    scene_dir = flat_scene(tmp_path, frames=(0, 25))
    bad = os.path.join(scene_dir, 'depth', '25.png')
    write_depth(bad, np.full((H + 2, W), 2000, np.uint16))
    with pytest.raises(ValueError, match=re.escape(bad) + '.*26x32.*24x32'):
        ScanNetFramesDataset(str(tmp_path))
    lazy = ScanNetFramesDataset(str(tmp_path), check_depth_at_init=False, pipeline=LOAD)
    with pytest.raises(ValueError, match=re.escape(bad)):
        lazy[1]
    first = os.path.join(scene_dir, 'depth', '0.png')
    with pytest.raises(ValueError, match=re.escape(first)):
        ScanNetFramesDataset(str(tmp_path), depth_size=(H + 2, W))


def test_end_to_end_pipeline_through_pack(tmp_path):
    import torch
    from mmengine.structures import BaseDataElement

    pose = looking_down_pose()
    scene_dir = os.path.join(tmp_path, 'scene0002_00')
    write_intrinsic(scene_dir)
    write_frame(scene_dir, 0, floor_depth(pose), pose)
    pipeline = LOAD + [
        dict(type='RandomResizedCrop2D', size=(12, 20), min_pairs=50),
        dict(type='RandomHorizontalFlip2D'), dict(type='RandomScale3D'),
        dict(type='RandomRotation3D'), dict(type='ElasticDistortion3D'),
        dict(type='VoxelizePairs', voxel_size=0.025), dict(type='SampleVoxels', max_voxels=300),
        dict(type='PackPPKTInputs')]
    np.random.seed(0)
    packed = ScanNetFramesDataset(str(tmp_path), pipeline=pipeline)[0]
    inputs, sample = packed['inputs'], packed['data_samples']
    v = len(inputs['coords'])
    assert 0 < v <= 300
    assert inputs['img'].dtype == torch.uint8 and inputs['img'].shape == (3, 12, 20)
    assert inputs['coords'].dtype == torch.int64 and inputs['coords'].shape == (v, 3)
    assert inputs['points'].dtype == torch.float32 and inputs['points'].shape == (v, 3)
    assert inputs['feats'].dtype == torch.float32 and inputs['feats'].shape == (v, 3)
    assert isinstance(sample, BaseDataElement) and sample.pairs.dtype == torch.int64
    pairs = sample.pairs
    assert pairs.ndim == 2 and pairs.shape[1] == 3 and len(pairs) > 0
    assert int(pairs[:, 0].min()) >= 0 and int(pairs[:, 0].max()) < v
    assert int(pairs[:, 1].max()) < 12 and int(pairs[:, 2].max()) < 20
    assert len(torch.unique(pairs[:, 0])) == len(pairs)            # one pixel per voxel
    assert sample.metainfo['scene'] == 'scene0002_00' and sample.metainfo['frame'] == 0
    assert sample.metainfo['img_shape'] == (12, 20)

    # without augmentation every pair's voxel point projects onto its pixel (hand pinhole)
    plain = LOAD + [dict(type='VoxelizePairs', voxel_size=0.025), dict(type='PackPPKTInputs')]
    packed = ScanNetFramesDataset(str(tmp_path), pipeline=plain)[0]
    pts = packed['inputs']['points'].numpy().astype(np.float64)
    pairs = packed['data_samples'].pairs.numpy()
    cam = (pts[pairs[:, 0]] - pose[:3, 3]) @ pose[:3, :3]
    np.testing.assert_allclose(cam[:, 1] / cam[:, 2] * FY + CY, pairs[:, 1], atol=1e-3)
    np.testing.assert_allclose(cam[:, 0] / cam[:, 2] * FX + CX, pairs[:, 2], atol=1e-3)
    np.testing.assert_array_equal(np.floor(packed['inputs']['points'].numpy() / 0.025),
                                  packed['inputs']['coords'].numpy())
