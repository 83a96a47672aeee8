"""The fast and the memory-saving paths of the TAP-PointMLP step compute what the released
formulation computes.

- PointMLP runs its kernel-1 convolutions as GEMMs on channels-last rows; the reference
  here is the released layout: ``Conv1d`` on ``(B*S, C, k)`` through the modules' own
  ``(B, C, L)`` forwards, max over the last axis.
- ``with_cp`` (PointMLP, TAPPhotographModule) recomputes activations in backward; outputs,
  gradients, dropout masks and BN running statistics must not change.
"""
import copy

import torch

from crosspt.models.backbones import PointMLP
from crosspt.models.tap.photograph import TAPPhotographModule

SMALL = dict(embed_dims=16, res_expansion=0.5, dim_expansion=(2, 2), pre_blocks=(1, 2),
             pos_blocks=(2, 1), k_neighbors=(8, 6), reducers=(2, 4))


def released_forward(model: PointMLP, points: torch.Tensor, features: torch.Tensor):
    """PointMLP as the released code runs it: Conv1d on (B, C, L) layouts."""
    feats = model.embedding(features.transpose(1, 2)).transpose(1, 2)
    xyz = points
    for grouper, pre, pos in zip(model.local_grouper_list, model.pre_blocks_list,
                                 model.pos_blocks_list):
        anchor_idx, nbr_idx = grouper.sample(xyz)[1:]
        xyz = xyz[torch.arange(len(xyz))[:, None], anchor_idx]
        idx = nbr_idx.reshape(len(feats), -1)
        grouped = torch.gather(feats, 1, idx[..., None].expand(-1, -1, feats.shape[-1]))
        grouped = grouped.view(*nbr_idx.shape, -1)
        anchor = torch.gather(feats, 1, anchor_idx[..., None].expand(-1, -1, feats.shape[-1]))
        diff = grouped - anchor.unsqueeze(2)
        std = diff.reshape(len(diff), -1).std(dim=-1).view(-1, 1, 1, 1)
        normed = grouper.affine_alpha * (diff / (std + 1e-5)) + grouper.affine_beta
        x = torch.cat([normed, anchor.unsqueeze(2).expand_as(normed)], dim=-1)
        b, s, k, c = x.shape
        x = pre.operation(pre.transfer(x.reshape(b * s, k, c).transpose(1, 2)))
        x = x.max(dim=-1).values.view(b, s, -1)
        feats = pos(x.transpose(1, 2)).transpose(1, 2)
    return xyz, feats


def step(model, *inputs, key=None):
    """Forward, the loss sum(out ** 2), backward -> (output, {name: grad}); ``key`` picks
    the loss tensor of a dict output (the whole dict is returned)."""
    model.zero_grad()
    out = model(*inputs)
    (out[key] if key else out).square().sum().backward()
    return out, {n: p.grad.clone() for n, p in model.named_parameters()}


def cloud(batch: int = 2, n: int = 128, dtype=torch.float64):
    gen = torch.Generator().manual_seed(0)
    points = (torch.rand(batch, n, 3, generator=gen) * 2 - 1).to(dtype)
    return points, torch.cat([points, points[..., 2:] + 1], dim=-1)


def test_rows_path_equals_released_conv1d_layout_in_float64():
    torch.manual_seed(0)
    model = PointMLP(**SMALL).double().train()
    reference = copy.deepcopy(model)
    points, features = cloud()
    out, grads = step(model, points, features, key='features')
    reference.zero_grad()
    centers, ref_out = released_forward(reference, points, features)
    ref_out.square().sum().backward()
    assert torch.equal(out['centers'], centers)
    torch.testing.assert_close(out['features'], ref_out, rtol=1e-10, atol=1e-10)
    for name, p in reference.named_parameters():
        scale = p.grad.abs().max().clamp(min=1.0)  # affine_beta's true gradient is 0
        torch.testing.assert_close(grads[name] / scale, p.grad / scale, rtol=1e-8,
                                   atol=1e-8, msg=name)
    for (name, a), (_, b) in zip(model.named_buffers(), reference.named_buffers()):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=name)


def test_rows_path_float32_within_tolerance_of_released_layout():
    torch.manual_seed(1)
    model = PointMLP(**SMALL).eval()
    points, features = cloud(dtype=torch.float32)
    with torch.no_grad():
        out = model(points, features)['features']
        ref = released_forward(model, points, features)[1]
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_pointmlp_with_cp_same_outputs_grads_and_running_stats():
    torch.manual_seed(2)
    plain = PointMLP(**SMALL).train()
    recomputed = copy.deepcopy(plain)
    recomputed.with_cp = True
    points, features = cloud(dtype=torch.float32)
    out, grads = step(plain, points, features, key='features')
    out_cp, grads_cp = step(recomputed, points, features, key='features')
    for key in out:
        assert torch.equal(out_cp[key], out[key]), key
    for name in grads:
        torch.testing.assert_close(grads_cp[name], grads[name], rtol=1e-6, atol=1e-6,
                                   msg=name)
    for (name, a), (_, b) in zip(recomputed.named_buffers(), plain.named_buffers()):
        assert torch.equal(a, b), name          # BN statistics updated once, not twice
    assert int(plain.pre_blocks_list[0].transfer.net[1].num_batches_tracked) == 1


def test_photograph_with_cp_replays_dropout_and_gives_the_same_grads():
    torch.manual_seed(3)
    plain = TAPPhotographModule(embed_dims=16, depth=2, num_heads=2, head_dims=8,
                                ffn_ratio=2, dropout=0.5).train()
    recomputed = copy.deepcopy(plain)
    recomputed.with_cp = True
    queries, memory = torch.rand(6, 4, 8), torch.rand(2, 5, 16)
    torch.manual_seed(4)
    out, grads = step(plain, queries, memory)
    torch.manual_seed(4)
    out_cp, grads_cp = step(recomputed, queries, memory)
    torch.testing.assert_close(out_cp, out, rtol=0, atol=0)
    for name in grads:
        torch.testing.assert_close(grads_cp[name], grads[name], rtol=1e-6, atol=1e-6,
                                   msg=name)
    torch.manual_seed(5)                        # dropout is on: another seed differs
    assert not torch.equal(plain(queries, memory), out)
