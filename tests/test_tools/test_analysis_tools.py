"""tools/analysis_tools/{analyze_logs,get_flops,benchmark_train_speed,visualize_tsne}.py.

References are independent of the tools: log values written by the test, hand-counted
parameters and multiply-adds, a brute-force count of sparse-convolution neighbour pairs,
labels read straight from the h5 file, and linear separability of two Gaussian clusters.
End-to-end runs (``slow``) use tiny settings on the embedded data cached under
``data/test_cache/`` and check outputs, never timings.
"""
import itertools
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tool_runner import run

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools' / 'analysis_tools'))

import analyze_logs  # noqa: E402
import benchmark_train_speed  # noqa: E402
import get_flops  # noqa: E402
import visualize_tsne  # noqa: E402

from crosspt.models.base import PointAlgorithm  # noqa: E402
from crosspt.ops.sparse_conv import SparseConv3d, SparseTensor  # noqa: E402

TOOLS = 'tools/analysis_tools'
MODELNET = REPO / 'data' / 'test_cache' / 'synthetic_objects' / 'modelnet40'
CLS_CONFIG = 'configs/tap/benchmarks/pointmlp_ft_modelnet40_synthetic.py'


def assert_png(path: Path, min_size=(300, 200)) -> None:
    """A readable PNG of at least ``min_size`` pixels that is not one flat colour."""
    from PIL import Image

    assert path.is_file(), path
    with Image.open(path) as image:
        assert image.format == 'PNG'
        assert image.size[0] >= min_size[0] and image.size[1] >= min_size[1], image.size
        pixels = np.asarray(image.convert('L'), dtype=float)
    assert pixels.std() > 1.0


# ----------------------------------------------------------------------------- logs
def write_log(path: Path, lines) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(json.dumps(line) + '\n' for line in lines))
    return path


def epoch_log():
    """Two epochs of 2 logged iterations each; a validation after each epoch."""
    iters, times = [5, 10, 15, 20], [0.5, 0.7, 0.3, 0.9]
    losses = [2.0, 1.5, 1.2, 1.0]
    lines = []
    for k, (it, t, loss) in enumerate(zip(iters, times, losses)):
        epoch = 1 + k // 2
        lines.append(dict(lr=1e-3, data_time=0.01 * (k + 1), loss=loss, time=t,
                          epoch=epoch, iter=it, step=it))
        if k % 2 == 1:
            lines.append({'view/loss': 1.8 - 0.3 * epoch, 'data_time': 0.02, 'time': 0.25,
                          'step': epoch})
    return lines, iters, times, losses


def test_log_series_are_the_written_values(tmp_path):
    lines, iters, _, losses = epoch_log()
    work = tmp_path / 'work'
    write_log(work / '20260101_000000' / 'vis_data' / 'scalars.json',
              [dict(loss=9.0, time=9.0, iter=1, step=1)])        # an older run
    newest = write_log(work / '20260102_000000' / 'vis_data' / 'scalars.json', lines)
    log = analyze_logs.load_log(str(work))
    assert log.path == str(newest)
    assert len(log.train) == 4 and len(log.val) == 2
    loss = analyze_logs.get_series(log, 'loss')
    np.testing.assert_array_equal(loss.x, iters)
    np.testing.assert_array_equal(loss.y, losses)
    assert loss.xlabel == 'iteration' and loss.split == 'train'
    view = analyze_logs.get_series(log, 'view/loss')
    np.testing.assert_array_equal(view.x, [1, 2])               # step = epoch
    np.testing.assert_allclose(view.y, [1.5, 1.2])
    assert view.xlabel == 'epoch' and view.notice is None
    np.testing.assert_array_equal(analyze_logs.get_series(log, 'val:time').y, [0.25, 0.25])
    np.testing.assert_array_equal(analyze_logs.get_series(log, 'time').y,
                                  [0.5, 0.7, 0.3, 0.9])


def test_missing_key_names_the_file_and_the_keys(tmp_path):
    path = write_log(tmp_path / 'scalars.json', epoch_log()[0])
    log = analyze_logs.load_log(str(path))
    with pytest.raises(KeyError, match=re.escape(str(path))) as info:
        analyze_logs.get_series(log, 'accuracy/top1')
    assert 'loss' in str(info.value) and 'view/loss' in str(info.value)
    with pytest.raises(KeyError, match='val:loss'):
        analyze_logs.get_series(log, 'val:loss')               # loss is a training key
    bad = tmp_path / 'bad.json'
    bad.write_text('{"loss": 1, "iter": 1}\nnot json\n')
    with pytest.raises(ValueError, match=re.escape(f'{bad} line 2')):
        analyze_logs.load_log(str(bad))


def test_iteration_run_with_validation_logged_at_step_0(tmp_path):
    """LoggerHook's default log_metric_by_epoch=True in an IterBasedTrainLoop: every
    validation has step 0; the curve goes to the preceding training iteration."""
    lines = [dict(loss=2.0, time=1.0, iter=10, step=10), dict(loss=1.0, time=1.0, iter=20, step=20),
             dict(mIoU=0.2, step=0), dict(loss=0.5, time=1.0, iter=30, step=30),
             dict(loss=0.4, time=1.0, iter=40, step=40), dict(mIoU=0.4, step=0)]
    log = analyze_logs.load_log(str(write_log(tmp_path / 'scalars.json', lines)))
    series = analyze_logs.get_series(log, 'mIoU')
    np.testing.assert_array_equal(series.x, [20, 40])
    np.testing.assert_allclose(series.y, [0.2, 0.4])
    assert 'log_metric_by_epoch' in series.notice


def test_train_time_hand_numbers(tmp_path):
    lines, _, _, _ = epoch_log()
    log = analyze_logs.load_log(str(write_log(tmp_path / 'scalars.json', lines)))
    result = analyze_logs.train_time(log)
    assert result.mean == pytest.approx(0.6)                   # (0.5+0.7+0.3+0.9)/4
    assert result.std == pytest.approx(math.sqrt((0.01 + 0.01 + 0.09 + 0.09) / 4))
    assert result.slowest == (20, pytest.approx(0.9))
    assert result.fastest == (15, pytest.approx(0.3))
    assert result.data_time == pytest.approx(0.025)            # (.01+.02+.03+.04)/4
    assert result.per_epoch == {1: pytest.approx(0.6), 2: pytest.approx(0.6)}


@pytest.mark.slow
def test_analyze_logs_end_to_end(tmp_path):
    lines, _, _, _ = epoch_log()
    a = write_log(tmp_path / 'a' / '20260101_000000' / 'vis_data' / 'scalars.json', lines)
    shifted = [dict(r, loss=r['loss'] * 0.5) if 'loss' in r else r for r in lines]
    write_log(tmp_path / 'b' / '20260101_000000' / 'vis_data' / 'scalars.json', shifted)
    out = tmp_path / 'curves.png'
    output = run([sys.executable, f'{TOOLS}/analyze_logs.py', 'plot_curve', str(a),
                  str(tmp_path / 'b'), '--keys', 'loss', 'view/loss', 'lr', '--legend',
                  'run a', 'run b', '--out', str(out)])
    assert 'loss [run b]: 4 points (train), last 0.5' in output
    assert 'view/loss [run a]: 2 points (val), last 1.2' in output
    assert_png(out)
    output = run([sys.executable, f'{TOOLS}/analyze_logs.py', 'cal_train_time', str(a)])
    assert 'average time per iteration: 0.6000 s' in output
    assert 'slowest iteration: 20 (0.9000 s)' in output
    assert 'fastest iteration: 15 (0.3000 s)' in output


# ----------------------------------------------------------------------------- FLOPs
class LinearOnPoints(PointAlgorithm):
    """tensor mode: ``proj(features)`` on (B, N, C_in), then ``sin`` (no FLOP rule)."""

    def __init__(self, c_in: int, c_out: int, untraceable: bool = False) -> None:
        super().__init__()
        self.proj = nn.Linear(c_in, c_out)
        self.untraceable = untraceable

    def tensor(self, inputs):
        out = self.proj(inputs['features'])
        if self.untraceable:   # Python arithmetic on a shape: the JIT tracer gives a Tensor
            side = int(round(out.shape[1] ** 0.5))
            out = out[:, :side * side]
        return torch.sin(out)


@pytest.mark.parametrize('counter', ['jit', 'dispatch'])
def test_linear_flops_are_b_n_in_out(counter):
    """One multiply-add = one FLOP (FlopAnalyzer's rule; the bias add is not counted):
    Linear(in, out) on B x N points = B * N * in * out."""
    b, n, c_in, c_out = 2, 50, 7, 5
    model = LinearOnPoints(c_in, c_out).eval()
    inputs = dict(features=torch.randn(b, n, c_in))
    report = get_flops.count_flops(model, inputs, None, 'tensor', counter)
    assert report.total == b * n * c_in * c_out == 3500
    assert report.by_module['proj'] == 3500
    assert report.counter == counter
    assert report.not_counted.get('aten::sin') == 1           # reported, not dropped


def test_untraceable_model_falls_back_to_the_dispatch_counter():
    b, n, c_in, c_out = 1, 49, 3, 4
    model = LinearOnPoints(c_in, c_out, untraceable=True).eval()
    inputs = dict(features=torch.randn(b, n, c_in))
    with pytest.raises(TypeError):
        get_flops.count_flops(model, inputs, None, 'tensor', 'jit')
    report = get_flops.count_flops(model, inputs, None, 'tensor', 'auto')
    assert report.counter == 'dispatch'
    assert 'could not trace' in report.note and 'TypeError' in report.note
    assert report.total == b * n * c_in * c_out


class Attention(PointAlgorithm):
    def tensor(self, inputs):
        return F.scaled_dot_product_attention(inputs['q'], inputs['k'], inputs['v'])


@pytest.mark.parametrize('counter', ['jit', 'dispatch'])
def test_attention_flops(counter):
    """softmax(Q K^T) V: B*H*L*S*E for Q K^T plus B*H*L*S*E_v for the product with V."""
    b, h, length, s, e, e_v = 2, 3, 5, 7, 4, 6
    inputs = dict(q=torch.randn(b, h, length, e), k=torch.randn(b, h, s, e),
                  v=torch.randn(b, h, s, e_v))
    report = get_flops.count_flops(Attention(), inputs, None, 'tensor', counter)
    assert report.total == b * h * length * s * (e + e_v) == 2100


class Photograph(PointAlgorithm):
    def __init__(self, **kwargs) -> None:
        super().__init__()
        from crosspt.models.tap.photograph import TAPPhotographModule
        self.photograph = TAPPhotographModule(**kwargs)

    def tensor(self, inputs):
        return self.photograph(inputs['queries'], inputs['memory'])


@pytest.mark.parametrize('counter', ['jit', 'dispatch'])
def test_tap_photograph_traces_and_its_flops_are_the_layer_sum(counter):
    """TAP's photograph module is traced by the JIT counter (no fallback) and both
    counters give the layer-by-layer multiply-adds, worked out here from the shapes."""
    b, v, side, m, d, heads, hd, r, depth = 2, 3, 2, 5, 16, 2, 8, 2, 2
    q, inner = v * side * side, heads * hd                    # queries per object
    inputs = dict(queries=torch.rand(b * v, side * side, 8), memory=torch.rand(b, m, d))
    model = Photograph(embed_dims=d, depth=depth, num_heads=heads, head_dims=hd,
                       ffn_ratio=r).eval()
    rows = b * q
    query_mlp = rows * (8 * 8 + 8 * d)
    self_attn = 3 * rows * d * inner + b * v * heads * side ** 4 * 2 * hd + rows * inner * d
    cross_attn = (rows * d * inner + 2 * b * m * d * inner + b * heads * q * m * 2 * hd
                  + rows * inner * d)
    ffn = rows * d * 2 * d * r + rows * d * r * d
    norms = 3 * rows * d * 5                                   # LayerNorm: 5 per element
    report = get_flops.count_flops(model, inputs, None, 'tensor', counter)
    assert report.counter == counter and report.note is None
    assert report.total == query_mlp + depth * (self_attn + cross_attn + ffn + norms)
    assert 'aten::gelu' in report.not_counted                  # listed, not dropped
    assert not {'aten::view', 'aten::transpose', 'aten::size'} & set(report.not_counted)


class SparseConvModel(PointAlgorithm):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = SparseConv3d(c_in, c_out, kernel_size=3)

    def tensor(self, inputs):
        return self.conv(SparseTensor(inputs['coords'], inputs['feats'])).feats


def test_sparse_conv_flops_match_brute_force_neighbour_pairs():
    """A submanifold 3x3x3 sparse conv does C_in * C_out multiply-adds per (input voxel,
    output voxel) pair at a kernel offset; the pairs are counted here by brute force."""
    gen = torch.Generator().manual_seed(0)
    cells = torch.randperm(6 ** 3, generator=gen)[:90]
    xyz = torch.stack([cells // 36, (cells // 6) % 6, cells % 6], dim=1)
    coords = torch.cat([torch.zeros(90, 1, dtype=torch.long), xyz], dim=1)
    occupied = {tuple(c) for c in xyz.tolist()}
    pairs = sum((x + dx, y + dy, z + dz) in occupied for x, y, z in occupied
                for dx, dy, dz in itertools.product((-1, 0, 1), repeat=3))
    c_in, c_out = 4, 6
    report = get_flops.count_flops(SparseConvModel(c_in, c_out),
                                   dict(coords=coords, feats=torch.randn(90, c_in)),
                                   None, 'tensor', 'auto')
    assert report.counter == 'dispatch'                        # the tracer cannot follow it
    assert report.by_module['conv'] == report.total == pairs * c_in * c_out


def tiny_classifier_config(path: Path) -> Path:
    path.write_text('''
default_scope = 'crosspt'
backbone = dict(type='PointNet2', in_channels=4, strides=(4, 4, None), radius=(0.3, 0.6, None),
                num_samples=(8, 8, None), mlps=([[8, 16]], [[16, 24]], [[24, 32]]),
                stage3='global')
model = dict(type='PointClassifier', backbone=backbone,
             head=dict(type='ClsHead', in_channels=32, num_classes=5, hidden_dims=(8,)))
train_dataloader = dict(batch_size=2, dataset=dict(type='ModelNet40H5Dataset', data_root='x',
    pipeline=[dict(type='LoadObjectPoints'), dict(type='TakeFirstPoints', num_points=64),
              dict(type='ComputeHeight', gravity_dim=1),
              dict(type='PackPointClsInputs', feature_keys=('points', 'height'))]))
''')
    return path


def test_parameters_and_head_flops_of_a_hand_built_config(tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from crosspt.registry import MODELS

    config = tiny_classifier_config(tmp_path / 'tiny.py')
    report = get_flops.analyze_config(str(config), mode='tensor', batch_size=3)
    # ClsHead(32 -> 8 -> 5): Linear(32, 8, bias=False) + BN(8) (weight, bias) + Linear(8, 5)
    head = 32 * 8 + 2 * 8 + (8 * 5 + 5)
    with DefaultScope.overwrite_default_scope('crosspt'):
        backbone = MODELS.build(Config.fromfile(str(config)).backbone)
    backbone_params = sum(p.numel() for p in backbone.parameters())
    assert report.params['head'] == (head, head)
    assert report.params['backbone'] == (backbone_params, backbone_params)
    assert report.params['total'] == (head + backbone_params,) * 2
    assert report.spec.num_points == 64 and report.spec.feature_channels == 4
    # head on B = 3 global features (eval mode): 3*32*8 + BN 2 per element (affine,
    # FlopAnalyzer's inference rule) 2*3*8 + 3*8*5
    assert report.flops.by_module['head'] == 3 * 32 * 8 + 2 * 3 * 8 + 3 * 8 * 5
    text = get_flops.markdown([report])
    assert '| head | 317 | 317 |' in text
    # the dispatcher-level counter applies the same rules as FlopAnalyzer's handles
    # (convolutions, batch norm, matrix products of the PointNet++ backbone)
    dispatch = get_flops.analyze_config(str(config), mode='tensor', batch_size=3,
                                        counter='dispatch')
    assert dispatch.flops.counter == 'dispatch' and report.flops.counter == 'jit'
    assert dispatch.flops.by_module == report.flops.by_module
    # frozen parameters are total but not trainable
    model = get_flops.build_model(Config.fromfile(str(config)), [])
    model.backbone.requires_grad_(False)
    counts = get_flops.count_parameters(model)
    assert counts['total'] == (head + backbone_params, head)
    assert counts['backbone'] == (backbone_params, 0)


#: an mmdet3d-scoped config (default_scope='mmdet3d')
DET_CONFIG = 'projects/crosspt_mmdet3d/configs/tap/3detr_ft_scannet-det.py'


def test_mmdet3d_scoped_config_is_skipped_with_a_reason():
    report = get_flops.analyze_config(str(REPO / DET_CONFIG))
    assert report.skipped and "default_scope='mmdet3d'" in report.skipped


@pytest.mark.slow
def test_get_flops_end_to_end(tmp_path):
    out = tmp_path / 'flops.png'
    output = run([sys.executable, f'{TOOLS}/get_flops.py', CLS_CONFIG,
                  DET_CONFIG, '--out', str(out)])
    row = next(line for line in output.splitlines()
               if line.startswith('| tap/benchmarks/pointmlp_ft_modelnet40_synthetic |'))
    assert 'PointClassifier | loss | points (1, 1024, 3), features (1, 1024, 4)' in row
    assert re.search(r'\| [\d.]+ MFLOPs \| jit \|$', row), row
    assert f'skipped {DET_CONFIG}' in output
    assert '- not counted (no FLOP rule; calls):' in output
    assert_png(out)


# ----------------------------------------------------------------------------- speed
def fake_result(name: str, data: float, step: float, batch: int, rss: float):
    return benchmark_train_speed.SpeedResult(
        config=f'configs/{name}.py', batch_size=batch, iters=2, warmup=1, threads=1,
        num_workers=0, data_times=[data, data], step_times=[step - 0.1, step + 0.1],
        peak_rss_mb=rss)


def test_speed_table_ratios_and_plot(tmp_path):
    first = fake_result('a', 0.5, 1.5, 4, 800.0)          # 2 s/iter, 2 samples/s
    second = fake_result('b', 1.0, 3.0, 8, 1200.0)        # 4 s/iter, 2 samples/s
    assert second.iter_time == pytest.approx(4.0)
    assert second.samples_per_s == pytest.approx(2.0)
    assert second.iter_std == pytest.approx(0.1)
    text = benchmark_train_speed.table([first, second])
    assert '| b | 8 | 1.0000 | 3.0000 | 4.0000 ± 0.1000 | 2.00 | 1200 | 2.00x | 1.00x |' in text
    out = tmp_path / 'speed.png'
    benchmark_train_speed.plot([first, second], str(out))
    assert_png(out)


@pytest.mark.slow
def test_benchmark_train_speed_end_to_end(tmp_path):
    out, result_json = tmp_path / 'speed.png', tmp_path / 'speed.json'
    output = run([sys.executable, f'{TOOLS}/benchmark_train_speed.py', CLS_CONFIG,
                  '--iters', '2', '--warmup', '0', '--batch-size', '2', '--threads', '2',
                  '--out', str(out), '--json-out', str(result_json), '--cfg-options',
                  f'train_dataloader.dataset.data_root={MODELNET}',
                  'train_dataloader.dataset.indices=4'])
    assert '| tap/benchmarks/pointmlp_ft_modelnet40_synthetic | 2 |' in output
    (result,) = json.loads(result_json.read_text())
    assert result['batch_size'] == 2 and result['threads'] == 2
    assert len(result['data_times']) == len(result['step_times']) == 2
    for key in ('data_time', 'step_time', 'iter_time', 'samples_per_s', 'peak_rss_mb'):
        assert math.isfinite(result[key]) and result[key] > 0, (key, result[key])
    assert result['samples_per_s'] == pytest.approx(2 / result['iter_time'])
    assert_png(out)


# ----------------------------------------------------------------------------- t-SNE
def test_tsne_separates_two_gaussian_clusters(tmp_path):
    from sklearn.svm import LinearSVC

    rng = np.random.default_rng(0)
    centre = np.zeros(16)
    centre[0] = 12.0
    features = np.concatenate([rng.normal(size=(25, 16)), rng.normal(size=(25, 16)) + centre])
    labels = np.repeat([0, 1], 25)
    out = tmp_path / 'clusters.png'
    embedding = visualize_tsne.tsne_plot(features, labels, str(out), ['left', 'right'],
                                         perplexity=10, seed=0)
    assert embedding.shape == (50, 2)
    svm = LinearSVC(C=100.0, max_iter=20000).fit(embedding, labels)
    assert svm.score(embedding, labels) == 1.0                 # linearly separable
    dist = np.linalg.norm(embedding[:, None] - embedding[None], axis=-1)
    np.fill_diagonal(dist, np.inf)
    assert (labels[dist.argmin(1)] == labels).all()            # every 1-NN in its cluster
    assert_png(out)


@pytest.mark.slow
def test_visualize_tsne_end_to_end(tmp_path):
    import h5py

    out = tmp_path / 'tsne.png'
    output = run([sys.executable, f'{TOOLS}/visualize_tsne.py', CLS_CONFIG,
                  '--max-samples', '20', '--perplexity', '5', '--out', str(out),
                  '--cfg-options', f'test_dataloader.dataset.data_root={MODELNET}'])
    assert 'wrote' in output
    assert_png(out)
    saved = np.load(tmp_path / 'tsne.npz')
    assert saved['features'].shape == (20, 256) and np.isfinite(saved['features']).all()
    assert saved['embedding'].shape == (20, 2)
    assert len(set(saved['indices'].tolist())) == 20
    # labels = the h5 file's labels of the sampled rows (read independently)
    with h5py.File(MODELNET / 'modelnet40_ply_hdf5_2048' / 'ply_data_test0.h5') as f:
        h5_labels = np.asarray(f['label']).reshape(-1)
    np.testing.assert_array_equal(saved['labels'], h5_labels[saved['indices']])
    assert len(saved['class_names']) == 40 and saved['class_names'][0] == 'airplane'
