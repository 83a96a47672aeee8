"""tools/analysis_tools/benchmark_ops.py --scale scene: the table's format at tiny sizes
(never its timings), the exponent fit on hand numbers, and the size labels."""
import math
import re
import sys
from pathlib import Path

import pytest

from tool_runner import run

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools' / 'analysis_tools'))

import benchmark_ops  # noqa: E402

TIME = r'(\d+\.\d+) (ms|s)'


def test_fit_exponent_hand_numbers():
    sizes = [10_000, 30_000, 100_000, 300_000]
    assert benchmark_ops.fit_exponent(sizes, [2e-9 * n ** 1.5 for n in sizes]) == \
        pytest.approx(1.5)
    assert benchmark_ops.fit_exponent(sizes, [0.25] * 4) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(benchmark_ops.fit_exponent([1000], [1.0]))


def test_size_labels():
    assert benchmark_ops.size_label('ball', 300_000, 30_000, 61.6) == \
        '300k pts, 30k queries, 62 pts/ball'
    assert benchmark_ops.size_label('queries', 10_000, 1000, 5.0) == '10k pts, 1k queries'
    assert benchmark_ops.size_label('fps', 300_000, 30_000, 5.0) == '300k -> 30k'
    assert benchmark_ops.size_label('fps_exact', 1500, 150, 5.0) == '1.5k -> 1500'


def test_scene_table_at_tiny_sizes():
    sizes = (1200, 2400)
    output = run([sys.executable, 'tools/analysis_tools/benchmark_ops.py', '--scale', 'scene',
                  '--sizes', *map(str, sizes), '--repeats', '1', '--threads', '1'],
                 timeout=300)
    lines = output.splitlines()
    assert re.search(r'load average \(1 min\) \d+\.\d+ at the start', output)
    assert re.search(r'load average \(1 min\) \d+\.\d+ at the end', output)
    start = lines.index('| op | size | crosspt | best library (others) | ratio | '
                        'time ~ N^a (crosspt / library) |')
    assert lines[start + 1] == '|---|---|---|---|---|---|'
    rows = [line for line in lines[start + 2:] if line.startswith('| ')]
    ops = [op for op, _, _ in benchmark_ops.SCENE_OPS]
    assert len(rows) == len(ops) * len(sizes)
    for i, line in enumerate(rows):
        cells = [c.strip() for c in line.strip('|').split('|')]
        assert len(cells) == 6, line
        op, size, ours, library, ratio, exponents = cells
        assert op == ops[i // len(sizes)]
        n = sizes[i % len(sizes)]
        assert size.startswith(f'{n / 1000:g}k'), line
        assert re.fullmatch(TIME, ours), line
        name, seconds = re.match(r'(.+?) ' + TIME, library).group(1, 2)
        assert name in ('cKDTree lists', 'cKDTree pairs', 'cKDTree', 'pykdtree',
                        'fpsample exact') or name.startswith('fpsample bucket h='), line
        assert float(ratio) > 0
        a_ours, a_lib = (float(a) for a in exponents.split(' / '))
        assert math.isfinite(a_ours) and math.isfinite(a_lib)
    # the same op has one exponent pair on all its rows
    for k in range(len(ops)):
        assert len({r.split('|')[-2] for r in rows[k * len(sizes):(k + 1) * len(sizes)]}) == 1


def test_tap_step_rate_is_alternated_with_the_matmul_and_counts_fwd_plus_bwd():
    """bench_tap at batch 1: the fraction is the step's GFLOP/s over the matmul's measured
    in the same run, and the step's FLOPs (torch.utils.flop_counter, 2 per multiply-add)
    are about 3 forwards (backward = 2 forwards for every GEMM) of get_flops' count of the
    training forward (1 per multiply-add)."""
    import get_flops
    config = str(REPO / 'configs' / 'tap' / 'pointmlp_1xb32-100e_shapenet55.py')
    tap = benchmark_ops.bench_tap(1, 1, config, matmul_size=1024)   # the formulas, not the rate
    assert tap['fraction'] == pytest.approx(tap['gflops'] / tap['matmul_gflops'])
    assert tap['gflops'] == pytest.approx(tap['gflop'] / tap['seconds'])
    forward = get_flops.analyze_config(config, batch_size=1).flops.total / 1e9
    assert 2 * 3 * forward * 0.95 < tap['gflop'] < 2 * 3 * forward
