"""PPKT's ImageTeacher from torchvision's published ImageNet file, by URL, without
torchvision: the ScanNet recipe's default teacher checkpoint is that URL; a file in
torchvision's exact key layout (ResNet-50 keys plus the ``fc.weight`` / ``fc.bias``
classifier) served from 127.0.0.1 through ``$CROSSPT_DOWNLOAD_MIRROR`` loads, reports
``fc.*`` as unused and gives the same layer4 map as a strict load of the same tensors
into a plain ResNet-50; a download whose sha256 does not start with the prefix in
torchvision's file name is refused.

torchvision is blocked in ``sys.modules`` in every test here, so none of this can pass by
importing it.
"""
import hashlib
import io
import os
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from torch import nn

from crosspt.models.image import ResNet
from crosspt.registry import MODELS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'test_tools'))
from official_weights_helpers import serve_as_mirror  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PPKT_CONFIG = 'configs/ppkt/srunet34_1xb24-60k_scannet.py'
PUBLISHED = 'https://download.pytorch.org/models/resnet50-0676ba61.pth'
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def torchvision_layout_resnet50() -> dict:
    """A ResNet-50 state dict in torchvision's layout: crosspt's ResNet-50 keys (with
    random BatchNorm affine parameters and statistics, so a skipped tensor shows) plus
    the ImageNet classifier ``fc.weight`` (1000, 2048) and ``fc.bias`` (1000,)."""
    torch.manual_seed(0)
    net = ResNet(depth=50)
    gen = torch.Generator().manual_seed(1)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            size = module.num_features
            module.weight.data = torch.rand(size, generator=gen) + 0.5
            module.bias.data = torch.randn(size, generator=gen) * 0.1
            module.running_mean = torch.randn(size, generator=gen) * 0.1
            module.running_var = torch.rand(size, generator=gen) + 0.5
    state = net.state_dict()
    state['fc.weight'] = torch.randn(1000, 2048, generator=gen) * 0.01
    state['fc.bias'] = torch.randn(1000, generator=gen) * 0.01
    return state


def to_bytes(state: dict, legacy: bool = False) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer, _use_new_zipfile_serialization=not legacy)
    return buffer.getvalue()


@pytest.fixture(scope='module')
def resnet50_file():
    state = torchvision_layout_resnet50()
    data = to_bytes(state)
    return state, data, hashlib.sha256(data).hexdigest()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """``mirror(routes)``: serve ``routes`` (path -> bytes) on 127.0.0.1 as the download
    mirror, with an empty crosspt home and torchvision made unimportable."""
    monkeypatch.setitem(sys.modules, 'torchvision', None)
    monkeypatch.delenv('CROSSPT_TEACHER', raising=False)
    yield from serve_as_mirror(tmp_path, monkeypatch)


def test_scannet_recipe_defaults_to_the_published_url(monkeypatch):
    monkeypatch.delenv('CROSSPT_TEACHER', raising=False)
    teacher = Config.fromfile(str(REPO / PPKT_CONFIG)).model.teacher
    assert teacher.checkpoint == PUBLISHED
    assert teacher.backbone == dict(type='ResNet', depth=50) and teacher.get('prefix') is None


def test_resnet50_teacher_from_url_equals_a_strict_load(resnet50_file, mirror, monkeypatch,
                                                        tmp_path):
    state, data, digest = resnet50_file
    path = f'/models/resnet50-{digest[:8]}.pth'        # torchvision's naming rule
    server = mirror({path: data})
    url = f'https://download.pytorch.org{path}'
    monkeypatch.setenv('CROSSPT_TEACHER', url)          # the recipe's override hook
    cfg = Config.fromfile(str(REPO / PPKT_CONFIG)).model.teacher
    assert cfg.checkpoint == url
    teacher = MODELS.build(cfg)
    assert teacher.unused_keys == ['fc.weight', 'fc.bias']
    cached = tmp_path / 'home' / 'checkpoints' / f'resnet50-{digest[:8]}.pth'
    assert cached.read_bytes() == data and server.hits == {path: 1}

    direct = ResNet(depth=50)
    direct.load_state_dict({k: v for k, v in state.items() if not k.startswith('fc.')},
                           strict=True)
    direct.eval()
    images = torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = direct((images - MEAN) / STD)[0]
    features = teacher(images)
    assert features.shape == (2, 2048, 2, 3)
    assert torch.equal(features, expected) and expected.abs().sum() > 0
    # a second teacher (e.g. another rank, a resumed run) reuses the verified cache
    MODELS.build(cfg)
    assert server.hits == {path: 1}


def test_unused_classifier_is_reported_in_the_log(mirror, monkeypatch):
    """A small torchvision-layout ResNet-18 saved in the legacy (pre-zip) format, as
    torchvision's older files are; the log names the unused fc keys."""
    from crosspt.models.image import teacher as teacher_module
    torch.manual_seed(3)
    state = ResNet(depth=18, base_channels=8, with_fc=True).state_dict()
    assert {'fc.weight', 'fc.bias'} <= set(state)
    data = to_bytes(state, legacy=True)
    path = f'/models/resnet18-{hashlib.sha256(data).hexdigest()[:10]}.pth'
    mirror({path: data})
    logged = []
    monkeypatch.setattr(teacher_module, 'print_log', lambda msg, **kw: logged.append(msg))
    url = f'https://download.pytorch.org{path}'
    teacher = MODELS.build(dict(type='ImageTeacher', checkpoint=url,
                                backbone=dict(type='ResNet', depth=18, base_channels=8)))
    assert torch.equal(teacher.backbone.layer4[1].conv2.weight, state['layer4.1.conv2.weight'])
    assert len(logged) == 1 and url in logged[0]
    assert logged[0].endswith('unused (the ImageNet classifier, not part of the teacher): '
                              'fc.weight, fc.bias')
    # torchvision's files have no 'backbone.' prefix: asking for one is an error naming it
    with pytest.raises(ValueError, match=rf"checkpoint {url} starts with prefix 'backbone.'"):
        MODELS.build(dict(type='ImageTeacher', checkpoint=url, prefix='backbone.',
                          backbone=dict(type='ResNet', depth=18, base_channels=8)))


def test_published_name_pins_the_download(mirror, tmp_path):
    """Bytes at torchvision's URL whose sha256 does not start with 0676ba61 are refused
    and not cached."""
    torch.manual_seed(4)
    data = to_bytes(ResNet(depth=18, base_channels=8).state_dict())
    assert not hashlib.sha256(data).hexdigest().startswith('0676ba61')
    mirror({'/models/resnet50-0676ba61.pth': data})
    with pytest.raises(ValueError, match='tampered or corrupted') as err:
        MODELS.build(dict(type='ImageTeacher', checkpoint=PUBLISHED))
    assert PUBLISHED in str(err.value)
    folder = tmp_path / 'home' / 'checkpoints'
    assert not [p for p in folder.iterdir() if p.name.endswith('.pth')]
    assert not os.path.exists(folder / 'resnet50-0676ba61.pth')
