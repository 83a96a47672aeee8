"""Render TAP-style views and sample point clouds from a directory of meshes.

    python tools/dataset_converters/render_views.py MESH_DIR OUT_ROOT \
        [--val-fraction 0.1] [--test-fraction 0.1] [--up-axis y] [--num-points 1024]
        [--image-size 224] [--workers N] [--seed 0] [--skip-bad]
    python tools/dataset_converters/render_views.py MESH_DIR OUT_ROOT --split train ...

For every ``.off/.obj/.ply`` in MESH_DIR (sorted) writes
``OUT_ROOT/pointclouds/{split}/{stem}.ply`` (area-weighted samples thinned by furthest point
sampling, y up) and ``OUT_ROOT/shapenet55v1/{split}/{stem}_<view>.jpg`` (<view> = 001..012,
the loader's axis permutation + TAP pose k, camera fitted on the cloud).

Splits: without ``--split`` the meshes are divided into train/val/test by a seeded
permutation (``--seed``): ``round(n * fraction)`` meshes (at least 1 for a fraction > 0)
go to val and to test, the rest to train.  TAP training reads train + val, its validation
reads test, so all three are needed.  ``--split NAME`` writes every mesh into one split.

``--up-axis`` names the meshes' up axis; the clouds are stored y up (the permutation of
``crosspt.apis.load_points``).  Polygons are fan-triangulated; zero-area faces are never
sampled nor drawn.  A file without faces (e.g. a point-only .ply) is used as a point
cloud: its vertices are thinned to ``--num-points`` by FPS (``crosspt.ops``) and the views
are rendered as point splats; it is listed at the end.  Fewer vertices than
``--num-points`` is an error.  A corrupt mesh stops the run with an error naming the file
unless ``--skip-bad`` is given; then every skipped file is listed at the end (exit code 1).
"""
import argparse
import os
import sys
import zlib
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

# the repository root, so that a checkout runs without `pip install -e .` (as tools/train.py)
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from crosspt.fileio.synthetic_info import SYNTHETIC_INFO  # noqa: E402
from crosspt.rendering.mesh_io import UP_AXES  # noqa: E402

MESH_EXTS = ('.off', '.obj', '.ply')
SPLITS = ('train', 'val', 'test')
DEFAULT_FRACTION = 0.1


class Job(NamedTuple):
    path: str
    out_root: str
    split: str
    num_points: int
    image_size: int
    seed: int
    up_axis: str


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Render TAP views + sample point clouds')
    parser.add_argument('mesh_dir', help='directory with .off/.obj/.ply meshes')
    parser.add_argument('out_root', help='data root to write pointclouds/ and shapenet55v1/')
    parser.add_argument('--split', choices=SPLITS,
                        help='write every mesh into this split (default: divide the meshes '
                             'into train/val/test by --val-fraction / --test-fraction)')
    parser.add_argument('--val-fraction', type=float,
                        help=f'share of meshes for val (default {DEFAULT_FRACTION})')
    parser.add_argument('--test-fraction', type=float,
                        help=f'share of meshes for test (default {DEFAULT_FRACTION})')
    parser.add_argument('--up-axis', choices=UP_AXES, default='y',
                        help="the meshes' up axis; stored clouds are y up (default y)")
    parser.add_argument('--num-points', type=int, default=1024)
    parser.add_argument('--image-size', type=int, default=224)
    parser.add_argument('--workers', type=int, default=1, help='worker processes')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the split and of the sampling (mixed with the name)')
    parser.add_argument('--skip-bad', action='store_true',
                        help='log and skip meshes that cannot be read or rendered')
    args = parser.parse_args(argv)
    if args.num_points < 3 or args.image_size < 8:
        parser.error(f'need --num-points >= 3 and --image-size >= 8, got {args.num_points} '
                     f'and {args.image_size}')
    if args.split is not None and (args.val_fraction or args.test_fraction):
        parser.error('give either --split or --val-fraction/--test-fraction, not both')
    for name in ('val_fraction', 'test_fraction'):
        value = getattr(args, name)
        if value is not None and not 0 <= value < 1:
            parser.error(f'--{name.replace("_", "-")} must be in [0, 1), got {value}')
    return args


def list_meshes(mesh_dir: str) -> List[str]:
    """Sorted mesh paths; two files with the same stem (``a.obj`` + ``a.ply``) would write
    the same outputs, so they are refused."""
    if not os.path.isdir(mesh_dir):
        raise FileNotFoundError(f'mesh directory not found: {mesh_dir}')
    paths = sorted(os.path.join(mesh_dir, name) for name in os.listdir(mesh_dir)
                   if name.lower().endswith(MESH_EXTS))
    if not paths:
        raise FileNotFoundError(f'no {"/".join(MESH_EXTS)} meshes in {mesh_dir}')
    seen: Dict[str, str] = {}
    for path in paths:
        stem = _stem(path)
        if stem in seen:
            raise ValueError(f'{seen[stem]} and {path} have the same name {stem!r} and would '
                             f'write the same files; rename one of them')
        seen[stem] = path
    return paths


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _split_count(num: int, fraction: float) -> int:
    return 0 if fraction <= 0 else max(1, int(np.floor(num * fraction + 0.5)))


def assign_splits(num: int, val_fraction: float, test_fraction: float,
                  seed: int) -> List[str]:
    """Split name of each of ``num`` sorted meshes: a ``default_rng(seed)`` permutation
    puts its first n_val in val, the next n_test in test and the rest in train."""
    n_val, n_test = _split_count(num, val_fraction), _split_count(num, test_fraction)
    if num - n_val - n_test < 1:
        raise ValueError(f'{num} mesh(es) cannot give {n_val} val + {n_test} test and keep at '
                         f'least one for train; add meshes or lower --val-fraction / '
                         f'--test-fraction')
    order = np.random.default_rng(seed).permutation(num)
    splits = ['train'] * num
    for rank, i in enumerate(order[:n_val + n_test]):
        splits[i] = 'val' if rank < n_val else 'test'
    return splits


def check_out_root(out_root: str, paths: Sequence[str], splits: Sequence[str]) -> None:
    """Refuse a synthetic data root and a mesh whose cloud already sits in another split
    (a previous run with other fractions or seed; it would leak across splits)."""
    info = os.path.join(out_root, SYNTHETIC_INFO)
    if os.path.isfile(info):
        raise ValueError(f'{out_root} holds generated synthetic data ({info}); write the '
                         f'converted meshes to another folder')
    clashes = [cloud for path, split in zip(paths, splits) for other in SPLITS if other != split
               for cloud in [os.path.join(out_root, 'pointclouds', other, f'{_stem(path)}.ply')]
               if os.path.isfile(cloud)]
    if clashes:
        raise ValueError(f'{len(clashes)} mesh(es) already have a cloud in another split of '
                         f'{out_root} (first: {clashes[:3]}); use the --seed and fractions of '
                         f'the earlier run or an empty OUT_ROOT')


def mesh_points(job: Job, vertices: np.ndarray, faces: np.ndarray) -> Tuple[np.ndarray, str]:
    """(num_points, 3) float32 cloud of a y-up mesh and a note ('' or why it is special)."""
    from crosspt.ops import furthest_point_sample_numpy
    from crosspt.rendering import sample_surface_points

    if len(faces):
        rng = np.random.default_rng([job.seed, zlib.crc32(_stem(job.path).encode())])
        return sample_surface_points(vertices, faces, job.num_points, rng), ''
    if len(vertices) < job.num_points:
        raise ValueError(f'mesh file {job.path} has no faces and only {len(vertices)} '
                         f'vertices (< {job.num_points} points requested); add faces or '
                         f'lower --num-points')
    idx = furthest_point_sample_numpy(vertices, job.num_points, backend='auto')
    note = (f'{job.path}: no faces, used as a point cloud ({len(vertices)} vertices thinned '
            f'to {job.num_points} by FPS, views rendered as point splats)')
    return vertices[idx].astype(np.float32), note


def convert_one(job: Job) -> Tuple[str, Optional[str], str]:
    """Convert one mesh; returns (path, error message or None, note or '')."""
    from PIL import Image

    from crosspt.fileio.ply import write_ply_points
    from crosspt.rendering import read_mesh, render_tap_views, to_y_up

    try:
        vertices, faces = read_mesh(job.path)
        vertices = to_y_up(vertices, job.up_axis)
        points, note = mesh_points(job, vertices, faces)
        images = render_tap_views(vertices, faces, points, image_size=job.image_size)
    except (ValueError, FileNotFoundError) as exc:
        msg = str(exc)
        return job.path, msg if job.path in msg else f'{job.path}: {msg}', ''
    stem = _stem(job.path)
    write_ply_points(os.path.join(job.out_root, 'pointclouds', job.split, f'{stem}.ply'),
                     points)
    img_dir = os.path.join(job.out_root, 'shapenet55v1', job.split)
    os.makedirs(img_dir, exist_ok=True)
    for v, image in enumerate(images):
        Image.fromarray(image, 'RGB').save(os.path.join(img_dir, f'{stem}_{v + 1:03d}.jpg'),
                                           quality=95)
    return job.path, None, note


def run_jobs(jobs: List[Job], workers: int, skip_bad: bool) -> Tuple[List[Tuple[str, str]],
                                                                      List[str]]:
    """Convert every job; returns the skipped (path, error) pairs and the notes."""
    from tqdm import tqdm

    skipped: List[Tuple[str, str]] = []
    notes: List[str] = []
    pool = None
    if workers > 1:
        import multiprocessing
        pool = multiprocessing.Pool(workers)
        results = pool.imap(convert_one, jobs)
    else:
        results = map(convert_one, jobs)
    try:
        for path, error, note in tqdm(results, total=len(jobs), desc='render', unit='mesh'):
            if note:
                notes.append(note)
            if error is None:
                continue
            if not skip_bad:
                raise ValueError(error)
            tqdm.write(f'skipping bad mesh: {error}')
            skipped.append((path, error))
    finally:
        if pool is not None:
            pool.terminate()
    return skipped, notes


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    paths = list_meshes(args.mesh_dir)
    if args.split is not None:
        splits = [args.split] * len(paths)
    else:
        splits = assign_splits(len(paths), _or(args.val_fraction), _or(args.test_fraction),
                               args.seed)
    check_out_root(args.out_root, paths, splits)
    jobs = [Job(p, args.out_root, s, args.num_points, args.image_size, args.seed, args.up_axis)
            for p, s in zip(paths, splits)]
    skipped, notes = run_jobs(jobs, args.workers, args.skip_bad)
    bad = {path for path, _ in skipped}
    for split in SPLITS:
        done = sum(1 for p, s in zip(paths, splits) if s == split and p not in bad)
        if done:
            print(f'{split}: wrote {done} model(s) to '
                  f'{os.path.join(args.out_root, "pointclouds", split)} and '
                  f'{os.path.join(args.out_root, "shapenet55v1", split)}')
    for note in notes:
        print(f'note: {note}')
    if args.split is not None:
        print('note: TAP training reads the train and val splits and validates on test; '
              'write all three (omit --split to divide the meshes by --val-fraction / '
              '--test-fraction)')
    if skipped:
        print(f'skipped {len(skipped)} bad mesh(es):')
        for path, error in skipped:
            print(f'  {path}: {error}')
        return 1
    return 0


def _or(fraction: Optional[float]) -> float:
    return DEFAULT_FRACTION if fraction is None else fraction


if __name__ == '__main__':
    sys.exit(main())
