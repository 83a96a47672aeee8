"""Renderer, mesh I/O and pose tests against hand-worked numbers and brute-force references."""

import numpy as np
import pytest
import torch

from crosspt.rendering import (fit_view_camera, read_mesh, render_mesh_views,
                               render_point_views, render_tap_views, tap_view_rotations,
                               write_obj, write_off)
from crosspt.rendering.renderer import FG_MAX, FG_MIN

# ----------------------------------------------------------------------------- helpers


def _box(center, size):
    """Independent test box: 8 vertices, 12 triangles (winding irrelevant to the renderer)."""
    corners = np.array([[x, y, z] for x in (-.5, .5) for y in (-.5, .5) for z in (-.5, .5)])
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return corners * np.asarray(size, float) + np.asarray(center, float), faces


def _sphere(center, radius, n_lat=16, n_lon=24):
    lat = np.linspace(0, np.pi, n_lat + 1)
    lon = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    la, lo = np.meshgrid(lat, lon, indexing='ij')
    verts = np.stack([np.sin(la) * np.cos(lo), np.cos(la), np.sin(la) * np.sin(lo)], -1)
    verts = verts.reshape(-1, 3) * radius + np.asarray(center, float)
    faces = []
    for i in range(n_lat):
        for j in range(n_lon):
            a, b = i * n_lon + j, i * n_lon + (j + 1) % n_lon
            faces += [(a, b, b + n_lon), (a, b + n_lon, a + n_lon)]
    return verts, np.array(faces)


def _merge(*meshes):
    verts, faces, off = [], [], 0
    for v, f in meshes:
        verts.append(v)
        faces.append(f + off)
        off += len(v)
    return np.concatenate(verts), np.concatenate(faces)


def _surface_samples(vertices, faces, n, seed=0):
    rng = np.random.default_rng(seed)
    tri = vertices[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    face = rng.choice(len(tri), n, p=area / area.sum())
    u, v = rng.uniform(size=(2, n))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tri[face]
    return t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])


def _fg(images):
    return (images < 255).any(axis=-1)


def _bbox(mask):
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    return np.array([rows.min(), rows.max(), cols.min(), cols.max()])


# ----------------------------------------------------------------------------- poses


def test_tap_poses_match_spec_values():
    rot = tap_view_rotations()
    assert rot.shape == (12, 3, 3) and rot.dtype == np.float64
    expected = {
        0: [[0.5, 0, -0.866], [0, 1, 0], [0.866, 0, 0.5]],
        1: [[0.433, 0.25, -0.866], [-0.5, 0.866, 0], [0.75, 0.433, 0.5]],
        3: [[0, 0.5, -0.866], [-1, 0, 0], [0, 0.866, 0.5]],
    }
    for k, mat in expected.items():
        np.testing.assert_allclose(rot[k], mat, atol=1e-3)
    np.testing.assert_allclose(rot @ rot.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rot.shape),
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-12)
    # camera direction R^T e_z at 30 deg elevation, azimuth 30 k (docs/methods/tap.md,
    # 'Instructed camera poses')
    theta = np.deg2rad(30 * np.arange(12))
    cam = np.stack([0.866 * np.cos(theta), 0.866 * np.sin(theta), np.full(12, 0.5)], -1)
    np.testing.assert_allclose(rot[:, 2, :], cam, atol=1e-3)


# ----------------------------------------------------------------------------- mesh io


def test_mesh_io_round_trip(tmp_path):
    verts, faces = _box([0.1, 0.2, 0.3], [1, 2, 3])
    for name, writer in (('m.off', write_off), ('m.obj', write_obj)):
        writer(tmp_path / name, verts, faces)
        v, f = read_mesh(tmp_path / name)
        assert v.dtype == np.float64 and f.dtype == np.int64
        np.testing.assert_allclose(v, verts, atol=1e-7)
        np.testing.assert_array_equal(f, faces)


def test_read_off_glued_header_and_polygons(tmp_path):
    path = tmp_path / 'glued.off'
    path.write_text('OFF4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n')
    v, f = read_mesh(path)
    assert v.shape == (4, 3)
    np.testing.assert_array_equal(f, [[0, 1, 2], [0, 2, 3]])
    path2 = tmp_path / 'split.off'
    path2.write_text('OFF\n# comment\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 2 1 0\n')
    np.testing.assert_array_equal(read_mesh(path2)[1], [[2, 1, 0]])


def test_read_obj_slashes_negative_and_fan(tmp_path):
    path = tmp_path / 'm.obj'
    path.write_text('o thing\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 1\nvt 0 0\n'
                    'f 1/1/1 2/1/1 3/1/1 4/1/1\nf -1 -2 -3\nf 1//1 3//1 4//1\n')
    v, f = read_mesh(path)
    assert v.shape == (4, 3)
    np.testing.assert_array_equal(f, [[0, 1, 2], [0, 2, 3], [3, 2, 1], [0, 2, 3]])


def test_read_ply_mesh_and_points_only(tmp_path):
    from plyfile import PlyData, PlyElement
    verts, faces = _box([0, 0, 0], [1, 1, 1])
    vert = np.array([tuple(p) for p in verts], dtype=[('x', 'f4'), ('y', 'f4'), ('z', 'f4')])
    face = np.array([(list(t),) for t in faces], dtype=[('vertex_indices', 'i4', (3,))])
    PlyData([PlyElement.describe(vert, 'vertex'),
             PlyElement.describe(face, 'face')]).write(str(tmp_path / 'm.ply'))
    v, f = read_mesh(tmp_path / 'm.ply')
    np.testing.assert_allclose(v, verts)
    np.testing.assert_array_equal(f, faces)
    PlyData([PlyElement.describe(vert, 'vertex')]).write(str(tmp_path / 'p.ply'))
    v, f = read_mesh(tmp_path / 'p.ply')
    assert v.shape == (8, 3) and f.shape == (0, 3) and f.dtype == np.int64


def test_mesh_io_errors_name_the_file(tmp_path):
    missing = tmp_path / 'nope.off'
    with pytest.raises(FileNotFoundError, match='nope.off'):
        read_mesh(missing)
    bad = tmp_path / 'bad.off'
    bad.write_text('OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n')
    with pytest.raises(ValueError, match=r'bad\.off.*line 6.*index 7'):
        read_mesh(bad)
    bad_obj = tmp_path / 'bad.obj'
    bad_obj.write_text('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n')
    with pytest.raises(ValueError, match=r'bad\.obj.*line 4.*index 4'):
        read_mesh(bad_obj)
    garbled = tmp_path / 'garbled.off'
    garbled.write_text('OFF\n3 1 0\n0 0 zero\n1 0 0\n0 1 0\n3 0 1 2\n')
    with pytest.raises(ValueError, match=r'garbled\.off.*line 3'):
        read_mesh(garbled)
    with pytest.raises(ValueError, match='m.stl'):
        read_mesh(tmp_path / 'm.stl')


# ----------------------------------------------------------------------------- camera fit


def test_fit_view_camera_hand_worked():
    # identity view: x' spans 0..197 (longer axis), y' spans 0..98
    pts = np.array([[0.0, 0.0, 0.0], [197.0, 0.0, 1.0], [0.0, 98.0, -1.0]])
    scale, bias = fit_view_camera(pts, np.eye(3)[None])
    np.testing.assert_allclose(scale, [1.0])
    # x: idx 0..197 -> ctr 98 -> offset 1; y: idx 0..98 -> ctr 49 -> offset 50; pad 12
    np.testing.assert_allclose(bias, [[-13.0, -62.0]])


def test_fit_view_camera_matches_query_generator():
    from crosspt.models.tap.query_generator import TAPQueryGenerator
    pts = np.random.default_rng(1).normal(size=(500, 3)) * [1.0, 0.5, 0.2]
    rot = tap_view_rotations()
    scale, bias = fit_view_camera(pts, rot)
    t_scale, t_bias = TAPQueryGenerator().fit_camera(torch.from_numpy(pts)[None],
                                                     torch.from_numpy(rot)[None])
    np.testing.assert_allclose(scale, t_scale[0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(bias, t_bias[0].numpy(), rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- rendering


def test_render_background_foreground_and_extent():
    verts, faces = _box([0, 0, 0], [1.0, 0.6, 0.3])
    images = render_mesh_views(verts, faces, tap_view_rotations())
    assert images.shape == (12, 224, 224, 3) and images.dtype == np.uint8
    fg = _fg(images)
    assert (images[~fg] == 255).all()
    assert (images[fg] <= FG_MAX).all() and (images[fg] >= FG_MIN).all()
    assert (images[..., 0] == images[..., 1]).all() and (images[..., 1] == images[..., 2]).all()
    for v in range(12):
        r0, r1, c0, c1 = _bbox(fg[v])
        # longer axis: (p' - low)/scale in [0, 197] plus offset 1 and pad 12 -> [13, 210]
        if r1 - r0 >= c1 - c0:
            lo, hi = r0, r1
        else:
            lo, hi = c0, c1
        assert abs(lo - 13) <= 2 and abs(hi - 210) <= 2, (v, lo, hi)
        assert 12 <= min(r0, c0) and max(r1, c1) <= 212


def _raycast_cube(rotations, scale, bias, size, sub=33):
    """Brute force: does any of sub x sub rays spread over the half-open pixel square (row,
    col in [r, r+1) x [c, c+1), TAP's floor convention) along z' hit the cube [-.5, .5]^3?"""
    offsets = np.linspace(0.0, 1.0, sub, endpoint=False)
    rows = (np.arange(size)[:, None] + offsets).reshape(-1)
    rows, cols = np.meshgrid(rows, rows, indexing='ij')
    masks = []
    for rot, s, b in zip(rotations, scale, bias):
        u, v = s * rows + b[0], s * cols + b[1]
        origin = np.stack([u, v, np.zeros_like(u)], -1) @ rot          # R^T [u, v, 0]
        direction = rot[2]                                             # R^T e_z
        lo, hi = np.full(u.shape, -np.inf), np.full(u.shape, np.inf)
        for ax in range(3):
            if abs(direction[ax]) < 1e-12:
                inside = np.abs(origin[..., ax]) <= 0.5
                lo, hi = np.where(inside, lo, np.inf), np.where(inside, hi, -np.inf)
                continue
            t1 = (-0.5 - origin[..., ax]) / direction[ax]
            t2 = (0.5 - origin[..., ax]) / direction[ax]
            lo, hi = np.maximum(lo, np.minimum(t1, t2)), np.minimum(hi, np.maximum(t1, t2))
        masks.append((lo <= hi).reshape(size, sub, size, sub).any(axis=(1, 3)))
    return np.stack(masks)


def test_cube_matches_raycast_reference():
    verts, faces = _box([0, 0, 0], [1, 1, 1])
    rot = tap_view_rotations()
    images = render_mesh_views(verts, faces, rot, image_size=32, obj_size=28)
    scale, bias = fit_view_camera(verts, rot, img_size=32, obj_size=28)
    ref = _raycast_cube(rot, scale, bias, 32)
    agree = (_fg(images) == ref).mean(axis=(1, 2))
    assert (agree >= 0.98).all(), agree


def test_zbuffer_keeps_surface_nearest_camera():
    # camera on +z' (looking towards -z'): the triangle with larger z wins where they overlap
    flat = np.array([[0, 0, 0.0], [1, 0, 0.0], [0, 1, 0.0]])             # facing camera
    tilted = np.array([[0, 0, 0.5], [1, 0, 0.5], [0, 1, 1.5]])           # nearer, tilted
    verts = np.concatenate([flat, tilted, [[1.0, 1.0, 0.0]]])
    faces = np.array([[0, 1, 2], [3, 4, 5], [6, 1, 2]])  # third face only enlarges the fit
    for order in (faces, faces[[1, 0, 2]]):
        img = render_mesh_views(verts, order, np.eye(3)[None])[0, ..., 0]
        scale, bias = fit_view_camera(verts, np.eye(3)[None])
        r, c = ((np.array([0.2, 0.2]) - bias[0]) / scale[0]).astype(int)
        n = np.cross(tilted[1] - tilted[0], tilted[2] - tilted[0])
        expected = FG_MIN + (FG_MAX - FG_MIN) * abs(n[2]) / np.linalg.norm(n)
        assert abs(int(img[r, c]) - expected) <= 1
        assert img[r, c] < FG_MAX - 10


def test_point_splats_match_mesh_silhouette():
    verts, faces = _merge(_box([0, 0, 0], [1.0, 0.4, 0.6]), _box([0.3, 0.4, 0], [0.4, 0.6, 0.6]))
    pts = _surface_samples(verts, faces, 20000)
    rot = tap_view_rotations()
    splat = _fg(render_point_views(pts, rot))
    mesh = _fg(render_mesh_views(verts, faces, rot, fit_points=pts))
    iou = (splat & mesh).sum(axis=(1, 2)) / (splat | mesh).sum(axis=(1, 2))
    assert (iou >= 0.9).all(), iou


# ----------------------------------------------------------------------------- KEY acceptance


def test_views_agree_with_query_generator_projection():
    """Y-up L-shape + marker sphere through the loader path: images vs TAPQueryGenerator."""
    from crosspt.models.tap.query_generator import TAPQueryGenerator

    body = _merge(_box([0, 0.3, 0], [1.0, 0.6, 0.4]), _box([0.35, 0.9, 0], [0.3, 0.6, 0.4]))
    marker_c, marker_r = np.array([-0.5, 0.6, 0.2]), 0.15
    marker = _sphere(marker_c, marker_r)
    verts, faces = _merge(body, marker)
    stored = _surface_samples(verts, faces, 4096, seed=3).astype(np.float32)  # Y-up .ply
    images = render_tap_views(verts, faces, stored)
    body_only = render_tap_views(*body, stored)

    # what TAP's loader does: permute [2, 0, 1], centre, unit sphere; then project
    pts = stored[:, [2, 0, 1]]
    pts = pts - pts.mean(0)
    pts = pts / np.linalg.norm(pts, axis=1).max()
    rot = torch.from_numpy(tap_view_rotations())[None]
    proj = TAPQueryGenerator().project(torch.from_numpy(pts)[None], rot)[0].numpy()
    pix = np.floor(proj).astype(int)                                   # (12, N, 2)
    is_marker = np.linalg.norm(stored - marker_c, axis=1) <= marker_r + 1e-4
    fg = _fg(images)
    for v in range(12):
        hit = fg[v][pix[v, :, 0], pix[v, :, 1]].mean()
        assert hit >= 0.95, (v, hit)
        box_pts = np.array([pix[v, :, 0].min(), pix[v, :, 0].max(),
                            pix[v, :, 1].min(), pix[v, :, 1].max()])
        assert np.abs(_bbox(fg[v]) - box_pts).max() <= 2, (v, _bbox(fg[v]), box_pts)
        # the marker: pixels that change when the sphere is added
        shown = np.argwhere(fg[v] & (images[v, ..., 0] != body_only[v, ..., 0]))
        assert len(shown) > 50
        marker_px = proj[v, is_marker].mean(0)
        radius_px = marker_r / fit_view_camera(stored[:, [2, 0, 1]], rot[0, v:v + 1].numpy())[0][0]
        # the visible part of the sphere is centred within one sphere radius of its centre
        assert np.linalg.norm(shown.mean(0) + 0.5 - marker_px) < radius_px, v
    # views differ (the object is asymmetric)
    assert all(np.abs(fg[0].astype(int) - fg[v]).sum() > 200 for v in range(1, 12))
