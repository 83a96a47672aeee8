"""Synthetic indoor scenes (crosspt.synthetic: room_planner, cameras, scene_renderer,
scene_points, scannet_frames) against analytic geometry.

Distances to primitives are computed here with the signed-distance formulas of a box and
of a capped vertical cylinder, not with the renderer's ray intersections; floor and walls
are checked as the solid slabs the scene declares, while the renderer intersects them in
one analytic pass.
"""
import hashlib
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crosspt.fileio.scannet_classes import SCANNET20_NYU40_IDS
from crosspt.fileio.scannet_layout import (INTRINSIC_FILES, frame_ids, frame_path, read_color,
                                           read_depth, read_intrinsics, read_label, read_matrix)
from crosspt.fileio.sens import decode_color, decode_depth, read_sens
from crosspt.ops.backprojection import backproject_depth
from crosspt.synthetic.cameras import camera_trajectory, default_intrinsics
from crosspt.synthetic.room_planner import generate_scene
from crosspt.synthetic.scannet_frames import generate_synthetic_scannet_frames, write_scene_sens
from crosspt.synthetic.scene_model import NYU40_CLASSES
from crosspt.synthetic.scene_points import sample_scene_points, scene_boxes
from crosspt.synthetic.scene_renderer import render_frame

REPO = Path(__file__).resolve().parents[2]
SEED = 0
STEP = 25
FRAMES = 3                       # kept frames 0, 25, 50; the trajectory has 75 frames
DEPTH_SIZE = (60, 80)
COLOR_SIZE = (121, 162)          # 80 * 648 / 320 = 162, 60 * 484 / 240 = 121
SURFACE_TOL = 1.5e-3             # metres; depth is rounded to 1 mm along camera z
SMALL = dict(num_scenes=1, frames_per_scene=FRAMES, seed=SEED, frame_step=STEP,
             depth_size=DEPTH_SIZE, color_size=COLOR_SIZE, progress=False)


def load_tool(name, rel):
    spec = importlib.util.spec_from_file_location(name, REPO / rel)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def signed_distance(points, prim):
    """Signed distance (N,) of points (N, 3) to a box or a vertical capped cylinder
    (negative inside)."""
    p = np.asarray(points, np.float64)
    lo, hi = np.asarray(prim.lo, np.float64), np.asarray(prim.hi, np.float64)
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    if prim.kind == 'box':
        q = np.abs(p - centre) - half
    else:
        radial = np.linalg.norm(p[:, :2] - centre[:2], axis=1) - half[0]
        q = np.stack([radial, np.abs(p[:, 2] - centre[2]) - half[2]], 1)
    return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(1), 0)


def distances(points, scene):
    """(N, P) signed distances of the points to every primitive of the scene."""
    return np.stack([signed_distance(points, prim) for prim in scene.primitives], 1)


def digests(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            path = os.path.join(d, n)
            with open(path, 'rb') as f:
                out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic_scenes')
    info = generate_synthetic_scannet_frames(root / 'layout', **SMALL)
    scene = generate_scene(SEED, 0)
    return {'root': root, 'layout': Path(info['data_root']), 'info': info, 'scene': scene,
            'poses': camera_trajectory(scene, FRAMES * STEP)}


@pytest.fixture(scope='module')
def frames(data):
    """Back-projected depth pixels of the layout frames (files) and of two renders at
    120x160: list of (points (M, 3), pixels (M, 2), semantic, instance, depth, pose, K)."""
    scene, out = data['scene'], []
    scene_dir = data['layout'] / scene.name
    k_layout = read_intrinsics(scene_dir, 'depth')
    for i in frame_ids(scene_dir):
        depth = read_depth(frame_path(scene_dir, 'depth', i), DEPTH_SIZE)
        pose = read_matrix(frame_path(scene_dir, 'pose', i))
        if not np.isfinite(pose).all():
            pose = data['poses'][i]  # the -inf frame is rendered from the true pose
        sem = read_label(frame_path(scene_dir, 'label-filt', i))
        ins = read_label(frame_path(scene_dir, 'instance-filt', i))
        out.append((depth, pose, k_layout, sem, ins))
    k_big, _ = default_intrinsics((120, 160), (242, 324))
    for i in (12, 40):
        r = render_frame(scene, data['poses'][i], k_big, (120, 160))
        out.append((r['depth'], data['poses'][i], k_big, r['semantic'], r['instance']))
    result = []
    for depth, pose, k, sem, ins in out:
        points, pixels = backproject_depth(depth, k, 1000.0, pose)
        result.append((points, pixels, sem, ins, depth, pose, k))
    return result


def test_backprojected_depth_lies_on_primitive_surfaces(data, frames):
    for points, pixels, _, _, depth, _, _ in frames:
        assert (depth > 0).mean() > 0.9                        # walls all around, no ceiling
        dist = np.abs(distances(points, data['scene'])).min(1)
        assert dist.max() <= SURFACE_TOL, dist.max()
        assert np.median(dist) < 0.5e-3


def test_pixels_without_depth_look_over_the_walls_or_beyond_max_depth(data, frames):
    """Depth 0 only where the ray leaves the room above the wall tops (no ceiling) or,
    with ``max_depth``, where the surface is farther than that."""
    lx, ly, h = data['scene'].size
    for _, _, _, _, depth, pose, k in frames:
        v, u = np.nonzero(depth == 0)
        rays = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones(len(u))], 1)
        d = rays @ pose[:3, :3].T
        o = pose[:3, 3]
        assert (d[:, 2] > 0).all()
        with np.errstate(divide='ignore'):
            tx = np.where(d[:, 0] > 0, (lx - o[0]) / d[:, 0], -o[0] / d[:, 0])
            ty = np.where(d[:, 1] > 0, (ly - o[1]) / d[:, 1], -o[1] / d[:, 1])
        t_exit = np.minimum(np.abs(tx), np.abs(ty))
        assert (o[2] + t_exit * d[:, 2] >= h - 0.01).all()
    k_depth, _ = default_intrinsics(DEPTH_SIZE, COLOR_SIZE)
    pose = data['poses'][10]
    full = render_frame(data['scene'], pose, k_depth, DEPTH_SIZE)
    near = render_frame(data['scene'], pose, k_depth, DEPTH_SIZE, max_depth=2.5)
    keep = (full['depth'] > 0) & (full['depth'] <= 2500)
    assert keep.any() and (full['depth'] > 2500).any()
    np.testing.assert_array_equal(near['depth'], np.where(keep, full['depth'], 0))
    np.testing.assert_array_equal(near['instance'], np.where(keep, full['instance'], 0))


def test_labels_are_those_of_the_nearest_primitive(data, frames):
    scene = data['scene']
    inst = np.array([p.instance for p in scene.primitives])
    label = np.array([p.label for p in scene.primitives])
    exact = total = 0
    for points, pixels, sem, ins, _, _, _ in frames:
        dist = np.abs(distances(points, scene))
        nearest = dist.argmin(1)
        got_ins, got_sem = ins[pixels[:, 0], pixels[:, 1]], sem[pixels[:, 0], pixels[:, 1]]
        exact += int((inst[nearest] == got_ins).sum())
        total += len(points)
        # where several primitives are within the tolerance (contact edges), any of them
        close = dist <= dist.min(1, keepdims=True) + SURFACE_TOL
        assert (close & (inst[None] == got_ins[:, None])).any(1).all()
        assert (close & (label[None] == got_sem[:, None])).any(1).all()
        assert set(np.unique(got_sem)) <= set(NYU40_CLASSES)
    assert exact / total > 0.99


def test_colour_and_depth_intrinsics_see_the_same_field_of_view(data):
    depth_size, color_size = (120, 160), (242, 324)
    k_depth, k_color = default_intrinsics(depth_size, color_size)
    np.testing.assert_allclose(default_intrinsics()[0][:3, :3],
                               [[288.9, 0, 159.5], [0, 288.9, 119.5], [0, 0, 1]], rtol=1e-7)
    # analytic: the ray of depth pixel (v, u) is the ray of colour point
    # ((u + 0.5) * sx - 0.5, (v + 0.5) * sy - 0.5) (half-pixel rule of a resize)
    sx, sy = color_size[1] / depth_size[1], color_size[0] / depth_size[0]
    v, u = np.mgrid[0:depth_size[0], 0:depth_size[1]]
    uc, vc = (u + 0.5) * sx - 0.5, (v + 0.5) * sy - 0.5
    np.testing.assert_allclose((u - k_depth[0, 2]) / k_depth[0, 0],
                               (uc - k_color[0, 2]) / k_color[0, 0], atol=1e-6)
    np.testing.assert_allclose((v - k_depth[1, 2]) / k_depth[1, 1],
                               (vc - k_color[1, 2]) / k_color[1, 1], atol=1e-6)
    # rendered: semantics at colour resolution, resized to depth size, agree away from edges
    scene = data['scene']
    agree = []
    for i in (5, 30, 60):
        pose = data['poses'][i]
        small = render_frame(scene, pose, k_depth, depth_size)['semantic']
        big = render_frame(scene, pose, k_color, color_size)['semantic']
        resized = np.asarray(Image.fromarray(big).resize(depth_size[::-1], Image.NEAREST))
        pad = np.pad(small, 1, mode='edge')
        interior = np.ones(depth_size, bool)
        for dv in (0, 1, 2):
            for du in (0, 1, 2):
                interior &= pad[dv:dv + depth_size[0], du:du + depth_size[1]] == small
        agree.append((resized == small)[interior].mean())
        assert interior.mean() > 0.7
    assert min(agree) > 0.95, agree
    # the layout's colour image is written with the colour intrinsics at colour size
    scene_dir = data['layout'] / scene.name
    # text files hold the shortest decimal of each float32 value
    np.testing.assert_allclose(read_intrinsics(scene_dir, 'color'),
                               default_intrinsics(DEPTH_SIZE, COLOR_SIZE)[1], rtol=1e-7)
    assert read_color(frame_path(scene_dir, 'color', 0)).shape == COLOR_SIZE + (3,)
    assert read_color(frame_path(scene_dir, 'color', 0), DEPTH_SIZE).shape == DEPTH_SIZE + (3,)


def test_colour_carries_texture_and_shading(data):
    """Walls share one albedo but face different ways: Lambertian shading separates them;
    textures make colours vary within an instance."""
    scene = data['scene']
    k, _ = default_intrinsics((120, 160), (120, 160))
    walls, spread = {}, []
    for i in (0, 25, 50):
        r = render_frame(scene, data['poses'][i], k, (120, 160), k, (120, 160))
        rgb, ins, sem = r['color'].astype(np.float64), r['instance'], r['semantic']
        for j in np.unique(ins[sem == 1]):
            walls.setdefault(int(j), []).append(rgb[ins == j])
        spread += [rgb[ins == j].std(0).max() for j in np.unique(ins) if (ins == j).sum() > 300]
    means = [np.concatenate(v).mean() for v in walls.values()]
    assert len(means) >= 3
    gaps = np.abs(np.subtract.outer(means, means))[np.triu_indices(len(means), 1)]
    assert gaps.min() > 5, means
    assert max(spread) > 5


def test_same_seed_byte_identical_other_seed_differs(data, tmp_path):
    again = generate_synthetic_scannet_frames(tmp_path / 'again', **SMALL)
    assert again['created']
    assert digests(data['layout']) == digests(tmp_path / 'again')
    other = generate_synthetic_scannet_frames(tmp_path / 'other', **{**SMALL, 'seed': 1})
    a, b = digests(data['layout']), digests(tmp_path / 'other')
    assert a.keys() == b.keys()
    assert a['scene0000_00/depth/0.png'] != b['scene0000_00/depth/0.png']
    # idempotent: same parameters rewrite nothing
    mtime = os.path.getmtime(tmp_path / 'again' / 'scene0000_00' / 'depth' / '0.png')
    assert not generate_synthetic_scannet_frames(tmp_path / 'again', **SMALL)['created']
    assert os.path.getmtime(tmp_path / 'again' / 'scene0000_00' / 'depth' / '0.png') == mtime


def test_layout_files_readable_by_scannet_layout(data):
    scene_dir = data['layout'] / 'scene0000_00'
    assert frame_ids(scene_dir) == [0, 25, 50]
    for name in INTRINSIC_FILES:
        matrix = read_matrix(scene_dir / 'intrinsic' / f'{name}.txt')
        if name.startswith('extrinsic'):
            np.testing.assert_array_equal(matrix, np.eye(4))
    np.testing.assert_allclose(read_intrinsics(scene_dir, 'depth'),
                               default_intrinsics(DEPTH_SIZE, COLOR_SIZE)[0], rtol=1e-7)
    invalid = data['info']['scenes']['scene0000_00']['invalid_pose_frames']
    assert invalid == [25]
    for i in (0, 25, 50):
        depth = read_depth(frame_path(scene_dir, 'depth', i), DEPTH_SIZE)
        assert depth.dtype == np.uint16 and depth.max() > 1000
        assert Image.open(frame_path(scene_dir, 'depth', i)).mode.startswith('I;16')
        pose = read_matrix(frame_path(scene_dir, 'pose', i))
        if i == 25:
            assert np.isneginf(pose).all()
        else:
            np.testing.assert_allclose(pose, data['poses'][i], atol=1e-6)
            np.testing.assert_allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3), atol=1e-5)
        label = read_label(frame_path(scene_dir, 'label-filt', i))
        assert label.shape == DEPTH_SIZE
        np.testing.assert_array_equal(label == 0, depth == 0)
    ids = {o['instance'] for o in data['info']['scenes']['scene0000_00']['objects']}
    ins = read_label(frame_path(scene_dir, 'instance-filt', 0))
    assert set(np.unique(ins)) - {0} <= ids
    assert set(data['info']['files']) >= {'scene0000_00/color/25.jpg',
                                          'scene0000_00/label-filt/50.png'}
    off = generate_synthetic_scannet_frames(data['root'] / 'valid', **{
        **SMALL, 'frames_per_scene': 1, 'invalid_pose': False})
    assert np.isfinite(read_matrix(Path(off['data_root']) / 'scene0000_00' / 'pose' / '0.txt')).all()


def test_sens_round_trip_and_converter_match_layout(data):
    scene = data['scene']
    sens_path = data['root'] / 'scans' / scene.name / f'{scene.name}.sens'
    count = write_scene_sens(scene, sens_path, FRAMES * STEP, DEPTH_SIZE, COLOR_SIZE,
                             invalid_pose_frames=[25])
    assert count == FRAMES * STEP
    header, frames_iter = read_sens(sens_path)
    assert (header.depth_width, header.depth_height) == DEPTH_SIZE[::-1]
    assert (header.color_width, header.color_height) == COLOR_SIZE[::-1]
    assert header.color_compression_name == 'jpeg'
    assert header.depth_compression_name == 'zlib_ushort' and header.depth_shift == 1000.0
    k_depth, k_color = default_intrinsics(DEPTH_SIZE, COLOR_SIZE)
    np.testing.assert_array_equal(header.intrinsic_depth, k_depth.astype(np.float32))
    indices = []
    for frame in frames_iter:
        indices.append(frame.index)
        if frame.index == 25:
            assert np.isneginf(frame.camera_to_world).all()
        else:
            np.testing.assert_array_equal(frame.camera_to_world,
                                          data['poses'][frame.index].astype(np.float32))
        if frame.index in (0, 37):
            want = render_frame(scene, data['poses'][frame.index], k_depth, DEPTH_SIZE)
            got = decode_depth(frame.depth_data, header.depth_compression, *DEPTH_SIZE[::-1])
            np.testing.assert_array_equal(got, want['depth'])
            rgb = decode_color(frame.color_data, header.color_compression, *COLOR_SIZE[::-1])
            assert rgb.shape == COLOR_SIZE + (3,)
    assert indices == list(range(FRAMES * STEP))

    tool = load_tool('scannet_sens_tool', 'tools/dataset_converters/scannet_sens.py')
    out = data['root'] / 'converted'
    os.makedirs(out)
    total, written, bad_pose, empty = tool.convert_scene(scene.name, str(sens_path), str(out),
                                                         STEP)
    assert (total, written, bad_pose, empty) == (FRAMES * STEP, FRAMES, 1, 0)
    conv, layout = out / scene.name, data['layout'] / scene.name
    for i in (0, 25, 50):
        for kind in ('depth', 'color', 'pose'):
            assert Path(frame_path(conv, kind, i)).read_bytes() == \
                Path(frame_path(layout, kind, i)).read_bytes(), (kind, i)
    for name in INTRINSIC_FILES:
        assert (conv / 'intrinsic' / f'{name}.txt').read_text() == \
            (layout / 'intrinsic' / f'{name}.txt').read_text()


def test_scenes_are_valid_rooms():
    for seed in (0, 1, 2):
        for index in range(10):
            scene = generate_scene(seed, index)
            lx, ly, h = scene.size
            assert 3 <= lx <= 6 and 3 <= ly <= 6 and 2.4 <= h <= 2.8
            prims = scene.primitives
            labels = {p.label for p in prims}
            assert labels <= set(SCANNET20_NYU40_IDS) and {1, 2, 8, 9} <= labels
            objects = [p for p in prims if p.label not in (1, 2)]
            for p in objects:  # inside the room: touching floor/walls at most
                assert (p.lo >= [-1e-9, -1e-9, -1e-9]).all() and (p.hi <= [lx + 1e-9,
                                                                          ly + 1e-9, h]).all()
            for i, a in enumerate(objects):  # different instances never overlap
                for b in objects[i + 1:]:
                    if a.instance != b.instance:
                        overlap = np.minimum(a.hi, b.hi) - np.maximum(a.lo, b.lo)
                        assert overlap.min() <= 1e-9, (scene.name, a.instance, b.instance)
            poses = camera_trajectory(scene, 60)
            centres = poses[:, :3, 3]
            for p in prims:  # the camera is in free space, 5 cm or more from every solid
                assert (signed_distance(centres, p) > 0.05).all()
            steps = np.linalg.norm(np.diff(centres, axis=0), axis=1)
            assert steps.max() < 3 * steps.mean()           # a smooth walk
            assert (np.abs(centres[:, 2] - 1.5) <= 0.1 + 1e-6).all()
            forward = poses[:, :3, 2]
            assert (forward[:, 2] < 0).all() and (forward[:, 2] > -0.5).all()  # slightly down


def test_sampled_points_lie_on_visible_surfaces_with_their_labels():
    scene = generate_scene(SEED, 1)
    xyz, rgb, sem, ins = sample_scene_points(scene, 20000, np.random.default_rng(0))
    assert xyz.shape == (20000, 3) and xyz.dtype == np.float32 and rgb.dtype == np.uint8
    assert sem.shape == ins.shape == (20000,)
    sd = distances(xyz, scene)
    inst = np.array([p.instance for p in scene.primitives])
    label = np.array([p.label for p in scene.primitives])
    on = np.abs(sd) <= 1e-5
    assert (sd.min(1) >= -1e-5).all()                 # never inside a solid
    assert on.sum(1).min() >= 1 and (on.sum(1) == 1).mean() > 0.999  # on exactly one (edges)
    owner = np.abs(sd).argmin(1)
    np.testing.assert_array_equal(inst[owner], ins)
    np.testing.assert_array_equal(label[owner], sem)
    lx, ly, h = scene.size
    assert (xyz[:, 0] >= -1e-5).all() and (xyz[:, 0] <= lx + 1e-5).all()
    assert (xyz[:, 1] >= -1e-5).all() and (xyz[:, 1] <= ly + 1e-5).all()
    assert (xyz[sem != 2, 2] > 1e-5).all()            # no faces lying on the floor
    # area weighting: equal point density on the visible floor and the visible west wall
    g = 0.01

    def visible_area(grid, owner_index):
        covered = np.zeros(len(grid), bool)
        for k, p in enumerate(scene.primitives):
            if k != owner_index:
                covered |= signed_distance(grid, p) <= 1e-9
        return (~covered).sum() * g * g

    x, y = np.meshgrid(np.arange(g / 2, lx, g), np.arange(g / 2, ly, g))
    floor = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], 1)
    y, z = np.meshgrid(np.arange(g / 2, ly, g), np.arange(g / 2, h, g))
    west = np.stack([np.zeros(y.size), y.ravel(), z.ravel()], 1)
    floor_density = (sem == 2).sum() / visible_area(floor, 0)
    west_density = ((sem == 1) & (np.abs(xyz[:, 0]) < 1e-5)).sum() / visible_area(west, 1)
    assert abs(floor_density / west_density - 1) < 0.1, (floor_density, west_density)
    # boxes: one per object instance, the union of its primitives, containing its points
    boxes, labels, ids = scene_boxes(scene)
    assert boxes.shape == (len(ids), 7) and boxes.dtype == np.float32
    assert (boxes[:, 6] == 0).all() and set(labels) & {1, 2} == set()
    assert set(ids) == {p.instance for p in scene.primitives if p.label not in (1, 2)}
    for box, lab, i in zip(boxes, labels, ids):
        parts = [p for p in scene.primitives if p.instance == i]
        lo, hi = np.min([p.lo for p in parts], 0), np.max([p.hi for p in parts], 0)
        np.testing.assert_allclose(box[:3], (lo + hi) / 2, atol=1e-6)
        np.testing.assert_allclose(box[3:6], hi - lo, atol=1e-6)
        assert {p.label for p in parts} == {lab}
        pts = xyz[ins == i]
        assert (np.abs(pts - box[:3]) <= box[3:6] / 2 + 1e-5).all()


def test_create_data_cli(tmp_path, capsys):
    sys.path.insert(0, str(REPO / 'tools'))
    try:
        import create_data
    finally:
        sys.path.pop(0)
    args = create_data.parse_args(['synthetic-scenes'])
    assert (args.out_dir, args.num_scenes, args.frames_per_scene, args.frame_step) == \
        ('data/synthetic_scannet', 4, 12, 25)
    create_data.main(['synthetic-scenes', '--out', str(tmp_path / 'scannet'), '--num-scenes',
                      '1', '--frames-per-scene', '1', '--no-progress'])
    out = capsys.readouterr().out
    assert 'wrote' in out and 'scene0000_00' in out
    depth = read_depth(tmp_path / 'scannet' / 'scene0000_00' / 'depth' / '0.png', (240, 320))
    assert depth.any()
    assert read_color(tmp_path / 'scannet' / 'scene0000_00' / 'color' / '0.jpg').shape == \
        (484, 648, 3)


def test_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match='frames_per_scene'):
        generate_synthetic_scannet_frames(tmp_path / 'x', frames_per_scene=0, progress=False)
    with pytest.raises(ValueError, match='depth_size'):
        generate_synthetic_scannet_frames(tmp_path / 'x', depth_size=(1,), progress=False)
    scene = generate_scene(0, 0)
    with pytest.raises(ValueError, match='pose'):
        render_frame(scene, np.full((4, 4), -np.inf), default_intrinsics()[0])
    real = tmp_path / 'real'
    real.mkdir()
    (real / 'scene0000_00').mkdir()
    with pytest.raises(ValueError, match='refusing to replace'):
        generate_synthetic_scannet_frames(real, **SMALL)
