"""backend='spconv' against dense conv3d and the torch backend (skipped without spconv).

spconv's CPU backward needs CUDA, so everything here runs under torch.no_grad(), except
the check that a CPU forward needing gradients raises a clear error.
"""
import sys

import pytest
import torch
import torch.nn.functional as F

from crosspt.models.backbones.srunet import SRUNet
from crosspt.ops import SparseConv3d, SparseTensor
from crosspt.ops.spconv_backend import spconv_unavailable_reason

REASON = spconv_unavailable_reason()
requires_spconv = pytest.mark.skipif(REASON is not None,
                                     reason=f'spconv is not importable ({REASON})')
OFFSET = torch.tensor([-38, 6, -100])  # even, so floor(c / 2) commutes with the shift


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: the many small ops here crawl on a busy 2-core machine otherwise."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_voxels(seed: int, size: int = 20, batch: int = 3, occupancy: float = 0.08,
                  stride: int = 1, channels: int = 5):
    """~2k random cells of a (batch, size^3) grid: (cells (N, 4), SparseTensor)."""
    gen = torch.Generator().manual_seed(seed)
    cells = (torch.rand(batch, size, size, size, generator=gen) < occupancy).nonzero()
    coords = cells.clone()
    coords[:, 1:] = cells[:, 1:] * stride + OFFSET * stride
    feats = torch.randn(len(cells), channels, generator=gen)
    return cells, SparseTensor(coords, feats, stride=stride)


def dense_conv(cells, feats, weight, bias, batch, size, stride=1, dilation=1):
    """Independent reference: F.conv3d on the dense grid, read at the output cells."""
    k = round(weight.shape[0] ** (1 / 3))
    grid = feats.new_zeros(batch, size, size, size, feats.shape[1])
    grid[cells[:, 0], cells[:, 1], cells[:, 2], cells[:, 3]] = feats
    w = weight.permute(2, 1, 0).reshape(weight.shape[2], weight.shape[1], k, k, k)
    pad = dilation * (k - 1) // 2 if stride == 1 else 0
    out = F.conv3d(grid.permute(0, 4, 1, 2, 3), w, bias, stride=stride, padding=pad,
                   dilation=dilation)
    return out.permute(0, 2, 3, 4, 1)


def pair(*args, **kwargs):
    """Same-weight torch and spconv SparseConv3d."""
    ref = SparseConv3d(*args, **kwargs)
    alt = SparseConv3d(*args, backend='spconv', **kwargs)
    alt.load_state_dict(ref.state_dict())
    return ref, alt


def close(a, b):
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * float(b.abs().max()))


def sort_rows(t: SparseTensor):
    order = torch.argsort(((t.coords[:, 0] * 4096 + t.coords[:, 1] + 2048) * 4096
                           + t.coords[:, 2] + 2048) * 4096 + t.coords[:, 3] + 2048)
    return t.coords[order], t.feats[order]


@requires_spconv
@pytest.mark.parametrize('kernel_size,dilation,bias', [(3, 1, True), (3, 2, False),
                                                       (1, 1, True)])
@torch.no_grad()
def test_submanifold_matches_dense_and_torch(kernel_size, dilation, bias):
    torch.manual_seed(0)
    cells, x = random_voxels(seed=1)
    assert 1500 < len(x) < 2500
    ref, alt = pair(5, 7, kernel_size, dilation=dilation, bias=bias)
    out_ref, out_alt = ref(x), alt(x)
    assert torch.equal(out_alt.coords, x.coords) and out_alt.stride == 1
    dense = dense_conv(cells, x.feats, alt.weight, alt.bias, 3, 20, dilation=dilation)
    close(out_alt.feats, dense[cells[:, 0], cells[:, 1], cells[:, 2], cells[:, 3]])
    close(out_alt.feats, out_ref.feats)
    # a second call on the same coordinates reuses spconv's cached index pairs
    shift = alt.bias if bias else 0
    close(alt(x.replace_feats(x.feats * 2)).feats, 2 * out_ref.feats - shift)


@requires_spconv
@torch.no_grad()
def test_repeatable_with_several_torch_threads():
    # spconv's CPU scatter-add races with > 1 thread; the backend runs it single-threaded
    _, x = random_voxels(seed=7, channels=16)
    ref, alt = pair(16, 16, 3)
    expect = ref(x).feats
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for _ in range(12):
            close(alt(SparseTensor(x.coords, x.feats)).feats, expect)
        assert torch.get_num_threads() == 2  # restored after each call
    finally:
        torch.set_num_threads(threads)


@requires_spconv
@pytest.mark.parametrize('in_stride', [1, 2])
@torch.no_grad()
def test_strided_matches_dense_and_torch(in_stride):
    torch.manual_seed(1)
    cells, x = random_voxels(seed=2, stride=in_stride)
    ref, alt = pair(5, 6, 2, stride=2, bias=True)
    out_ref, out_alt = ref(x), alt(x)
    assert out_alt.stride == out_ref.stride == 2 * in_stride
    coords_ref, feats_ref = sort_rows(out_ref)
    coords_alt, feats_alt = sort_rows(out_alt)
    assert torch.equal(coords_alt, coords_ref)  # same voxels (spconv's row order differs)
    close(feats_alt, feats_ref)
    dense = dense_conv(cells, x.feats, alt.weight, alt.bias, 3, 20, stride=2)
    coarse = out_alt.coords.clone()
    coarse[:, 1:] = torch.div(coarse[:, 1:], 2 * in_stride, rounding_mode='floor') - OFFSET // 2
    close(out_alt.feats, dense[coarse[:, 0], coarse[:, 1], coarse[:, 2], coarse[:, 3]])


@requires_spconv
@torch.no_grad()
def test_transposed_restores_target_and_matches_torch():
    torch.manual_seed(2)
    _, x = random_voxels(seed=3)
    down_ref, down_alt = pair(5, 4, 2, stride=2)
    up_ref, up_alt = pair(4, 3, 2, stride=2, transposed=True, bias=True)
    coarse_ref, coarse_alt = down_ref(x), down_alt(x)
    # the same coarse features, each in its backend's row order
    feats = torch.randn(len(coarse_ref), 4)
    rows = coarse_ref.lookup(coarse_alt.coords)
    assert bool((rows >= 0).all())
    out_ref = up_ref(coarse_ref.replace_feats(feats), target=x)
    out_alt = up_alt(coarse_alt.replace_feats(feats[rows]), target=x)
    assert torch.equal(out_alt.coords, x.coords) and out_alt.stride == 1
    close(out_alt.feats, out_ref.feats)
    with pytest.raises(ValueError, match='strided conv downsampled'):
        up_alt(coarse_ref, target=x)  # input not produced by a spconv strided conv


def small_srunet(backend: str, out_channels=6):
    return SRUNet(in_channels=3, out_channels=out_channels, stem_channels=8,
                  planes=(8, 16, 16, 24, 24, 16, 8, 8), layers=(1, 2, 1, 1, 1, 1, 1, 1),
                  backend=backend)


@requires_spconv
@pytest.mark.parametrize('train_bn', [True, False])
@torch.no_grad()
def test_srunet_same_function_and_checkpoint(train_bn):
    torch.manual_seed(3)
    ref = small_srunet('torch')
    alt = small_srunet('spconv')
    for m in ref.modules():  # non-trivial BN statistics for the eval-mode case
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    assert ref.state_dict().keys() == alt.state_dict().keys()
    alt.load_state_dict(ref.state_dict())  # checkpoint moves between backends unchanged
    ref.train(train_bn)
    alt.train(train_bn)
    _, x = random_voxels(seed=4, channels=3)
    out_ref = ref(x)
    out_alt = alt(SparseTensor(x.coords, x.feats))
    assert torch.equal(out_alt.coords, x.coords) and out_alt.stride == 1
    close(out_alt.feats, out_ref.feats)
    # per-point path
    points = torch.rand(3000, 3, generator=torch.Generator().manual_seed(5)) * 2 - 1
    batch = torch.arange(3).repeat_interleave(1000)
    feats_ref, _, _ = ref.forward_points(points, batch, 0.1, feats=points)
    feats_alt, _, _ = alt.forward_points(points, batch, 0.1, feats=points)
    close(feats_alt, feats_ref)


@requires_spconv
def test_cpu_training_guard_and_unsupported_shapes():
    model = small_srunet('spconv')
    _, x = random_voxels(seed=6, channels=3)
    with pytest.raises(RuntimeError, match="backend='torch'.*CPU default"):
        model(x)  # parameters require grad and grad mode is on
    feats = x.feats.clone().requires_grad_(True)
    conv = SparseConv3d(3, 4, backend='spconv').requires_grad_(False)
    with pytest.raises(RuntimeError, match='needs CUDA'):
        conv(x.replace_feats(feats))
    with torch.no_grad():
        assert model(x).feats.shape == (len(x), 6)
    for kwargs in (dict(kernel_size=3, stride=2), dict(kernel_size=3, transposed=True),
                   dict(kernel_size=2, stride=2, dilation=2)):
        with pytest.raises(ValueError, match='spconv backend'):
            SparseConv3d(3, 4, backend='spconv', **kwargs)
    with pytest.raises(ValueError, match="'torch' or 'spconv'"):
        SparseConv3d(3, 4, backend='minkowski')


def test_missing_spconv_raises_import_error_with_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, 'spconv', None)
    monkeypatch.setitem(sys.modules, 'spconv.pytorch', None)
    with pytest.raises(ImportError, match='pip install spconv'):
        SRUNet(backend='spconv')
    assert SparseConv3d(3, 4).backend == 'torch'  # the default needs nothing
