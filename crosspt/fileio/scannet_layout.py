"""Files of the extracted ScanNet RGB-D layout (what ScanNet's ``reader.py`` and
``tools/dataset_converters/scannet_sens.py`` write)::

    <root>/<scene>/color/<i>.jpg          8-bit RGB (1296x968 in ScanNet)
    <root>/<scene>/depth/<i>.png          16-bit PNG, millimetres, 0 = no depth (640x480)
    <root>/<scene>/pose/<i>.txt           4x4 camera-to-world (all -inf when tracking failed)
    <root>/<scene>/intrinsic/{intrinsic,extrinsic}_{color,depth}.txt   4x4 each
    <root>/<scene>/label-filt/<i>.png     optional 16-bit per-pixel class ids
    <root>/<scene>/instance-filt/<i>.png  optional 8/16-bit per-pixel instance ids

``<i>`` is the frame's index in the ``.sens`` stream, not zero-padded. Every reader
raises an error that names the file it could not use.
"""
import os
from typing import List, Optional, Tuple, Union

import numpy as np

PathLike = Union[str, os.PathLike]

INTRINSIC_FILES = ('intrinsic_color', 'intrinsic_depth', 'extrinsic_color', 'extrinsic_depth')


def format_matrix(matrix: np.ndarray) -> str:
    """4x4 matrix as 4 lines of float32-exact shortest decimals."""
    rows = np.asarray(matrix, dtype=np.float32).reshape(4, 4)
    return ''.join(' '.join(np.format_float_positional(v, unique=True, trim='-') for v in row)
                   + '\n' for row in rows)


def write_matrix(path: PathLike, matrix: np.ndarray) -> None:
    with open(path, 'w') as handle:
        handle.write(format_matrix(matrix))


def read_matrix(path: PathLike) -> np.ndarray:
    """A 4x4 text matrix (pose or intrinsics) as float64; -inf entries are kept."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'missing matrix file {path}')
    try:
        values = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise ValueError(f'{path}: not a 4x4 matrix of numbers ({err})') from None
    if values.shape != (4, 4):
        raise ValueError(f'{path}: expected a 4x4 matrix, got shape {values.shape}')
    if np.isnan(values).any():
        raise ValueError(f'{path}: matrix contains NaN')
    return values


def frame_ids(scene_dir: PathLike) -> List[int]:
    """Sorted frame indices that have a colour image in ``<scene_dir>/color``."""
    color_dir = os.path.join(scene_dir, 'color')
    if not os.path.isdir(color_dir):
        raise FileNotFoundError(f'missing colour directory {color_dir}')
    ids = []
    for name in os.listdir(color_dir):
        stem, ext = os.path.splitext(name)
        if ext.lower() in ('.jpg', '.jpeg', '.png'):
            if not stem.isdigit():
                raise ValueError(f'{os.path.join(color_dir, name)}: frame file names must be '
                                 'the integer frame index (e.g. 25.jpg)')
            ids.append(int(stem))
    return sorted(ids)


def frame_path(scene_dir: PathLike, kind: str, frame: int) -> str:
    """Path of one frame file; ``kind`` in color/depth/pose/label-filt/instance-filt."""
    ext = {'color': '.jpg', 'depth': '.png', 'pose': '.txt',
           'label-filt': '.png', 'instance-filt': '.png'}[kind]
    path = os.path.join(scene_dir, kind, f'{frame}{ext}')
    if kind == 'color' and not os.path.exists(path):
        alt = path[:-4] + '.png'          # PointContrast's SensorData.py writes PNG colour
        if os.path.exists(alt):
            return alt
    return path


def read_intrinsics(scene_dir: PathLike, which: str = 'depth') -> np.ndarray:
    """4x4 ``intrinsic_<which>.txt`` of a scene (``which`` = depth or color)."""
    return read_matrix(os.path.join(scene_dir, 'intrinsic', f'intrinsic_{which}.txt'))


def _open_image(path: PathLike):
    from PIL import Image
    if not os.path.isfile(path):
        raise FileNotFoundError(f'missing image {path}')
    try:
        image = Image.open(path)
        image.load()
    except Exception as err:  # PIL raises several types for broken files
        raise ValueError(f'{path}: cannot decode image ({err})') from None
    return image


def read_color(path: PathLike, size: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB; ``size`` = (H, W) resizes bilinearly (colour -> depth size)."""
    from PIL import Image
    image = _open_image(path).convert('RGB')
    if size is not None and image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def read_depth(path: PathLike, expected_size: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """(H, W) uint16 millimetres; raises when the PNG is not 16-bit or has the wrong size."""
    image = _open_image(path)
    if image.mode not in ('I;16', 'I;16B', 'I;16L', 'I'):
        raise ValueError(f'{path}: depth must be a 16-bit PNG in millimetres, got mode '
                         f'{image.mode!r}')
    depth = np.asarray(image)
    if depth.min(initial=0) < 0 or depth.max(initial=0) > 65535:
        raise ValueError(f'{path}: depth values outside the uint16 range')
    depth = depth.astype(np.uint16)
    if expected_size is not None and depth.shape != tuple(expected_size):
        raise ValueError(f'{path}: depth is {depth.shape[0]}x{depth.shape[1]} (HxW) but '
                         f'{expected_size[0]}x{expected_size[1]} was expected')
    return depth


def read_label(path: PathLike, size: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """(H, W) int64 per-pixel ids, resized with nearest neighbour to ``size`` = (H, W)."""
    from PIL import Image
    image = _open_image(path)
    if size is not None and image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.NEAREST)
    return np.asarray(image).astype(np.int64)


def write_depth(path: PathLike, depth_mm: np.ndarray) -> None:
    from PIL import Image
    depth_mm = np.asarray(depth_mm)
    if depth_mm.dtype != np.uint16 or depth_mm.ndim != 2:
        raise ValueError(f'{path}: depth must be (H, W) uint16 millimetres, got '
                         f'{depth_mm.dtype} {depth_mm.shape}')
    Image.fromarray(depth_mm).save(path)


def write_label(path: PathLike, label: np.ndarray) -> None:
    from PIL import Image
    label = np.asarray(label)
    if label.ndim != 2 or label.min(initial=0) < 0 or label.max(initial=0) > 65535:
        raise ValueError(f'{path}: labels must be (H, W) ids in [0, 65535]')
    Image.fromarray(label.astype(np.uint16)).save(path)


def write_color(path: PathLike, rgb: np.ndarray, quality: int = 95) -> None:
    from PIL import Image
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f'{path}: colour must be (H, W, 3) uint8, got {rgb.dtype} {rgb.shape}')
    Image.fromarray(rgb).save(path, quality=quality)
