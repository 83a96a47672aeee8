"""ScanNet ``.sens`` (SensorData version 4) reading and writing.

Layout (little-endian): a header (version, sensor name, four 4x4 float32 camera matrices,
compression types, image sizes, depth shift, frame count), then per RGB-D frame a 4x4
float32 camera-to-world pose, colour and depth timestamps and byte sizes, and the
compressed colour and depth buffers. Frames are streamed one at a time; bytes after the
last RGB-D frame (IMU records appended by some writers) are not read. A frame that the
file cuts short is an error naming the file and the frame index.
"""
import io
import os
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator, Tuple, Union

import numpy as np

PathLike = Union[str, os.PathLike]

SENS_VERSION = 4
COLOR_COMPRESSION = {-1: 'unknown', 0: 'raw', 1: 'png', 2: 'jpeg'}
DEPTH_COMPRESSION = {-1: 'unknown', 0: 'raw_ushort', 1: 'zlib_ushort', 2: 'occi_ushort'}

_MATRICES = struct.Struct('<64f')  # intrinsic/extrinsic colour, intrinsic/extrinsic depth
_HEADER_TAIL = struct.Struct('<ii4IfQ')  # compressions, colour w/h, depth w/h, shift, frames
_FRAME_HEAD = struct.Struct('<16f4Q')  # pose, timestamps colour/depth, sizes colour/depth


@dataclass(eq=False)
class SensHeader:
    """Header of a ``.sens`` file; matrices are (4, 4) float32.

    ``num_frames`` is the count stored in the file; :func:`write_sens` replaces it with
    the number of frames actually written.
    """
    sensor_name: str
    intrinsic_color: np.ndarray
    extrinsic_color: np.ndarray
    intrinsic_depth: np.ndarray
    extrinsic_depth: np.ndarray
    color_width: int
    color_height: int
    depth_width: int
    depth_height: int
    color_compression: int = 2
    depth_compression: int = 1
    depth_shift: float = 1000.0
    num_frames: int = 0
    version: int = SENS_VERSION

    @property
    def color_compression_name(self) -> str:
        return COLOR_COMPRESSION.get(self.color_compression, f'invalid ({self.color_compression})')

    @property
    def depth_compression_name(self) -> str:
        return DEPTH_COMPRESSION.get(self.depth_compression, f'invalid ({self.depth_compression})')


@dataclass(eq=False)
class SensFrame:
    """One RGB-D frame: ``camera_to_world`` (4, 4) float32 and the compressed buffers.

    ``index`` is the frame's position in the file (set by :func:`read_sens`, ignored by
    :func:`write_sens`).
    """
    camera_to_world: np.ndarray
    timestamp_color: int
    timestamp_depth: int
    color_data: bytes
    depth_data: bytes
    index: int = -1


def _read_exact(handle: BinaryIO, size: int, path: str, what: str) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise ValueError(f'truncated .sens file {path}: {what} needs {size} bytes, '
                         f'only {len(data)} left')
    return data


def _read_header(handle: BinaryIO, path: str, file_size: int) -> SensHeader:
    (version,) = struct.unpack('<I', _read_exact(handle, 4, path, 'header (version)'))
    if version != SENS_VERSION:
        raise ValueError(f'.sens file {path}: version {version}, expected {SENS_VERSION}')
    (name_len,) = struct.unpack('<Q', _read_exact(handle, 8, path, 'header (name length)'))
    if name_len > file_size:
        raise ValueError(f'truncated .sens file {path}: header sensor name of {name_len} bytes '
                         f'exceeds the file size ({file_size} bytes)')
    name = _read_exact(handle, name_len, path, 'header (sensor name)')
    mats = np.array(_MATRICES.unpack(_read_exact(handle, _MATRICES.size, path,
                                                 'header (camera matrices)')), np.float32)
    mats = mats.reshape(4, 4, 4)
    c_comp, d_comp, c_w, c_h, d_w, d_h, shift, num = _HEADER_TAIL.unpack(
        _read_exact(handle, _HEADER_TAIL.size, path, 'header (sizes)'))
    if c_comp not in COLOR_COMPRESSION:
        raise ValueError(f'.sens file {path}: unknown colour compression type {c_comp} '
                         f'(known: {COLOR_COMPRESSION})')
    if d_comp not in DEPTH_COMPRESSION:
        raise ValueError(f'.sens file {path}: unknown depth compression type {d_comp} '
                         f'(known: {DEPTH_COMPRESSION})')
    return SensHeader(name.decode('utf-8', 'surrogateescape'), mats[0], mats[1], mats[2],
                      mats[3], c_w, c_h, d_w, d_h, c_comp, d_comp, shift, num, version)


def _iter_frames(path: str, header: SensHeader, offset: int,
                 frame_skip: int) -> Iterator[SensFrame]:
    with open(path, 'rb') as handle:
        file_size = os.fstat(handle.fileno()).st_size
        handle.seek(offset)
        for i in range(header.num_frames):
            head = handle.read(_FRAME_HEAD.size)
            if len(head) != _FRAME_HEAD.size:
                raise ValueError(f'truncated .sens file {path}: frame {i} of '
                                 f'{header.num_frames} is cut short in its frame header')
            values = _FRAME_HEAD.unpack(head)
            t_color, t_depth, c_size, d_size = values[16:]
            end = handle.tell() + c_size + d_size
            if end > file_size:
                raise ValueError(f'truncated .sens file {path}: frame {i} of {header.num_frames} '
                                 f'needs {end} bytes, the file has {file_size}')
            if i % frame_skip:
                handle.seek(end)
                continue
            color = handle.read(c_size)
            depth = handle.read(d_size)
            pose = np.array(values[:16], np.float32).reshape(4, 4)
            yield SensFrame(pose, t_color, t_depth, color, depth, i)


def read_sens(path: PathLike, frame_skip: int = 1) -> Tuple[SensHeader, Iterator[SensFrame]]:
    """Read the header of a ``.sens`` file and return a lazy iterator over its frames.

    Args:
        path: the ``.sens`` file.
        frame_skip: yield only frames ``0, k, 2k, ...``; the others are seeked over
            (their sizes are still checked against the file).
    Returns:
        ``(header, frames)``; ``frames`` reopens the file and yields one
        :class:`SensFrame` at a time (``index`` = position in the file).
    Raises:
        FileNotFoundError: no such file.
        ValueError: wrong version, unknown compression type, truncated header (now) or
            truncated frame (while iterating), each naming the file (and frame).
    """
    path = os.fspath(path)
    if frame_skip < 1:
        raise ValueError(f'read_sens({path}): frame_skip must be >= 1, got {frame_skip}')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'.sens file not found: {path}')
    with open(path, 'rb') as handle:
        header = _read_header(handle, path, os.fstat(handle.fileno()).st_size)
        offset = handle.tell()
    return header, _iter_frames(path, header, offset, frame_skip)


def _matrix(value: np.ndarray, name: str, path: str) -> bytes:
    value = np.asarray(value, dtype=np.float32)
    if value.shape != (4, 4):
        raise ValueError(f'write_sens({path}): {name} must be (4, 4), got {value.shape}')
    return value.astype('<f4').tobytes()


def write_sens(path: PathLike, header: SensHeader, frames: Iterable[SensFrame]) -> int:
    """Write a version-4 ``.sens`` file (no IMU records); returns the number of frames.

    The buffers are written as given (already compressed as ``header`` declares). The
    stored frame count is the number of frames written. The file is written under a
    temporary name and renamed into place.
    """
    path = os.fspath(path)
    name = header.sensor_name.encode('utf-8', 'surrogateescape')
    tmp = f'{path}.tmp-{os.getpid()}'
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    count = 0
    try:
        with open(tmp, 'wb') as handle:
            handle.write(struct.pack('<IQ', header.version, len(name)) + name)
            for key in ('intrinsic_color', 'extrinsic_color', 'intrinsic_depth',
                        'extrinsic_depth'):
                handle.write(_matrix(getattr(header, key), key, path))
            handle.write(struct.pack('<ii4If', header.color_compression,
                                     header.depth_compression, header.color_width,
                                     header.color_height, header.depth_width,
                                     header.depth_height, header.depth_shift))
            count_pos = handle.tell()
            handle.write(struct.pack('<Q', 0))
            for frame in frames:
                handle.write(_matrix(frame.camera_to_world, f'frame {count} camera_to_world',
                                     path))
                handle.write(struct.pack('<4Q', frame.timestamp_color, frame.timestamp_depth,
                                         len(frame.color_data), len(frame.depth_data)))
                handle.write(frame.color_data)
                handle.write(frame.depth_data)
                count += 1
            handle.seek(count_pos)
            handle.write(struct.pack('<Q', count))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return count


def decode_color(data: bytes, compression: int, width: int, height: int,
                 where: str = 'colour data') -> np.ndarray:
    """Decode a colour buffer (jpeg/png via Pillow, or raw RGB) to (H, W, 3) uint8.

    ``where`` (e.g. ``'scene.sens frame 3'``) prefixes error messages.
    """
    name = COLOR_COMPRESSION.get(compression, f'invalid ({compression})')
    if name == 'raw':
        if len(data) != width * height * 3:
            raise ValueError(f'{where}: raw colour buffer has {len(data)} bytes, expected '
                             f'{height}x{width}x3 = {width * height * 3}')
        return np.frombuffer(data, np.uint8).reshape(height, width, 3).copy()
    if name not in ('jpeg', 'png'):
        raise ValueError(f'{where}: unsupported colour compression {name!r} '
                         f'(supported: raw, png, jpeg)')
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as image:
            rgb = np.asarray(image.convert('RGB'))
    except Exception as exc:  # Pillow raises several exception types on corrupt images
        raise ValueError(f'{where}: cannot decode {name} colour image: {exc}') from exc
    if rgb.shape != (height, width, 3):
        raise ValueError(f'{where}: colour image is {rgb.shape[1]}x{rgb.shape[0]}, header says '
                         f'{width}x{height}')
    return rgb


def decode_depth(data: bytes, compression: int, width: int, height: int,
                 where: str = 'depth data') -> np.ndarray:
    """Decode a depth buffer (zlib_ushort or raw_ushort) to (H, W) uint16 (depth_shift units).

    ``where`` (e.g. ``'scene.sens frame 3'``) prefixes error messages.
    """
    name = DEPTH_COMPRESSION.get(compression, f'invalid ({compression})')
    if name == 'zlib_ushort':
        try:
            data = zlib.decompress(data)
        except zlib.error as exc:
            raise ValueError(f'{where}: cannot zlib-decompress depth: {exc}') from exc
    elif name != 'raw_ushort':
        raise ValueError(f'{where}: unsupported depth compression {name!r} '
                         f'(supported: raw_ushort, zlib_ushort)')
    if len(data) != width * height * 2:
        raise ValueError(f'{where}: depth buffer has {len(data)} bytes after decompression, '
                         f'expected {height}x{width}x2 = {width * height * 2}')
    return np.frombuffer(data, '<u2').reshape(height, width).astype(np.uint16)
