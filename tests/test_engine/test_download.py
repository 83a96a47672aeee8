"""Checkpoint download: cache, sha256-prefix check, truncation, offline use, and the
weights_only load, against a real local HTTP server."""
import functools
import hashlib
import http.server
import importlib.util
import io
import json
import logging
import os
import threading
from pathlib import Path

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

import crosspt.engine  # noqa: F401 - registers the safe local-file and URL loaders
from crosspt.engine.checkpoint import load_checkpoint_url
from crosspt.fileio.download import cache_dir, download_checkpoint, hash_prefix_from_name
from crosspt.models.weight_init import ReportingPretrainedInit

REPO = Path(__file__).resolve().parents[2]
#: requests under this path get a Content-Length of the whole file but half its bytes
TRUNCATED = '/truncated/'


class _RunsShell:
    """Pickles as ``os.system(command)``: what a malicious checkpoint would carry."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, plus ``/truncated/<file>`` that breaks off half way."""

    def do_GET(self) -> None:
        if not self.path.startswith(TRUNCATED):
            return super().do_GET()
        data = (Path(self.directory) / self.path[len(TRUNCATED):]).read_bytes()
        self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data[:len(data) // 2])
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


class _Server:
    def __init__(self, root: Path) -> None:
        handler = functools.partial(_Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(5)
            self.running = False


def _state() -> dict:
    gen = torch.Generator().manual_seed(0)
    return {'backbone.weight': torch.randn(3, 4, generator=gen),
            'backbone.bias': torch.randn(3, generator=gen),
            'head.weight': torch.randn(2, 3, generator=gen)}


def _publish(root: Path, stem: str, obj) -> str:
    """Save ``obj`` as ``<stem>-<sha256[:8]>.pth`` in ``root``; return the file name."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    data = buffer.getvalue()
    name = f'{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth'
    (root / name).write_bytes(data)
    return name


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A server with good / tampered / unnamed / malicious checkpoints, and an empty
    cache at ``$CROSSPT_HOME/checkpoints``."""
    root = tmp_path / 'www'
    root.mkdir()
    state = _state()
    good = _publish(root, 'good', dict(meta=dict(epoch=3), state_dict=state))
    truncated = _publish(root, 'cut', dict(state_dict={'w': torch.arange(50000.)}))
    # tampered: the name of the good file, the bytes of another checkpoint
    tampered_name = good.replace('good-', 'tampered-')
    buffer = io.BytesIO()
    torch.save(dict(state_dict={'backbone.weight': torch.zeros(3, 4)}), buffer)
    (root / tampered_name).write_bytes(buffer.getvalue())
    (root / 'unnamed.pth').write_bytes((root / good).read_bytes())
    marker = tmp_path / 'pwned'
    evil = _publish(root, 'evil', dict(state_dict=state, hook=_RunsShell(f'touch {marker}')))
    home = tmp_path / 'home'
    monkeypatch.setenv('CROSSPT_HOME', str(home))
    server = _Server(root)
    yield dict(server=server, url=server.url, root=root, cache=home / 'checkpoints',
               state=state, good=good, truncated=truncated, tampered=tampered_name,
               evil=evil, marker=marker)
    server.stop()


def test_hash_prefix_follows_publish_model_naming(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'publish_model', REPO / 'tools' / 'model_converters' / 'publish_model.py')
    publish_model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(publish_model)
    torch.save(dict(state_dict=_state(), meta=dict(epoch=1)), tmp_path / 'epoch_1.pth')
    final = publish_model.publish(str(tmp_path / 'epoch_1.pth'), str(tmp_path / 'enc.pth'))
    digest = hashlib.sha256(Path(final).read_bytes()).hexdigest()
    assert hash_prefix_from_name(final) == digest[:8]
    assert hash_prefix_from_name('a-b-1A2B3C4D5E.pth') == '1a2b3c4d5e'
    assert hash_prefix_from_name('https://x.org/m/a-' + 'f' * 64 + '.pth') == 'f' * 64
    for name in ('a-1a2b3c4.pth', 'a-1a2b3c4g.pth', 'a1a2b3c4d.pth', 'a-1a2b3c4d.pt',
                 'a-1a2b3c4d.pth.bak', 'a.pth', 'a-' + 'f' * 65 + '.pth'):
        assert hash_prefix_from_name(name) is None, name


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv('CROSSPT_HOME', str(tmp_path / 'h'))
    assert cache_dir() == str(tmp_path / 'h' / 'checkpoints')
    monkeypatch.delenv('CROSSPT_HOME')
    monkeypatch.setenv('HOME', str(tmp_path))
    assert cache_dir() == str(tmp_path / '.cache' / 'crosspt' / 'checkpoints')


def test_download_load_and_offline_reuse(served, capsys):
    url = f"{served['url']}/{served['good']}"
    path = download_checkpoint(url, progress=True)
    assert path == str(served['cache'] / served['good'])
    assert Path(path).read_bytes() == (served['root'] / served['good']).read_bytes()
    # no .part left over; the download's sha256 is recorded in the cache's manifest
    assert sorted(os.listdir(served['cache'])) == sorted([served['good'], 'downloads.json'])
    record = json.loads((served['cache'] / 'downloads.json').read_text())[served['good']]
    assert record['sha256'] == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert record['url'] == url and record['pinned'] is True
    assert served['good'] in capsys.readouterr().err  # the tqdm bar
    served['server'].stop()
    loaded = load_checkpoint_url(url, progress=False)  # offline: from the cache
    assert loaded['meta']['epoch'] == 3
    assert set(loaded['state_dict']) == set(served['state'])
    for key, value in served['state'].items():
        assert torch.equal(loaded['state_dict'][key], value)


def test_truncated_download_is_refused(served):
    url = f"{served['url']}{TRUNCATED}{served['truncated']}"
    size = (served['root'] / served['truncated']).stat().st_size
    with pytest.raises(OSError) as info:
        download_checkpoint(url, progress=False, timeout=10)
    message = str(info.value)
    assert url in message and 'truncated' in message
    assert f'received {size // 2} bytes' in message and str(size) in message
    assert os.listdir(served['cache']) == []


def test_tampered_download_is_refused(served):
    url = f"{served['url']}/{served['tampered']}"
    actual = hashlib.sha256((served['root'] / served['tampered']).read_bytes()).hexdigest()
    with pytest.raises(ValueError, match='tampered or corrupted') as info:
        download_checkpoint(url, progress=False)
    assert url in str(info.value) and actual in str(info.value)
    assert hash_prefix_from_name(served['tampered']) in str(info.value)
    assert os.listdir(served['cache']) == []


def test_pickled_code_downloads_but_is_not_loaded(served):
    url = f"{served['url']}/{served['evil']}"
    assert os.path.isfile(download_checkpoint(url, progress=False))  # hash is right
    with pytest.raises(RuntimeError, match='weights_only') as info:
        load_checkpoint_url(url, progress=False)
    assert url in str(info.value)
    with pytest.raises(RuntimeError, match='weights_only'):
        CheckpointLoader.load_checkpoint(url, map_location='cpu')
    assert not served['marker'].exists()


def test_name_without_hash_needs_expected_sha256(served):
    url = f"{served['url']}/unnamed.pth"
    with pytest.raises(ValueError, match='publish_model.py') as info:
        download_checkpoint(url, progress=False)
    assert 'expected_sha256' in str(info.value) and url in str(info.value)
    digest = hashlib.sha256((served['root'] / 'unnamed.pth').read_bytes()).hexdigest()
    with pytest.raises(ValueError, match='tampered or corrupted'):
        download_checkpoint(url, progress=False, expected_sha256='0' * 64)
    path = download_checkpoint(url, progress=False, expected_sha256=digest.upper())
    assert Path(path).read_bytes() == (served['root'] / 'unnamed.pth').read_bytes()
    with pytest.raises(ValueError, match='8 to 64 hex digits'):
        download_checkpoint(url, progress=False, expected_sha256='abc')


def test_corrupt_cache_is_downloaded_again(served, caplog):
    url = f"{served['url']}/{served['good']}"
    path = Path(download_checkpoint(url, progress=False))
    good_bytes = path.read_bytes()
    path.write_bytes(b'bit rot')
    with caplog.at_level(logging.WARNING, logger='crosspt.fileio.download'):
        assert download_checkpoint(url, progress=False) == str(path)
    assert 'corrupt' in caplog.text and path.read_bytes() == good_bytes
    path.write_bytes(b'bit rot')
    served['server'].stop()
    with pytest.raises(OSError) as info:
        download_checkpoint(url, progress=False, timeout=5)
    message = str(info.value)
    assert 'corrupt' in message and 'failed' in message and url in message


def test_offline_without_cache_names_url(served):
    url = f"{served['url']}/{served['good']}"
    served['server'].stop()
    with pytest.raises(OSError, match='could not download') as info:
        download_checkpoint(url, progress=False, timeout=5)
    assert url in str(info.value)


def test_file_url_and_unknown_scheme(served, tmp_path):
    url = (served['root'] / served['good']).as_uri()
    cache = tmp_path / 'other_cache'
    path = download_checkpoint(url, cache=str(cache), progress=False)
    assert path == str(cache / served['good'])
    with pytest.raises(ValueError, match='ftp'):
        download_checkpoint(f"ftp://127.0.0.1/{served['good']}", progress=False)


def test_pretrained_init_and_mmengine_load_via_url(served):
    url = f"{served['url']}/{served['good']}"
    module = nn.Linear(4, 3)
    ReportingPretrainedInit(checkpoint=url, prefix='backbone.')(module)
    assert torch.equal(module.weight.data, served['state']['backbone.weight'])
    assert torch.equal(module.bias.data, served['state']['backbone.bias'])
    # load_from / resume go through mmengine's CheckpointLoader: the safe path as well
    with pytest.raises(ValueError, match='tampered or corrupted'):
        CheckpointLoader.load_checkpoint(f"{served['url']}/{served['tampered']}")
    loaded = CheckpointLoader.load_checkpoint(url, map_location='cpu')
    assert torch.equal(loaded['state_dict']['head.weight'], served['state']['head.weight'])


def test_file_url_through_mmengine_and_init(served):
    """``load_from='file://...'`` (mmengine's CheckpointLoader) and ``Pretrained`` take
    file URLs through the cache and the hash check, like http(s)."""
    url = (served['root'] / served['good']).as_uri()
    loaded = CheckpointLoader.load_checkpoint(url, map_location='cpu')
    assert torch.equal(loaded['state_dict']['head.weight'], served['state']['head.weight'])
    assert sorted(os.listdir(served['cache'])) == sorted([served['good'], 'downloads.json'])
    module = nn.Linear(4, 3)
    ReportingPretrainedInit(checkpoint=url, prefix='backbone.')(module)
    assert torch.equal(module.weight.data, served['state']['backbone.weight'])
    with pytest.raises(ValueError, match='tampered or corrupted'):
        CheckpointLoader.load_checkpoint((served['root'] / served['tampered']).as_uri())
