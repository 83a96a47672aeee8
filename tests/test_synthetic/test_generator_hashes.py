"""Byte-identical outputs of every embedded synthetic-data generator.

Each generator runs at small parameters into ``tmp_path``; every file it writes (the
``synthetic_info.json`` marker included: it carries no time stamp or absolute path, and
the ``.sens`` time stamps are frame index x 33,333 us, not the clock) is hashed as
sha256 over the sorted ``relative path, NUL, size, NUL, bytes`` records, so a change of
any output byte, file name or file count fails here. The ``<root>.lock`` file sits beside
the folder, outside it, and is not hashed. Nothing inside the folder is excluded.

All digests were re-recorded on 2026-12-03, when the generators stopped using BLAS (and
numpy's CPU-dispatched float32 ``log`` and float64 ``arctan2`` loops; modelnet40,
scanobjectnn, scannet_frames and sunrgbd came out as recorded on the Haswell-kernel machine,
the other six changed). Until then numpy's ``@`` / ``dot`` / ``linalg`` ran on OpenBLAS,
whose kernels are chosen per CPU and round differently, so the output bytes depended on the
machine (the earlier digests,
recorded before the issue-16 move and, for s3dis and sunrgbd, in issue 17, held only on
CPUs given the recording machine's kernels, e.g. ``OPENBLAS_CORETYPE=Haswell``); they are
gone for that reason. The generators now compute with
:mod:`crosspt.synthetic.exact_math` (elementwise multiplies and adds in a fixed order), and
the last test checks a few of them with other OpenBLAS and numpy SIMD kernels.
"""
import hashlib
import importlib
import json
import os
import platform
import subprocess
import sys

import pytest

import crosspt

#: name -> (module, function, kwargs, number of files, sha256 of the folder)
GENERATORS = {
    'shapenet55': (
        'crosspt.synthetic.shapenet55', 'generate_synthetic_shapenet55',
        dict(num_train=1, num_val=1, num_test=1, num_points=64, image_size=16,
             progress=False), 43,
        '651fa751ad8b968c0bc82d63b1c0698b70b739b292e9a7b55f11169cec8a94ee'),
    'scanobjectnn': (
        'crosspt.synthetic.objects', 'generate_synthetic_scanobjectnn',
        dict(num_train_per_class=1, num_test_per_class=1, seed=3), 7,
        '4913ceb38ec83290f58bb9d89ca3963244aa4a30bcca88b358016bbe735a9c2e'),
    'modelnet40': (
        'crosspt.synthetic.objects', 'generate_synthetic_modelnet40',
        dict(num_train_per_class=1, num_test_per_class=1, seed=1, normal_rows=40), 25,
        '6dba489da6a12de656a22854c055b62a9f6909ff1dcc52f4807fc9a9f29a89c4'),
    'shapenetpart': (
        'crosspt.synthetic.objects', 'generate_synthetic_shapenetpart',
        dict(num_train_per_class=1, num_val_per_class=1, num_test_per_class=1,
             min_points=30, max_points=40), 20,
        'c07d6c43fea3c877a5e6ab46e400a2a8d3339643ba80f14458597a019576d93b'),
    'fewshot': (
        'crosspt.synthetic.objects', 'generate_synthetic_fewshot',
        dict(ways=(2, 3), shots=(1,), num_folds=2, num_points=16, num_train_per_class=2,
             num_test_per_class=1, normal_rows=20), 5,
        '31ccb8d2890bcedcfff6e67b45cab9607f93fa6a41cdead840223a4ba1fd37ac'),
    'objects': (
        'crosspt.synthetic.objects', 'generate_synthetic_objects',
        dict(num_train_per_class=1, num_test_per_class=1, fewshot_ways=(2,),
             fewshot_shots=(1,), fewshot_folds=1), 148,
        '88b34eead8c4c42e0d8eb59be8ff2560b4593cfdd9176f302e65e30ecd6b8397'),
    'scannet_frames': (
        'crosspt.synthetic.scannet_frames', 'generate_synthetic_scannet_frames',
        dict(num_scenes=2, frames_per_scene=2, frame_step=2, depth_size=(12, 16),
             color_size=(18, 24), write_sens=True, progress=False), 31,
        '3cf80e64f7c34d72170f55a4a822f56ac703aa13210c010d8f7aa761ac586ce7'),
    'scannet_mmdet3d': (
        'crosspt.synthetic.scannet_mmdet3d', 'generate_synthetic_scannet_mmdet3d',
        dict(num_scenes=2, num_val_scenes=1, num_points=600, num_points_per_sample=500),
        16,
        'f6ec3e9aeb6b9934d4b56c29604c324bfbafe37c3582c44b202625f84f8c3c00'),
    's3dis_mmdet3d': (
        'crosspt.synthetic.s3dis_mmdet3d', 'generate_synthetic_s3dis_mmdet3d',
        dict(num_areas=5, rooms_per_area=1, num_points=300, num_points_per_sample=100), 31,
        '1de87cac7fcd2fb83274619417664af5cab3c4e28cd1bb186797649fae10946f'),
    'sunrgbd_mmdet3d': (
        'crosspt.synthetic.sunrgbd_mmdet3d', 'generate_synthetic_sunrgbd_mmdet3d',
        dict(num_scenes=2, num_val_scenes=1, num_points=600), 6,
        'bcd479f451c21e17e812c0ba9b6873c9d5d480b2eb570dea524773ff45cd1241'),
}


def folder_digest(root: str) -> tuple:
    """(number of files, sha256 hex) over the sorted (relative path, size, bytes) of
    every file below ``root``."""
    paths = sorted(os.path.relpath(os.path.join(folder, name), root)
                   for folder, _, names in os.walk(root) for name in names)
    digest = hashlib.sha256()
    for rel in paths:
        with open(os.path.join(root, rel), 'rb') as f:
            data = f.read()
        digest.update(f'{rel}\0{len(data)}\0'.encode())
        digest.update(data)
    return len(paths), digest.hexdigest()


def test_folder_digest_sees_names_and_bytes(tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'a' / 'x.bin').write_bytes(b'12')
    base = folder_digest(tmp_path)
    (tmp_path / 'a' / 'x.bin').write_bytes(b'13')
    changed = folder_digest(tmp_path)
    (tmp_path / 'a' / 'x.bin').rename(tmp_path / 'a' / 'y.bin')
    renamed = folder_digest(tmp_path)
    assert base[0] == changed[0] == renamed[0] == 1
    assert len({base[1], changed[1], renamed[1]}) == 3


@pytest.mark.parametrize('name', sorted(GENERATORS))
def test_generator_output_is_byte_identical(name, tmp_path):
    module, function, kwargs, count, sha = GENERATORS[name]
    generate = getattr(importlib.import_module(module), function)
    root = tmp_path / name
    generate(root, **kwargs)
    assert folder_digest(str(root)) == (count, sha)


#: another CPU's kernels: OpenBLAS's Prescott (SSE3, no FMA) kernels and numpy without its
#: AVX2 / AVX-512 loops (X86_V3 too: numpy's float32 ``log`` differs without AVX2)
FOREIGN_CPU = {'OPENBLAS_CORETYPE': 'Prescott',
               'NPY_DISABLE_CPU_FEATURES': 'X86_V3 X86_V4 AVX512_ICL'}
#: cheap generators whose bytes depended on the OpenBLAS kernels before 2026-12-03
CPU_SENSITIVE = ('shapenetpart', 'scannet_mmdet3d', 'sunrgbd_mmdet3d')
_CHILD = """
import importlib, importlib.util, json, os, sys, tempfile
from numpy._core._multiarray_umath import __cpu_features__
spec = importlib.util.spec_from_file_location('hashes', sys.argv[1])
hashes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hashes)
out = {'simd': [__cpu_features__.get(k) for k in ('X86_V3', 'X86_V4', 'AVX512_SKX')]}
with tempfile.TemporaryDirectory() as tmp:
    for name in sys.argv[2:]:
        module, function, kwargs, _, _ = hashes.GENERATORS[name]
        getattr(importlib.import_module(module), function)(os.path.join(tmp, name), **kwargs)
        out[name] = list(hashes.folder_digest(os.path.join(tmp, name)))
print(json.dumps(out))
"""


@pytest.mark.skipif(platform.machine().lower() not in ('x86_64', 'amd64'),
                    reason='OpenBLAS core types and numpy feature names of x86-64')
def test_digests_do_not_depend_on_the_cpu_kernels():
    """The recorded digests, in a child process running other OpenBLAS / numpy kernels."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(crosspt.__file__)))
    env = dict(os.environ, OMP_NUM_THREADS='1', **FOREIGN_CPU,
               PYTHONPATH=os.pathsep.join(filter(None, [repo, os.environ.get('PYTHONPATH')])))
    child = subprocess.run([sys.executable, '-c', _CHILD, os.path.abspath(__file__),
                            *CPU_SENSITIVE], env=env, capture_output=True, text=True,
                           timeout=300)
    assert child.returncode == 0, child.stderr
    out = json.loads(child.stdout.strip().splitlines()[-1])
    assert not any(out.pop('simd'))             # numpy's AVX2 / AVX-512 loops were off
    assert out == {name: [GENERATORS[name][3], GENERATORS[name][4]] for name in CPU_SENSITIVE}
