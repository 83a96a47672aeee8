"""SR-UNet34 (Res16UNet34C layout): coordinates, parameter count, gradients, overfitting."""
import torch
import torch.nn.functional as F

from crosspt.models.backbones.srunet import SRUNet
from crosspt.ops import SparseTensor, voxelize


def conv(k, c_in, c_out, bias=False):
    return k ** 3 * c_in * c_out + (c_out if bias else 0)


def bn(c):
    return 2 * c


def block(c_in, c_out):
    n = conv(3, c_in, c_out) + bn(c_out) + conv(3, c_out, c_out) + bn(c_out)
    return n + (conv(1, c_in, c_out) + bn(c_out) if c_in != c_out else 0)


# Layer table of SR-UNet34 (in 3, out 128), written out stage by stage.
LAYER_TABLE = [
    ('stem', conv(3, 3, 32) + bn(32)),
    ('enc1', conv(2, 32, 32) + bn(32) + block(32, 32) * 2),
    ('enc2', conv(2, 32, 32) + bn(32) + block(32, 64) + block(64, 64) * 2),
    ('enc3', conv(2, 64, 64) + bn(64) + block(64, 128) + block(128, 128) * 3),
    ('enc4', conv(2, 128, 128) + bn(128) + block(128, 256) + block(256, 256) * 5),
    ('dec1', conv(2, 256, 256) + bn(256) + block(256 + 128, 256) + block(256, 256)),
    ('dec2', conv(2, 256, 128) + bn(128) + block(128 + 64, 128) + block(128, 128)),
    ('dec3', conv(2, 128, 96) + bn(96) + block(96 + 32, 96) + block(96, 96)),
    ('dec4', conv(2, 96, 96) + bn(96) + block(96 + 32, 96) + block(96, 96)),
    ('head', conv(1, 96, 128, bias=True)),
]


def scenes(num=2, n=300, seed=0):
    gen = torch.Generator().manual_seed(seed)
    points = torch.rand(num * n, 3, generator=gen) * torch.tensor([1.0, 0.8, 0.5])
    batch = torch.arange(num).repeat_interleave(n)
    return points, batch


def test_parameter_count_matches_layer_table():
    model = SRUNet()
    assert sum(p.numel() for p in model.parameters()) == sum(n for _, n in LAYER_TABLE)


def test_output_coords_equal_input_and_grads_reach_all_params():
    torch.manual_seed(0)
    model = SRUNet(in_channels=3, out_channels=16)
    points, batch = scenes()
    st, inverse = voxelize(points, batch, 0.05, torch.rand(len(points), 3))
    out = model(st)
    assert torch.equal(out.coords, st.coords) and out.stride == 1
    assert out.feats.shape == (len(st), 16)
    point_feats, out2, inv2 = model.forward_points(points, batch, 0.05)
    assert point_feats.shape == (len(points), 16) and torch.equal(inv2, inverse)
    (out.feats ** 2).mean().backward()
    missing = [n for n, p in model.named_parameters()
               if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not missing


def test_input_width_checked():
    model = SRUNet(in_channels=3, out_channels=None)
    assert model.out_channels == 96
    st = SparseTensor(torch.zeros(1, 4, dtype=torch.long), torch.ones(1, 2))
    try:
        model(st)
    except ValueError as err:
        assert 'in_channels' in str(err)
    else:
        raise AssertionError('a 2-channel input should be rejected')


def test_overfits_two_scenes():
    torch.manual_seed(0)
    points, batch = scenes(n=200, seed=1)
    labels = (points[:, 0] > 0.5).long() + (points[:, 2] > 0.25).long()
    model = SRUNet(in_channels=3, out_channels=3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(8):
        logits, _, _ = model.forward_points(points, batch, 0.05, feats=points.clone())
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses
