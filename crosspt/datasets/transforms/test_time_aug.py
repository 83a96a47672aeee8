"""Voting test-time augmentation: one sample -> ``num_votes`` augmented copies."""
import copy
from typing import Callable, List, Sequence, Union

from mmcv.transforms import BaseTransform

from crosspt.registry import TRANSFORMS

from .builder import build_transforms


@TRANSFORMS.register_module()
class PointTestTimeAug(BaseTransform):
    """Apply ``transforms`` (random ones such as ``RandomPointScaling`` draw anew each
    time) to ``num_votes`` copies of a sample; the last transform must pack.

    Returns ``{'inputs': [num_votes packed inputs], 'data_samples': [num_votes samples]}``,
    the layout mmengine's ``BaseTTAModel.test_step`` splits into one batch per vote
    (see :mod:`crosspt.models.tta`).  Used as the config's ``tta_pipeline`` tail with
    ``tools/test.py --tta``.

    Args:
        transforms: transform configs (built from crosspt's TRANSFORMS) or callables.
        num_votes: augmented copies per sample (openpoints / PointMLP use 10).
    """

    def __init__(self, transforms: Sequence[Union[dict, Callable]], num_votes: int = 10) -> None:
        if isinstance(num_votes, bool) or not isinstance(num_votes, int) or num_votes < 1:
            raise ValueError(f'PointTestTimeAug: num_votes must be a positive int, got '
                             f'{num_votes!r}')
        if not transforms:
            raise ValueError('PointTestTimeAug: transforms must end with a packing transform '
                             '(e.g. PackPointClsInputs), got an empty list')
        self.num_votes = num_votes
        self.transforms: List[Callable] = build_transforms(transforms)

    def transform(self, results: dict) -> dict:
        inputs, samples = [], []
        for _ in range(self.num_votes):
            out = copy.deepcopy(results)
            for t in self.transforms:
                out = t(out)
                if out is None:
                    raise ValueError(f'PointTestTimeAug: {t!r} returned None')
            if 'inputs' not in out or 'data_samples' not in out:
                raise ValueError(f'PointTestTimeAug: the last transform must pack the sample '
                                 f"into 'inputs' and 'data_samples', got keys {sorted(out)}")
            inputs.append(out['inputs'])
            samples.append(out['data_samples'])
        return {'inputs': inputs, 'data_samples': samples}

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_votes={self.num_votes}, transforms={self.transforms})'
