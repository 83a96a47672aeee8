"""PPKT's frozen 2D teacher (docs/methods/ppkt.md, '2D teacher'): a torchvision-layout ResNet whose last
requested stage (layer4 by default: 2048 channels at stride 32 for ResNet-50, i.e.
15x20 for a 480x640 image) is the feature map the UpSampling Projection Layer reads.

Images enter as RGB ``uint8`` in [0, 255] or floating point in [0, 1]; the teacher
scales them to [0, 1] and applies ImageNet normalisation (mean 0.485/0.456/0.406, std
0.229/0.224/0.225) itself, the convention of torchvision's ImageNet weights.
"""
import os
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.fileio.download import is_checkpoint_url, resolve_checkpoint
from crosspt.registry import MODELS

IMAGENET_MEAN: Tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: Tuple[float, float, float] = (0.229, 0.224, 0.225)

TORCHVISION_SCHEME = 'torchvision://'
#: torchvision's IMAGENET1K_V1 files as published (the ``-<hex>`` suffix is the start of
#: the file's sha256, checked on download); ``checkpoint=<URL>`` loads them without
#: torchvision, and the "torchvision is not installed" error names them.
TORCHVISION_V1_FILES = {
    'resnet18': 'https://download.pytorch.org/models/resnet18-f37072fd.pth',
    'resnet34': 'https://download.pytorch.org/models/resnet34-b627a593.pth',
    'resnet50': 'https://download.pytorch.org/models/resnet50-0676ba61.pth',
}
_SHOW = 5   # offending keys listed in an error


def images_to_unit_range(images: Tensor, owner: str = 'images_to_unit_range') -> Tensor:
    """(B, 3, H, W) uint8 in [0, 255] or float in [0, 1] -> float32 (or the input's float
    dtype) in [0, 1].  Float input outside [0, 1] (beyond 1e-3) raises, since it is almost
    always a [0, 255] float image passed by mistake."""
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    if not images.is_floating_point():
        raise TypeError(f'{owner}: images must be uint8 in [0, 255] or float in [0, 1], got '
                        f'{images.dtype}')
    if images.numel():
        lo, hi = float(images.min()), float(images.max())
        if lo < -1e-3 or hi > 1.0 + 1e-3:
            raise ValueError(f'{owner}: float images must lie in [0, 1], got values in '
                             f'[{lo:.4g}, {hi:.4g}] (pass uint8 for [0, 255] images)')
    return images


def imagenet_normalize(images: Tensor, mean: Sequence[float] = IMAGENET_MEAN,
                       std: Sequence[float] = IMAGENET_STD) -> Tensor:
    """(B, 3, H, W) in [0, 1] -> ``(x - mean) / std`` per channel."""
    m = torch.as_tensor(mean, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    s = torch.as_tensor(std, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    return (images - m) / s


def _torchvision_state_dict(spec: str) -> Dict[str, Tensor]:
    """``torchvision://resnet50`` (IMAGENET1K_V1, the classic weights PPKT-era work
    used) or ``torchvision://resnet50/IMAGENET1K_V2`` -> the weights' state dict."""
    name, _, variant = spec[len(TORCHVISION_SCHEME):].partition('/')
    variant = variant or 'IMAGENET1K_V1'
    try:
        import torchvision  # noqa: F401
        from torchvision.models import get_weight
    except ImportError:
        url = TORCHVISION_V1_FILES.get(name)
        where = (f'e.g. {url}' if url and variant == 'IMAGENET1K_V1' else
                 f'the {variant} file of torchvision.models.{name} from '
                 'https://download.pytorch.org/models/')
        raise ImportError(
            f'ImageTeacher: checkpoint {spec!r} needs torchvision, which is not installed. '
            f'Pass the .pth file\'s URL ({where}; downloaded and sha256-checked without '
            f'torchvision) or the path of a downloaded copy as checkpoint=... '
            f'instead.') from None
    enum_name = {'resnet18': 'ResNet18', 'resnet34': 'ResNet34', 'resnet50': 'ResNet50',
                 'resnet101': 'ResNet101', 'resnet152': 'ResNet152'}.get(name)
    if enum_name is None:
        raise ValueError(f'ImageTeacher: unknown torchvision model in {spec!r}; expected '
                         'resnet18/34/50/101/152')
    weights = get_weight(f'{enum_name}_Weights.{variant}')
    return weights.get_state_dict(progress=True)


def read_state_dict(checkpoint: str, prefix: Optional[str] = None,
                    map_location: str = 'cpu') -> Dict[str, Tensor]:
    """Tensors of a checkpoint with ``prefix`` removed.

    ``checkpoint``: ``torchvision://<arch>[/<variant>]``, a local file or an ``http(s)://``
    / ``file://`` URL (downloaded once into the crosspt cache and checked against the
    ``-<sha256 prefix>`` of its file name, like torchvision's published
    ``resnet50-0676ba61.pth``), holding a raw state dict, an mmengine checkpoint
    (``{'state_dict': ...}``) or ``{'model': ...}``.
    A leading ``module.`` (DDP) is dropped.  With ``prefix`` (e.g. ``'backbone.'``) only
    the keys under it are kept; none matching raises a ValueError naming the file.
    """
    if checkpoint.startswith(TORCHVISION_SCHEME):
        state = _torchvision_state_dict(checkpoint)
    elif is_checkpoint_url(checkpoint):
        from crosspt.fileio.checkpoint_file import load_checkpoint_file
        path = resolve_checkpoint(checkpoint)
        try:
            state = load_checkpoint_file(path, map_location=map_location)
        except RuntimeError as err:
            raise RuntimeError(f'ImageTeacher: checkpoint {checkpoint} (cached as {path}): '
                               f'{err}') from None
    else:
        from crosspt.fileio.checkpoint_file import load_checkpoint_file
        if not os.path.isfile(checkpoint):
            raise FileNotFoundError(f'ImageTeacher: checkpoint file not found: {checkpoint}')
        state = load_checkpoint_file(checkpoint, map_location=map_location)
    if not isinstance(state, dict):
        raise ValueError(f'ImageTeacher: checkpoint {checkpoint} holds a '
                         f'{type(state).__name__}, not a state dict')
    for key in ('state_dict', 'model'):
        if isinstance(state.get(key), dict):
            state = state[key]
            break
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items() if isinstance(v, Tensor)}
    if prefix:
        kept = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not kept:
            raise ValueError(f'ImageTeacher: no tensor of checkpoint {checkpoint} starts with '
                             f'prefix {prefix!r} (keys look like {sorted(state)[:_SHOW]})')
        state = kept
    if not state:
        raise ValueError(f'ImageTeacher: checkpoint {checkpoint} holds no tensors')
    return state


def fit_state_dict(module: nn.Module, state: Dict[str, Tensor], source: str,
                   ignore_prefixes: Sequence[str] = ('fc.',)) -> List[str]:
    """Load ``state`` into ``module`` only if it fits exactly; return the ignored keys.

    Checkpoint keys under ``ignore_prefixes`` that the module lacks (a classifier head)
    are ignored, and so are ``*.num_batches_tracked`` buffers the checkpoint lacks
    (files saved before PyTorch 0.4.1 have none; BatchNorm fills them in).  Any other
    missing or unexpected key, or a shape mismatch, raises a ValueError naming ``source``
    and listing the first offending keys.
    """
    own = module.state_dict()
    ignored = [k for k in state if k not in own and k.startswith(tuple(ignore_prefixes))]
    unexpected = [k for k in state if k not in own and k not in ignored]
    missing = [k for k in own if k not in state and not k.endswith('num_batches_tracked')]
    wrong = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
             for k in state if k in own and state[k].shape != own[k].shape]
    problems = []
    for what, keys in (('missing keys', missing), ('unexpected keys', unexpected),
                       ('shape mismatches', wrong)):
        if keys:
            more = f' (+{len(keys) - _SHOW} more)' if len(keys) > _SHOW else ''
            problems.append(f'{len(keys)} {what}: {keys[:_SHOW]}{more}')
    if problems:
        raise ValueError(f'{source} does not fit the {type(module).__name__} '
                         f'({"; ".join(problems)}). Check the depth / base_channels of the '
                         'backbone config and the checkpoint prefix.')
    module.load_state_dict({k: v for k, v in state.items() if k not in ignored}, strict=False)
    return ignored


@MODELS.register_module()
class ImageTeacher(BaseModule):
    """Frozen 2D feature extractor: images -> the backbone's single output map.

    Args:
        backbone: config of a :class:`ResNet` with exactly one ``out_indices`` entry
            (default layer4 of ResNet-50: 2048 channels at stride 32).
        checkpoint: ``'path/to/file.pth'`` (raw torchvision state dict, mmengine
            checkpoint or ``{'model': ...}``), its ``http(s)://`` URL (e.g. torchvision's
            published ``https://download.pytorch.org/models/resnet50-0676ba61.pth``:
            downloaded once, sha256-checked against the name, no torchvision needed),
            ``'torchvision://resnet50'`` (torchvision's IMAGENET1K_V1 weights; needs
            torchvision) or ``'torchvision://resnet50/IMAGENET1K_V2'``.  ``fc.*`` keys
            are not loaded and are reported as unused; any other key or shape that does
            not fit raises a ValueError naming the file.
        prefix: keep only the checkpoint keys under this prefix and strip it (e.g.
            ``'backbone.'`` for an :class:`ImageSegmentor` checkpoint).
        allow_random_init: must be True to build the teacher without a checkpoint (a
            random teacher teaches nothing; this is for tests).
        map_location: where a checkpoint file is loaded to before it is copied in.

    Attributes:
        out_channels (int): channels of the output map (2048 for ResNet-50 layer4;
            ``8 * base_channels`` for ResNet-18/34 layer4).
        stride (int): its output stride (32 for layer4).
        unused_keys (List[str]): checkpoint keys not loaded (the classifier ``fc.*``);
            set once a checkpoint is loaded, and logged.

    The teacher never trains: every parameter has ``requires_grad=False``, ``train()``
    leaves it in eval mode (BatchNorm uses and never updates its running statistics) and
    :meth:`forward` runs under ``torch.no_grad()``.  :meth:`init_weights` (called by
    mmengine's runner on the whole model) reloads the checkpoint, so an ``init_cfg`` of
    an enclosing model cannot overwrite the teacher.
    """

    def __init__(self, backbone: Optional[dict] = None, checkpoint: Optional[str] = None,
                 prefix: Optional[str] = None, allow_random_init: bool = False,
                 map_location: str = 'cpu', init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        backbone = dict(type='ResNet', depth=50) if backbone is None else dict(backbone)
        if backbone.get('init_cfg') is not None:
            raise ValueError('ImageTeacher: give the teacher weights as '
                             'ImageTeacher(checkpoint=..., prefix=...), not as backbone.init_cfg')
        if init_cfg is not None:
            raise ValueError('ImageTeacher: init_cfg is not supported; use checkpoint=...')
        if checkpoint is None and not allow_random_init:
            raise ValueError('ImageTeacher: no checkpoint given. A randomly initialised teacher '
                             'teaches nothing; pass checkpoint=\'path/to/resnet.pth\' (or '
                             '\'torchvision://resnet50\'), or allow_random_init=True for tests')
        if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
            raise TypeError(f'ImageTeacher: checkpoint must be a path, URL or torchvision:// '
                            f'string, got {type(checkpoint).__name__}')
        self.backbone = MODELS.build(backbone)
        out_channels = getattr(self.backbone, 'out_channels', None)
        strides = getattr(self.backbone, 'strides', None)
        if out_channels is None or strides is None or len(out_channels) != 1:
            raise ValueError(f'ImageTeacher: the backbone must be a ResNet returning exactly one '
                             f'map (one out_indices entry), got out_channels={out_channels}')
        self.out_channels: int = int(out_channels[0])
        self.stride: int = int(strides[0])
        self.checkpoint = None if checkpoint is None else os.fspath(checkpoint)
        self.prefix, self.map_location = prefix, map_location
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1),
                             persistent=False)
        if self.checkpoint is not None:
            self.load_checkpoint()
        self.requires_grad_(False)
        self.train(False)

    def load_checkpoint(self) -> None:
        """(Re)load ``self.checkpoint`` into the backbone, checking that it fits."""
        source = f'ImageTeacher checkpoint {self.checkpoint}' + \
            (f' (prefix {self.prefix!r})' if self.prefix else '')
        state = read_state_dict(self.checkpoint, self.prefix, self.map_location)
        ignored = fit_state_dict(self.backbone, state, source)
        self.unused_keys: List[str] = ignored
        print_log(f'{source}: loaded {len(state) - len(ignored)} tensors into the frozen '
                  f'{type(self.backbone).__name__}' +
                  (f'; unused (the ImageNet classifier, not part of the teacher): '
                   f'{", ".join(ignored)}' if ignored else ''),
                  logger='current')

    def init_weights(self) -> None:
        """Reload the checkpoint (random-init teachers keep their current weights)."""
        if self.checkpoint is not None:
            self.load_checkpoint()
        self.requires_grad_(False)
        self._is_init = True

    def train(self, mode: bool = True) -> 'ImageTeacher':
        """Always eval mode, whatever ``mode`` is: the teacher's BN statistics never move."""
        return super().train(False)

    def forward(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) RGB, uint8 in [0, 255] or float in [0, 1] -> (B, out_channels,
        ceil(H / stride), ceil(W / stride)) features (15x20 for 480x640 at stride 32),
        computed without gradients."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f'ImageTeacher: expected RGB images (B, 3, H, W), got '
                             f'{tuple(images.shape)}')
        with torch.no_grad():
            x = images_to_unit_range(images, 'ImageTeacher')
            dtype = self.mean.dtype
            x = (x.to(dtype) - self.mean) / self.std
            return self.backbone(x)[0]
