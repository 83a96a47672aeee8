"""PointMLP: parameter counts from the layer table, shapes, key names, geometric affine."""
import pytest
import torch

from crosspt.models.backbones import PointMLP

ELITE = dict(embed_dims=32, res_expansion=0.25, dim_expansion=(2, 2, 2, 1),
             pre_blocks=(1, 1, 2, 1), pos_blocks=(1, 1, 2, 1))


def analytic_count(in_ch, embed, res, expand, pre, pos):
    """Layer-by-layer count from docs/methods/tap.md, 'PointMLP' (convs without bias)."""
    total = in_ch * embed + 2 * embed                        # embedding conv + BN
    c = embed
    for e, n_pre, n_pos in zip(expand, pre, pos):
        out = c * e
        hidden = int(out * res)
        block = out * hidden + 2 * hidden + hidden * out + 2 * out
        total += 2 * c                                        # affine alpha, beta
        total += 2 * c * out + 2 * out                        # transfer conv + BN
        total += (n_pre + n_pos) * block
        c = out
    return total, c


def classifier_head(c, classes=40):
    return c * 512 + 512 + 2 * 512 + 512 * 256 + 256 + 2 * 256 + 256 * classes + classes


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_count_published_pointmlp():
    model = PointMLP(in_channels=3)
    expected, c = analytic_count(3, 64, 1.0, (2,) * 4, (2,) * 4, (2,) * 4)
    assert c == 1024 and count(model) == expected == 12_570_560
    with_head = count(model) + classifier_head(c)
    # paper: 12.6M, where "M" is 2**20 (docs/methods/benchmarks.md, 'Parameter counts')
    assert round(with_head / 2 ** 20, 1) == 12.6
    # the circulating analytic 13,240,424 exceeds this table-by-table count by exactly the
    # geometric-affine parameters (2 * (64 + 128 + 256 + 512) = 1,920); see model_zoo.md
    assert 13_240_424 - with_head == 2 * (64 + 128 + 256 + 512)


def test_parameter_count_elite_and_tap_input():
    elite = PointMLP(in_channels=3, **ELITE)
    expected, c = analytic_count(3, 32, 0.25, (2, 2, 2, 1), (1, 1, 2, 1), (1, 1, 2, 1))
    assert count(elite) == expected and c == 256
    assert round((count(elite) + classifier_head(c)) / 2 ** 20, 2) == 0.68  # paper 0.68M
    tap = PointMLP()   # TAP: xyz + height input
    assert count(tap) - count(PointMLP(in_channels=3)) == 64   # one more input channel


def test_outputs_shapes_and_key_names():
    torch.manual_seed(0)
    model = PointMLP(**ELITE).eval()
    points = torch.rand(2, 256, 3)
    feats = torch.cat([points, points[..., 2:]], dim=-1)
    out = model(points, feats)
    assert out['centers'].shape == (2, 16, 3)          # 256 / 2**4
    assert out['features'].shape == (2, 16, 256)
    assert torch.equal(out['global_features'], out['features'].max(dim=1).values)
    # the centres are input points (FPS anchors of anchors)
    d = ((out['centers'][:, :, None] - points[:, None]) ** 2).sum(-1).min(dim=-1).values
    assert float(d.max()) == 0.0
    keys = set(PointMLP().state_dict())
    for key in ['embedding.net.0.weight', 'local_grouper_list.3.affine_alpha',
                'pre_blocks_list.0.transfer.net.0.weight',
                'pre_blocks_list.2.operation.1.net2.1.running_mean',
                'pos_blocks_list.3.operation.1.net1.0.weight']:
        assert key in keys
    assert not any(k.endswith('net.0.bias') or k.endswith('net1.0.bias') for k in keys)


def test_geometric_affine_anchor_normalisation_hand_worked():
    from crosspt.models.backbones.pointmlp import LocalGrouper
    grouper = LocalGrouper(channels=1, reducer=2, k=2, normalize='anchor')
    xyz = torch.tensor([[[0., 0, 0], [1, 0, 0], [10, 0, 0], [11, 0, 0]]])
    feats = torch.tensor([[[1.], [3.], [5.], [9.]]])
    anchors, grouped = grouper(xyz, feats)
    # FPS from 0 picks 0 then 3 (x=11); kNN(2) of 0 -> {0, 1}, of 3 -> {3, 2}
    assert anchors[0].tolist() == [[0, 0, 0], [11, 0, 0]]
    diffs = torch.tensor([0., 2., 0., -4.])                # (f_nbr - f_anchor)
    std = diffs.std()
    expected = diffs / (std + 1e-5)
    got = grouped[0, :, :, 0].reshape(-1)
    torch.testing.assert_close(got, expected)
    assert grouped[0, :, :, 1].reshape(-1).tolist() == [1., 1., 9., 9.]


def test_bad_inputs_name_the_problem():
    model = PointMLP(**ELITE)
    with pytest.raises(ValueError, match=r'features must be \(B, N, 4\)'):
        model(torch.rand(1, 64, 3), torch.rand(1, 64, 3))
    with pytest.raises(ValueError, match='same length'):
        PointMLP(pre_blocks=(1, 1))
