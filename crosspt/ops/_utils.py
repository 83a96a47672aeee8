"""Shared argument checks and the CPU fast-path switch for crosspt.ops."""
import importlib.util
from functools import lru_cache

from torch import Tensor

BACKENDS = ('auto', 'torch', 'cpu_lib')


def check_points(name: str, points: Tensor, op: str) -> None:
    """Raise unless ``points`` is a floating (B, N, 3) tensor."""
    if not isinstance(points, Tensor):
        raise TypeError(f'{op}: {name} must be a torch.Tensor, got {type(points).__name__}')
    if points.dim() != 3 or points.shape[-1] != 3:
        raise ValueError(f'{op}: {name} must have shape (B, N, 3), got {tuple(points.shape)}')
    if not points.is_floating_point():
        raise TypeError(f'{op}: {name} must be floating point, got {points.dtype}')


@lru_cache(maxsize=None)
def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def use_cpu_library(backend: str, tensor: Tensor, module: str, op: str) -> bool:
    """Whether to take the library fast path for ``tensor`` (CPU tensor, library present)."""
    if backend not in BACKENDS:
        raise ValueError(f'{op}: backend must be one of {BACKENDS}, got {backend!r}')
    if backend == 'torch':
        return False
    available = tensor.device.type == 'cpu' and has_module(module)
    if backend == 'cpu_lib' and not available:
        raise RuntimeError(f"{op}: backend='cpu_lib' needs a CPU tensor and the '{module}' "
                           f'package (device={tensor.device}, installed={has_module(module)})')
    return available
