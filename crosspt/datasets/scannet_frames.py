"""Single RGB-D frames of extracted ScanNet scenes for PPKT pre-training
(docs/methods/ppkt.md, 'Pre-training data').

Layout (ScanNet ``reader.py`` / ``tools/dataset_converters/scannet_sens.py`` output, see
:mod:`crosspt.fileio.scannet_layout`)::

    <data_root>/<scene>/color/<i>.jpg        colour (1296x968 in ScanNet)
    <data_root>/<scene>/depth/<i>.png        uint16 mm, 0 = no depth (640x480)
    <data_root>/<scene>/pose/<i>.txt         4x4 camera-to-world (-inf = tracking lost)
    <data_root>/<scene>/intrinsic/intrinsic_depth.txt

One sample = one frame.  The colour image is resized to the depth resolution and the
depth intrinsics are used for both (docs/methods/ppkt.md, 'Colour and depth alignment'),
so depth pixel (row, col) is colour
pixel (row, col); the loading itself is done by the ``LoadRGBDFrame`` transform, the
first step of the pipeline (see :mod:`crosspt.datasets.transforms.rgbd_transforms`).

Invalid frames (docs/methods/ppkt.md, 'Invalid frames') are found when the index is
built: a pose with -inf/inf
entries (only in world coordinates; camera coordinates do not use the pose) and a depth
map with fewer than ``min_valid_pixels`` valid pixels (read at index time when
``check_depth_at_init``).  ``invalid_frames='skip'`` drops them, records their paths in
``self.rejected`` and logs one summary line (one DEBUG line per scene);
``invalid_frames='error'`` raises ValueError naming the first bad file.
"""
import logging
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from crosspt.fileio.scannet_layout import (frame_ids, frame_path, read_depth, read_intrinsics,
                                           read_matrix)
from crosspt.registry import DATASETS

from .auto_generate import AutoGenerateMixin
from .packing import PackedDataListMixin
from .transforms.builder import build_transforms

from .transforms.rgbd_transforms import COORDINATES, valid_depth_mask

INVALID_POLICIES = ('skip', 'error')
#: paths listed per kind in the summary log line (all of them are in ``self.rejected``)
LOG_PATHS = 3


def _log(message: str, level: int = logging.INFO) -> None:
    """Log through mmengine's current MMLogger."""
    print_log(message, logger='current', level=level)


def _depth_image_size(path: str) -> Tuple[int, int]:
    """(H, W) of a depth PNG from its header only."""
    from PIL import Image

    if not os.path.isfile(path):
        raise FileNotFoundError(f'missing image {path}')
    try:
        with Image.open(path) as image:
            width, height = image.size
    except Exception as err:  # PIL raises several types for broken files
        raise ValueError(f'{path}: cannot decode image ({err})') from None
    return height, width


@DATASETS.register_module()
class ScanNetFramesDataset(PackedDataListMixin, AutoGenerateMixin, BaseDataset):
    """ScanNet RGB-D frames (every ``frame_skip``-th) as PPKT pre-training samples.

    Data info per frame (consumed by ``LoadRGBDFrame``): ``sample_idx``, ``scene`` (str),
    ``frame`` (int index in the ``.sens`` stream), ``img_path``, ``depth_path``,
    ``pose_path``, ``intrinsic`` (3, 3) float64 (depth intrinsics), ``pose`` (4, 4)
    float64 camera-to-world (may hold -inf in camera mode), ``coordinate``,
    ``depth_scale``, ``min_depth``, ``max_depth``, ``depth_size`` (H, W).

    Args:
        data_root: folder holding the scene folders.
        scenes: None = every sub-folder with a ``color/`` folder (sorted); a list of scene
            names; or the path of a split file (one scene per line, blank lines and
            ``#`` comments ignored), absolute/relative to the working directory or to
            ``data_root``.
        frame_skip: keep frames whose index is a multiple of it.  PPKT uses every 25th
            frame (docs/methods/ppkt.md, 'ScanNet frames'): a converter run with skip 25 writes
            exactly those (all
            kept); a raw every-frame extraction keeps every 25th.
        coordinate: 'world' (points in ScanNet world coordinates, +z up, through the
            camera-to-world pose; crosspt's default) or 'camera' (camera frame, pose
            unused).  Which one PPKT used is [UNVERIFIED] (docs/methods/ppkt.md,
            'Back-projection').
        depth_scale: raw depth units per metre (ScanNet: 1000, millimetres).
        min_depth, max_depth: metres; depth outside is treated as invalid (no point).
            PPKT's range filtering is [UNVERIFIED]; the defaults 0.1 / 10 m only remove
            impossible readings of ScanNet's sensor.  None disables a bound.
        invalid_frames: 'skip' (drop and log) or 'error' (raise ValueError naming the
            file) for -inf poses (world mode) and empty depth maps.
        check_depth_at_init: read every depth PNG when the index is built to find empty
            ones (cheap for small data; minutes for all ~100k ScanNet frames).  When
            False an empty frame raises ValueError naming its depth file at load time.
        min_valid_pixels: a depth map with fewer valid pixels counts as empty.
        depth_size: (H, W) every depth map must have; None = the size of each scene's
            first kept frame.  A depth of another size raises ValueError naming it.
        max_frames: stop indexing after this many usable frames (tiny runs; the
            rejection counts then cover the scanned frames only).
        auto_generate: if given, call ``crosspt.synthetic.scannet_frames.
            generate_synthetic_scannet_frames(data_root, **auto_generate)`` (found by its
            ``FUNCTIONS`` name) first when the
            data is missing or is synthetic (it then only checks the parameters; real data
            is never touched); rank 0 first, the other ranks after a barrier.
        pipeline: transform configs (crosspt TRANSFORMS) or callables, starting with
            ``dict(type='LoadRGBDFrame')``.
        **kwargs: ``BaseDataset`` arguments (``test_mode``, ``indices``, ``lazy_init``...).

    Attributes:
        rejected: ``{'invalid_pose': [pose paths], 'empty_depth': [depth paths]}``.
        num_scanned: frames examined (after ``frame_skip``).
    Raises:
        FileNotFoundError: missing data_root, scene folder, split file, or a scene's
            ``intrinsic/intrinsic_depth.txt``, pose or depth file (the path is named).
        ValueError: bad arguments, bad files (named), or no usable frame under data_root.
    """

    METAINFO: dict = dict(dataset_name='ScanNet RGB-D frames (PPKT)')
    GENERATOR = 'generate_synthetic_scannet_frames'

    def __init__(self, data_root: str, scenes: Union[None, str, Sequence[str]] = None,
                 frame_skip: int = 25, coordinate: str = 'world', depth_scale: float = 1000.0,
                 min_depth: Optional[float] = 0.1, max_depth: Optional[float] = 10.0,
                 invalid_frames: str = 'skip', check_depth_at_init: bool = True,
                 min_valid_pixels: int = 1, depth_size: Optional[Sequence[int]] = None,
                 max_frames: Optional[int] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 auto_generate: Optional[dict] = None, **kwargs) -> None:
        owner = type(self).__name__
        if not data_root:
            raise ValueError(f'{owner}: data_root must be a non-empty path')
        if isinstance(frame_skip, bool) or not isinstance(frame_skip, int) or frame_skip < 1:
            raise ValueError(f'{owner}: frame_skip must be a positive int, got {frame_skip!r}')
        if coordinate not in COORDINATES:
            raise ValueError(f'{owner}: coordinate must be one of {COORDINATES}, '
                             f'got {coordinate!r}')
        if invalid_frames not in INVALID_POLICIES:
            raise ValueError(f'{owner}: invalid_frames must be one of {INVALID_POLICIES}, '
                             f'got {invalid_frames!r}')
        if not isinstance(depth_scale, (int, float)) or not depth_scale > 0:
            raise ValueError(f'{owner}: depth_scale must be > 0, got {depth_scale!r}')
        for name, value in (('min_depth', min_depth), ('max_depth', max_depth)):
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f'{owner}: {name} must be None or a number >= 0, '
                                 f'got {value!r}')
        if min_depth is not None and max_depth is not None and max_depth <= min_depth:
            raise ValueError(f'{owner}: max_depth ({max_depth}) must exceed min_depth '
                             f'({min_depth})')
        if isinstance(min_valid_pixels, bool) or not isinstance(min_valid_pixels, int) \
                or min_valid_pixels < 1:
            raise ValueError(f'{owner}: min_valid_pixels must be a positive int, '
                             f'got {min_valid_pixels!r}')
        if depth_size is not None:
            if len(depth_size) != 2 or not all(isinstance(v, int) and v > 0
                                               for v in depth_size):
                raise ValueError(f'{owner}: depth_size must be (H, W) positive ints, '
                                 f'got {depth_size!r}')
            depth_size = (int(depth_size[0]), int(depth_size[1]))
        if max_frames is not None and (isinstance(max_frames, bool)
                                       or not isinstance(max_frames, int) or max_frames < 1):
            raise ValueError(f'{owner}: max_frames must be None or a positive int, '
                             f'got {max_frames!r}')
        if scenes is not None and not isinstance(scenes, (str, os.PathLike)):
            scenes = [str(s) for s in scenes]
        self.scenes = scenes
        self.frame_skip = frame_skip
        self.coordinate = coordinate
        self.depth_scale = float(depth_scale)
        self.min_depth = None if min_depth is None else float(min_depth)
        self.max_depth = None if max_depth is None else float(max_depth)
        self.invalid_frames = invalid_frames
        self.check_depth_at_init = bool(check_depth_at_init)
        self.min_valid_pixels = min_valid_pixels
        self.depth_size = depth_size
        self.max_frames = max_frames
        self._init_auto_generate(auto_generate)
        self.rejected: Dict[str, List[str]] = {'invalid_pose': [], 'empty_depth': []}
        self.num_scanned = 0
        super().__init__(data_root=os.fspath(data_root), pipeline=build_transforms(pipeline),
                         **kwargs)

    # ------------------------------------------------------------------ scenes
    def _scene_names(self) -> List[str]:
        """Scene folder names to index, checked to exist."""
        owner = type(self).__name__
        root = self.data_root
        if not os.path.isdir(root):
            raise FileNotFoundError(f'{owner}: data_root does not exist: {root}')
        if self.scenes is None:
            names = sorted(name for name in os.listdir(root)
                           if os.path.isdir(os.path.join(root, name, 'color')))
            if not names:
                raise FileNotFoundError(f'{owner}: no scene folder with a color/ folder in '
                                        f'{root}')
            return names
        if isinstance(self.scenes, (str, os.PathLike)):
            split = os.fspath(self.scenes)
            tried = [split] if os.path.isabs(split) else [split, os.path.join(root, split)]
            path = next((p for p in tried if os.path.isfile(p)), None)
            if path is None:
                raise FileNotFoundError(f'{owner}: scene split file not found: '
                                        f'{" or ".join(tried)}')
            with open(path) as handle:
                names = [line.split('#', 1)[0].strip() for line in handle]
            names = [name for name in names if name]
            if not names:
                raise ValueError(f'{owner}: scene split file {path} lists no scene')
        else:
            names = list(self.scenes)
            if not names:
                raise ValueError(f'{owner}: scenes is an empty list')
        for name in names:
            scene_dir = os.path.join(root, name)
            if not os.path.isdir(os.path.join(scene_dir, 'color')):
                raise FileNotFoundError(f'{owner}: scene {name!r} has no colour folder '
                                        f'{os.path.join(scene_dir, "color")}')
        return names

    def _intrinsic(self, scene_dir: str) -> np.ndarray:
        """3x3 depth intrinsics of a scene; errors name ``intrinsic_depth.txt``."""
        owner = type(self).__name__
        path = os.path.join(scene_dir, 'intrinsic', 'intrinsic_depth.txt')
        try:
            matrix = read_intrinsics(scene_dir, 'depth')
        except FileNotFoundError:
            raise FileNotFoundError(
                f'{owner}: missing {path}: the depth intrinsics are needed to back-project '
                f'the depth maps (export them with the ScanNet reader\'s '
                f'--export_intrinsics)') from None
        k = matrix[:3, :3]
        if not np.isfinite(k).all() or k[0, 0] <= 0 or k[1, 1] <= 0:
            raise ValueError(f'{owner}: {path}: depth intrinsics must be finite with '
                             f'fx, fy > 0, got\n{matrix}')
        return k.copy()

    def _reject(self, kind: str, path: str, reason: str) -> None:
        if self.invalid_frames == 'error':
            raise ValueError(f'{type(self).__name__}: {path}: {reason} (pass '
                             f"invalid_frames='skip' to drop such frames)")
        self.rejected[kind].append(path)

    def _summary(self, invalid: List[str], empty: List[str], scanned: int) -> str:
        """'rejected 3 of 120 frames: 2 with -inf pose (a, b), 1 with empty depth (c)'."""
        def listing(paths: List[str]) -> str:
            shown = [os.path.relpath(p, self.data_root) for p in paths[:LOG_PATHS]]
            more = f', ... (+{len(paths) - LOG_PATHS} more)' if len(paths) > LOG_PATHS else ''
            return ', '.join(shown) + more

        parts = []
        if invalid:
            parts.append(f'{len(invalid)} with -inf pose ({listing(invalid)})')
        if empty:
            parts.append(f'{len(empty)} with empty depth ({listing(empty)})')
        return f'rejected {len(invalid) + len(empty)} of {scanned} frames: ' + ', '.join(parts)

    # ------------------------------------------------------------------ index
    def load_data_list(self) -> List[dict]:
        """One data info per usable frame (see the class docstring)."""
        owner = type(self).__name__
        self._maybe_generate()
        self.rejected = {'invalid_pose': [], 'empty_depth': []}
        self.num_scanned = 0
        data_list: List[dict] = []
        stopped = False
        for scene in self._scene_names():
            if self.max_frames is not None and len(data_list) >= self.max_frames:
                stopped = True
                break
            scene_dir = os.path.join(self.data_root, scene)
            frames = [f for f in frame_ids(scene_dir) if f % self.frame_skip == 0]
            if not frames:
                continue
            intrinsic = self._intrinsic(scene_dir)
            size = self.depth_size or _depth_image_size(frame_path(scene_dir, 'depth',
                                                                   frames[0]))
            before = {k: len(v) for k, v in self.rejected.items()}
            scanned = 0
            for frame in frames:
                if self.max_frames is not None and len(data_list) >= self.max_frames:
                    stopped = True
                    break
                scanned += 1
                pose_path = frame_path(scene_dir, 'pose', frame)
                depth_path = frame_path(scene_dir, 'depth', frame)
                pose = read_matrix(pose_path)
                if self.coordinate == 'world' and not np.isfinite(pose).all():
                    self._reject('invalid_pose', pose_path,
                                 'pose has -inf/inf entries (ScanNet marks frames with lost '
                                 'tracking this way); world coordinates need it')
                    continue
                if self.check_depth_at_init:
                    depth = read_depth(depth_path, expected_size=size)
                    valid = valid_depth_mask(depth, self.depth_scale, self.min_depth,
                                             self.max_depth)
                    if int(valid.sum()) < self.min_valid_pixels:
                        self._reject('empty_depth', depth_path,
                                     f'depth has {int(valid.sum())} valid pixels (> 0 and '
                                     f'within {self.min_depth}..{self.max_depth} m), fewer '
                                     f'than min_valid_pixels={self.min_valid_pixels}')
                        continue
                elif not os.path.isfile(depth_path):
                    raise FileNotFoundError(f'{owner}: missing depth file {depth_path}')
                data_list.append(dict(
                    sample_idx=len(data_list), scene=scene, frame=frame,
                    img_path=frame_path(scene_dir, 'color', frame), depth_path=depth_path,
                    pose_path=pose_path, intrinsic=intrinsic, pose=pose,
                    coordinate=self.coordinate, depth_scale=self.depth_scale,
                    min_depth=self.min_depth, max_depth=self.max_depth, depth_size=size))
            self.num_scanned += scanned
            invalid = self.rejected['invalid_pose'][before['invalid_pose']:]
            empty = self.rejected['empty_depth'][before['empty_depth']:]
            if invalid or empty:
                _log(f'{owner}: {scene}: {self._summary(invalid, empty, scanned)}',
                     logging.DEBUG)
            if stopped:
                break
        invalid, empty = self.rejected['invalid_pose'], self.rejected['empty_depth']
        if invalid or empty:
            _log(f'{owner}: {self._summary(invalid, empty, self.num_scanned)} under '
                 f'{self.data_root}')
        if stopped:
            _log(f'{owner}: stopped indexing at max_frames={self.max_frames} frames')
        if not data_list:
            raise ValueError(
                f'{owner}: no usable frame under {self.data_root} ({self.num_scanned} frames '
                f'with index % {self.frame_skip} == 0 scanned; {len(invalid)} with -inf pose, '
                f'{len(empty)} with empty depth)')
        return data_list

    def __repr__(self) -> str:
        head = (f'{type(self).__name__}(data_root={self.data_root!r}, '
                f'frame_skip={self.frame_skip}, coordinate={self.coordinate!r}')
        size = f', num_frames={len(self)}' if self._fully_initialized else ''
        return f'{head}{size})'
