"""Create data sets for crosspt.

    python tools/create_data.py synthetic-shapenet55 --out-dir data/synthetic_shapenet55 \
        [--num-train 48 --num-val 8 --num-test 16 --seed 0 --num-points 1024]

``synthetic-shapenet55`` writes a procedural stand-in for TAP's ShapeNet55 pre-training data
in the exact layout the loader reads (``pointclouds/``, ``shapenet55v1/``, ``meshes/``).
"""
import argparse
import os
import time
from typing import List, Optional

from crosspt.datasets.synthetic import generate_synthetic_shapenet55


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Create crosspt data sets')
    sub = parser.add_subparsers(dest='dataset', required=True)
    syn = sub.add_parser('synthetic-shapenet55',
                         help='procedural objects in TAP ShapeNet55 layout (ply + 12 jpg views)')
    syn.add_argument('--out-dir', default='data/synthetic_shapenet55', help='output directory')
    syn.add_argument('--num-train', type=int, default=48)
    syn.add_argument('--num-val', type=int, default=8)
    syn.add_argument('--num-test', type=int, default=16)
    syn.add_argument('--seed', type=int, default=0)
    syn.add_argument('--num-points', type=int, default=1024)
    syn.add_argument('--image-size', type=int, default=224)
    syn.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.dataset == 'synthetic-shapenet55':
        start = time.time()
        info = generate_synthetic_shapenet55(
            args.out_dir, num_train=args.num_train, num_val=args.num_val,
            num_test=args.num_test, seed=args.seed, num_points=args.num_points,
            image_size=args.image_size, progress=not args.no_progress)
        root = info['data_root']
        state = 'wrote' if info['created'] else 'already complete, nothing rewritten:'
        print(f'{state} {root} ({time.time() - start:.1f} s)')
        for split, count in info['counts'].items():
            print(f'  {split:5s}: {count} models -> '
                  f'{os.path.join(root, "pointclouds", split)}/model_<id>.ply, '
                  f'{os.path.join(root, "shapenet55v1", split)}/model_<id>_001..012.jpg, '
                  f'{os.path.join(root, "meshes", split)}/model_<id>.off')
        print(f'  categories: {", ".join(info["categories"])}')
        print(f'  info: {os.path.join(root, "synthetic_info.json")}')


if __name__ == '__main__':
    main()
