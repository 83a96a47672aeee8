"""The 3DETR checkpoint layout survives code moves: a detector built from a config has the
state-dict keys and shapes recorded in threedetr_state_dict.json (written from the
single-file implementation before it became the ``threedetr`` package)."""
import json
from pathlib import Path

import pytest

from crosspt.registry import MODELS

RECORDED = json.loads((Path(__file__).parent / 'threedetr_state_dict.json').read_text())
CONFIGS = {
    'vanilla': dict(type='ThreeDETRDetector'),
    'masked_rgb_12bins': dict(type='ThreeDETRDetector', enc_proj_hidden=(256, ),
                              encoder=dict(encoder_type='masked', in_channels=3),
                              num_angle_bins=12),
}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_state_dict_keys_and_shapes_match_the_recorded_layout(name):
    model = MODELS.build(CONFIGS[name])
    got = [f'{k} {tuple(v.shape)}' for k, v in sorted(model.state_dict().items())]
    assert got == RECORDED[name]
