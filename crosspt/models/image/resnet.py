"""Pure-PyTorch ResNet whose ``state_dict`` is key-for-key and shape-for-shape
torchvision's, so torchvision (and timm ``resnet*``) ImageNet ``.pth`` files load into it.

Layout (torchvision's "ResNet v1.5": the stride of a down-sampling Bottleneck sits on its
3x3 ``conv2``, not on the first 1x1)::

    conv1 (7x7, stride 2, no bias) -> bn1 -> relu -> maxpool (3x3, stride 2, pad 1)
    layer1 .. layer4: blocks ``{i}.conv1/bn1/conv2/bn2[/conv3/bn3][/downsample.0/.1]``
    [avgpool -> fc]                                       (only with ``with_fc=True``)

``layer{j}`` (j = 1..4) has ``base_channels * 2**(j-1)`` planes, stride 1, 2, 2, 2 and
outputs ``planes * expansion`` channels (expansion 1 for BasicBlock, 4 for Bottleneck)
at stride 4, 8, 16, 32 from the input.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Type, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.registry import MODELS


def _conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs (stride on the first) + identity or ``downsample`` shortcut.

    (B, in_ch, H, W) -> (B, planes, H / stride, W / stride).
    """

    expansion = 1

    def __init__(self, in_ch: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_ch, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + shortcut)


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (carries the stride, v1.5) -> 1x1 expand (x4) + shortcut.

    (B, in_ch, H, W) -> (B, 4 * planes, H / stride, W / stride).
    """

    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv1 = _conv1x1(in_ch, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + shortcut)


#: depth -> (block type, blocks per layer1..layer4), as torchvision's resnet18..resnet152.
ARCH_SETTINGS: Dict[int, Tuple[Type[nn.Module], Tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}

#: Output stride of layer1..layer4 relative to the input image.
LAYER_STRIDES: Tuple[int, int, int, int] = (4, 8, 16, 32)


@MODELS.register_module()
class ResNet(BaseModule):
    """torchvision-layout ResNet returning the feature maps of selected stages.

    Args:
        depth: 18, 34 (BasicBlock) or 50, 101, 152 (Bottleneck).
        base_channels: stem / layer1 width; 64 is torchvision's (and the only width
            its checkpoints fit).  Smaller widths (16, 32) give a small CPU network.
        in_channels: image channels (3).
        out_indices: which of layer1..layer4 (0..3) to return, in increasing order;
            default ``(3,)`` = layer4 only.
        with_fc: also build ``avgpool`` + ``fc`` (``Linear(C_layer4, num_classes)``), so a
            full torchvision checkpoint (including ``fc.*``) loads with ``strict=True``;
            :meth:`classify` then gives ImageNet logits.  The features returned by
            :meth:`forward` do not depend on it.
        num_classes: ``fc`` outputs (1000 = ImageNet); only used with ``with_fc``.
        zero_init_residual: start the last BN of every block at gamma = 0.
        init_cfg: mmengine init config (e.g. ``dict(type='Pretrained', checkpoint=...)``);
            without one the weights keep the constructor's initialisation (Kaiming-normal
            fan-out convs, BN gamma 1 / beta 0, PyTorch's default Linear init).

    Attributes:
        out_channels: channels of each returned map, e.g. ``(2048,)`` for depth 50 and
            the default ``out_indices``; ``(8 * base_channels,)`` for depth 18/34.
        strides: output stride of each returned map, e.g. ``(32,)``.
    """

    def __init__(self, depth: int = 50, base_channels: int = 64, in_channels: int = 3,
                 out_indices: Sequence[int] = (3,), with_fc: bool = False,
                 num_classes: int = 1000, zero_init_residual: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if depth not in ARCH_SETTINGS:
            raise ValueError(f'ResNet: depth must be one of {sorted(ARCH_SETTINGS)}, got {depth!r}')
        if isinstance(base_channels, bool) or not isinstance(base_channels, int) \
                or base_channels < 1:
            raise ValueError(f'ResNet: base_channels must be a positive int, got '
                             f'{base_channels!r}')
        if isinstance(out_indices, int):
            out_indices = (out_indices,)
        out_indices = tuple(int(i) for i in out_indices)
        if not out_indices or any(i not in (0, 1, 2, 3) for i in out_indices) \
                or list(out_indices) != sorted(set(out_indices)):
            raise ValueError(f'ResNet: out_indices must be increasing, distinct indices of '
                             f'layer1..layer4 in 0..3, got {out_indices}')
        if with_fc and num_classes < 1:
            raise ValueError(f'ResNet: num_classes must be >= 1 with with_fc=True, got '
                             f'{num_classes}')
        block, num_blocks = ARCH_SETTINGS[depth]
        self.depth, self.base_channels, self.in_channels = depth, base_channels, in_channels
        self.out_indices, self.with_fc = out_indices, bool(with_fc)

        self.conv1 = nn.Conv2d(in_channels, base_channels, kernel_size=7, stride=2, padding=3,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(base_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        width = base_channels
        stage_channels = []
        for j, (n, stride) in enumerate(zip(num_blocks, (1, 2, 2, 2))):
            planes = base_channels * 2 ** j
            layer, width = self._make_layer(block, width, planes, n, stride)
            self.add_module(f'layer{j + 1}', layer)
            stage_channels.append(width)
        self.stage_channels: Tuple[int, ...] = tuple(stage_channels)
        self.out_channels: Tuple[int, ...] = tuple(stage_channels[i] for i in out_indices)
        self.strides: Tuple[int, ...] = tuple(LAYER_STRIDES[i] for i in out_indices)
        if self.with_fc:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(stage_channels[-1], num_classes)
        self._default_init(zero_init_residual)

    @staticmethod
    def _make_layer(block: Type[nn.Module], in_ch: int, planes: int, num_blocks: int,
                    stride: int) -> Tuple[nn.Sequential, int]:
        out_ch = planes * block.expansion
        downsample = None
        if stride != 1 or in_ch != out_ch:
            downsample = nn.Sequential(_conv1x1(in_ch, out_ch, stride), nn.BatchNorm2d(out_ch))
        blocks = [block(in_ch, planes, stride, downsample)]
        blocks += [block(out_ch, planes) for _ in range(num_blocks - 1)]
        return nn.Sequential(*blocks), out_ch

    def _default_init(self, zero_init_residual: bool) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                last_bn = getattr(m, 'bn3', None) if isinstance(m, Bottleneck) else \
                    getattr(m, 'bn2', None) if isinstance(m, BasicBlock) else None
                if last_bn is not None:
                    nn.init.zeros_(last_bn.weight)

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'ResNet: expected images (B, {self.in_channels}, H, W), got '
                             f'{tuple(x.shape)}')
        if not x.is_floating_point():
            raise TypeError(f'ResNet: expected a floating-point (normalised) image batch, got '
                            f'{x.dtype}')

    def stem(self, x: Tensor) -> Tensor:
        """(B, C_in, H, W) -> (B, base_channels, ~H/4, ~W/4) (conv1, bn1, relu, maxpool)."""
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(B, C_in, H, W) normalised images -> one (B, C_i, H_i, W_i) map per out index.

        ``H_i`` follows the conv arithmetic (e.g. 480 -> 120, 60, 30, 15 for layer1..4;
        240 -> 60, 30, 15, 8), i.e. ``ceil(H / stride_i)``.
        """
        self._check_input(x)
        x = self.stem(x)
        outs = []
        for j in range(max(self.out_indices) + 1):
            x = getattr(self, f'layer{j + 1}')(x)
            if j in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def classify(self, x: Tensor) -> Tensor:
        """(B, C_in, H, W) -> (B, num_classes) logits (needs ``with_fc=True``)."""
        if not self.with_fc:
            raise RuntimeError('ResNet.classify needs with_fc=True (no fc layer was built)')
        self._check_input(x)
        x = self.stem(x)
        for j in range(4):
            x = getattr(self, f'layer{j + 1}')(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))
