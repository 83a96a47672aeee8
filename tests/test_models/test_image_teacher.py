"""crosspt.models.image: the torchvision-layout ResNet, PPKT's frozen ImageTeacher and the
ImageSegmentor that trains a teacher on rendered frames.

References are independent of the implementation: torchvision's documented state-dict
layout written out by hand (key names, counts, shapes, ``num_params`` of the ImageNet
weights), the stem and a v1.5 Bottleneck computed with ``torch.nn.functional``, ImageNet
normalisation computed by hand.
"""
import math
import os
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import BaseDataElement
from torch import nn

from crosspt.models.image import ImageSegmentor, ImageTeacher, ResNet
from crosspt.models.image.image_segmentor import channel_argmax
from crosspt.registry import MODELS

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
BN_SUFFIXES = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


def torchvision_keys(blocks, bottleneck: bool, with_fc: bool = True):
    """torchvision.models.resnet state-dict keys, in order, from its documented layout."""
    keys = ['conv1.weight'] + [f'bn1.{s}' for s in BN_SUFFIXES]
    for layer, n in enumerate(blocks, start=1):
        for i in range(n):
            for c in range(1, 4 if bottleneck else 3):
                keys.append(f'layer{layer}.{i}.conv{c}.weight')
                keys += [f'layer{layer}.{i}.bn{c}.{s}' for s in BN_SUFFIXES]
            if i == 0 and (bottleneck or layer > 1):
                keys.append(f'layer{layer}.{i}.downsample.0.weight')
                keys += [f'layer{layer}.{i}.downsample.1.{s}' for s in BN_SUFFIXES]
    return keys + (['fc.weight', 'fc.bias'] if with_fc else [])


# ----------------------------------------------------------------------------- ResNet
def test_resnet50_state_dict_is_torchvision_layout():
    state = ResNet(depth=50, with_fc=True).state_dict()
    expected = torchvision_keys((3, 4, 6, 3), bottleneck=True)
    assert len(expected) == 320
    assert list(state) == expected
    shapes = {
        'conv1.weight': (64, 3, 7, 7), 'bn1.running_var': (64,),
        'layer1.0.conv1.weight': (64, 64, 1, 1), 'layer1.0.conv3.weight': (256, 64, 1, 1),
        'layer1.0.downsample.0.weight': (256, 64, 1, 1),
        'layer1.1.conv1.weight': (64, 256, 1, 1),
        'layer2.0.conv1.weight': (128, 256, 1, 1), 'layer2.0.conv2.weight': (128, 128, 3, 3),
        'layer2.0.downsample.0.weight': (512, 256, 1, 1),
        'layer3.5.bn3.running_mean': (1024,),
        'layer4.0.downsample.0.weight': (2048, 1024, 1, 1),
        'layer4.2.conv3.weight': (2048, 512, 1, 1), 'layer4.2.bn3.weight': (2048,),
        'layer4.2.bn3.num_batches_tracked': (), 'fc.weight': (1000, 2048), 'fc.bias': (1000,),
    }
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key
    assert sum(v.numel() for k, v in state.items()
               if not k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))) \
        == 25_557_032


def test_resnet18_and_others_match_torchvision_counts():
    r18 = ResNet(depth=18, with_fc=True)
    assert list(r18.state_dict()) == torchvision_keys((2, 2, 2, 2), bottleneck=False)
    assert len(r18.state_dict()) == 122
    assert sum(p.numel() for p in r18.parameters()) == 11_689_512
    assert tuple(r18.state_dict()['layer4.1.conv2.weight'].shape) == (512, 512, 3, 3)
    assert 'layer1.0.downsample.0.weight' not in r18.state_dict()
    r101 = ResNet(depth=101, with_fc=False)
    assert list(r101.state_dict()) == torchvision_keys((3, 4, 23, 3), True, with_fc=False)
    assert r18.out_channels == (512,) and ResNet(depth=50).out_channels == (2048,)
    assert ResNet(depth=18, base_channels=32).out_channels == (256,)


def test_resnet_feature_shapes():
    r50 = ResNet(depth=50).eval()
    with torch.no_grad():
        (layer4,) = r50(torch.randn(1, 3, 480, 640))
    assert tuple(layer4.shape) == (1, 2048, 15, 20)
    tiny = ResNet(depth=50, base_channels=8, out_indices=(0, 1, 2, 3)).eval()
    assert tiny.strides == (4, 8, 16, 32) and tiny.out_channels == (32, 64, 128, 256)
    with torch.no_grad():
        outs = tiny(torch.randn(1, 3, 480, 640))
    assert [tuple(o.shape) for o in outs] == [(1, 32, 120, 160), (1, 64, 60, 80),
                                             (1, 128, 30, 40), (1, 256, 15, 20)]
    with torch.no_grad():          # 240 x 320: 120 -> 60 -> 30 -> 15 -> 8 rows
        assert tuple(tiny(torch.randn(1, 3, 240, 320))[3].shape) == (1, 256, 8, 10)


def test_resnet_rejects_bad_arguments():
    with pytest.raises(ValueError, match='depth'):
        ResNet(depth=20)
    with pytest.raises(ValueError, match='out_indices'):
        ResNet(depth=18, out_indices=(3, 1))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        ResNet(depth=18, base_channels=4)(torch.zeros(1, 4, 32, 32))
    with pytest.raises(RuntimeError, match='with_fc'):
        ResNet(depth=18, base_channels=4).classify(torch.zeros(1, 3, 32, 32))


def _randomise_bn(module: nn.Module) -> None:
    gen = torch.Generator().manual_seed(3)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = torch.rand(n, generator=gen) + 0.5
            m.bias.data = torch.randn(n, generator=gen)
            m.running_mean = torch.randn(n, generator=gen)
            m.running_var = torch.rand(n, generator=gen) + 0.5


def _bn(x, bn):
    shape = (1, -1, 1, 1)
    return (x - bn.running_mean.view(shape)) / torch.sqrt(bn.running_var.view(shape) + 1e-5) \
        * bn.weight.view(shape) + bn.bias.view(shape)


def test_stem_and_bottleneck_against_functional_reference():
    torch.manual_seed(0)
    net = ResNet(depth=50, base_channels=4, out_indices=(0, 1)).double().eval()
    _randomise_bn(net)
    net.double()
    x = torch.randn(2, 3, 37, 45, dtype=torch.float64)
    # stem: 7x7 stride 2 pad 3 conv (no bias) -> BN -> ReLU -> 3x3 stride 2 pad 1 max pool
    stem = F.max_pool2d(torch.relu(_bn(F.conv2d(x, net.conv1.weight, stride=2, padding=3),
                                       net.bn1)), 3, stride=2, padding=1)
    assert tuple(stem.shape) == (2, 4, 10, 12)
    torch.testing.assert_close(net.stem(x), stem)
    # layer2.0 (v1.5): stride on the 3x3 conv2, 1x1 stride-2 projection shortcut
    blk = net.layer2[0]
    assert blk.conv1.stride == (1, 1) and blk.conv2.stride == (2, 2)
    inp = net.layer1(stem)
    y = torch.relu(_bn(F.conv2d(inp, blk.conv1.weight), blk.bn1))
    y = torch.relu(_bn(F.conv2d(y, blk.conv2.weight, stride=2, padding=1), blk.bn2))
    y = _bn(F.conv2d(y, blk.conv3.weight), blk.bn3)
    short = _bn(F.conv2d(inp, blk.downsample[0].weight, stride=2), blk.downsample[1])
    torch.testing.assert_close(blk(inp), torch.relu(y + short))
    outs = net(x)
    torch.testing.assert_close(outs[0], inp)
    torch.testing.assert_close(outs[1], net.layer2(inp))


# ----------------------------------------------------------------------------- teacher
TINY = dict(type='ResNet', depth=18, base_channels=8)


def _tiny_resnet_state(base: int = 8, with_fc: bool = True, seed: int = 0):
    torch.manual_seed(seed)
    net = ResNet(depth=18, base_channels=base, with_fc=with_fc)
    _randomise_bn(net)
    return net.state_dict()


def test_teacher_needs_a_checkpoint_or_explicit_random_init():
    with pytest.raises(ValueError, match='allow_random_init'):
        ImageTeacher(backbone=TINY)
    teacher = ImageTeacher(backbone=TINY, allow_random_init=True)
    assert teacher.out_channels == 64 and teacher.stride == 32
    assert MODELS.build(dict(type='ImageTeacher', allow_random_init=True)).out_channels == 2048


def test_teacher_is_frozen_and_stays_in_eval_mode():
    teacher = ImageTeacher(backbone=TINY, allow_random_init=True)
    _randomise_bn(teacher)
    assert all(not p.requires_grad for p in teacher.parameters())
    teacher.train()
    assert not any(m.training for m in teacher.modules())
    stats = {k: v.clone() for k, v in teacher.state_dict().items()}
    images = torch.randint(0, 256, (2, 3, 64, 96), dtype=torch.uint8)
    out = teacher(images)
    assert tuple(out.shape) == (2, 64, 2, 3) and out.grad_fn is None and not out.requires_grad
    for key, value in teacher.state_dict().items():      # BN statistics did not move
        assert torch.equal(value, stats[key]), key
    # a trainable parent in train mode does not switch the teacher to train mode
    parent = nn.ModuleDict(dict(teacher=teacher, head=nn.Conv2d(64, 4, 1)))
    parent.train()
    assert parent['head'].training and not teacher.training and not teacher.backbone.bn1.training


def test_teacher_normalises_with_imagenet_statistics():
    teacher = ImageTeacher(backbone=TINY, allow_random_init=True)
    seen = []
    teacher.backbone.conv1.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    mean_image = torch.tensor(MEAN).view(1, 3, 1, 1).expand(2, 3, 32, 48).clone()
    teacher(mean_image)                                    # float in [0, 1] equal to the mean
    assert seen[-1].abs().max() < 1e-6
    white = torch.full((1, 3, 32, 48), 255, dtype=torch.uint8)
    teacher(white)                                         # uint8 255 -> (1 - mean) / std
    expected = [(1 - m) / s for m, s in zip(MEAN, STD)]    # 2.2489, 2.4286, 2.6400
    for c in range(3):
        assert seen[-1][0, c].flatten().unique().tolist() == pytest.approx([expected[c]],
                                                                          rel=1e-5)
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        teacher(torch.full((1, 3, 32, 32), 128.0))        # [0, 255] float by mistake
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        teacher(torch.zeros(3, 32, 32))


def test_teacher_loads_torchvision_and_mmengine_files(tmp_path):
    state = _tiny_resnet_state()
    raw = tmp_path / 'resnet18_tv.pth'
    torch.save(state, raw)                                 # raw torchvision file, with fc
    teacher = ImageTeacher(backbone=TINY, checkpoint=str(raw))
    own = teacher.backbone.state_dict()
    assert 'fc.weight' not in own
    for key, value in own.items():
        assert torch.equal(value, state[key]), key
    wrapped = tmp_path / 'mm.pth'
    torch.save({'meta': {'epoch': 3}, 'state_dict': {f'backbone.{k}': v for k, v in state.items()}},
               wrapped)
    teacher2 = ImageTeacher(backbone=TINY, checkpoint=str(wrapped), prefix='backbone.')
    assert torch.equal(teacher2.backbone.layer4[1].conv2.weight, state['layer4.1.conv2.weight'])
    model_fmt = tmp_path / 'model.pth'
    torch.save({'model': {f'module.{k}': v for k, v in state.items()}}, model_fmt)
    ImageTeacher(backbone=TINY, checkpoint=str(model_fmt))
    # files written before BatchNorm had num_batches_tracked still load
    old = tmp_path / 'old.pth'
    torch.save({k: v for k, v in state.items() if not k.endswith('num_batches_tracked')}, old)
    ImageTeacher(backbone=TINY, checkpoint=str(old))


def test_teacher_rejects_checkpoints_that_do_not_fit(tmp_path):
    state = _tiny_resnet_state()
    missing = tmp_path / 'missing_key.pth'
    torch.save({k: v for k, v in state.items() if k != 'layer3.1.conv2.weight'}, missing)
    with pytest.raises(ValueError) as err:
        ImageTeacher(backbone=TINY, checkpoint=str(missing))
    assert str(missing) in str(err.value) and 'layer3.1.conv2.weight' in str(err.value)
    assert 'missing' in str(err.value)
    wider = tmp_path / 'wider.pth'
    torch.save(_tiny_resnet_state(base=16), wider)
    with pytest.raises(ValueError) as err:
        ImageTeacher(backbone=TINY, checkpoint=str(wider))
    assert str(wider) in str(err.value) and 'shape' in str(err.value)
    assert 'conv1.weight: checkpoint (16, 3, 7, 7) vs model (8, 3, 7, 7)' in str(err.value)
    extra = tmp_path / 'extra.pth'
    torch.save({**state, 'layer5.0.conv1.weight': torch.zeros(1)}, extra)
    with pytest.raises(ValueError, match='unexpected keys.*layer5.0.conv1.weight'):
        ImageTeacher(backbone=TINY, checkpoint=str(extra))
    with pytest.raises(ValueError, match=r"no tensor of checkpoint .*extra.pth starts with "
                                         r"prefix 'backbone.'"):
        ImageTeacher(backbone=TINY, checkpoint=str(extra), prefix='backbone.')
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        ImageTeacher(backbone=TINY, checkpoint=str(tmp_path / 'nowhere.pth'))


def test_torchvision_scheme_without_torchvision_explains_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, 'torchvision', None)     # import torchvision fails
    with pytest.raises(ImportError) as err:
        ImageTeacher(checkpoint='torchvision://resnet50')
    message = str(err.value)
    assert 'torchvision' in message and 'not installed' in message
    assert '.pth' in message and 'resnet50-0676ba61.pth' in message


def test_teacher_survives_init_weights_of_an_enclosing_model(tmp_path):
    state = _tiny_resnet_state()
    path = tmp_path / 't.pth'
    torch.save(state, path)

    class Parent(BaseModule):
        def __init__(self):
            super().__init__(init_cfg=dict(type='Constant', layer='Conv2d', val=0.0))
            self.teacher = ImageTeacher(backbone=TINY, checkpoint=str(path))
            self.head = nn.Conv2d(64, 2, 1)

    parent = Parent()
    parent.init_weights()
    assert parent.head.weight.abs().sum() == 0              # the parent's init ran
    assert torch.equal(parent.teacher.backbone.conv1.weight, state['conv1.weight'])


# ----------------------------------------------------------------------------- segmentor
def _segmentor(num_classes: int = 4) -> ImageSegmentor:
    return ImageSegmentor(backbone=dict(type='ResNet', depth=18, base_channels=8),
                          num_classes=num_classes, dropout=0.0)


def _toy_batch():
    """Two 64x64 images: class = colour quadrant (red 0, green 1, blue 2, grey 3), with
    a strip of unlabelled (255) pixels."""
    colours = torch.tensor([[220, 30, 30], [30, 200, 40], [20, 40, 210], [128, 128, 128]],
                           dtype=torch.uint8)
    images, samples = [], []
    for shift in (0, 1):
        cls = torch.zeros(64, 64, dtype=torch.long)
        cls[:32, 32:], cls[32:, :32], cls[32:, 32:] = 1, 2, 3
        cls = (cls + shift) % 4
        img = colours[cls].permute(2, 0, 1).contiguous()
        gt = cls.clone()
        gt[:, 30:34] = 255
        images.append(img)
        samples.append(BaseDataElement(gt_sem_seg=gt))
    return dict(inputs=images, data_samples=samples)


def test_segmentor_preprocessing_matches_the_teacher():
    seg = _segmentor()
    data = _toy_batch()
    batch = seg.data_preprocessor(data, True)
    assert batch['inputs'].dtype == torch.float32 and tuple(batch['inputs'].shape) == (2, 3, 64, 64)
    red = batch['inputs'][0, :, 0, 0]                       # pixel (220, 30, 30)
    expected = [(220 / 255 - MEAN[0]) / STD[0], (30 / 255 - MEAN[1]) / STD[1],
                (30 / 255 - MEAN[2]) / STD[2]]
    assert red.tolist() == pytest.approx(expected, rel=1e-5)
    teacher = ImageTeacher(backbone=dict(type='ResNet', depth=18, base_channels=8),
                           allow_random_init=True)
    seen = []
    teacher.backbone.conv1.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    teacher(torch.stack(data['inputs']))
    torch.testing.assert_close(seen[0], batch['inputs'])


@pytest.mark.parametrize('kind', ['random', 'ties', 'one_class', 'nan'])
def test_channel_argmax_equals_torch_argmax(kind):
    """The segmentor's class argmax against torch's (first maximum on ties, NaN wins)."""
    gen = torch.Generator().manual_seed(0)
    if kind == 'ties':                  # 3 levels over 7 classes: ties at many pixels
        logits = torch.randint(0, 3, (2, 7, 5, 6), generator=gen).float()
    else:
        logits = torch.randn(2, 1 if kind == 'one_class' else 7, 5, 6, generator=gen)
    if kind == 'nan':
        logits[1, 4, 2, 3] = float('nan')
    expected = logits.argmax(1)
    if kind == 'ties':
        assert (logits == logits.amax(1, keepdim=True)).sum(1).gt(1).float().mean() > 0.3
    result = channel_argmax(logits)
    assert result.dtype == torch.int64 and torch.equal(result, expected)


def test_segmentor_loss_ignores_unlabelled_pixels_and_decreases():
    torch.manual_seed(0)
    seg = _segmentor()
    batch = seg.data_preprocessor(_toy_batch(), True)
    seg.eval()
    logits = seg(batch['inputs'], mode='tensor')
    assert tuple(logits.shape) == (2, 4, 64, 64)
    gt = torch.stack([s.gt_sem_seg for s in batch['data_samples']])
    valid = gt != 255
    logp = torch.log_softmax(logits, dim=1)
    reference = -logp.gather(1, gt.clamp(max=3)[:, None])[:, 0][valid].mean()
    loss = seg(**batch, mode='loss')['loss_seg']
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    assert loss.item() == pytest.approx(math.log(4), rel=0.05)      # small-init head: ~ln K
    seg.train()
    optim = torch.optim.Adam(seg.parameters(), lr=1e-2)
    first = None
    for _ in range(20):
        out = seg(**batch, mode='loss')
        optim.zero_grad()
        out['loss_seg'].backward()
        optim.step()
        first = out['loss_seg'].item() if first is None else first
    seg.eval()
    final = seg(**batch, mode='loss')
    assert final['loss_seg'].item() < 0.3 * first
    preds = seg(**batch, mode='predict')
    assert tuple(preds[0].pred_sem_seg.shape) == (64, 64)
    acc = torch.stack([(p.pred_sem_seg == p.gt_sem_seg)[p.gt_sem_seg != 255].float().mean()
                       for p in preds]).mean()
    assert acc > 0.8
    with pytest.raises(ValueError, match='mode'):
        seg(batch['inputs'], mode='bogus')


def test_teacher_loads_an_image_segmentor_checkpoint_with_prefix(tmp_path):
    torch.manual_seed(1)
    seg = _segmentor()
    _randomise_bn(seg)
    path = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': seg.state_dict(),
                'message_hub': {}}, path)
    teacher = ImageTeacher(backbone=dict(type='ResNet', depth=18, base_channels=8),
                           checkpoint=str(path), prefix='backbone.')
    data = _toy_batch()
    seg.eval()
    with torch.no_grad():
        expected = seg.backbone(seg.data_preprocessor(data, False)['inputs'])[0]
    torch.testing.assert_close(teacher(torch.stack(data['inputs'])), expected)
    # the wrong width names the file
    with pytest.raises(ValueError, match='epoch_1.pth'):
        ImageTeacher(backbone=dict(type='ResNet', depth=18, base_channels=16),
                     checkpoint=str(path), prefix='backbone.')


def test_teacher_config_builds_and_steps():
    from mmengine.config import Config
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cfg = Config.fromfile(os.path.join(root, 'configs/ppkt/teacher2d/'
                                             'resnet18-w32_synthetic-seg.py'))
    assert cfg.default_scope == 'crosspt'
    model = MODELS.build(cfg.model)
    assert isinstance(model, ImageSegmentor) and model.backbone.out_channels == (256,)
    assert model.num_classes == 20 and model.ignore_index == 255
    data = _toy_batch()
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert torch.isfinite(losses['loss_seg'])
