"""PointNet++ (TAP SSG): parameter count from the layer table, local/global weight parity,
shapes, one SA stage against a brute-force reference, gradients and input checks."""
import pytest
import torch

from crosspt.models.backbones.pointnet2 import PointNet2
from crosspt.ops import furthest_point_sample
from crosspt.registry import MODELS

TAP_MLPS = ([64, 64, 128], [128, 128, 256], [256, 512, 1024])


def count(module):
    return sum(p.numel() for p in module.parameters())


def analytic_count(in_channels, mlps, conv_bias=False):
    """docs/methods/tap.md, 'PointNet++': every stage's first conv sees 3 (relative xyz) + C
    channels ('dp_fj'); 1x1 convs (no bias unless asked), BN has weight + bias."""
    total, c = 0, in_channels
    for mlp in mlps:
        prev = c + 3
        for out in mlp:
            total += prev * out + (out if conv_bias else 0) + 2 * out
            prev = out
        c = mlp[-1]
    return total


def make_input(batch, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    pts = torch.rand(batch, n, 3, generator=g) * 2 - 1
    height = pts[..., 1:2] - pts[..., 1:2].min(dim=1, keepdim=True).values
    return pts, torch.cat([pts, height], dim=-1)


# ----------------------------------------------------------------------------- counts


def test_parameter_count_from_layer_table():
    # No published figure for TAP's PointNet++ encoder is known, so the
    # reference is the layer table itself, counted by hand: 7*64+64*64+64*128 + BN ...
    expected = analytic_count(4, TAP_MLPS)
    assert expected == 805_440
    hand = (7 * 64 + 64 * 64 + 64 * 128 + 2 * (64 + 64 + 128)
            + 131 * 128 + 128 * 128 + 128 * 256 + 2 * (128 + 128 + 256)
            + 259 * 256 + 256 * 512 + 512 * 1024 + 2 * (256 + 512 + 1024))
    assert hand == expected  # exact: integer counts, no tolerance needed
    assert count(PointNet2()) == expected
    assert count(PointNet2(stage3='global')) == expected
    assert count(PointNet2(conv_bias=True)) == analytic_count(4, TAP_MLPS, conv_bias=True)


def test_first_conv_input_channels():
    model = PointNet2()
    firsts = [sa.mlp[0].conv.weight.shape[1] for sa in model.sa_modules]
    assert firsts == [3 + 4, 3 + 128, 3 + 256]
    assert model.out_channels == 1024


# ------------------------------------------------------------------ local/global parity


def test_local_and_global_have_identical_state_dicts():
    local = PointNet2(stage3='local')
    glob = PointNet2(strides=(2, 4, 1), radius=(0.2, 0.4, None), num_samples=(32, 64, None),
                     stage3='global')   # the fine-tune config form (TAP)
    sd_l, sd_g = local.state_dict(), glob.state_dict()
    assert list(sd_l) == list(sd_g)
    assert all(sd_l[k].shape == sd_g[k].shape for k in sd_l)
    assert 'sa_modules.2.mlp.0.conv.weight' in sd_l
    assert sd_l['sa_modules.2.mlp.0.conv.weight'].shape == (256, 259, 1, 1)
    glob.load_state_dict(sd_l, strict=True)
    local.load_state_dict(glob.state_dict(), strict=True)
    for k in sd_l:
        assert torch.equal(local.state_dict()[k], glob.state_dict()[k])


def test_registry_build():
    model = MODELS.build(dict(type='PointNet2', stage3='global'))
    assert isinstance(model, PointNet2) and model.sa_modules[2].group_all


# ------------------------------------------------------------------------------ shapes


def test_output_shapes_local_and_global():
    pts, feats = make_input(1, 1024)
    local = PointNet2().eval()
    sizes = []
    hooks = [sa.register_forward_hook(lambda m, i, o: sizes.append(tuple(o[1].shape)))
             for sa in local.sa_modules]
    with torch.no_grad():
        out = local(pts, feats)
    for h in hooks:
        h.remove()
    assert sizes == [(1, 512, 128), (1, 128, 256), (1, 64, 1024)]
    assert out['centers'].shape == (1, 64, 3)
    assert out['features'].shape == (1, 64, 1024)
    assert torch.equal(out['global_features'], out['features'].max(dim=1).values)
    # centres of 'local' are FPS points of the input cloud (subset of the input)
    same = (out['centers'][0, :, None, :] == pts[0, None, :, :]).all(-1)
    assert same.any(dim=1).all()

    glob = PointNet2(stage3='global').eval()
    glob.load_state_dict(local.state_dict())
    with torch.no_grad():
        out_g = glob(pts, feats)
    assert out_g['centers'].shape == (1, 1, 3) and torch.all(out_g['centers'] == 0)
    assert out_g['features'].shape == (1, 1, 1024)
    assert torch.equal(out_g['global_features'], out_g['features'][:, 0])
    assert local.num_centers(1024) == 64 and glob.num_centers(1024) == 1


# ------------------------------------------------------------- brute-force SA reference


def randomise_bn(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def mlp_reference(sa, x):
    """Apply the stage's conv/BN/ReLU weights by hand (eval BN) to vectors x (K, C_in)."""
    for layer in sa.mlp:
        w = layer.conv.weight[:, :, 0, 0]
        x = x @ w.t()
        if layer.conv.bias is not None:
            x = x + layer.conv.bias
        bn = layer.bn
        x = (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
        x = torch.clamp(x, min=0)
    return x


def brute_ball(centre, xyz, radius, k, mode):
    hits = []
    for j in range(xyz.shape[0]):
        d2 = float(((xyz[j] - centre) ** 2).sum())
        if d2 < radius * radius:
            hits.append((d2, j))
    if mode == 'nearest':
        hits.sort()
    idx = [j for _, j in hits[:k]]
    return idx + [idx[0]] * (k - len(idx)), len(hits)


def sa_reference(sa, xyz, feats):
    """Explicit loops: FPS, brute-force ball query, [p_j - p_i, f_j], shared MLP, max."""
    b = xyz.shape[0]
    if sa.group_all:
        centres = torch.zeros(b, 1, 3, dtype=xyz.dtype)
        out = torch.stack([mlp_reference(sa, torch.cat([xyz[i], feats[i]], -1)).max(0).values
                           for i in range(b)]).unsqueeze(1)
        return centres, out, []
    m = xyz.shape[1] // sa.stride
    cidx = furthest_point_sample(xyz, m)
    centres, outs, counts = [], [], []
    for i in range(b):
        rows_c, rows_f = [], []
        for s in range(m):
            c = xyz[i, cidx[i, s]]
            idx, n_hits = brute_ball(c, xyz[i], sa.radius, sa.num_samples, sa.ball_query_mode)
            counts.append(n_hits)
            grouped = torch.stack([torch.cat([xyz[i, j] - c, feats[i, j]]) for j in idx])
            rows_c.append(c)
            rows_f.append(mlp_reference(sa, grouped).max(dim=0).values)
        centres.append(torch.stack(rows_c))
        outs.append(torch.stack(rows_f))
    return torch.stack(centres), torch.stack(outs), counts


@pytest.mark.parametrize('mode', ['first', 'nearest'])
def test_sa_stages_match_brute_force(mode):
    torch.manual_seed(0)
    model = PointNet2(in_channels=4, strides=(4, 2, None), radius=(0.7, 0.8, None),
                      num_samples=(6, 5, None), mlps=([8, 12], [[16, 10]], [[12, 9]]),
                      stage3='global', ball_query_mode=mode).double()
    randomise_bn(model)
    model.eval()
    pts, feats = make_input(2, 48, seed=3)
    pts, feats = pts.double(), feats.double()
    xyz, f = pts, feats
    all_counts = []
    with torch.no_grad():
        for sa in model.sa_modules:
            c_ref, f_ref, counts = sa_reference(sa, xyz, f)
            c_out, f_out = sa(xyz, f)
            assert c_out.shape == c_ref.shape and f_out.shape == f_ref.shape
            torch.testing.assert_close(c_out, c_ref, rtol=0, atol=1e-12)
            torch.testing.assert_close(f_out, f_ref, rtol=1e-10, atol=1e-10)
            all_counts += counts
            xyz, f = c_out, f_out
        assert xyz.shape == (2, 1, 3) and f.shape == (2, 1, 9)
        # whole forward equals the chained stages
        out = model(pts, feats)
        torch.testing.assert_close(out['features'], f)
    # the setup exercises both partially filled balls (padding) and truncated balls
    assert min(all_counts) < 5 and max(all_counts) > 6


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize('stage3', ['local', 'global'])
def test_gradients_reach_all_parameters(stage3):
    torch.manual_seed(0)
    model = PointNet2(stage3=stage3).train()
    pts, feats = make_input(2, 256, seed=5)
    feats.requires_grad_(True)
    out = model(pts, feats)
    (out['global_features'].sum() + out['features'].pow(2).mean()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert feats.grad is not None and feats.grad.abs().sum() > 0


# ------------------------------------------------------------------------- bad inputs


def test_bad_input_shapes_name_the_argument():
    model = PointNet2()
    pts, feats = make_input(1, 64)
    with pytest.raises(ValueError, match='points'):
        model(pts[..., :2], feats)
    with pytest.raises(ValueError, match='points'):
        model(pts[0], feats)
    with pytest.raises(ValueError, match='features'):
        model(pts, feats[..., :3])
    with pytest.raises(ValueError, match='features'):
        model(pts, feats[:, :10])
    with pytest.raises(ValueError, match='features'):
        model(pts, feats[0])
    with pytest.raises(ValueError, match='points'):
        model(pts[:, :8], feats[:, :8])      # 8 // 2 // 4 // 2 = 0 centres


def test_bad_config_names_the_key():
    with pytest.raises(ValueError, match='stage3'):
        PointNet2(stage3='groupall')
    with pytest.raises(ValueError, match='strides'):
        PointNet2(strides=(2, 4))
    with pytest.raises(ValueError, match='radius'):
        PointNet2(radius=(0.2, 0.4, None))   # None only allowed for the GroupAll stage
    with pytest.raises(ValueError, match=r'mlps\[1\]'):
        PointNet2(mlps=([64, 64, 128], [[128, 128, 256], [64, 64, 128]], [256, 512, 1024]))
    with pytest.raises(ValueError, match='ball_query_mode'):
        PointNet2(ball_query_mode='random')
