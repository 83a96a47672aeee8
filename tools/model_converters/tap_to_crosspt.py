"""Convert official TAP (openpoints) checkpoints into crosspt state dicts.

    python tools/model_converters/tap_to_crosspt.py SRC DST \\
        [--backbone {pointmlp,pointnet2,dgcnn,transformer,pointmlp_partseg}] [--num-classes K]

The conversion itself lives in :mod:`crosspt.models.tap.checkpoint_convert` (its
docstring lists the accepted layouts and the key maps), so configs, ``tools/test.py``
and ``crosspt.apis.init_model`` convert official files on the fly as well.  Without
``--backbone`` the backbone is detected from the parameter names.

Layouts: ``clean`` (released pre-trained weights), ``finetuned`` (released ScanObjectNN
weights), ``pretrain_full`` (a pre-training checkpoint: converted whole, the photograph
module and the 2D generator included, which ``crosspt.apis.render_views`` then uses;
``generator.pad_memory`` is reported as unused), ``encoder_only`` and ``partseg``
(ShapeNetPart model).  A leading ``module.`` is stripped.

Output: ``{'state_dict': {...}, 'meta': {...}}`` with crosspt model keys.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import torch

import crosspt.models  # noqa: F401  (registers the backbones and heads)
import crosspt.models.backbones.dgcnn  # noqa: F401  (registers DGCNN)
from crosspt.fileio.checkpoint_file import load_checkpoint_file
from crosspt.models.tap.checkpoint_convert import (  # noqa: F401  (re-exported)
    BACKBONE_TYPES, CLASSIFIER_KEY, GENERATOR_RULES, WRAPPER_KEYS, convert_tap_checkpoint,
    detect_format, format_report, guess_backbone, unwrap_checkpoint)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official TAP checkpoint (.pth)')
    parser.add_argument('dst', help='output crosspt checkpoint (.pth)')
    parser.add_argument('--backbone', default=None, choices=list(BACKBONE_TYPES),
                        help='backbone the checkpoint was trained with (default: detected '
                        'from the parameter names)')
    parser.add_argument('--num-classes', type=int, default=None,
                        help='expected classes of a fine-tuned checkpoint (checked against '
                             f'{CLASSIFIER_KEY})')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    checkpoint = load_checkpoint_file(args.src, map_location='cpu')
    result = convert_tap_checkpoint(checkpoint, args.backbone, args.num_classes,
                                    source=osp.basename(args.src))
    out_dir = osp.dirname(osp.abspath(args.dst))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(result, args.dst)
    print(format_report(result['meta']))
    print(f"wrote {args.dst} ({len(result['state_dict'])} tensors)")


if __name__ == '__main__':
    sys.exit(main())
