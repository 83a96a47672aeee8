"""3DETR-m's attention masks against the released code's arithmetic.

The release builds its masking radii as ``[x ** 2 for x in [0.4, 0.8, 1.2]]`` and blocks
attention between two points when their plain Euclidean distance (``cdist(p=2)``, not
squared) is ``>=`` that value.  That rule is restated here on a brute-force distance
matrix (a double loop over the points), and the masks that crosspt's encoder, built from
``projects/crosspt_mmdet3d/configs/tap/3detr-m_scratch_scannet-det.py``, hands its three
attention layers must equal it.  The encoder's own default must equal it as well.
"""
import math
from pathlib import Path
from typing import List, Tuple

import pytest
import torch
from mmengine.config import Config

from crosspt.models.detectors import ThreeDETREncoder

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'projects/crosspt_mmdet3d/configs/tap/3detr-m_scratch_scannet-det.py'
RELEASE_BASE_RADII = [0.4, 0.8, 1.2]
NHEAD = 4


def release_mask(xyz: torch.Tensor, layer: int) -> torch.Tensor:
    """(N, N) bool, True = blocked: the release's ``dist >= radius ** 2`` with ``dist`` the
    unsquared Euclidean distance, computed pair by pair (``xyz`` (N, 3))."""
    threshold = RELEASE_BASE_RADII[layer] ** 2
    pts = xyz.tolist()
    n = len(pts)
    return torch.tensor([[math.dist(pts[i], pts[j]) >= threshold for j in range(n)]
                         for i in range(n)])


def masks_seen_by_layers(encoder: ThreeDETREncoder, points: torch.Tensor
                         ) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
    """Run ``encoder`` once; return, per attention layer, its boolean attn_mask
    (B, M, M) (one head's copy) and the xyz (B, M, 3) of its tokens."""
    masks, token_xyz = [], []
    hooks = [layer.register_forward_pre_hook(
        lambda mod, args, kwargs: masks.append(kwargs['attn_mask'][::NHEAD].clone()),
        with_kwargs=True) for layer in encoder.layers]
    hooks += [sa.register_forward_hook(lambda mod, args, out: token_xyz.append(out[0]))
              for sa in (encoder.pre_encoder, encoder.interim_downsample)]
    try:
        with torch.no_grad():
            encoder.eval()(points)
    finally:
        for h in hooks:
            h.remove()
    # layer 0 runs on the pre-encoder tokens, layers 1 and 2 on the down-sampled ones
    return masks, [token_xyz[0], token_xyz[1], token_xyz[1]]


def small_masked_encoder(class_default: bool = False, **overrides) -> ThreeDETREncoder:
    """The config's masked encoder with fewer tokens (512 / 128) for speed; with
    ``class_default`` the config's masking_radius is dropped (the class default)."""
    args = dict(Config.fromfile(str(CONFIG)).model.encoder)
    assert args.pop('type') == 'ThreeDETREncoder' and args['encoder_type'] == 'masked'
    if class_default:
        args.pop('masking_radius')
    args.update(dict(preenc_npoints=512, preenc_nsample=8, interim_npoints=128,
                     interim_nsample=8), **overrides)
    return ThreeDETREncoder(**args)


def room(seed: int = 0) -> torch.Tensor:
    """(2, 2000, 3) points in a 1.6 x 1.6 x 0.8 m box: at 512 and 128 tokens every layer
    has pairs on both sides of its radius, and pairs between r ** 2 and r."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, 2000, 3, generator=g) * torch.tensor([1.6, 1.6, 0.8])


def test_config_radii_are_the_released_effective_radii():
    radii = Config.fromfile(str(CONFIG)).model.encoder.masking_radius
    assert radii == pytest.approx([r ** 2 for r in RELEASE_BASE_RADII])
    assert ThreeDETREncoder(encoder_type='masked').masking_radius == pytest.approx(radii)


@pytest.mark.parametrize('class_default', [False, True], ids=['config', 'class-default'])
def test_masks_equal_the_release_rule(class_default):
    masks, token_xyz = masks_seen_by_layers(small_masked_encoder(class_default), room())
    assert len(masks) == 3 and [m.shape[-1] for m in masks] == [512, 128, 128]
    for layer, (mask, xyz) in enumerate(zip(masks, token_xyz)):
        for b in range(xyz.shape[0]):
            expected = release_mask(xyz[b], layer)
            # every layer masks some pairs and keeps some (the comparison means something)
            assert 0 < int(expected.sum()) < expected.numel() - xyz.shape[1]
            assert torch.equal(mask[b], expected), f'layer {layer}, scene {b}'


def test_unsquared_radii_would_fail_the_release_rule():
    """The same check rejects masking with 0.4 / 0.8 / 1.2 m in every layer: it tells the
    two conventions apart."""
    encoder = small_masked_encoder(masking_radius=tuple(RELEASE_BASE_RADII))
    masks, token_xyz = masks_seen_by_layers(encoder, room())
    for layer, (mask, xyz) in enumerate(zip(masks, token_xyz)):
        assert not torch.equal(mask[0], release_mask(xyz[0], layer)), layer
