"""Local checkpoint files: the ``-<sha256 prefix>`` name suffix is verified (once per
file), and a file that is no checkpoint gets crosspt's message, not torch's advice."""
import hashlib
import io
import os
import re
import zipfile

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

import crosspt.engine  # noqa: F401 - registers the safe local-file loader
from crosspt.engine.checkpoint import load_checkpoint_file
from crosspt.fileio import download

#: the documented opt-out of the name-suffix check
NO_HASH_CHECK = 'CROSSPT_NO_HASH_CHECK'
#: torch's advice to turn the protection off, in any of its spellings
ADVICE = re.compile(r'weights_only\W*(=|set to)\W*False|trusted source', re.IGNORECASE)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty crosspt home, no remembered digests, and a count of files hashed."""
    monkeypatch.setenv('CROSSPT_HOME', str(tmp_path / 'home'))
    monkeypatch.delenv(NO_HASH_CHECK, raising=False)
    monkeypatch.setattr(download, '_DIGESTS', {}, raising=False)
    hashed = []
    real = download.file_sha256

    def counting(path):
        hashed.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(download, 'file_sha256', counting)
    return hashed


def _checkpoint_bytes(value: float) -> bytes:
    buffer = io.BytesIO()
    torch.save(dict(state_dict={'w': torch.full((3,), value)}), buffer)
    return buffer.getvalue()


def _named(folder, stem: str, data: bytes, digest_of: bytes = None) -> str:
    """Write ``data`` as ``<stem>-<sha256(digest_of or data)[:8]>.pth``."""
    digest = hashlib.sha256(digest_of if digest_of is not None else data).hexdigest()
    path = folder / f'{stem}-{digest[:8]}.pth'
    path.write_bytes(data)
    return str(path)


def test_local_file_with_wrong_suffix_is_refused(tmp_path, home):
    good, other = _checkpoint_bytes(1.0), _checkpoint_bytes(2.0)
    path = _named(tmp_path, 'tap_pointmlp', other, digest_of=good)
    actual = hashlib.sha256(other).hexdigest()
    with pytest.raises(ValueError, match='corrupt or was modified') as info:
        load_checkpoint_file(path)
    message = str(info.value)
    assert path in message and actual in message
    assert hashlib.sha256(good).hexdigest()[:8] in message
    assert 'CROSSPT_NO_HASH_CHECK' in message
    # load_from / resume / Pretrained go through mmengine's CheckpointLoader
    with pytest.raises(ValueError, match='corrupt or was modified'):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')


def test_suffix_is_hashed_once_per_file_version(tmp_path, home):
    path = _named(tmp_path, 'enc', _checkpoint_bytes(1.0))
    for _ in range(3):
        assert torch.equal(load_checkpoint_file(path)['state_dict']['w'], torch.ones(3))
    assert home == [os.path.basename(path)]
    # another process: the digest is read back from the json file in the crosspt home
    download._DIGESTS.clear()
    assert os.path.isfile(tmp_path / 'home' / 'verified_checkpoints.json')
    load_checkpoint_file(path)
    assert len(home) == 1
    # the file changes (size and mtime): hashed again, and now it does not match
    with open(path, 'wb') as f:
        f.write(_checkpoint_bytes(3.0) + b'\0')
    with pytest.raises(ValueError, match='corrupt or was modified'):
        load_checkpoint_file(path)
    assert len(home) == 2


def test_only_publish_hash_suffixes_are_checked(tmp_path, home):
    data = _checkpoint_bytes(1.0)
    for name in ('epoch_3.pth', 'best_view_loss_epoch_3.pth', 'iter_1000.pth',
                 'model-1234567.pth', 'model-1a2b3c4z.pth', 'tap_pointmlp.pth'):
        (tmp_path / name).write_bytes(data)
        load_checkpoint_file(str(tmp_path / name))
    assert home == []
    # a name with 8 to 64 hex digits after the last '-' is checked, upper case as well
    path = tmp_path / 'model-1A2B3C4D5E.pth'
    path.write_bytes(data)
    with pytest.raises(ValueError, match='1a2b3c4d5e'):
        load_checkpoint_file(str(path))
    assert home == [path.name]


def test_suffix_check_opt_out(tmp_path, home, monkeypatch):
    path = _named(tmp_path, 'edited', _checkpoint_bytes(2.0), digest_of=b'original')
    with pytest.raises(ValueError, match=NO_HASH_CHECK):
        load_checkpoint_file(path)
    hashed = len(home)
    monkeypatch.setenv(NO_HASH_CHECK, '1')
    assert torch.equal(load_checkpoint_file(path)['state_dict']['w'], torch.full((3,), 2.0))
    assert len(home) == hashed   # not even hashed


def _zip_without_checkpoint(path) -> None:
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('notes.txt', 'hello')


@pytest.mark.parametrize('kind,expected', [
    ('random', 'unknown format starting with '),
    ('html', "text of 43 bytes starting with b'<!DOCTYPE html>"),
    ('empty', 'an empty file (0 bytes)'),
    ('zip', 'a zip archive of'),
    ('truncated', 'a zip archive of 100 bytes'),
])
def test_non_checkpoint_gets_crosspt_message(tmp_path, kind, expected):
    path = tmp_path / f'{kind}_renamed.pth'
    if kind == 'random':
        path.write_bytes(bytes(range(256))[::-1] * 4)
    elif kind == 'html':
        path.write_bytes(b'<!DOCTYPE html><html>404 Not Found</html>\n\n')
    elif kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'zip':
        _zip_without_checkpoint(path)
    else:
        path.write_bytes(_checkpoint_bytes(1.0)[:100])
    for load in (load_checkpoint_file, CheckpointLoader.load_checkpoint):
        with pytest.raises(RuntimeError) as info:
            load(str(path))
        message = str(info.value)
        assert str(path) in message and 'is not a PyTorch checkpoint' in message
        assert expected in message, message
        assert not ADVICE.search(message), message
        # torch's own error (with its advice) is not chained into the traceback either
        assert info.value.__cause__ is None and info.value.__context__ is None


def test_pickled_code_is_refused_without_advice(tmp_path):
    class RunsShell:
        def __reduce__(self):
            return (os.system, ('echo pwned',))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'hook': RunsShell()}, path)
    with pytest.raises(RuntimeError) as info:
        load_checkpoint_file(str(path))
    message = str(info.value)
    assert str(path) in message and f'{os.system.__module__}.system' in message
    assert 'never loaded' in message and not ADVICE.search(message)
