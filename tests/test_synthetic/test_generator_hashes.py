"""Byte-identical outputs of every embedded synthetic-data generator.

Each generator runs at small parameters into ``tmp_path``; every file it writes (the
``synthetic_info.json`` marker included: it carries no time stamp or absolute path, and
the ``.sens`` time stamps are frame index x 33,333 us, not the clock) is hashed as
sha256 over the sorted ``relative path, NUL, size, NUL, bytes`` records. The expected
digests were recorded from the generators as they stood before they moved from
``crosspt/datasets/`` to ``crosspt/synthetic/`` (issue 16), so a change of any output
byte, file name or file count fails here. The ``<root>.lock`` file sits beside the
folder, outside it, and is not hashed. Nothing inside the folder is excluded.
"""
import hashlib
import importlib
import os

import pytest

#: name -> (module, function, kwargs, number of files, sha256 of the folder)
GENERATORS = {
    'shapenet55': (
        'crosspt.synthetic.shapenet55', 'generate_synthetic_shapenet55',
        dict(num_train=1, num_val=1, num_test=1, num_points=64, image_size=16,
             progress=False), 43,
        '3afd35b0eaa418dd26164fc2ec84e7ab325397d6ffdc4fbf7b64314f2610f76e'),
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
        '1b60bd8a83dfedfacec4dd487450058fc6896db866c95d6b90624ae954aae5b4'),
    'fewshot': (
        'crosspt.synthetic.objects', 'generate_synthetic_fewshot',
        dict(ways=(2, 3), shots=(1,), num_folds=2, num_points=16, num_train_per_class=2,
             num_test_per_class=1, normal_rows=20), 5,
        '1962b7b19d0de273532ed5560543a01a1fa1ff0dab6e47c96534198037fe8643'),
    'objects': (
        'crosspt.synthetic.objects', 'generate_synthetic_objects',
        dict(num_train_per_class=1, num_test_per_class=1, fewshot_ways=(2,),
             fewshot_shots=(1,), fewshot_folds=1), 148,
        '09cdeab4a8c51fafb8b8cc27c13431ac2ed12637031726eb3c07f40183aa4d35'),
    'scannet_frames': (
        'crosspt.synthetic.scannet_frames', 'generate_synthetic_scannet_frames',
        dict(num_scenes=2, frames_per_scene=2, frame_step=2, depth_size=(12, 16),
             color_size=(18, 24), write_sens=True, progress=False), 31,
        '3cf80e64f7c34d72170f55a4a822f56ac703aa13210c010d8f7aa761ac586ce7'),
    'scannet_mmdet3d': (
        'crosspt.synthetic.scannet_mmdet3d', 'generate_synthetic_scannet_mmdet3d',
        dict(num_scenes=2, num_val_scenes=1, num_points=600, num_points_per_sample=500),
        16,
        'e0fbdbb99699b630908a763ab4cd37369c526aab12647d2449786716129279f4'),
    # recorded when the generator was added (issue 17)
    's3dis_mmdet3d': (
        'crosspt.synthetic.s3dis_mmdet3d', 'generate_synthetic_s3dis_mmdet3d',
        dict(num_areas=5, rooms_per_area=1, num_points=300, num_points_per_sample=100), 31,
        '2dc9e53a8d6faaf8ab76cfef629289dac35886a6835cef3bba1a1484d852db34'),
    # recorded when the generator was added (issue 17), not before the issue-16 move
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
