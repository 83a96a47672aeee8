"""DGCNN (TAP / openpoints form): parameter count from the layer table, official key names,
EdgeConv layers and the whole forward against brute-force loops, the dynamic graph in
feature space, permutation symmetry, gradients and input checks."""
import pytest
import torch

from crosspt.models.backbones.dgcnn import DGCNN, feature_knn
from crosspt.models.classifiers import ClsHead
from crosspt.registry import MODELS

#: (EdgeConv input channels C, output channels) of head, backbone.0, .1, .2 (TAP config)
EDGE_TABLE = [(4, 64), (64, 64), (64, 128), (128, 256)]
FUSION = (64 + 64 + 128 + 256, 1024)


def count(module):
    return sum(p.numel() for p in module.parameters())


def bn_keys(prefix, c):
    return {f'{prefix}.weight': (c,), f'{prefix}.bias': (c,), f'{prefix}.running_mean': (c,),
            f'{prefix}.running_var': (c,), f'{prefix}.num_batches_tracked': ()}


#: openpoints DGCNN(in_channels=4, channels=64, n_blocks=5) state dict, written out by hand
OFFICIAL = {
    'head.gconv.nn.0.weight': (64, 8, 1, 1), **bn_keys('head.gconv.nn.1', 64),
    'backbone.0.gconv.nn.0.weight': (64, 128, 1, 1), **bn_keys('backbone.0.gconv.nn.1', 64),
    'backbone.1.gconv.nn.0.weight': (128, 128, 1, 1), **bn_keys('backbone.1.gconv.nn.1', 128),
    'backbone.2.gconv.nn.0.weight': (256, 256, 1, 1), **bn_keys('backbone.2.gconv.nn.1', 256),
    'fusion_block.0.weight': (1024, 512, 1), **bn_keys('fusion_block.1', 1024),
}


def make_input(batch, n, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    pts = (torch.rand(batch, n, 3, generator=g) * 2 - 1).to(dtype)
    height = pts[..., 2:3] - pts[..., 2:3].min(dim=1, keepdim=True).values
    return pts, torch.cat([pts, height], dim=-1)


def randomise_bn(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            dtype = m.weight.dtype
            m.running_mean.copy_((torch.randn(m.num_features, generator=g) * 0.1).to(dtype))
            m.running_var.copy_((torch.rand(m.num_features, generator=g) + 0.5).to(dtype))
            m.weight.data.copy_(torch.randn(m.num_features, generator=g).to(dtype))
            m.bias.data.copy_((torch.randn(m.num_features, generator=g) * 0.1).to(dtype))


# ----------------------------------------------------------------------------- counts


def test_parameter_count_from_layer_table():
    # EdgeConv C -> C_out: 1x1 conv on 2C edge channels, no bias, + BN (weight, bias)
    table = sum(2 * c * out + 2 * out for c, out in EDGE_TABLE) \
        + FUSION[0] * FUSION[1] + 2 * FUSION[1]
    hand = (8 * 64 + 128) + (128 * 64 + 128) + (128 * 128 + 256) + (256 * 256 + 512) \
        + (512 * 1024 + 2048)
    assert table == hand == 617_984
    model = DGCNN()
    assert count(model) == table
    # with the ScanObjectNN head [512, 256] on the 2048-d max||mean feature
    head = ClsHead(in_channels=2048, num_classes=15)
    head_table = 2048 * 512 + 2 * 512 + 512 * 256 + 2 * 256 + 256 * 15 + 15
    assert count(head) == head_table == 1_185_039
    total = count(model) + count(head)
    assert total == 1_803_023
    # "1.8M" is the size commonly quoted for DGCNN classifiers ([UNVERIFIED])
    assert round(total / 1e6, 2) == 1.80


def test_official_state_dict_keys_and_shapes():
    sd = DGCNN().state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == OFFICIAL
    model = MODELS.build(dict(type='DGCNN', in_channels=4))
    assert isinstance(model, DGCNN)
    assert model.out_channels == 1024 and model.global_channels == 2048
    assert model.block_channels == [64, 64, 128, 256]


# --------------------------------------------------------------- brute-force reference


def brute_neighbours(space, k):
    """space (N, D): for each i the k nearest j (itself included), by explicit loops."""
    n = space.shape[0]
    result = []
    for i in range(n):
        dists = []
        for j in range(n):
            d2 = 0.0
            for c in range(space.shape[1]):
                d2 += float(space[i, c] - space[j, c]) ** 2
            dists.append((d2, j))
        dists.sort()
        result.append([j for _, j in dists[:k]])
    return result


@torch.no_grad()
def edgeconv_reference(gconv, x, space, k):
    """One EdgeConv layer (eval BN) on x (N, C) with the kNN graph of ``space`` (N, D)."""
    conv, bn, act = gconv.nn
    w = conv.weight[:, :, 0, 0]
    out = []
    for i, nbrs in enumerate(brute_neighbours(space, k)):
        assert i in nbrs                        # the point itself is one of its neighbours
        edges = torch.stack([torch.cat([x[i], x[j] - x[i]]) for j in nbrs])   # (k, 2C)
        h = edges @ w.t()
        h = (h - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
        h = torch.where(h > 0, h, act.negative_slope * h)
        out.append(h.max(dim=0).values)
    return torch.stack(out)


def small_model():
    torch.manual_seed(0)
    model = DGCNN(in_channels=4, channels=6, embed_dims=10, n_blocks=5, k=5).double()
    randomise_bn(model)
    return model.eval()


def test_whole_forward_matches_brute_force():
    model = small_model()
    pts, feats = make_input(2, 16, seed=3, dtype=torch.float64)
    captured = {}
    hooks = [mod.register_forward_hook(
        lambda m, args, out, name=name: captured.__setitem__(name, (args[0], out)))
        for name, mod in [('head', model.head)] + [(f'b{i}', b) for i, b in
                                                   enumerate(model.backbone)]]
    with torch.no_grad():
        out = model(pts, feats)
    for h in hooks:
        h.remove()
    assert [b.gconv.nn[0].weight.shape[:2] for b in model.backbone] == \
        [(6, 12), (12, 12), (24, 24)]
    for b in range(2):
        # head: edges of the input features over the static xyz graph
        ref = edgeconv_reference(model.head.gconv, feats[b], pts[b], 5)
        torch.testing.assert_close(captured['head'][1][b], ref, rtol=1e-10, atol=1e-10)
        layer_outs = [ref]
        # dynamic blocks: graph recomputed in the space of each block's input
        x = ref
        for i, block in enumerate(model.backbone):
            x = edgeconv_reference(block.gconv, x, x, 5)
            torch.testing.assert_close(captured[f'b{i}'][1][b], x, rtol=1e-10, atol=1e-10)
            layer_outs.append(x)
        cat = torch.cat(layer_outs, dim=-1)                                   # (N, 6+6+12+24)
        conv, bn, _ = model.fusion_block
        h = cat @ conv.weight[:, :, 0].t()
        h = (h - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
        fused = torch.where(h > 0, h, 0.2 * h)
        torch.testing.assert_close(out['features'][b], fused, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(out['global_features'][b],
                                   torch.cat([fused.max(0).values, fused.mean(0)]),
                                   rtol=1e-10, atol=1e-10)
    assert out['centers'] is pts
    assert out['features'].shape == (2, 16, 10) and out['global_features'].shape == (2, 20)


def test_dynamic_graph_uses_feature_space():
    model = small_model()
    block = model.backbone[0]                   # EdgeConv 6 -> 6, k = 5
    n = 10
    xyz = torch.zeros(n, 3, dtype=torch.float64)
    xyz[:, 0] = torch.arange(n, dtype=torch.float64)        # xyz neighbours: adjacent indices
    g = torch.Generator().manual_seed(4)
    order = torch.randperm(n, generator=g)
    direction = torch.randn(6, generator=g, dtype=torch.float64)
    # feature neighbours follow a shuffled order along one direction in feature space
    x = order.to(torch.float64)[:, None] * direction[None] \
        + 0.01 * torch.randn(n, 6, generator=g, dtype=torch.float64)
    by_xyz = brute_neighbours(xyz, 5)
    by_feat = brute_neighbours(x, 5)
    assert any(set(a) != set(b) for a, b in zip(by_xyz, by_feat))
    with torch.no_grad():
        out = block(x[None])[0]
        ref_feat = edgeconv_reference(block.gconv, x, x, 5)
        ref_xyz = edgeconv_reference(block.gconv, x, xyz, 5)
    torch.testing.assert_close(out, ref_feat, rtol=1e-10, atol=1e-10)
    assert not torch.allclose(out, ref_xyz)
    idx = feature_knn(x[None], 5)[0]
    assert [set(r) for r in idx.tolist()] == [set(r) for r in by_feat]
    assert torch.equal(idx[:, 0], torch.arange(n))          # self first


def test_feature_knn_chunks_and_duplicates(monkeypatch):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 30, 7, generator=g, dtype=torch.float64)
    full = feature_knn(x, 6)
    import crosspt.models.backbones.dgcnn as dgcnn_module
    monkeypatch.setattr(dgcnn_module, 'MAX_PAIRS_PER_CHUNK', 30 * 4)   # 4 queries per chunk
    assert torch.equal(feature_knn(x, 6), full)
    for b in range(2):
        assert [set(r) for r in full[b].tolist()] == [set(r) for r in brute_neighbours(x[b], 6)]
    dup = torch.zeros(1, 5, 3)                  # all points identical: self still included
    assert torch.equal(feature_knn(dup, 2)[0, :, 0], torch.arange(5))


# ------------------------------------------------------------------------- symmetries


def test_permutation_equivariance_and_invariance():
    torch.manual_seed(0)
    model = DGCNN().double()
    randomise_bn(model)
    model.eval()
    pts, feats = make_input(2, 64, seed=7, dtype=torch.float64)
    perm = torch.randperm(64, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        out = model(pts, feats)
        out_p = model(pts[:, perm], feats[:, perm])
    torch.testing.assert_close(out_p['features'], out['features'][:, perm], rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(out_p['global_features'], out['global_features'],
                               rtol=1e-9, atol=1e-9)
    assert torch.equal(out_p['centers'], pts[:, perm])
    assert out['features'].shape == (2, 64, 1024) and out['global_features'].shape == (2, 2048)
    # the static graph gives the same result with the PyTorch and the scipy kNN paths
    model.knn_backend = 'torch'
    with torch.no_grad():
        out_t = model(pts, feats)
    torch.testing.assert_close(out_t['features'], out['features'], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- gradients


def test_gradients_reach_all_parameters():
    torch.manual_seed(0)
    model = DGCNN().train()
    pts, feats = make_input(2, 48, seed=5)
    feats.requires_grad_(True)
    out = model(pts, feats)
    (out['global_features'].sum() + out['features'].pow(2).mean()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert feats.grad is not None and feats.grad.abs().sum() > 0


# ------------------------------------------------------------------------- bad inputs


def test_bad_inputs_name_the_argument():
    model = DGCNN()
    pts, feats = make_input(1, 32)
    with pytest.raises(ValueError, match='points'):
        model(pts[..., :2], feats)
    with pytest.raises(ValueError, match='points'):
        model(pts[0], feats)
    with pytest.raises(ValueError, match='points must be floating point'):
        model(pts.long(), feats)
    with pytest.raises(ValueError, match='features'):
        model(pts, feats[..., :3])
    with pytest.raises(ValueError, match='features'):
        model(pts, feats[:, :10])
    with pytest.raises(ValueError, match='features must be floating point'):
        model(pts, feats.long())
    with pytest.raises(ValueError, match='k=20'):
        model(pts[:, :10], feats[:, :10])


def test_bad_config_names_the_key():
    with pytest.raises(ValueError, match='n_blocks'):
        DGCNN(n_blocks=1)
    with pytest.raises(ValueError, match='knn_backend'):
        DGCNN(knn_backend='faiss')
    with pytest.raises(ValueError, match='k must'):
        DGCNN(k=0)
    with pytest.raises(ValueError, match='in_channels'):
        DGCNN(in_channels=0)
