"""Create data sets for crosspt.

    python tools/create_data.py synthetic-shapenet55 --out-dir data/synthetic_shapenet55 \
        [--num-train 48 --num-val 8 --num-test 16 --seed 0 --num-points 1024]
    python tools/create_data.py synthetic-objects --out-dir data/synthetic_objects [--seed 0]
    python tools/create_data.py synthetic-scanobjectnn --out-dir data/ScanObjectNN_synthetic
    python tools/create_data.py synthetic-modelnet40 --out-dir data/ModelNet40_synthetic
    python tools/create_data.py synthetic-shapenetpart --out-dir data/ShapeNetPart_synthetic
    python tools/create_data.py synthetic-fewshot --out-dir data/ModelNetFewshot_synthetic
    python tools/create_data.py synthetic-scenes --out data/synthetic_scannet \
        [--num-scenes 4 --frames-per-scene 12 --seed 0 --frame-step 25 --write-sens]
    python tools/create_data.py synthetic-scannet-mmdet3d \
        [--out-dir data/synthetic_scannet_mmdet3d --num-scenes 12 --num-val-scenes 4 \
         --num-points 50000 --seed 0]

``synthetic-shapenet55`` writes a procedural stand-in for TAP's ShapeNet55 pre-training data
in the exact layout the loader reads (``pointclouds/``, ``shapenet55v1/``, ``meshes/``).
The ``synthetic-<object set>`` commands write labelled stand-ins of the downstream object
data sets in their real on-disk formats (``crosspt.synthetic.objects``);
``synthetic-objects`` writes all four under ``<out-dir>/{scanobjectnn,modelnet40,
shapenetpart,modelnet_fewshot}``. ``synthetic-scenes`` writes ray-cast indoor RGB-D frames
in the extracted ScanNet layout (``crosspt.synthetic.scannet_frames``).
``synthetic-scannet-mmdet3d`` writes labelled surface point clouds of the same scenes in
mmdet3d's ScanNet format (``points/``, ``semantic_mask/``, ``instance_mask/``,
``seg_info/``, ``scannet_infos_{train,val}.pkl``; ``crosspt.synthetic.scannet_mmdet3d``).

Every command records the files it wrote (sizes, sha256) in ``<out-dir>/synthetic_info.json``
and, when parameters change or a file is missing, regenerates by replacing only those
files. An out-dir holding any other file is refused (exit code 2, the files listed): move
them out or choose another ``--out-dir``.
"""
import argparse
import os
import sys
import time
from typing import List, Optional

from crosspt.synthetic.shapenet55 import generate_synthetic_shapenet55
from crosspt.fileio.atomic import DataOwnershipError

OBJECT_SETS = ('synthetic-scanobjectnn', 'synthetic-modelnet40', 'synthetic-shapenetpart',
               'synthetic-fewshot', 'synthetic-objects')


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
    _add_object_parsers(sub)
    scenes = sub.add_parser('synthetic-scenes',
                            help='ray-cast indoor RGB-D frames in the extracted ScanNet layout')
    scenes.add_argument('--out', '--out-dir', dest='out_dir', default='data/synthetic_scannet',
                        help='output directory')
    scenes.add_argument('--num-scenes', type=int, default=4)
    scenes.add_argument('--frames-per-scene', type=int, default=12)
    scenes.add_argument('--seed', type=int, default=0)
    scenes.add_argument('--frame-step', type=int, default=25,
                        help='frame-index stride of the kept frames (0, 25, 50, ...)')
    scenes.add_argument('--write-sens', action='store_true',
                        help='also write <scene>/<scene>.sens with every frame (slow)')
    scenes.add_argument('--no-invalid-pose', action='store_true',
                        help='no all -inf pose frame in scene 0')
    scenes.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    mm3d = sub.add_parser('synthetic-scannet-mmdet3d',
                          help="labelled scene point clouds in mmdet3d's ScanNet info format")
    mm3d.add_argument('--out-dir', default='data/synthetic_scannet_mmdet3d',
                      help='output directory')
    mm3d.add_argument('--num-scenes', type=int, default=12, help='train scenes')
    mm3d.add_argument('--num-val-scenes', type=int, default=4,
                      help='validation scenes (indices after the train scenes)')
    mm3d.add_argument('--num-points', type=int, default=50000, help='points per scene')
    mm3d.add_argument('--seed', type=int, default=0)
    mm3d.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def _add_object_parsers(sub: argparse._SubParsersAction) -> None:
    """Sub-commands of the synthetic downstream object sets."""
    helps = {
        'synthetic-scanobjectnn': 'ScanObjectNN h5 (PB_T50_RS, OBJ_BG, OBJ_ONLY)',
        'synthetic-modelnet40': 'ModelNet40 h5 (2048) + modelnet40_normal_resampled text',
        'synthetic-shapenetpart': 'ShapeNetPart _normal release (part labels, split jsons)',
        'synthetic-fewshot': "few-shot episodes in Point-BERT's ModelNetFewshot layout",
        'synthetic-objects': 'all four object sets under one root',
    }
    for command in OBJECT_SETS:
        p = sub.add_parser(command, help=helps[command])
        p.add_argument('--out-dir', default=f'data/{command.replace("-", "_")}',
                       help='output directory')
        p.add_argument('--seed', type=int, default=0)
        if command == 'synthetic-shapenetpart':
            p.add_argument('--num-train-per-class', type=int, default=13)
            p.add_argument('--num-val-per-class', type=int, default=3)
            p.add_argument('--num-test-per-class', type=int, default=5)
            p.add_argument('--min-points', type=int, default=2000)
            p.add_argument('--max-points', type=int, default=2600)
            continue
        p.add_argument('--num-train-per-class', type=int, default=12)
        p.add_argument('--num-test-per-class', type=int, default=4)
        if command in ('synthetic-modelnet40', 'synthetic-fewshot'):
            p.add_argument('--normal-rows', type=int, default=2500,
                           help='rows per modelnet40_normal_resampled file (real: 10000)')
        if command in ('synthetic-fewshot', 'synthetic-objects'):
            p.add_argument('--ways', type=int, nargs='+', default=[5])
            p.add_argument('--shots', type=int, nargs='+', default=[10])
            p.add_argument('--num-folds', type=int, default=10)
        if command == 'synthetic-fewshot':
            p.add_argument('--num-points', type=int, default=1024)


def _object_set(args: argparse.Namespace) -> None:
    """Run one object-set sub-command and print where the files went."""
    from crosspt.synthetic import objects as so

    start = time.time()
    common = dict(num_train_per_class=args.num_train_per_class, seed=args.seed)
    if args.dataset == 'synthetic-objects':
        infos = so.generate_synthetic_objects(
            args.out_dir, num_test_per_class=args.num_test_per_class, fewshot_ways=args.ways,
            fewshot_shots=args.shots, fewshot_folds=args.num_folds, **common)
    elif args.dataset == 'synthetic-scanobjectnn':
        infos = {'scanobjectnn': so.generate_synthetic_scanobjectnn(
            args.out_dir, num_test_per_class=args.num_test_per_class, **common)}
    elif args.dataset == 'synthetic-modelnet40':
        infos = {'modelnet40': so.generate_synthetic_modelnet40(
            args.out_dir, num_test_per_class=args.num_test_per_class,
            normal_rows=args.normal_rows, **common)}
    elif args.dataset == 'synthetic-shapenetpart':
        infos = {'shapenetpart': so.generate_synthetic_shapenetpart(
            args.out_dir, num_val_per_class=args.num_val_per_class,
            num_test_per_class=args.num_test_per_class, min_points=args.min_points,
            max_points=args.max_points, **common)}
    else:
        infos = {'fewshot': so.generate_synthetic_fewshot(
            args.out_dir, ways=args.ways, shots=args.shots, num_folds=args.num_folds,
            num_points=args.num_points, num_test_per_class=args.num_test_per_class,
            normal_rows=args.normal_rows, **common)}
    for name, info in infos.items():
        state = 'wrote' if info['created'] else 'already complete, nothing rewritten:'
        print(f'{name}: {state} {info["data_root"]} ({len(info["files"])} files)')
        print(f'  format: {info["format"]}')
        if 'counts' in info:
            print(f'  shapes: {info["counts"]}')
    print(f'done in {time.time() - start:.1f} s')


def _synthetic_scenes(args: argparse.Namespace) -> None:
    """Run the ``synthetic-scenes`` sub-command and print where the files went."""
    from crosspt.synthetic.scannet_frames import generate_synthetic_scannet_frames

    start = time.time()
    info = generate_synthetic_scannet_frames(
        args.out_dir, num_scenes=args.num_scenes, frames_per_scene=args.frames_per_scene,
        seed=args.seed, frame_step=args.frame_step, invalid_pose=not args.no_invalid_pose,
        write_sens=args.write_sens, progress=not args.no_progress)
    state = 'wrote' if info['created'] else 'already complete, nothing rewritten:'
    print(f'{state} {info["data_root"]} ({len(info["files"])} files, '
          f'{time.time() - start:.1f} s)')
    print(f'  format: {info["format"]}')
    for name, scene in info['scenes'].items():
        bad = scene['invalid_pose_frames']
        objects = sum(o['name'] not in ('wall', 'floor') for o in scene['objects'])
        print(f'  {name}: room {scene["room_size"]} m, {objects} objects + floor and 4 walls, '
              f'{len(scene["frames"])} frames' + (f' (-inf pose: {bad})' if bad else ''))


def _synthetic_scannet_mmdet3d(args: argparse.Namespace) -> None:
    """Run the ``synthetic-scannet-mmdet3d`` sub-command and print where the files went."""
    from crosspt.synthetic.scannet_mmdet3d import generate_synthetic_scannet_mmdet3d

    start = time.time()
    info = generate_synthetic_scannet_mmdet3d(
        args.out_dir, num_scenes=args.num_scenes, num_val_scenes=args.num_val_scenes,
        num_points=args.num_points, seed=args.seed, progress=not args.no_progress)
    root = info['data_root']
    state = 'wrote' if info['created'] else 'already complete, nothing rewritten:'
    print(f'{state} {root} ({len(info["files"])} files, {time.time() - start:.1f} s)')
    print(f'  format: {info["format"]}')
    for split, names in info['splits'].items():
        boxes = sum(info['scenes'][n]['num_boxes'] for n in names)
        repeats = sum(info['scenes'][n]['resampled_repeats'] for n in names)
        print(f'  {split}: {len(names)} scenes {names[0]}..{names[-1]}, {boxes} boxes, '
              f'{repeats} resampled patches -> {os.path.join(root, f"scannet_infos_{split}.pkl")}')


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.dataset in OBJECT_SETS:
        _object_set(args)
    elif args.dataset == 'synthetic-scenes':
        _synthetic_scenes(args)
    elif args.dataset == 'synthetic-scannet-mmdet3d':
        _synthetic_scannet_mmdet3d(args)
    elif args.dataset == 'synthetic-shapenet55':
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


def cli(argv: Optional[List[str]] = None) -> int:
    """``main`` with a refused out-dir reported as one message and exit code 2."""
    try:
        main(argv)
    except DataOwnershipError as exc:
        print(f'create_data.py: error: {exc}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(cli())
