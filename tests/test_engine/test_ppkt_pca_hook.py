"""PPKT feature picture: one PCA shared by teacher and student (checked against an
independent numpy SVD), the panel layout, and the hook writing a PNG of the expected size
from a validation batch of a tiny PPKT model."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement
from PIL import Image

from crosspt.engine.hooks import PPKTFeaturePCAHook, compose_pca_panels, shared_pca_rgb
from crosspt.engine.hooks.ppkt_pca_hook import GAP, NO_POINT_GREY
from crosspt.engine.hooks.view_grid_hook import CAPTION_HEIGHT
from crosspt.registry import MODELS
from ppkt_tiny import tiny_ppkt


def svd_reference(teacher: np.ndarray, student: np.ndarray):
    """Shared PCA by numpy's SVD of the centred concatenation, min-max scaled jointly."""
    both = np.concatenate([teacher, student])
    centred = both - both.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    proj = centred @ vt[:3].T
    rgb = (proj - proj.min(0)) / (proj.max(0) - proj.min(0))
    return rgb[:len(teacher)], rgb[len(teacher):]


def assert_equal_up_to_flip(got: np.ndarray, ref: np.ndarray) -> None:
    """Each channel equals the reference or its flip (the sign of a PCA axis is free)."""
    for c in range(3):
        same = np.abs(got[:, c] - ref[:, c]).max()
        flipped = np.abs(got[:, c] - (1 - ref[:, c])).max()
        assert min(same, flipped) < 1e-6, (c, same, flipped)


def test_shared_pca_matches_numpy_svd_on_both_sets():
    rng = np.random.default_rng(0)
    scales = np.array([5.0, 3.0, 2.0, 0.5, 0.2, 0.1])          # distinct variances
    teacher = rng.normal(size=(50, 6)) * scales
    student = rng.normal(size=(20, 6)) * scales + 1.0
    got_t, got_s = shared_pca_rgb(teacher, student)
    ref_t, ref_s = svd_reference(teacher, student)
    assert_equal_up_to_flip(np.concatenate([got_t, got_s]), np.concatenate([ref_t, ref_s]))


def test_the_pca_is_shared_not_fitted_per_set():
    # student = teacher: the same colours.  Student = teacher shifted: a PCA per set would
    # centre the shift away (same colours again); the shared one shows it as one constant
    # colour change for every point
    rng = np.random.default_rng(1)
    teacher = rng.normal(size=(30, 4)) * np.array([4.0, 2.0, 1.0, 0.5])
    t_rgb, s_rgb = shared_pca_rgb(teacher, teacher.copy())
    np.testing.assert_allclose(t_rgb, s_rgb, atol=1e-12)
    t_rgb, s_rgb = shared_pca_rgb(teacher, teacher + np.array([10.0, 0, 0, 0]))
    diff = s_rgb - t_rgb
    assert np.ptp(diff, axis=0).max() < 1e-12 and np.abs(diff).max() > 0.1


def test_panels_layout_and_grey_where_no_point():
    h, w, d = 6, 5, 4
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    teacher = rng.normal(size=(h, w, d))
    pixels = np.array([[0, 0], [2, 3], [5, 4]])
    student = rng.normal(size=(3, d))
    out = compose_pca_panels(img, teacher, pixels, student)
    assert out.shape == (CAPTION_HEIGHT + h, 3 * w + 2 * GAP, 3) and out.dtype == np.uint8
    body = out[CAPTION_HEIGHT:]
    np.testing.assert_array_equal(body[:, :w], img)
    ref_t, ref_s = svd_reference(teacher.reshape(h * w, d), student)
    got_t = body[:, w + GAP:2 * w + GAP].reshape(h * w, 3) / 255.0
    got_s = body[:, 2 * (w + GAP):][pixels[:, 0], pixels[:, 1]] / 255.0
    for c in range(3):         # same sign choice for teacher and student, to 8-bit precision
        errs = [max(np.abs(got_t[:, c] - r_t).max(), np.abs(got_s[:, c] - r_s).max())
                for r_t, r_s in ((ref_t[:, c], ref_s[:, c]), (1 - ref_t[:, c], 1 - ref_s[:, c]))]
        assert min(errs) <= 0.5 / 255 + 1e-9, (c, errs)
    empty = np.ones((h, w), bool)
    empty[pixels[:, 0], pixels[:, 1]] = False
    assert (body[:, 2 * (w + GAP):][empty] == NO_POINT_GREY).all()


TINY = tiny_ppkt(num_pairs=32)


def _val_batch(sizes, hw=(48, 64)):
    """Pseudo-collated frames: V voxels each, every voxel paired with a distinct pixel."""
    g = torch.Generator().manual_seed(0)
    inputs = dict(img=[], coords=[], points=[], feats=[])
    samples = []
    for v in sizes:
        flat = torch.randperm(12 ** 3, generator=g)[:v]
        coords = torch.stack([flat // 144, flat // 12 % 12, flat % 12], dim=1)
        pix = torch.randperm(hw[0] * hw[1], generator=g)[:v]
        inputs['img'].append(torch.randint(0, 256, (3, *hw), dtype=torch.uint8, generator=g))
        inputs['coords'].append(coords)
        inputs['points'].append(coords.float() * 0.05)
        inputs['feats'].append(torch.rand(v, 3, generator=g))
        samples.append(BaseDataElement(pairs=torch.stack(
            [torch.arange(v), pix // hw[1], pix % hw[1]], dim=1)))
    return dict(inputs=inputs, data_samples=samples)


def test_hook_writes_the_picture_of_the_chosen_frame(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(TINY)
    model.train()
    logs, images = [], []
    runner = SimpleNamespace(
        model=model, work_dir=str(tmp_path), iter=7,
        visualizer=SimpleNamespace(add_image=lambda name, image, step: images.append(
            (name, image.shape, step))),
        logger=SimpleNamespace(info=logs.append))
    batch = _val_batch([40, 60])
    hook = PPKTFeaturePCAHook(sample=1)
    hook.after_val_iter(runner, 1, batch)                  # not the first batch: nothing
    assert not (tmp_path / 'feature_pca').exists()
    hook.after_val_iter(runner, 0, batch)
    path = tmp_path / 'feature_pca' / 'iter_000007.png'
    picture = np.asarray(Image.open(path))
    assert picture.shape == (CAPTION_HEIGHT + 48, 3 * 64 + 2 * GAP, 3)
    assert images == [('ppkt_feature_pca', picture.shape, 7)] and str(path) in logs[0]
    assert model.training                                  # train mode restored
    body = picture[CAPTION_HEIGHT:]
    np.testing.assert_array_equal(body[:, :64], batch['inputs']['img'][1].permute(1, 2, 0))
    student = body[:, 2 * (64 + GAP):]
    covered = (student != NO_POINT_GREY).any(-1).sum()
    assert 0 < covered <= 60                               # the 60 pixels of frame 1 at most
    with pytest.raises(ValueError, match='sample=2 but the first validation batch has 2'):
        PPKTFeaturePCAHook(sample=2).after_val_iter(runner, 0, batch)
