"""Extract ScanNet ``.sens`` files into the per-frame layout used for RGB-D pretraining.

    python tools/dataset_converters/scannet_sens.py SENS_OR_SCANS_DIR OUT_DIR \
        [--frame-skip 25] [--scenes scene0000_00 ...]

Input: one ``.sens`` file, or a directory holding ``<scene>/<scene>.sens`` (ScanNet
``scans/``) and/or ``<scene>.sens``. For every scene and every Nth frame i (0, N, 2N, ...)
writes under ``OUT_DIR/<scene>/``:

- ``color/<i>.jpg``: the frame's JPEG bytes as stored (no re-encoding);
- ``depth/<i>.png``: 16-bit PNG in millimetres (0 = no depth);
- ``pose/<i>.txt``: 4x4 camera-to-world, 4 lines of 4 space-separated numbers, each the
  shortest decimal that reads back as the same float32 (``-inf``/``nan`` written as such);
- ``intrinsic/{intrinsic,extrinsic}_{color,depth}.txt``: 4x4, same text format.

A scene is written to a temporary folder and renamed into place when complete (an existing
``OUT_DIR/<scene>`` is replaced). Frames whose pose has -inf/NaN are written but counted
in the per-scene summary line, as are frames whose depth is all zero.
"""
import argparse
import os
import shutil
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Extract ScanNet .sens files')
    parser.add_argument('source', help='a .sens file or a directory of scenes / .sens files')
    parser.add_argument('out_dir', help='output root; one folder per scene')
    parser.add_argument('--frame-skip', type=int, default=25, help='keep every Nth frame')
    parser.add_argument('--scenes', nargs='+', default=None,
                        help='only these scene names (default: all found)')
    return parser.parse_args(argv)


def find_sens_files(source: str) -> Dict[str, str]:
    """Map scene name -> ``.sens`` path for a file or a directory (sorted by name)."""
    if os.path.isfile(source):
        if not source.endswith('.sens'):
            raise ValueError(f'input file {source} is not a .sens file')
        return {os.path.splitext(os.path.basename(source))[0]: source}
    if not os.path.isdir(source):
        raise FileNotFoundError(f'.sens file or scans directory not found: {source}')
    found = {}
    for entry in sorted(os.listdir(source)):
        full = os.path.join(source, entry)
        nested = os.path.join(full, f'{entry}.sens')
        if os.path.isdir(full) and os.path.isfile(nested):
            found[entry] = nested
        elif entry.endswith('.sens') and os.path.isfile(full):
            found.setdefault(entry[:-len('.sens')], full)
    if not found:
        raise FileNotFoundError(f'no <scene>/<scene>.sens or *.sens files in {source}')
    return found


def to_millimetres(depth: np.ndarray, depth_shift: float) -> np.ndarray:
    """(H, W) uint16 depth in 1/depth_shift metres -> uint16 millimetres (rounded, clipped)."""
    if depth_shift == 1000.0:
        return depth
    mm = np.rint(depth.astype(np.float64) * (1000.0 / depth_shift))
    return np.clip(mm, 0, 65535).astype(np.uint16)


def convert_scene(scene: str, sens_path: str, out_dir: str,
                  frame_skip: int) -> Tuple[int, int, int, int]:
    """Extract one scene; returns (frames in file, written, non-finite poses, empty depth)."""
    from PIL import Image
    from tqdm import tqdm

    from crosspt.fileio.atomic import list_files, swap_in_dir
    from crosspt.fileio.scannet_layout import format_matrix
    from crosspt.fileio.sens import decode_depth, read_sens

    header, frames = read_sens(sens_path, frame_skip=frame_skip)
    if header.color_compression_name != 'jpeg':
        raise ValueError(f'.sens file {sens_path}: colour compression is '
                         f'{header.color_compression_name!r}; this converter copies JPEG bytes '
                         f'as is and needs \'jpeg\'')
    if header.depth_compression_name not in ('zlib_ushort', 'raw_ushort'):
        raise ValueError(f'.sens file {sens_path}: unsupported depth compression '
                         f'{header.depth_compression_name!r} (supported: zlib_ushort, raw_ushort)')
    if not header.depth_shift > 0:
        raise ValueError(f'.sens file {sens_path}: depth_shift {header.depth_shift} must be > 0')
    root = os.path.join(out_dir, scene)
    tmp = os.path.join(out_dir, f'.{scene}.tmp-{os.getpid()}')
    shutil.rmtree(tmp, ignore_errors=True)
    for sub in ('color', 'depth', 'pose', 'intrinsic'):
        os.makedirs(os.path.join(tmp, sub))
    written = bad_pose = empty = 0
    try:
        for key in ('intrinsic_color', 'intrinsic_depth', 'extrinsic_color', 'extrinsic_depth'):
            with open(os.path.join(tmp, 'intrinsic', f'{key}.txt'), 'w') as handle:
                handle.write(format_matrix(getattr(header, key)))
        total = -(-header.num_frames // frame_skip)
        for frame in tqdm(frames, total=total, desc=scene, unit='frame'):
            where = f'{sens_path} frame {frame.index}'
            if not frame.color_data.startswith(b'\xff\xd8'):
                raise ValueError(f'{where}: colour data is not a JPEG stream')
            depth = decode_depth(frame.depth_data, header.depth_compression,
                                 header.depth_width, header.depth_height, where)
            depth = to_millimetres(depth, header.depth_shift)
            with open(os.path.join(tmp, 'color', f'{frame.index}.jpg'), 'wb') as handle:
                handle.write(frame.color_data)
            Image.fromarray(depth).save(os.path.join(tmp, 'depth', f'{frame.index}.png'))
            with open(os.path.join(tmp, 'pose', f'{frame.index}.txt'), 'w') as handle:
                handle.write(format_matrix(frame.camera_to_world))
            bad_pose += int(not np.isfinite(frame.camera_to_world).all())
            empty += int(not depth.any())
            written += 1
        # a re-run may replace exactly the files it writes again; a scene folder holding
        # anything else (other frames, the user's files) is refused, naming them
        swap_in_dir(tmp, root, files=list_files(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return header.num_frames, written, bad_pose, empty


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.frame_skip < 1:
        raise ValueError(f'--frame-skip must be >= 1, got {args.frame_skip}')
    found = find_sens_files(args.source)
    if args.scenes is not None:
        missing = [s for s in args.scenes if s not in found]
        if missing:
            raise FileNotFoundError(f'scenes {missing} not found in {args.source}')
        found = {s: found[s] for s in args.scenes}
    os.makedirs(args.out_dir, exist_ok=True)
    for scene, sens_path in found.items():
        total, written, bad_pose, empty = convert_scene(scene, sens_path, args.out_dir,
                                                        args.frame_skip)
        print(f'{scene}: {total} frames in file, {written} written (frame skip {args.frame_skip}) '
              f'to {os.path.join(args.out_dir, scene)}; {bad_pose} written with non-finite '
              f'pose, {empty} with empty depth')
    return 0


if __name__ == '__main__':
    sys.exit(main())
