"""Shared by the official-weights tests: a loopback server for ``/f/<id>/?dl=1`` paths and
files in the official TAP (openpoints) layouts, written from crosspt models' state dicts
renamed to the official key names.

The renaming rules are written out here by hand from the official layouts (``encoder.`` /
``prediction.head.`` / ``generator.{feat_mlp,query_mlp,transformer}`` / ``decoder.`` /
``segmentor.`` with ``classifier.{0,1,3}``), independently of the converter.
"""
import hashlib
import http.server
import io
import threading
from typing import Callable, Dict, Iterator

import torch

TSINGHUA = 'https://cloud.tsinghua.edu.cn/f/{}/?dl=1'
IDS = dict(dgcnn_clean='13da92866ff64db0b4bc', dgcnn_ft='5fa20c80d9c04cf482d2',
           partseg_ft='653d296b772b4bd9a0f9', pointmlp_ft='5c5eccb0ee0f4cc2b324')


class LoopbackServer:
    """Serves ``routes`` (URL path -> bytes; the query string is ignored) on 127.0.0.1
    and counts the requests per path."""

    def __init__(self, routes: Dict[str, bytes]) -> None:
        self.routes, self.hits = routes, {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split('?', 1)[0]
                server.hits[path] = server.hits.get(path, 0) + 1
                data = server.routes.get(path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def to_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def randomized(state: Dict[str, torch.Tensor], seed: int) -> Dict[str, torch.Tensor]:
    """``state`` with random values (positive running_var; integer counters kept), so a
    load that skips a tensor cannot pass by coincidence."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key, value in state.items():
        if not value.is_floating_point():
            out[key] = value.clone()
        elif key.endswith('running_var'):
            out[key] = torch.rand(value.shape, generator=gen) + 0.5
        else:
            out[key] = torch.randn(value.shape, generator=gen) * 0.1
    return out


def official_classifier(state: Dict[str, torch.Tensor], module_prefix: bool = False) -> dict:
    """A crosspt PointClassifier state -> an openpoints fine-tuned file."""
    model = {}
    for key, value in state.items():
        if key.startswith('backbone.'):
            model['encoder.' + key[len('backbone.'):]] = value
        else:
            assert key.startswith('head.layers.'), key
            model['prediction.head.' + key[len('head.layers.'):]] = value
    if module_prefix:
        model = {'module.' + k: v for k, v in model.items()}
    return dict(model=model, optimizer=dict(state={}, param_groups=[dict(lr=5e-4)]),
                scheduler=dict(last_epoch=299), epoch=300, best_val=86.6)


def official_clean(state: Dict[str, torch.Tensor], module_prefix: bool = False) -> dict:
    """The ``backbone.*`` of a crosspt state -> an openpoints ``_clean.pth`` file."""
    prefix = 'module.' if module_prefix else ''
    return dict(model={prefix + k[len('backbone.'):]: v for k, v in state.items()
                       if k.startswith('backbone.')})


def official_pretrain_full(state: Dict[str, torch.Tensor]) -> dict:
    """A crosspt TAP state -> an openpoints pre-training checkpoint (plus the unused
    ``generator.pad_memory``)."""
    rules = [('backbone.', 'encoder.'), ('memory_builder.mlp.', 'generator.feat_mlp.'),
             ('photograph.query_mlp.', 'generator.query_mlp.'),
             ('photograph.blocks.', 'generator.transformer.'), ('head.decoder.', 'decoder.')]
    model = {}
    for key, value in state.items():
        src, dst = next((s, d) for s, d in rules if key.startswith(s))
        model[dst + key[len(src):]] = value
    model['generator.pad_memory'] = torch.zeros(256)
    return dict(model=model, optimizer={}, epoch=100, best_val=0.01)


def official_partseg(state: Dict[str, torch.Tensor]) -> dict:
    """A crosspt PointPartSegmentor state -> an openpoints ShapeNetPart file."""
    head = {'0': '0', '1': '1', '4': '3'}
    model = {}
    for key, value in state.items():
        if key.startswith('backbone.'):
            model['segmentor.' + key[len('backbone.'):]] = value
        else:
            index, rest = key[len('head.layers.'):].split('.', 1)
            model[f'segmentor.classifier.{head[index]}.{rest}'] = value
    return dict(model=model, epoch=300)


def serve_as_mirror(tmp_path, monkeypatch, path_of: Callable[[str], str] = lambda k: k
                    ) -> Iterator[Callable[[dict], 'LoopbackServer']]:
    """Body of a pytest fixture: yields ``start(routes)``, which serves ``routes``
    (``path_of(key)`` -> bytes) on 127.0.0.1 and points CROSSPT_DOWNLOAD_MIRROR at it,
    with an empty crosspt home under ``tmp_path``; stops every server afterwards."""
    monkeypatch.setenv('CROSSPT_HOME', str(tmp_path / 'home'))
    servers = []

    def start(routes: dict) -> LoopbackServer:
        server = LoopbackServer({path_of(k): v for k, v in routes.items()})
        servers.append(server)
        monkeypatch.setenv('CROSSPT_DOWNLOAD_MIRROR', server.url)
        return server

    yield start
    for server in servers:
        server.stop()
