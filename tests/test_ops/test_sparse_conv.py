"""Sparse convolution against dense conv3d / conv_transpose3d and brute-force references."""
import pytest
import torch
import torch.nn.functional as F

from crosspt.ops import SparseConv3d, SparseTensor, hash_coords, sparse_cat, voxelize
from crosspt.ops import sparse_tensor
from crosspt.ops.sparse_tensor import COORD_MAX, MAX_BATCH

DT = torch.float64


@pytest.fixture(autouse=True, params=['dense_grid', 'sorted_keys'])
def lookup_path(request, monkeypatch):
    """Run every test with both neighbour look-ups: the dense grid (small inputs take it by
    default) and the binary search (forced by a zero cell budget)."""
    if request.param == 'sorted_keys':
        monkeypatch.setattr(sparse_tensor, 'DENSE_MIN_CELLS', 0)
        monkeypatch.setattr(sparse_tensor, 'DENSE_CELLS_PER_ROW', 0)
    return request.param


def test_lookup_against_brute_force(lookup_path):
    gen = torch.Generator().manual_seed(3)
    for stride in (1, 2, 4):
        cells = torch.unique(torch.randint(-6, 7, (300, 4), generator=gen), dim=0)
        cells[:, 0] = cells[:, 0].abs() % 3
        cells = torch.unique(cells, dim=0)
        coords = cells.clone()
        coords[:, 1:] *= stride
        x = SparseTensor(coords, torch.ones(len(coords), 1), stride=stride)
        query = torch.randint(-30, 31, (2000, 4), generator=gen)
        query[:, 0] = query[:, 0].abs() % 4                   # batch 3 holds nothing
        query = torch.cat([query, coords, torch.tensor([[0, COORD_MAX, 0, 0],
                                                        [0, -COORD_MAX - 9, 0, 0]])])
        rows = {tuple(c): i for i, c in enumerate(coords.tolist())}
        expected = [rows.get(tuple(q), -1) for q in query.tolist()]
        assert x.lookup(query).tolist() == expected
        assert (x.cache['dense'] is None) == (lookup_path == 'sorted_keys')


def random_grid(size: int, batch: int, occupancy: float, seed: int, stride: int = 1):
    """Random occupied cells of a (batch, size^3) grid: coords (N, 4) in units of ``stride``."""
    gen = torch.Generator().manual_seed(seed)
    occ = torch.rand(batch, size, size, size, generator=gen) < occupancy
    cells = occ.nonzero()
    coords = cells.clone()
    coords[:, 1:] *= stride
    return cells, coords


def to_dense(cells, feats, batch, size):
    """(B, C, size, size, size) dense grid with ``feats`` at ``cells`` (differentiable)."""
    dense = feats.new_zeros(batch, size, size, size, feats.shape[1])
    dense = dense.index_put((cells[:, 0], cells[:, 1], cells[:, 2], cells[:, 3]), feats)
    return dense.permute(0, 4, 1, 2, 3)


def at(dense, cells):
    """Values (N, C) of a dense (B, C, X, Y, Z) grid at (N, 4) cells."""
    return dense.permute(0, 2, 3, 4, 1)[cells[:, 0], cells[:, 1], cells[:, 2], cells[:, 3]]


def conv_weight(w):
    """(K, C_in, C_out) -> conv3d layout (C_out, C_in, k, k, k)."""
    k = round(w.shape[0] ** (1 / 3))
    return w.permute(2, 1, 0).reshape(w.shape[2], w.shape[1], k, k, k)


def convt_weight(w):
    """(K, C_in, C_out) -> conv_transpose3d layout (C_in, C_out, k, k, k)."""
    k = round(w.shape[0] ** (1 / 3))
    return w.permute(1, 2, 0).reshape(w.shape[1], w.shape[2], k, k, k)


def test_offset_convention_by_hand():
    # one input voxel at x=1; a 3^3 kernel whose only non-zero tap is flat index 22 =
    # (i, j, l) = (2, 1, 1), offset (+1, 0, 0): out[c] = f[c + (1, 0, 0)].
    coords = torch.tensor([[0, 0, 0, 0], [0, 1, 0, 0]])
    x = SparseTensor(coords, torch.tensor([[0.], [5.]], dtype=DT))
    conv = SparseConv3d(1, 1).double()
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[22, 0, 0] = 2.0
    assert conv(x).feats[:, 0].tolist() == [10.0, 0.0]


@pytest.mark.parametrize('dilation', [1, 2])
def test_submanifold_matches_dense_conv3d(dilation):
    size, batch, c_in, c_out = 6, 2, 3, 4
    cells, coords = random_grid(size, batch, 0.3, seed=1)
    gen = torch.Generator().manual_seed(2)
    feats = torch.randn(len(cells), c_in, generator=gen, dtype=DT, requires_grad=True)
    conv = SparseConv3d(c_in, c_out, 3, dilation=dilation, bias=True).double()
    out = conv(SparseTensor(coords, feats))
    assert torch.equal(out.coords, coords) and out.stride == 1

    feats_d = feats.detach().clone().requires_grad_(True)
    w_d = conv_weight(conv.weight.detach()).clone().requires_grad_(True)
    b_d = conv.bias.detach().clone().requires_grad_(True)
    dense = F.conv3d(to_dense(cells, feats_d, batch, size), w_d, b_d, padding=dilation,
                     dilation=dilation)
    ref = at(dense, cells)
    torch.testing.assert_close(out.feats, ref)

    g = torch.randn(ref.shape, generator=gen, dtype=DT)
    (out.feats * g).sum().backward()
    (ref * g).sum().backward()
    torch.testing.assert_close(feats.grad, feats_d.grad)
    torch.testing.assert_close(conv_weight(conv.weight.grad), w_d.grad)
    torch.testing.assert_close(conv.bias.grad, b_d.grad)


@pytest.mark.parametrize('kernel_size', [2, 3])
@pytest.mark.parametrize('in_stride', [1, 2])
def test_strided_conv_matches_dense(kernel_size, in_stride):
    size, batch, c_in, c_out = 8, 2, 2, 3
    cells, coords = random_grid(size, batch, 0.3, seed=3, stride=in_stride)
    gen = torch.Generator().manual_seed(4)
    feats = torch.randn(len(cells), c_in, generator=gen, dtype=DT, requires_grad=True)
    conv = SparseConv3d(c_in, c_out, kernel_size, stride=2).double()
    out = conv(SparseTensor(coords, feats, stride=in_stride))
    assert out.stride == 2 * in_stride

    # output coordinates = occupied cells of the 2x downsampled grid
    coarse = torch.unique(torch.cat([cells[:, :1], cells[:, 1:] // 2], 1), dim=0)
    expect = coarse.clone()
    expect[:, 1:] *= 2 * in_stride
    assert torch.equal(out.coords, expect)

    feats_d = feats.detach().clone().requires_grad_(True)
    dense = F.conv3d(to_dense(cells, feats_d, batch, size), conv_weight(conv.weight.detach()),
                     stride=2, padding=(kernel_size - 1) // 2)
    ref = at(dense, coarse)
    torch.testing.assert_close(out.feats, ref)
    g = torch.randn(ref.shape, generator=gen, dtype=DT)
    (out.feats * g).sum().backward()
    (ref * g).sum().backward()
    torch.testing.assert_close(feats.grad, feats_d.grad)


@pytest.mark.parametrize('new_stride', [2, 3, 8])
def test_downsample_coords_equals_row_unique(new_stride):
    """Sorted unique rows of floor(c / s) * s (negative coordinates floor down), as
    ``torch.unique(dim=0)`` gives them; an empty input gives (0, 4)."""
    gen = torch.Generator().manual_seed(5)
    coords = torch.cat([torch.randint(0, 3, (4000, 1), generator=gen),
                        torch.randint(-40, 40, (4000, 3), generator=gen)], 1)
    coords = coords[torch.randperm(len(coords), generator=gen)]
    expect = coords.clone()
    expect[:, 1:] = torch.div(coords[:, 1:], new_stride, rounding_mode='floor') * new_stride
    expect = torch.unique(expect, dim=0)
    assert torch.equal(sparse_tensor.downsample_coords(coords, new_stride), expect)
    assert sparse_tensor.downsample_coords(coords[:0], new_stride).shape == (0, 4)


@pytest.mark.parametrize('kernel_size', [2, 3])
def test_transposed_restores_coords_and_matches_dense(kernel_size):
    size, batch, c_in, c_out = 8, 2, 3, 2
    cells, coords = random_grid(size, batch, 0.3, seed=5)
    fine = SparseTensor(coords, torch.zeros(len(coords), 1, dtype=DT))
    down = SparseConv3d(1, c_in, 2, stride=2).double()(fine)
    gen = torch.Generator().manual_seed(6)
    coarse_feats = torch.randn(len(down), c_in, generator=gen, dtype=DT, requires_grad=True)
    coarse = down.replace_feats(coarse_feats)
    up = SparseConv3d(c_in, c_out, kernel_size, stride=2, transposed=True).double()
    out = up(coarse, target=fine)
    assert torch.equal(out.coords, coords) and out.stride == 1

    coarse_cells = coarse.coords.clone()
    coarse_cells[:, 1:] //= 2
    feats_d = coarse_feats.detach().clone().requires_grad_(True)
    pad = (kernel_size - 1) // 2
    dense = F.conv_transpose3d(to_dense(coarse_cells, feats_d, batch, size // 2),
                               convt_weight(up.weight.detach()), stride=2, padding=pad,
                               output_padding=kernel_size % 2)
    assert dense.shape[2:] == (size, ) * 3
    ref = at(dense, cells)
    torch.testing.assert_close(out.feats, ref)
    g = torch.randn(ref.shape, generator=gen, dtype=DT)
    (out.feats * g).sum().backward()
    (ref * g).sum().backward()
    torch.testing.assert_close(coarse_feats.grad, feats_d.grad)


def test_transposed_argument_errors():
    _, coords = random_grid(4, 1, 0.5, seed=7)
    fine = SparseTensor(coords, torch.ones(len(coords), 1))
    up = SparseConv3d(1, 1, 2, stride=2, transposed=True)
    with pytest.raises(ValueError, match='target'):
        up(SparseConv3d(1, 1, 2, stride=2)(fine))
    with pytest.raises(ValueError, match='target.stride'):
        up(fine, target=fine)


def test_kernel_maps_are_cached_and_shared():
    _, coords = random_grid(6, 2, 0.3, seed=8)
    x = SparseTensor(coords, torch.randn(len(coords), 2))
    conv1, conv2 = SparseConv3d(2, 2), SparseConv3d(2, 2)
    y = conv1(x)
    assert y.cache is x.cache and (1, 3, 1, False) in x.cache
    kmap = x.cache[(1, 3, 1, False)][2]
    conv2(y)
    assert x.cache[(1, 3, 1, False)][2] is kmap
    down = SparseConv3d(2, 2, 2, stride=2)(x)
    up = SparseConv3d(2, 2, 2, stride=2, transposed=True)(down, target=x)
    assert up.cache is x.cache  # decoder level reuses the encoder level's maps
    with pytest.raises(ValueError, match='different coordinates'):
        sparse_cat([x, down])
    assert sparse_cat([x, up]).feats.shape == (len(x), 4)


def test_hash_order_duplicates_and_range():
    coords = torch.tensor([[0, -3, 2, 1], [1, 0, 0, 0], [0, -3, 2, 2], [0, 5, -7, 0]])
    keys = hash_coords(coords)
    lex = sorted(range(4), key=lambda i: coords[i].tolist())
    assert keys.argsort().tolist() == lex
    with pytest.raises(ValueError, match='duplicate'):
        SparseTensor(torch.tensor([[0, 1, 2, 3], [0, 4, 4, 4], [0, 1, 2, 3]]), torch.ones(3, 1))
    for bad in ([0, COORD_MAX + 1, 0, 0], [0, 0, -COORD_MAX - 2, 0], [-1, 0, 0, 0],
                [MAX_BATCH, 0, 0, 0]):
        with pytest.raises(ValueError, match='outside the supported range'):
            SparseTensor(torch.tensor([bad]), torch.ones(1, 1))
    with pytest.raises(ValueError, match='multiples of stride'):
        SparseTensor(torch.tensor([[0, 1, 0, 0]]), torch.ones(1, 1), stride=2)
    # neighbour queries past the edge of the range find nothing instead of aliasing
    edge = SparseTensor(torch.tensor([[0, COORD_MAX, 0, 0], [1, -COORD_MAX - 1, 0, 0]]),
                        torch.ones(2, 1))
    assert SparseConv3d(1, 1)(edge).feats.shape == (2, 1)


@pytest.mark.parametrize('reduce', ['mean', 'first'])
def test_voxelize_against_brute_force(reduce):
    gen = torch.Generator().manual_seed(9)
    points = torch.rand(200, 3, generator=gen, dtype=DT) * 0.5 - 0.2
    batch = torch.randint(0, 2, (200, ), generator=gen)
    feats = torch.randn(200, 2, generator=gen, dtype=DT)
    st, inverse = voxelize(points, batch, 0.1, feats, reduce=reduce)
    cells = [(int(b), *[int(v) for v in (p / 0.1).floor()]) for p, b in zip(points, batch)]
    for i in range(200):
        assert st.coords[inverse[i]].tolist() == list(cells[i])
        members = [j for j in range(200) if cells[j] == cells[i]]
        assert all(inverse[j] == inverse[i] for j in members)
        expect = feats[members].mean(0) if reduce == 'mean' else feats[min(members)]
        torch.testing.assert_close(st.feats[inverse[i]], expect)
    assert len(st) == len(set(cells))
