"""Synthetic RGB-D frames in the extracted ScanNet layout (PPKT pre-training,
docs/methods/ppkt.md, 'ScanNet frames'): the scenes of
:func:`crosspt.synthetic.room_planner.generate_scene`, seen along
:func:`crosspt.synthetic.cameras.camera_trajectory` and ray-cast by
:func:`crosspt.synthetic.scene_renderer.render_frame`.

Layout written by :func:`generate_synthetic_scannet_frames` (extracted ScanNet layout,
``crosspt.fileio.scannet_layout``)::

    <root>/scene%04d_00/color/<i>.jpg           (H_c, W_c) RGB JPEG, quality 95
    <root>/scene%04d_00/depth/<i>.png           16-bit PNG, millimetres, 0 = no depth
    <root>/scene%04d_00/pose/<i>.txt            4x4 camera-to-world (one frame all -inf)
    <root>/scene%04d_00/intrinsic/{intrinsic,extrinsic}_{color,depth}.txt  (extrinsics = I)
    <root>/scene%04d_00/label-filt/<i>.png      16-bit NYU40 ids at depth resolution
    <root>/scene%04d_00/instance-filt/<i>.png   16-bit instance ids at depth resolution
    <root>/scene%04d_00/scene%04d_00.sens       only with write_sens=True (every frame)
    <root>/synthetic_info.json

``i`` = 0, 25, 50, ... (``frame_step``): the camera trajectory has
``frames_per_scene * frame_step`` frames and every ``frame_step``-th is kept, as
PointContrast/PPKT keep every 25th ScanNet frame. Real ScanNet ``label-filt`` PNGs hold
ScanNet raw category ids (mapped to NYU40 through ``scannetv2-labels.combined.tsv``);
the synthetic set stores NYU40 ids directly, at depth resolution (the resolution of the
real label images is not checked here [UNVERIFIED]; ``read_label`` resizes with nearest
neighbour anyway). Matrices are written by ``format_matrix``: the shortest decimal of
each float32 value, which is also what the renderer used. With ``invalid_pose=True``
scene 0 has one frame (the middle kept frame) whose pose file is all ``-inf`` -- real
ScanNet marks frames without tracking this way (docs/methods/ppkt.md, 'Invalid frames');
its colour, depth and labels are still rendered from the true pose and written.

Generation is idempotent (same parameters and all files present: nothing is rewritten),
runs under an ``fcntl`` lock on ``<root>.lock``, builds in a temporary sibling folder
swapped into place, replaces only files of the ``synthetic_info.json`` manifest (a folder
holding any other file is refused: :func:`crosspt.fileio.atomic.write_dataset_once`), and
is byte-identical for the same parameters.
"""
import io
import os
import zlib
from typing import List, Sequence, Tuple, Union

import numpy as np

from crosspt.fileio.scannet_layout import (INTRINSIC_FILES, write_color, write_depth,
                                           write_label, write_matrix)

from .cameras import (DEFAULT_COLOR_SIZE, DEFAULT_DEPTH_SIZE, camera_trajectory, check_size,
                      default_intrinsics)
from .common import check_positive, generate_dataset, register
from .room_planner import generate_scene
from .scene_model import NYU40_CLASSES, Scene, SceneObject
from .scene_renderer import DEFAULT_MAX_DEPTH, render_frame

PathLike = Union[str, os.PathLike]
#: ``generator`` recorded in ``synthetic_info.json`` (the function's path before issue 16
#: moved it; kept so that existing folders stay complete and outputs byte-identical)
GENERATOR_ID = 'crosspt.datasets.synthetic_scenes.generate_synthetic_scannet_frames'

__all__ = ['write_scene_sens', 'generate_synthetic_scannet_frames']


def _jpeg_bytes(rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes identical to :func:`crosspt.fileio.scannet_layout.write_color`'s file."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format='JPEG', quality=quality)
    return buffer.getvalue()


def _sens_timestamp(index: int) -> int:
    return index * 33333  # microseconds at 30 fps


def write_scene_sens(scene: Scene, path: PathLike, num_frames: int,
                     depth_size: Tuple[int, int] = DEFAULT_DEPTH_SIZE,
                     color_size: Tuple[int, int] = DEFAULT_COLOR_SIZE,
                     invalid_pose_frames: Sequence[int] = (),
                     max_depth: float = DEFAULT_MAX_DEPTH, jpeg_quality: int = 95,
                     progress: bool = False) -> int:
    """Write every frame of ``camera_trajectory(scene, num_frames)`` as a ScanNet ``.sens``
    (version 4, JPEG colour, zlib_ushort depth, depth shift 1000, identity extrinsics,
    intrinsics from :func:`default_intrinsics`).

    Frame ``i`` equals frame ``i`` of :func:`generate_synthetic_scannet_frames` with
    ``frames_per_scene * frame_step == num_frames`` (same poses, depth and JPEG bytes),
    so extracting with frame skip ``frame_step`` reproduces that layout. Frames listed in
    ``invalid_pose_frames`` store an all ``-inf`` pose. Returns the frame count.
    """
    from crosspt.fileio.sens import SensFrame, SensHeader, write_sens

    depth_size = check_size('depth_size', depth_size)
    color_size = check_size('color_size', color_size)
    poses = camera_trajectory(scene, num_frames)
    bad = sorted(int(i) for i in invalid_pose_frames)
    if any(i < 0 or i >= num_frames for i in bad):
        raise ValueError(f'write_scene_sens({path}): invalid_pose_frames {bad} outside '
                         f'0..{num_frames - 1}')
    k_depth, k_color = default_intrinsics(depth_size, color_size)
    header = SensHeader('crosspt.synthetic_scenes', k_color.astype(np.float32),
                        np.eye(4, dtype=np.float32), k_depth.astype(np.float32),
                        np.eye(4, dtype=np.float32), color_size[1], color_size[0],
                        depth_size[1], depth_size[0], color_compression=2,
                        depth_compression=1, depth_shift=1000.0)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=num_frames, desc=f'{scene.name}.sens', unit='frame')

    def frames():
        for i, pose in enumerate(poses):
            out = render_frame(scene, pose, k_depth, depth_size, k_color, color_size,
                               max_depth)
            stored = np.full((4, 4), -np.inf, np.float32) if i in bad else pose
            yield SensFrame(np.asarray(stored, np.float32), _sens_timestamp(i),
                            _sens_timestamp(i), _jpeg_bytes(out['color'], jpeg_quality),
                            zlib.compress(out['depth'].astype('<u2').tobytes()))
            if bar is not None:
                bar.update(1)

    try:
        return write_sens(path, header, frames())
    finally:
        if bar is not None:
            bar.close()


def _write_scene_frames(scene: Scene, scene_dir: str, frames_per_scene: int, frame_step: int,
                        depth_size, color_size, invalid: Sequence[int], max_depth: float,
                        jpeg_quality: int, bar) -> List[int]:
    k_depth, k_color = default_intrinsics(depth_size, color_size)
    poses = camera_trajectory(scene, frames_per_scene * frame_step)
    for sub in ('color', 'depth', 'pose', 'intrinsic', 'label-filt', 'instance-filt'):
        os.makedirs(os.path.join(scene_dir, sub), exist_ok=True)
    for name in INTRINSIC_FILES:
        matrix = {'intrinsic_color': k_color, 'intrinsic_depth': k_depth}.get(name, np.eye(4))
        write_matrix(os.path.join(scene_dir, 'intrinsic', f'{name}.txt'), matrix)
    written = []
    for i in range(0, frames_per_scene * frame_step, frame_step):
        out = render_frame(scene, poses[i], k_depth, depth_size, k_color, color_size,
                           max_depth)
        write_color(os.path.join(scene_dir, 'color', f'{i}.jpg'), out['color'],
                    quality=jpeg_quality)
        write_depth(os.path.join(scene_dir, 'depth', f'{i}.png'), out['depth'])
        write_label(os.path.join(scene_dir, 'label-filt', f'{i}.png'), out['semantic'])
        write_label(os.path.join(scene_dir, 'instance-filt', f'{i}.png'), out['instance'])
        pose = np.full((4, 4), -np.inf) if i in invalid else poses[i]
        write_matrix(os.path.join(scene_dir, 'pose', f'{i}.txt'), pose)
        written.append(i)
        if bar is not None:
            bar.update(1)
    return written


def _object_info(o: SceneObject) -> dict:
    return {'instance': o.instance, 'label': o.label, 'name': o.name,
            'bbox': [float(v) for v in np.concatenate([o.centre, o.size])]}


@register
def generate_synthetic_scannet_frames(data_root: PathLike, num_scenes: int = 4,
                                      frames_per_scene: int = 12, seed: int = 0,
                                      frame_step: int = 25,
                                      depth_size: Tuple[int, int] = DEFAULT_DEPTH_SIZE,
                                      color_size: Tuple[int, int] = DEFAULT_COLOR_SIZE,
                                      invalid_pose: bool = True, write_sens: bool = False,
                                      max_depth: float = DEFAULT_MAX_DEPTH,
                                      jpeg_quality: int = 95,
                                      progress: bool = True) -> dict:
    """Write ``num_scenes`` synthetic scenes in the extracted ScanNet layout (module
    docstring).

    Args:
        data_root: output folder (one ``scene%04d_00`` folder per scene).
        num_scenes: scenes 0..num_scenes-1 (``generate_scene(seed, i)``).
        frames_per_scene: kept frames per scene, indices 0, frame_step, 2 frame_step, ...
        seed: base seed.
        frame_step: frame-index stride of the kept frames (ScanNet/PPKT: 25).
        depth_size, color_size: (H, W) of depth/labels and of colour.
        invalid_pose: scene 0's middle kept frame gets an all ``-inf`` pose file.
        write_sens: also write ``<scene>/<scene>.sens`` with all
            ``frames_per_scene * frame_step`` frames (slow: every frame is rendered).
        max_depth: metres; farther hits get depth 0 and label 0.
        jpeg_quality: colour JPEG quality.
        progress: tqdm bar over frames.
    Returns:
        the ``synthetic_info.json`` dict plus ``data_root`` and ``created``.
    """
    name = 'generate_synthetic_scannet_frames'
    check_positive(name, num_scenes=num_scenes, frames_per_scene=frames_per_scene,
                   frame_step=frame_step, jpeg_quality=jpeg_quality)
    depth_size = check_size('depth_size', depth_size)
    color_size = check_size('color_size', color_size)
    if not 0 < max_depth <= 65.535:
        raise ValueError(f'{name}: max_depth must be in (0, 65.535] m, got {max_depth}')
    params = {'seed': int(seed), 'num_scenes': int(num_scenes),
              'frames_per_scene': int(frames_per_scene), 'frame_step': int(frame_step),
              'depth_size': list(depth_size), 'color_size': list(color_size),
              'invalid_pose': bool(invalid_pose), 'write_sens': bool(write_sens),
              'max_depth': float(max_depth), 'jpeg_quality': int(jpeg_quality)}

    def write(tmp: str, bar) -> dict:
        k_depth, k_color = default_intrinsics(depth_size, color_size)
        middle = frame_step * (frames_per_scene // 2)
        scenes = {}
        for s in range(num_scenes):
            scene = generate_scene(seed, s)
            scene_dir = os.path.join(tmp, scene.name)
            invalid = [middle] if invalid_pose and s == 0 else []
            frames = _write_scene_frames(scene, scene_dir, frames_per_scene, frame_step,
                                         depth_size, color_size, invalid, max_depth,
                                         jpeg_quality, bar)
            if write_sens:
                write_scene_sens(scene, os.path.join(scene_dir, f'{scene.name}.sens'),
                                 frames_per_scene * frame_step, depth_size, color_size,
                                 invalid, max_depth, jpeg_quality)
            scenes[scene.name] = {
                'index': s, 'room_size': list(scene.size), 'frames': frames,
                'invalid_pose_frames': invalid,
                'objects': [_object_info(o) for o in scene.objects]}
        return {'format': 'extracted ScanNet layout: <scene>/color/<i>.jpg, '
                          'depth/<i>.png (uint16 mm), pose/<i>.txt (4x4 camera-to-world), '
                          'intrinsic/*.txt, label-filt/<i>.png (NYU40 ids), '
                          'instance-filt/<i>.png; z-up world, floor at z = 0',
                'class_map': {str(k): v for k, v in NYU40_CLASSES.items()},
                'intrinsic_depth': k_depth.tolist(), 'intrinsic_color': k_color.tolist(),
                'scenes': scenes}

    return generate_dataset(
        data_root, name, GENERATOR_ID, params, write,
        progress=dict(total=num_scenes * frames_per_scene, desc='synthetic scannet',
                      unit='frame') if progress else None)
