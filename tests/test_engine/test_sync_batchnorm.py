"""crosspt's SyncBatchNorm on 2 gloo CPU processes equals one process's BatchNorm on the
concatenated batch: outputs, input gradients, weight/bias gradients (summed over the
ranks, i.e. the gradient of the summed loss), running mean/var and counters, over two
training steps; eval mode uses the running statistics without communicating.  Dense
(B, C, N), (B, C) and (B, C, H, W) inputs, uneven batches (one rank empty) and a float64
case whose mean is 1e4 standard deviations from zero; sparse: an SR-UNet-style
conv -> SparseBatchNorm -> ReLU converted with ``convert_sync_batchnorm``, ranks holding
different numbers of active sites.
"""
import pytest
import torch
import torch.distributed as dist
from torch import nn

from crosspt.ops import (SparseBatchNorm, SparseConv3d, SparseReLU, SparseSyncBatchNorm,
                         SparseTensor, SyncBatchNorm, convert_sync_batchnorm)
from dist_spawn import run_ranks

# (name, per-rank shapes, bn kwargs, dtype, mean offset, scale)
DENSE_CASES = [
    ('bcn', [(3, 4, 6), (2, 4, 6)], dict(momentum=0.3), torch.float32, 2.0, 3.0),
    ('bc_rank1_empty', [(5, 3), (0, 3)], dict(momentum=None), torch.float32, -1.0, 0.5),
    ('bchw_no_affine', [(2, 3, 2, 3), (1, 3, 2, 3)], dict(affine=False), torch.float32,
     0.0, 1.0),
    ('float64_offset', [(4, 2, 5), (3, 2, 5)], dict(momentum=0.1), torch.float64, 1e4, 1e-3),
]
STEPS = 2


def dense_data(seed: int = 0) -> dict:
    """Per case: per-step per-rank inputs, upstream gradients, eval input, initial state."""
    gen = torch.Generator().manual_seed(seed)
    data = {}
    for name, shapes, kwargs, dtype, offset, scale in DENSE_CASES:
        steps = []
        for _ in range(STEPS):
            xs = [offset + scale * torch.randn(s, generator=gen, dtype=torch.float64)
                  for s in shapes]
            gs = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
            steps.append(([x.to(dtype) for x in xs], [g.to(dtype) for g in gs]))
        bn = nn.BatchNorm1d(shapes[0][1], **kwargs).to(dtype)
        if bn.affine:
            with torch.no_grad():
                bn.weight.copy_(1 + torch.rand(shapes[0][1], generator=gen, dtype=dtype))
                bn.bias.copy_(torch.randn(shapes[0][1], generator=gen, dtype=dtype))
        eval_x = offset + scale * torch.randn(shapes[0], generator=gen, dtype=torch.float64)
        data[name] = dict(steps=steps, state=bn.state_dict(), eval_x=eval_x.to(dtype))
    return data


def run_bn(bn: nn.Module, steps: list, part) -> dict:
    """Train ``bn`` on ``steps`` (inputs ``part(xs)``), loss sum(y * g); record everything."""
    outs, grads = [], []
    for xs, gs in steps:
        x = part(xs).clone().requires_grad_(True)
        y = bn(x)
        (y * part(gs)).sum().backward()
        outs.append(y.detach())
        grads.append(x.grad)
    rec = dict(out=outs, grad=grads, running_mean=bn.running_mean,
               running_var=bn.running_var, tracked=bn.num_batches_tracked)
    if bn.affine:
        rec.update(weight_grad=bn.weight.grad, bias_grad=bn.bias.grad)
    return rec


def dense_worker(rank: int, data: dict) -> dict:
    results = {}
    for name, _, kwargs, dtype, _, _ in DENSE_CASES:
        case = data[name]
        bn = SyncBatchNorm(case['state']['running_mean'].numel(), **kwargs).to(dtype)
        bn.load_state_dict(case['state'])
        results[name] = run_bn(bn, case['steps'], lambda xs: xs[rank])
        if rank == 0:      # eval on one rank only: any collective would time out
            results[name]['eval'] = bn.eval()(case['eval_x'])
        dist.barrier()
    return results


def reference_bn(case: dict, kwargs: dict, dtype: torch.dtype) -> dict:
    """torch's BatchNorm on the concatenated batch of every step."""
    ndim = case['eval_x'].dim()
    cls = nn.BatchNorm2d if ndim == 4 else nn.BatchNorm1d
    bn = cls(case['state']['running_mean'].numel(), **kwargs).to(dtype)
    bn.load_state_dict(case['state'])
    rec = run_bn(bn, case['steps'], torch.cat)
    rec['eval'] = bn.eval()(case['eval_x'])
    return rec


def assert_close(actual, expected, dtype, what):
    tol = 1e-5 if dtype == torch.float32 else 1e-7
    torch.testing.assert_close(actual, expected, rtol=tol, atol=tol, msg=lambda m: f'{what}: {m}')


def test_dense_sync_bn_equals_bn_on_concatenated_batch():
    data = dense_data()
    ranks = run_ranks(dense_worker, (data, ))
    for name, shapes, kwargs, dtype, _, _ in DENSE_CASES:
        ref = reference_bn(data[name], kwargs, dtype)
        sizes = [s[0] for s in shapes]
        for step in range(STEPS):
            for key in ('out', 'grad'):
                whole = torch.cat([ranks[r][name][key][step] for r in range(2)])
                assert [len(ranks[r][name][key][step]) for r in range(2)] == sizes
                assert_close(whole, ref[key][step], dtype, f'{name} step {step} {key}')
        for r in range(2):
            for key in ('running_mean', 'running_var', 'tracked'):
                assert_close(ranks[r][name][key], ref[key], dtype, f'{name} rank {r} {key}')
        if 'weight_grad' in ref:
            for key in ('weight_grad', 'bias_grad'):
                summed = ranks[0][name][key] + ranks[1][name][key]
                assert_close(summed, ref[key], dtype, f'{name} {key}')
        assert_close(ranks[0][name]['eval'], ref['eval'], dtype, f'{name} eval')


# ----------------------------------------------------------------------------- sparse
SITES = [(4, 5), (9, 8)]          # active sites of the 2 samples on rank 0 and on rank 1


def sparse_net() -> nn.Module:
    return nn.Sequential(SparseConv3d(3, 4, 3), SparseBatchNorm(4, momentum=0.2),
                         SparseReLU())


def sparse_data(seed: int = 1) -> dict:
    """Per rank, per step: coords (n_r, 4) (2 samples), feats (n_r, 3), grads (n_r, 4)."""
    gen = torch.Generator().manual_seed(seed)
    ranks = []
    for counts in SITES:
        steps = []
        for _ in range(STEPS):
            coords = []
            for b, n in enumerate(counts):
                cells = torch.randperm(64, generator=gen)[:n]
                xyz = torch.stack([cells // 16, cells // 4 % 4, cells % 4], dim=1)
                coords.append(torch.cat([torch.full((n, 1), b), xyz], dim=1))
            n = sum(counts)
            steps.append(dict(coords=torch.cat(coords), feats=torch.randn(n, 3, generator=gen),
                              grads=torch.randn(n, 4, generator=gen)))
        ranks.append(steps)
    torch.manual_seed(seed)
    net = sparse_net()
    with torch.no_grad():
        net[1].weight.uniform_(0.5, 1.5)
        net[1].bias.normal_()
    return dict(ranks=ranks, state=net.state_dict())


def run_sparse(net: nn.Module, steps: list) -> dict:
    outs, grads = [], []
    for step in steps:
        feats = step['feats'].clone().requires_grad_(True)
        out = net(SparseTensor(step['coords'], feats))
        (out.feats * step['grads']).sum().backward()
        outs.append(out.feats.detach())
        grads.append(feats.grad)
    bn = net[1]
    return dict(out=outs, grad=grads, conv_grad=net[0].weight.grad, weight_grad=bn.weight.grad,
                bias_grad=bn.bias.grad, running_mean=bn.running_mean,
                running_var=bn.running_var, tracked=bn.num_batches_tracked)


def sparse_worker(rank: int, data: dict) -> dict:
    net = sparse_net()
    net.load_state_dict(data['state'])
    net = convert_sync_batchnorm(net)
    assert type(net[1]) is SparseSyncBatchNorm
    rec = run_sparse(net, data['ranks'][rank])
    if rank == 0:
        step = data['ranks'][0][0]
        rec['eval'] = net.eval()(SparseTensor(step['coords'], step['feats'])).feats
    dist.barrier()
    return rec


def concatenated_steps(data: dict) -> list:
    """Each step's two ranks as one batch of 4 samples (rank 1's samples become 2, 3)."""
    steps = []
    for step0, step1 in zip(*data['ranks']):
        coords1 = step1['coords'].clone()
        coords1[:, 0] += 2
        steps.append({k: torch.cat([step0[k], coords1 if k == 'coords' else step1[k]])
                      for k in step0})
    return steps


def test_sparse_sync_bn_equals_sparse_bn_on_concatenated_batch():
    data = sparse_data()
    ranks = run_ranks(sparse_worker, (data, ))
    ref_net = sparse_net()
    ref_net.load_state_dict(data['state'])
    ref = run_sparse(ref_net, concatenated_steps(data))
    sizes = [sum(c) for c in SITES]
    for step in range(STEPS):
        for key in ('out', 'grad'):
            parts = [ranks[r][key][step] for r in range(2)]
            assert [len(p) for p in parts] == sizes
            assert_close(torch.cat(parts), ref[key][step], torch.float32, f'{key} step {step}')
    for key in ('conv_grad', 'weight_grad', 'bias_grad'):
        assert_close(ranks[0][key] + ranks[1][key], ref[key], torch.float32, key)
    for r in range(2):
        for key in ('running_mean', 'running_var', 'tracked'):
            assert_close(ranks[r][key], ref[key], torch.float32, f'rank {r} {key}')
    step = data['ranks'][0][0]
    expected = ref_net.eval()(SparseTensor(step['coords'], step['feats'])).feats
    assert_close(ranks[0]['eval'], expected, torch.float32, 'eval')


# ----------------------------------------------------------------------------- one process
def test_without_process_group_it_is_plain_batchnorm():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 4) * 2 + 1
    ref, sync = nn.BatchNorm1d(3, momentum=0.4), SyncBatchNorm(3, momentum=0.4)
    sync.load_state_dict(ref.state_dict())
    for bn in (ref, sync):
        xi = x.clone().requires_grad_(True)
        bn(xi).pow(2).sum().backward()
        bn.grad_x = xi.grad
    torch.testing.assert_close(sync.grad_x, ref.grad_x)
    torch.testing.assert_close(sync.weight.grad, ref.weight.grad)
    torch.testing.assert_close(sync.running_var, ref.running_var)
    with pytest.raises(ValueError, match='more than 1 value per channel'):
        SyncBatchNorm(3)(torch.randn(1, 3))


def test_convert_keeps_parameters_buffers_and_mode():
    net = nn.Sequential(nn.Conv1d(2, 3, 1), nn.BatchNorm1d(3), nn.Sequential(
        nn.BatchNorm2d(3, momentum=None), nn.BatchNorm3d(3, affine=False)), SparseBatchNorm(5))
    net[1].running_mean.fill_(0.25)
    net[2].eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    params = [net[1].weight, net[3].bias]
    out = convert_sync_batchnorm(net)
    assert [type(m) for m in (out[1], out[2][0], out[2][1], out[3])] == [
        SyncBatchNorm, SyncBatchNorm, SyncBatchNorm, SparseSyncBatchNorm]
    assert out[1].weight is params[0] and out[3].bias is params[1]
    assert out[2][0].momentum is None and not out[2][1].affine
    assert not out[2][0].training and out[1].training
    after = out.state_dict()
    assert list(after) == list(before)
    for k in before:
        torch.testing.assert_close(after[k], before[k])
    bn = SparseBatchNorm(4)
    assert type(convert_sync_batchnorm(bn)) is SparseSyncBatchNorm
