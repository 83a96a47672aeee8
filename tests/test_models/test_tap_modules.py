"""TAP pretext modules against hand-worked numbers (docs/methods/tap.md, 'Query
generator' to 'Parameter counts')."""
import math

import pytest
import torch

from crosspt.models.tap import (FgBgWeightedMSELoss, TAPMemoryBuilder, TAPPhotographModule,
                                TAPQueryGenerator, TAPViewDecoder)


def rot_z(deg):
    t = math.radians(deg)
    return torch.tensor([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0],
                         [0, 0, 1]], dtype=torch.float64)


def tap_pose(theta_deg):
    """R = R_y(-60 deg) R_z(-theta), written out independently of crosspt.rendering."""
    p = math.radians(-60)
    ry = torch.tensor([[math.cos(p), 0, math.sin(p)], [0, 1, 0], [-math.sin(p), 0, math.cos(p)]],
                      dtype=torch.float64)
    return ry @ rot_z(-theta_deg)


def params(module):
    return sum(p.numel() for p in module.parameters())


def test_camera_fit_hand_worked():
    # grid = 197/128 / 197 = 1/128 exactly; x spans pixel indices 0..197, y 0..98.
    pts = torch.tensor([[0, 0, 0], [197 / 128, 0, 0], [0, 98.5 / 128, 0],
                        [197 / 128, 98.5 / 128, 0.3]], dtype=torch.float32)[None]
    qg = TAPQueryGenerator()
    scale, bias = qg.fit_camera(pts, torch.eye(3, dtype=torch.float64)[None, None])
    assert scale.item() == pytest.approx(1 / 128)
    # ctr = (floor(197/2), floor(98/2)) = (98, 49); offset = 100 - ctr - 1 = (1, 50); pad 12
    assert bias[0, 0].tolist() == pytest.approx([-(1 + 12) / 128, -(50 + 12) / 128])
    pix = qg.project(pts, torch.eye(3, dtype=torch.float64)[None, None])[0, 0]
    assert pix[:, 0].min().item() == pytest.approx(13) and pix[:, 0].max().item() == pytest.approx(210)
    assert pix[:, 1].min().item() == pytest.approx(62) and pix[:, 1].max().item() == pytest.approx(160.5)


def test_queries_shape_grid_and_origins():
    torch.manual_seed(0)
    pts = torch.randn(2, 300, 3)
    rots = torch.stack([torch.stack([tap_pose(t) for t in (0, 30, 90)])] * 2)
    qg = TAPQueryGenerator()
    q = qg(pts, rots)
    assert q.shape == (6, 49, 8) and q.dtype == torch.float32
    # grid position (i/6, j/6), row-major: query 7*i + j
    assert q[0, 7 * 2 + 5, 6:].tolist() == pytest.approx([2 / 6, 5 / 6])
    assert q[0, 48, 6:].tolist() == pytest.approx([1.0, 1.0])
    # origins: R o = (scale * pixel_centre + bias, 0) at pixel centres 16 + 32 i
    scale, bias = qg.fit_camera(pts, rots)
    for b in range(2):
        for v in range(3):
            o = q[b * 3 + v, :, :3].double()
            ro = o @ rots[b, v].T
            assert ro[:, 2].abs().max() < 1e-5
            i, j = 3, 6
            expect = scale[b, v] * torch.tensor([16 + 32.0 * i, 16 + 32.0 * j], dtype=torch.float64) + bias[b, v]
            assert torch.allclose(ro[7 * i + j, :2], expect, atol=1e-5)


def test_direction_column_quirk_and_row_option():
    pts = torch.randn(1, 100, 3)
    rots = torch.stack([tap_pose(t) for t in (0, 30, 90)])[None]
    col = TAPQueryGenerator(direction='column')(pts, rots)
    # third column of R is (sin(-60), 0, cos(-60)) = (-0.866, 0, 0.5) for every view
    for v in range(3):
        assert col[v, 0, 3:6].tolist() == pytest.approx([-0.8660254, 0, 0.5], abs=1e-6)
    row = TAPQueryGenerator(direction='row')(pts, rots)
    for v, theta in enumerate((0, 30, 90)):
        t = math.radians(theta)   # R^T e_z: camera at 30 deg elevation, azimuth theta
        assert row[v, 0, 3:6].tolist() == pytest.approx(
            [0.8660254 * math.cos(t), 0.8660254 * math.sin(t), 0.5], abs=1e-6)
    with pytest.raises(KeyError, match='direction'):
        TAPQueryGenerator(direction='diagonal')


def test_parameter_counts_match_spec():
    # docs/methods/tap.md, 'Parameter counts': generator 18,649,172 with C_bb=1024 (incl.
    # the 256-d pad token),
    # 17,579,732 with C_bb=384; decoder 912,451; one block 2,887,936.
    photo = TAPPhotographModule()
    assert params(photo.blocks[0]) == 2_887_936
    assert params(photo.query_mlp) == 2_376
    for c, total in ((1024, 18_649_172), (384, 17_579_732)):
        mem = TAPMemoryBuilder(c, use_pad_token=True)
        assert params(mem) + params(photo) == total
    assert params(TAPMemoryBuilder(1024)) == 1_318_924
    assert params(TAPViewDecoder()) == 912_451


def test_photograph_and_decoder_shapes():
    photo = TAPPhotographModule(depth=2).eval()
    mem = torch.randn(2, 64, 256)
    out = photo(torch.randn(2 * 6, 49, 8), mem)
    assert out.shape == (12, 256, 7, 7)
    img = TAPViewDecoder()(out)
    assert img.shape == (12, 3, 224, 224)
    assert img.min() >= 0 and img.max() <= 1


def test_small_view_decoder_shapes_params_and_key_names():
    """hidden_channels=(128,): 7 -> 28 -> 56; ConvTranspose2d params = Cin*Cout*k*k + Cout."""
    dec = TAPViewDecoder(hidden_channels=(128,))
    assert params(dec) == (256 * 128 * 25 + 128) + (128 * 3 * 9 + 3)
    assert sorted(dec.state_dict()) == ['layer1.0.bias', 'layer1.0.weight',
                                        'layer2.0.bias', 'layer2.0.weight']
    out = dec(torch.randn(2, 256, 7, 7))
    assert out.shape == (2, 3, 56, 56) and dec.upsample_factor == 8
    assert isinstance(dec.layer2[1], torch.nn.Sigmoid)
    # the released layout keeps its four layer names (checkpoints load unchanged)
    assert sorted({k.split('.')[0] for k in TAPViewDecoder().state_dict()}) == [
        'layer1', 'layer2', 'layer3', 'layer4']
    with pytest.raises(ValueError, match='hidden_channels'):
        TAPViewDecoder(hidden_channels=())


def test_cross_attention_shared_memory_equals_repeated_memory():
    """Running cross-attention once per object equals repeating memory per view."""
    torch.manual_seed(0)
    photo = TAPPhotographModule(depth=1).eval()
    block = photo.blocks[0]
    x = torch.randn(2 * 3, 49, 256)
    mem = torch.randn(2, 10, 256)
    fast = block.attn2(block.norm2(x).reshape(2, 3 * 49, 256), mem).reshape(6, 49, 256)
    slow = block.attn2(block.norm2(x), mem.repeat_interleave(3, dim=0))
    assert torch.allclose(fast, slow, atol=1e-5)


def test_memory_builder_pad_token_and_channel_check():
    mem = TAPMemoryBuilder(32, embed_dims=16, use_pad_token=True)
    out = mem(torch.randn(2, 5, 32), torch.randn(2, 5, 3))
    assert out.shape == (2, 6, 16)
    with pytest.raises(ValueError, match='in_channels=32'):
        mem(torch.randn(2, 5, 64), torch.randn(2, 5, 3))


def test_fg_bg_loss_hand_worked():
    gt = torch.ones(1, 3, 2, 2)
    gt[0, 0, 0, 0] = 0.5          # pixel (0,0) is foreground (one channel < 1)
    pred = torch.full_like(gt, 0.5)
    out = FgBgWeightedMSELoss(fg_weight=20, bg_weight=1)(pred, gt)
    # fg elements: (0)^2, 0.5^2, 0.5^2 -> 1/6; bg: 9 elements of 0.25 -> 0.25
    assert out['mse_fg'].item() == pytest.approx(1 / 6)
    assert out['mse_bg'].item() == pytest.approx(0.25)
    assert out['loss'].item() == pytest.approx(20 / 6 + 0.25)


def test_fg_bg_loss_safe_without_fg_or_bg():
    loss = FgBgWeightedMSELoss()
    white = torch.ones(2, 3, 4, 4)
    black = torch.zeros(2, 3, 4, 4)
    pred = torch.full_like(white, 0.75, requires_grad=True)
    no_fg = loss(pred, white)
    assert no_fg['loss'].item() == pytest.approx(0.0625) and no_fg['mse_fg'].item() == 0
    no_bg = loss(pred, black)
    assert no_bg['loss'].item() == pytest.approx(20 * 0.5625)
    no_bg['loss'].backward()
    assert torch.isfinite(pred.grad).all()
    with pytest.raises(ValueError, match='shape'):
        loss(pred, torch.ones(2, 3, 5, 5))
