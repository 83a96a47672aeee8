"""crosspt.fileio.sens and tools/dataset_converters/scannet_sens.py.

The test file is assembled here byte by byte with ``struct`` from the public SensorData v4
layout (header, then per frame pose / timestamps / sizes / JPEG / zlib uint16 depth), not
with ``write_sens``.
"""
import importlib.util
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crosspt.fileio.sens import decode_color, decode_depth, read_sens, write_sens

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    'scannet_sens_tool', REPO / 'tools' / 'dataset_converters' / 'scannet_sens.py')
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)

NAME = b'StructureSensor'
CW, CH, DW, DH = 32, 24, 16, 12
INTR_COLOR = np.array([[1170.1875, 0, 647.75, 0], [0, 1170.1875, 483.75, 0],
                       [0, 0, 1, 0], [0, 0, 0, 1]], np.float32)
EXTR_COLOR = np.eye(4, dtype=np.float32)
INTR_DEPTH = np.array([[577.590698, 0, 318.905426, 0], [0, 578.729797, 242.683609, 0],
                       [0, 0, 1, 0], [0, 0, 0, 1]], np.float32)
EXTR_DEPTH = np.array([[1, 0, 0, 0.1], [0, 1, 0, -0.025], [0, 0, 1, 1e-3], [0, 0, 0, 1]],
                      np.float32)
# byte offsets in the header: version, then colour/depth compression after name + matrices
COLOR_COMP_AT = 4 + 8 + len(NAME) + 4 * 64
DEPTH_COMP_AT = COLOR_COMP_AT + 4


def make_pose(k: int) -> np.ndarray:
    if k == 2:
        return np.full((4, 4), -np.inf, np.float32)
    a = 0.3 + k / 3
    pose = np.array([[np.cos(a), -np.sin(a), 0, 1.1 + k], [np.sin(a), np.cos(a), 0, -2.2],
                     [0, 0, 1, 1 / 3], [0, 0, 0, 1]], np.float32)
    return pose


def make_depth(k: int) -> np.ndarray:
    depth = (np.arange(DH * DW).reshape(DH, DW) * 37 + 1000 * k).astype(np.uint16)
    depth[0, :3] = 0
    depth[-1, -1] = 65535
    return depth


def make_jpeg(k: int) -> bytes:
    yy, xx = np.mgrid[0:CH, 0:CW]
    rgb = np.stack([xx * 8, yy * 10, np.full_like(xx, 40 * k)], -1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, 'JPEG', quality=95)
    return buf.getvalue()


def sens_bytes(version=4, color_comp=2, depth_comp=1, depth_shift=1000.0, frames=3) -> bytes:
    out = struct.pack('<IQ', version, len(NAME)) + NAME
    for mat in (INTR_COLOR, EXTR_COLOR, INTR_DEPTH, EXTR_DEPTH):
        out += struct.pack('<16f', *mat.ravel())
    out += struct.pack('<iiIIIIfQ', color_comp, depth_comp, CW, CH, DW, DH, depth_shift, frames)
    for k in range(frames):
        jpeg = make_jpeg(k)
        depth = zlib.compress(make_depth(k).astype('<u2').tobytes())
        out += struct.pack('<16f', *make_pose(k).ravel())
        out += struct.pack('<QQQQ', 10 ** 9 + k, 2 * 10 ** 9 + k, len(jpeg), len(depth))
        out += jpeg + depth
    return out


def frame2_start(data: bytes) -> int:
    """Byte offset where frame 2 starts (walking the frame sizes)."""
    pos = COLOR_COMP_AT + 36
    for _ in range(2):
        c_size, d_size = struct.unpack_from('<QQ', data, pos + 64 + 16)
        pos += 96 + c_size + d_size
    return pos


@pytest.fixture
def sens_file(tmp_path):
    path = tmp_path / 'scans' / 'scene0000_00' / 'scene0000_00.sens'
    path.parent.mkdir(parents=True)
    path.write_bytes(sens_bytes())
    return path


def test_read_exact(sens_file):
    header, frames = read_sens(sens_file)
    assert header.version == 4 and header.sensor_name == NAME.decode()
    for key, ref in (('intrinsic_color', INTR_COLOR), ('extrinsic_color', EXTR_COLOR),
                     ('intrinsic_depth', INTR_DEPTH), ('extrinsic_depth', EXTR_DEPTH)):
        value = getattr(header, key)
        assert value.dtype == np.float32 and np.array_equal(value, ref), key
    assert (header.color_compression_name, header.depth_compression_name) == ('jpeg',
                                                                              'zlib_ushort')
    assert (header.color_width, header.color_height, header.depth_width,
            header.depth_height) == (CW, CH, DW, DH)
    assert header.depth_shift == 1000.0 and header.num_frames == 3
    frames = list(frames)
    assert [f.index for f in frames] == [0, 1, 2]
    for k, frame in enumerate(frames):
        assert np.array_equal(frame.camera_to_world, make_pose(k))
        assert (frame.timestamp_color, frame.timestamp_depth) == (10 ** 9 + k, 2 * 10 ** 9 + k)
        assert frame.color_data == make_jpeg(k)
        depth = decode_depth(frame.depth_data, header.depth_compression, DW, DH)
        assert depth.dtype == np.uint16 and np.array_equal(depth, make_depth(k))
        rgb = decode_color(frame.color_data, header.color_compression, CW, CH)
        assert rgb.shape == (CH, CW, 3) and rgb.dtype == np.uint8
        assert abs(int(rgb[5, 20, 0]) - 160) <= 6 and abs(int(rgb[20, 5, 1]) - 200) <= 6
    _, skipped = read_sens(sens_file, frame_skip=2)
    assert [f.index for f in skipped] == [0, 2]


def test_write_reproduces_bytes(sens_file, tmp_path):
    header, frames = read_sens(sens_file)
    out = tmp_path / 'copy.sens'
    assert write_sens(out, header, frames) == 3  # streamed straight from the reader
    assert out.read_bytes() == sens_file.read_bytes()


def test_converter_layout(sens_file, tmp_path, capsys):
    out = tmp_path / 'out'
    assert tool.main([str(sens_file.parent.parent), str(out), '--frame-skip', '2']) == 0
    scene = out / 'scene0000_00'
    assert sorted(os.listdir(out)) == ['scene0000_00']
    assert sorted(os.listdir(scene / 'color')) == ['0.jpg', '2.jpg']
    assert sorted(os.listdir(scene / 'depth')) == ['0.png', '2.png']
    assert sorted(os.listdir(scene / 'pose')) == ['0.txt', '2.txt']
    for k in (0, 2):
        assert (scene / 'color' / f'{k}.jpg').read_bytes() == make_jpeg(k)
        with Image.open(scene / 'depth' / f'{k}.png') as image:
            assert image.format == 'PNG' and image.mode == 'I;16'
            depth = np.array(image)
        assert np.array_equal(depth.astype(np.int64), make_depth(k).astype(np.int64))
        pose = np.loadtxt(scene / 'pose' / f'{k}.txt', dtype=np.float64)
        assert pose.shape == (4, 4)
        assert np.array_equal(pose.astype(np.float32), make_pose(k))
    assert (scene / 'pose' / '2.txt').read_text() == '-inf -inf -inf -inf\n' * 4
    for name, ref in (('intrinsic_color', INTR_COLOR), ('extrinsic_color', EXTR_COLOR),
                      ('intrinsic_depth', INTR_DEPTH), ('extrinsic_depth', EXTR_DEPTH)):
        value = np.loadtxt(scene / 'intrinsic' / f'{name}.txt')
        assert np.array_equal(value.astype(np.float32), ref), name
    assert (scene / 'intrinsic' / 'intrinsic_color.txt').read_text().startswith(
        '1170.1875 0 647.75 0\n')
    summary = capsys.readouterr().out
    assert 'scene0000_00: 3 frames in file, 2 written' in summary
    assert '1 written with non-finite pose' in summary and '0 with empty depth' in summary


def test_converter_rerun_replaces_only_its_own_files(sens_file, tmp_path):
    out = tmp_path / 'out'
    source = str(sens_file.parent.parent)
    assert tool.main([source, str(out), '--frame-skip', '2']) == 0
    scene = out / 'scene0000_00'
    assert tool.main([source, str(out), '--frame-skip', '2']) == 0  # same files again
    assert sorted(os.listdir(scene / 'color')) == ['0.jpg', '2.jpg']
    note = scene / 'color' / 'my_notes.txt'
    note.write_text('keep me')
    with pytest.raises(ValueError, match='my_notes.txt'):
        tool.main([source, str(out), '--frame-skip', '2'])
    assert note.read_text() == 'keep me'
    assert sorted(os.listdir(scene / 'pose')) == ['0.txt', '2.txt']


def test_depth_shift_rescaled():
    depth = np.array([[0, 5000, 12347]], np.uint16)
    assert tool.to_millimetres(depth, 5000.0).tolist() == [[0, 1000, 2469]]


def test_truncated(sens_file, tmp_path):
    data = sens_file.read_bytes()
    cut = frame2_start(data) + 200
    assert cut < len(data)
    sens_file.write_bytes(data[:cut])
    header, frames = read_sens(sens_file)
    assert next(frames).index == 0 and next(frames).index == 1
    with pytest.raises(ValueError, match=r'scene0000_00\.sens.*frame 2'):
        next(frames)
    out = tmp_path / 'out'
    with pytest.raises(ValueError, match=r'scene0000_00\.sens.*frame 2'):
        tool.main([str(sens_file), str(out), '--frame-skip', '2'])
    assert os.listdir(out) == []  # no half-written scene or temporary folder left
    sens_file.write_bytes(data[:COLOR_COMP_AT - 10])
    with pytest.raises(ValueError, match=r'truncated .sens file .*scene0000_00\.sens'):
        read_sens(sens_file)


def test_wrong_version(tmp_path):
    path = tmp_path / 'old.sens'
    path.write_bytes(sens_bytes(version=3))
    with pytest.raises(ValueError, match=r'old\.sens: version 3, expected 4'):
        read_sens(path)


def test_unsupported_compression(tmp_path):
    path = tmp_path / 'scene.sens'
    path.write_bytes(sens_bytes(depth_comp=2))
    header, frames = read_sens(path)
    with pytest.raises(ValueError, match='occi_ushort'):
        decode_depth(next(frames).depth_data, header.depth_compression, DW, DH)
    with pytest.raises(ValueError, match=r'scene\.sens.*occi_ushort'):
        tool.main([str(path), str(tmp_path / 'out')])
    path.write_bytes(sens_bytes(color_comp=1))
    with pytest.raises(ValueError, match=r"scene\.sens.*'png'"):
        tool.main([str(path), str(tmp_path / 'out')])
    path.write_bytes(sens_bytes(depth_comp=7))
    with pytest.raises(ValueError, match=r'scene\.sens: unknown depth compression type 7'):
        read_sens(path)


def test_bad_depth_size(sens_file, tmp_path):
    header, frames = read_sens(sens_file)
    frames = list(frames)
    frames[1].depth_data = zlib.compress(b'\0' * (DW * DH * 2 - 2))
    path = tmp_path / 'bad.sens'
    write_sens(path, header, frames)
    with pytest.raises(ValueError, match=r'bad\.sens frame 1: depth buffer has 382 bytes'):
        tool.main([str(path), str(tmp_path / 'out'), '--frame-skip', '1'])
