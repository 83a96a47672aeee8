"""Render the views a TAP model predicts for one point cloud and write them next to it.

    python demo/tap_views_demo.py INPUT CONFIG CHECKPOINT [--views 0 3 6 9]
        [--up-axis y|z|x] [--device cpu] [--out-dir DIR] [--resample]

INPUT is a ``.ply`` (points or mesh), ``.obj``, ``.off`` or ``.npy`` (N, 3+) file.
Writes, next to INPUT (or into ``--out-dir``):

- ``<stem>_tap_views.png``: the input cloud splatted from each pose (upper row,
  crosspt's point renderer, for reference) above the views the model generates;
- ``<stem>_tap_view<k>.png``: each generated view (k = TAP pose index 0-11);
- ``<stem>_tap_features.npz``: per-point and global backbone features.

CHECKPOINT must be a full TAP training checkpoint (``epoch_*.pth``): a published
backbone-only file has no view generator.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from crosspt.apis import extract_features, init_model, load_points, render_views  # noqa: E402
from crosspt.engine.hooks.view_grid_hook import compose_view_grid  # noqa: E402
from crosspt.rendering.poses import tap_view_rotations  # noqa: E402
from crosspt.rendering.renderer import render_point_views  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('input', help='.ply / .obj / .off / .npy point cloud or mesh')
    parser.add_argument('config', help='TAP config, e.g. configs/tap/pointmlp_synthetic.py')
    parser.add_argument('checkpoint', help='full TAP checkpoint (file or http(s) URL)')
    parser.add_argument('--views', type=int, nargs='+', default=[0, 2, 4, 6, 8, 10],
                        help="indices of TAP's 12 instructed poses (azimuth 30 deg x k)")
    parser.add_argument('--up-axis', choices=['y', 'z', 'x'], default='y',
                        help="the file's up axis (ShapeNet / ModelNet files: y)")
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out-dir', help='output folder (default: next to INPUT)')
    parser.add_argument('--resample', action='store_true',
                        help="fill a cloud with fewer points than the config's num_points up "
                        'by resampling its points with replacement (default: error)')
    return parser.parse_args(argv)


def main(argv=None) -> List[str]:
    args = parse_args(argv)
    points = load_points(args.input, up_axis=args.up_axis)
    model = init_model(args.config, args.checkpoint, device=args.device)
    views = render_views(model, points, poses=args.views, resample=args.resample)  # (V,3,H,W)
    features = extract_features(model, points, resample=args.resample)

    out_dir = args.out_dir or osp.dirname(osp.abspath(args.input))
    os.makedirs(out_dir, exist_ok=True)
    stem = osp.join(out_dir, osp.splitext(osp.basename(args.input))[0])
    written = []
    for pose, image in zip(args.views, views):
        path = f'{stem}_tap_view{pose:02d}.png'
        Image.fromarray((image.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(path)
        written.append(path)
    size = views.shape[-1]
    # the cloud as the network sees it (TAP frame), splatted from the same poses
    reference = render_point_views(features['points'].numpy(), tap_view_rotations()[args.views],
                                   image_size=size)
    reference = reference.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    grid = compose_view_grid(reference[None], views[None], row_labels=('input', 'TAP'))
    Image.fromarray(grid).save(f'{stem}_tap_views.png')
    written.append(f'{stem}_tap_views.png')
    np.savez(f'{stem}_tap_features.npz',
             **{k: v.numpy() for k, v in features.items()}, views=np.asarray(args.views))
    written.append(f'{stem}_tap_features.npz')
    for path in written:
        print(f'wrote {path}')
    return written


if __name__ == '__main__':
    main()
