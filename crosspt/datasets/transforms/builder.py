"""Build a pipeline of transform configs and callables."""
from typing import Callable, List, Sequence, Union

from crosspt.registry import TRANSFORMS


def build_transforms(pipeline: Sequence[Union[dict, Callable]]) -> List[Callable]:
    """Dict entries built from crosspt's TRANSFORMS (its parents are searched too),
    callables kept as they are."""
    return [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
