"""Generated data only ever replaces files it wrote itself (docs/data_preparation.md).

For one generator of each kind (TAP ShapeNet55 views, an object set, RGB-D scenes) the
test generates a tiny set, plants user files (``notes.txt``, a ``.ply`` in a sub-folder),
then asks for regeneration by (a) deleting a generated file and (b) changing a parameter:
both must be refused with an error naming the planted files, which keep their bytes.
Without foreign files regeneration must work and leave exactly the new manifest's files.
Hashes are recomputed here with hashlib, independently of the code under test.
"""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crosspt.synthetic.scannet_mmdet3d import generate_synthetic_scannet_mmdet3d
from crosspt.synthetic.shapenet55 import generate_synthetic_shapenet55
from crosspt.synthetic.objects import generate_synthetic_scanobjectnn
from crosspt.synthetic.scannet_frames import generate_synthetic_scannet_frames
from crosspt.fileio import atomic

REPO = Path(__file__).resolve().parents[2]
INFO = 'synthetic_info.json'
NOTES = b'my notes: do not delete\n'
USER_PLY = b'ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n' \
           b'property float z\nend_header\n0 0 0\n'

# kind -> (generator, smallest parameters, a generated file to delete, where to put a .ply)
KINDS = {
    'shapenet55': (generate_synthetic_shapenet55,
                   dict(num_train=1, num_val=1, num_test=0, num_points=64, image_size=16,
                        progress=False),
                   'shapenet55v1/train/model_000000_007.jpg', 'pointclouds/train/my_scan.ply'),
    'scanobjectnn': (generate_synthetic_scanobjectnn,
                     dict(num_train_per_class=1, num_test_per_class=1),
                     'main_split/test_objectdataset.h5', 'my_scans/chair.ply'),
    'scenes': (generate_synthetic_scannet_frames,
               dict(num_scenes=1, frames_per_scene=1, depth_size=(12, 16),
                    color_size=(12, 16), progress=False),
               'scene0000_00/color/0.jpg', 'scene0000_00/my_mesh/room.ply'),
}


def files_on_disk(root: Path) -> dict:
    """{relative path: sha256} of every file below ``root``."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


def generate(kind: str, root: Path, **override) -> dict:
    function, small, _, _ = KINDS[kind]
    return function(root, **{**small, **override})


def plant(kind: str, root: Path) -> dict:
    """Write the user's files; returns {relative path: bytes}."""
    planted = {'notes.txt': NOTES, KINDS[kind][3]: USER_PLY}
    for rel, data in planted.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return planted


def assert_refused(excinfo, planted: dict, root: Path) -> None:
    """The error names every planted file and says how to proceed; they are untouched."""
    message = str(excinfo.value)
    for rel, data in planted.items():
        assert rel in message, message
        assert (root / rel).read_bytes() == data
    assert 'move' in message and 'data_root' in message, message


@pytest.fixture(params=sorted(KINDS))
def made(request, tmp_path):
    kind = request.param
    root = tmp_path / kind
    info = generate(kind, root)
    assert info['created']
    return kind, root


def test_manifest_records_every_file_with_size_and_sha256(made):
    kind, root = made
    info = json.loads((root / INFO).read_text())
    disk = files_on_disk(root)
    del disk[INFO]
    assert sorted(info['files']) == sorted(disk) and len(disk) >= 6
    assert {rel: rec['sha256'] for rel, rec in info['manifest'].items()} == disk
    assert all(rec['size'] == (root / rel).stat().st_size
               for rel, rec in info['manifest'].items())


def test_missing_file_with_user_files_is_refused(made):
    kind, root = made
    planted = plant(kind, root)
    os.remove(root / KINDS[kind][2])
    before = files_on_disk(root)
    with pytest.raises(ValueError, match='refusing to replace') as excinfo:
        generate(kind, root)
    assert_refused(excinfo, planted, root)
    assert files_on_disk(root) == before
    assert sorted(p.name for p in root.parent.iterdir()) == [kind, f'{kind}.lock']


def test_changed_parameter_with_user_files_is_refused(made):
    kind, root = made
    planted = plant(kind, root)
    before = files_on_disk(root)
    with pytest.raises(ValueError, match='refusing to replace') as excinfo:
        generate(kind, root, seed=1)
    assert_refused(excinfo, planted, root)
    assert files_on_disk(root) == before
    assert json.loads((root / INFO).read_text())['params']['seed'] == 0


def test_changed_generated_file_is_refused(made):
    kind, root = made
    edited = KINDS[kind][2]
    (root / edited).write_bytes(b'my own version')
    with pytest.raises(ValueError, match='content changed') as excinfo:
        generate(kind, root, seed=1)
    assert edited in str(excinfo.value)
    assert (root / edited).read_bytes() == b'my own version'


def test_regeneration_replaces_only_manifest_files(made):
    kind, root = made
    deleted = root / KINDS[kind][2]
    first = files_on_disk(root)
    os.remove(deleted)
    info = generate(kind, root)
    assert info['created'] and files_on_disk(root) == first  # deterministic: same bytes
    changed = generate(kind, root, seed=1)
    assert changed['created'] and changed['params']['seed'] == 1
    disk = files_on_disk(root)
    assert set(disk) == set(changed['manifest']) | {INFO}
    assert any(disk[rel] != first[rel] for rel in changed['manifest'])
    # no temporary or moved-aside folder is left next to the data
    assert sorted(p.name for p in root.parent.iterdir()) == [kind, f'{kind}.lock']


def test_marker_without_manifest_is_refused(made):
    """A marker that lists no sizes and hashes cannot prove which files are generated."""
    kind, root = made
    marker = json.loads((root / INFO).read_text())
    marker.pop('manifest', None)
    (root / INFO).write_text(json.dumps(marker))
    before = files_on_disk(root)
    with pytest.raises(ValueError, match='refusing to replace'):
        generate(kind, root, seed=1)
    assert files_on_disk(root) == before


def test_mmdet3d_scenes_changed_parameter_is_refused(tmp_path):
    root = tmp_path / 'mm3d'
    small = dict(num_scenes=1, num_val_scenes=1, num_points=9000, num_points_per_sample=4096)
    generate_synthetic_scannet_mmdet3d(root, **small)
    (root / 'points' / 'my_scene.ply').write_bytes(USER_PLY)
    with pytest.raises(ValueError, match='refusing to replace') as excinfo:
        generate_synthetic_scannet_mmdet3d(root, **small, seed=1)
    assert 'points/my_scene.ply' in str(excinfo.value)
    assert (root / 'points' / 'my_scene.ply').read_bytes() == USER_PLY


def test_error_lists_first_files_and_counts(tmp_path):
    root = tmp_path / 'so'
    generate('scanobjectnn', root)
    for i in range(13):
        (root / f'user_{i:02d}.txt').write_text('mine')
    with pytest.raises(ValueError) as excinfo:
        generate('scanobjectnn', root, seed=1)
    message = str(excinfo.value)
    assert 'user_09.txt' in message and 'user_10.txt' not in message
    assert '3 more (13 in all)' in message and '13 file(s)' in message


def test_swap_in_dir_never_deletes_unlisted_files(tmp_path):
    root, tmp = tmp_path / 'root', tmp_path / 'new'
    (root / 'sub').mkdir(parents=True)
    (root / 'sub' / 'old.bin').write_bytes(b'old')
    (root / 'user.txt').write_bytes(b'mine')
    tmp.mkdir()
    (tmp / 'new.bin').write_bytes(b'new')
    with pytest.raises(ValueError, match='user.txt'):
        atomic.swap_in_dir(str(tmp), str(root), files=['sub/old.bin'])
    assert (root / 'user.txt').read_bytes() == b'mine' and (tmp / 'new.bin').is_file()
    (root / 'user.txt').unlink()
    (root / 'my_empty_folder').mkdir()
    with pytest.raises(ValueError, match='my_empty_folder/'):
        atomic.swap_in_dir(str(tmp), str(root), files=['sub/old.bin'])
    (root / 'my_empty_folder').rmdir()
    atomic.swap_in_dir(str(tmp), str(root), files=['sub/old.bin'])
    assert files_on_disk(root) == {'new.bin': hashlib.sha256(b'new').hexdigest()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ['root']


def test_auto_generate_refuses_user_files(tmp_path):
    from crosspt.datasets import ShapeNet55ViewsDataset

    root = tmp_path / 'sn'
    small = KINDS['shapenet55'][1]
    generate('shapenet55', root)
    planted = plant('shapenet55', root)
    with pytest.raises(ValueError, match='refusing to replace') as excinfo:
        ShapeNet55ViewsDataset(str(root), split='train', auto_generate={**small, 'seed': 1})
    assert_refused(excinfo, planted, root)


def test_create_data_refuses_user_files(tmp_path):
    root = tmp_path / 'so'
    command = [sys.executable, str(REPO / 'tools' / 'create_data.py'), 'synthetic-scanobjectnn',
               '--out-dir', str(root), '--num-train-per-class', '1', '--num-test-per-class', '1']
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    first = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    assert first.returncode == 0, first.stderr
    planted = plant('scanobjectnn', root)
    again = subprocess.run(command + ['--seed', '1'], capture_output=True, text=True, env=env,
                           cwd=REPO)
    assert again.returncode == 2, again.stdout + again.stderr
    assert 'Traceback' not in again.stderr and 'refusing to replace' in again.stderr
    for rel, data in planted.items():
        assert rel in again.stderr and (root / rel).read_bytes() == data
