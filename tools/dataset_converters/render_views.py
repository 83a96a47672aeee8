"""Render TAP-style views and sample point clouds from a directory of meshes.

    python tools/dataset_converters/render_views.py MESH_DIR OUT_ROOT --split train \
        [--num-points 1024] [--image-size 224] [--workers N] [--seed 0] [--skip-bad]

For every ``.off/.obj/.ply`` in MESH_DIR (sorted) writes
``OUT_ROOT/pointclouds/{split}/{stem}.ply`` (area-weighted samples thinned by farthest point
sampling, in the mesh's own Y-up frame) and ``OUT_ROOT/shapenet55v1/{split}/{stem}_<view>.jpg``
(<view> = 001..012, the loader's axis permutation + TAP pose k, camera fitted on the cloud).
A corrupt mesh stops the run with an error naming the file unless ``--skip-bad`` is given;
then every skipped file is logged and listed at the end (and the exit code is 1).
"""
import argparse
import os
import sys
import zlib
from typing import List, Optional, Tuple

import numpy as np

MESH_EXTS = ('.off', '.obj', '.ply')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Render TAP views + sample point clouds')
    parser.add_argument('mesh_dir', help='directory with .off/.obj/.ply meshes')
    parser.add_argument('out_root', help='data root to write pointclouds/ and shapenet55v1/')
    parser.add_argument('--split', required=True, help='split name, e.g. train/val/test')
    parser.add_argument('--num-points', type=int, default=1024)
    parser.add_argument('--image-size', type=int, default=224)
    parser.add_argument('--workers', type=int, default=1, help='worker processes')
    parser.add_argument('--seed', type=int, default=0, help='sampling seed (mixed with name)')
    parser.add_argument('--skip-bad', action='store_true',
                        help='log and skip meshes that cannot be read or rendered')
    return parser.parse_args(argv)


def convert_one(job: Tuple[str, str, str, int, int, int]) -> Tuple[str, Optional[str]]:
    """Convert one mesh; returns (path, error message or None)."""
    from PIL import Image

    from crosspt.datasets.synthetic import farthest_point_sampling, sample_surface_points
    from crosspt.fileio.ply import write_ply_points
    from crosspt.rendering import read_mesh, render_tap_views

    path, out_root, split, num_points, image_size, seed = job
    stem = os.path.splitext(os.path.basename(path))[0]
    try:
        vertices, faces = read_mesh(path)
        rng = np.random.default_rng([seed, zlib.crc32(stem.encode())])
        if len(faces):
            points = sample_surface_points(vertices, faces, num_points, rng)
        elif len(vertices) >= num_points:
            points = vertices[farthest_point_sampling(vertices, num_points)].astype(np.float32)
        else:
            raise ValueError(f'mesh file {path} has no faces and only {len(vertices)} '
                             f'vertices (< {num_points} points requested)')
        images = render_tap_views(vertices, faces, points, image_size=image_size)
    except (ValueError, FileNotFoundError) as exc:
        msg = str(exc)
        return path, msg if path in msg else f'{path}: {msg}'
    write_ply_points(os.path.join(out_root, 'pointclouds', split, f'{stem}.ply'), points)
    img_dir = os.path.join(out_root, 'shapenet55v1', split)
    os.makedirs(img_dir, exist_ok=True)
    for v, image in enumerate(images):
        Image.fromarray(image, 'RGB').save(os.path.join(img_dir, f'{stem}_{v + 1:03d}.jpg'),
                                           quality=95)
    return path, None


def main(argv: Optional[List[str]] = None) -> int:
    from tqdm import tqdm

    args = parse_args(argv)
    if not os.path.isdir(args.mesh_dir):
        raise FileNotFoundError(f'mesh directory not found: {args.mesh_dir}')
    paths = sorted(os.path.join(args.mesh_dir, name) for name in os.listdir(args.mesh_dir)
                   if name.lower().endswith(MESH_EXTS))
    if not paths:
        raise FileNotFoundError(f'no {"/".join(MESH_EXTS)} meshes in {args.mesh_dir}')
    jobs = [(p, args.out_root, args.split, args.num_points, args.image_size, args.seed)
            for p in paths]
    skipped: List[Tuple[str, str]] = []
    pool = None
    if args.workers > 1:
        import multiprocessing
        pool = multiprocessing.Pool(args.workers)
        results = pool.imap(convert_one, jobs)
    else:
        results = map(convert_one, jobs)
    try:
        for path, error in tqdm(results, total=len(jobs), desc=f'render {args.split}',
                                unit='mesh'):
            if error is None:
                continue
            if not args.skip_bad:
                raise ValueError(error)
            tqdm.write(f'skipping bad mesh: {error}')
            skipped.append((path, error))
    finally:
        if pool is not None:
            pool.terminate()
    done = len(paths) - len(skipped)
    print(f'wrote {done} model(s) to {os.path.join(args.out_root, "pointclouds", args.split)} '
          f'and {os.path.join(args.out_root, "shapenet55v1", args.split)}')
    if skipped:
        print(f'skipped {len(skipped)} bad mesh(es):')
        for path, error in skipped:
            print(f'  {path}: {error}')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
