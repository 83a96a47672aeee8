"""tools/analysis_tools/profile_sparse.py: the GEMM FLOP count against a brute-force count
of kernel-map pairs and torch's own FLOP counter, the profiler labels in forward and
backward, the parts against the profiled step, and the documented command at tiny sizes."""
import itertools
import re
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from tool_runner import run

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools' / 'analysis_tools'))

import profile_sparse as ps  # noqa: E402
from crosspt.ops import SparseConv3d, SparseTensor  # noqa: E402
from crosspt.ops.sparse_tensor import PROFILE_LABELS  # noqa: E402

#: docs/methods/benchmarks.md, 'SR-UNet34 training step profile' (run with tiny --voxels)
DOC_COMMAND = ('python tools/analysis_tools/profile_sparse.py --profile '
               '--voxels 20000 80000 200000 --threads 1')


def tiny_tensor(channels: int, seed: int = 0) -> SparseTensor:
    """About 150 distinct voxels in two 7^3 boxes (batch 0 and 1), random features."""
    gen = torch.Generator().manual_seed(seed)
    coords = torch.cat([torch.randint(0, 2, (300, 1), generator=gen),
                        torch.randint(-3, 4, (300, 3), generator=gen)], 1).unique(dim=0)
    coords = coords[torch.randperm(len(coords), generator=gen)[:150]]
    return SparseTensor(coords, torch.randn(len(coords), channels, generator=gen))


def brute_pairs(inputs, outputs, offsets) -> int:
    """Number of (input, output, offset) with c_in = c_out + offset, by plain loops."""
    found = {tuple(c) for c in inputs}
    return sum((o[0], o[1] + d[0], o[2] + d[1], o[3] + d[2]) in found
               for o in outputs for d in offsets)


def counted_flops(module, x: SparseTensor):
    """(the tool's GEMM FLOP count, torch's FlopCounterMode count) of a forward + backward."""
    counter = ps.GemmFlopCounter(module)
    with FlopCounterMode(display=False) as torch_count:
        module(x).feats.sum().backward()
    counter.close()
    return counter.total, torch_count.get_total_flops()


def test_flop_count_equals_brute_force_pair_count():
    x = tiny_tensor(4)
    coords = x.coords.tolist()
    subm, down = SparseConv3d(4, 5, 3), SparseConv3d(4, 6, 2, stride=2)
    cube3 = list(itertools.product((-1, 0, 1), repeat=3))
    pairs = brute_pairs(coords, coords, cube3)
    assert len(coords) < pairs < 27 * len(coords)
    x.feats.requires_grad_(True)
    # forward, input gradient, weight gradient: 3 GEMMs of 2 * P * C_in * C_out each
    assert counted_flops(subm, x) == (3 * 2 * pairs * 4 * 5, ) * 2
    # strided, on data features (no input gradient): forward + weight gradient only
    y = SparseTensor(x.coords, x.feats.detach())
    out_coords = sorted({(b, 2 * (i // 2), 2 * (j // 2), 2 * (k // 2)) for b, i, j, k in coords})
    pairs = brute_pairs(coords, out_coords, list(itertools.product((0, 1), repeat=3)))
    assert pairs == len(coords)
    assert counted_flops(down, y) == (2 * 2 * pairs * 4 * 6, ) * 2
    with torch.no_grad():
        assert ps.conv_gemm_flops(subm, x) == 2 * brute_pairs(coords, coords, cube3) * 4 * 5


def has_backward_ancestor(event) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith(ps.BACKWARD_PREFIX):
            return True
        parent = parent.cpu_parent
    return False


def part_seconds_bottom_up(step) -> dict:
    """Seconds per part, summed bottom-up: every event's self time goes to the part of its
    outermost labelled range or aten op below ``step`` (none: not counted)."""
    seconds = {}
    stack = [(child, None, False) for child in step.cpu_children]
    while stack:
        event, part, backward = stack.pop()
        backward = backward or event.name.startswith(ps.BACKWARD_PREFIX)
        if part is None:
            part = ps.PART_OF_LABEL.get(event.name)
            if part is None and event.name.startswith('aten::'):
                part = ps.aten_part(event.name, backward)
        children = event.cpu_children
        if part is not None:
            self_us = event.time_range.elapsed_us() - sum(c.time_range.elapsed_us()
                                                          for c in children)
            seconds[part] = seconds.get(part, 0.0) + self_us * 1e-6
        stack.extend((child, part, backward) for child in children)
    return seconds


def test_labels_in_forward_and_backward_and_parts_sum_to_the_step():
    torch.set_num_threads(1)
    model = ps.build_backbone()
    st = ps.surface_voxels(1500, seed=1)
    counter = ps.GemmFlopCounter(model)                   # warm-up: the whole model's count
    with FlopCounterMode(display=False) as torch_count:
        ps.train_step(model, st.coords, st.feats)
    counter.close()
    assert counter.total == torch_count.get_total_flops() > 0
    events = ps.profile_step_events(model, st.coords, st.feats)
    placed = {name: set() for name in PROFILE_LABELS.values()}
    for event in events:
        if event.name in placed:
            placed[event.name].add(has_backward_ancestor(event))
    for part, name in PROFILE_LABELS.items():
        assert placed[name] == {part.endswith('bwd')}, (part, placed[name])
    total, seconds, counts = ps.step_parts(events)
    assert set(seconds) == set(ps.PARTS) | {'untraced'}
    for part in ps.PARTS:
        assert counts[part] > 0 and seconds[part] > 0, part
    step = next(e for e in events if e.name == ps.STEP_LABEL)
    for part, value in part_seconds_bottom_up(step).items():
        assert seconds[part] == pytest.approx(value, abs=1e-5), part
    # how much of the step is Python between ops depends on the VM's speed; 85-94 % of it is
    # traced on this machine, so half is a bound that only a lost subtree would break
    traced = sum(seconds[p] for p in ps.PARTS)
    assert 0.5 * total < traced <= total + 1e-6, (traced, total)
    assert seconds['untraced'] == pytest.approx(total - traced)
    assert seconds['GEMM fwd'] + seconds['GEMM bwd'] > 0.2 * total


def test_aten_part_names():
    assert ps.aten_part('aten::native_batch_norm_backward', True) == 'BatchNorm bwd'
    assert ps.aten_part('aten::batch_norm', False) == 'BatchNorm fwd'
    assert ps.aten_part('aten::relu', False) == 'ReLU fwd'
    assert ps.aten_part('aten::threshold_backward', True) == 'ReLU bwd'
    assert ps.aten_part('aten::cat', False) == 'other fwd'


def test_documented_command_at_tiny_sizes():
    cmd = DOC_COMMAND.replace('--voxels 20000 80000 200000', '--voxels 1000 --repeats 1')
    assert cmd != DOC_COMMAND
    doc = (REPO / 'docs' / 'methods' / 'benchmarks.md').read_text(encoding='utf-8')
    assert f'`{DOC_COMMAND}`' in doc
    output = run([sys.executable] + cmd.split()[1:], timeout=600)
    assert re.search(r'load average [\d.]+ [\d.]+ [\d.]+ at the start', output)
    assert re.search(r'load average [\d.]+ [\d.]+ [\d.]+ at the end', output)
    lines = output.splitlines()
    start = lines.index('| part | 1k s | % |')
    table = {line.split('|')[1].strip(): [c.strip() for c in line.strip('|').split('|')[1:]]
             for line in lines[start + 2:] if line.startswith('| ')}
    parts = ps.PARTS + ['untraced']
    for col in (0, ):
        step = float(table['step, profiled (s)'][col])
        assert sum(float(table[p][col]) for p in parts) == pytest.approx(step, abs=0.008)
        assert sum(float(table[p][col + 1]) for p in parts) == pytest.approx(100, abs=1)
        gemm = float(table['GEMM fwd'][col]) + float(table['GEMM bwd'][col])
        gflop = float(table['GEMM GFLOP (counted)'][col])
        assert float(table['GEMM GFLOP/s'][col]) == pytest.approx(gflop / gemm, rel=0.05)
        best = max(float(table[f'torch.mm (N x {w}) @ ({w} x {w}) GFLOP/s'][col])
                   for w in ps.MM_WIDTHS)
        assert float(table['GEMM GFLOP/s / best mm'][col]) == pytest.approx(
            float(table['GEMM GFLOP/s'][col]) / best, abs=0.02)
