"""PPKT's UPL (sampled = full computation) and PPNCE loss (hand-worked values)."""
import math

import pytest
import torch
import torch.nn.functional as F

from crosspt.models.ppkt import PPNCELoss, UpsamplingProjection


def test_upl_sample_equals_the_full_map_at_those_pixels():
    torch.manual_seed(0)
    upl = UpsamplingProjection(in_channels=16, out_channels=8, scale=32).double()
    fmap = torch.randn(2, 16, 3, 4, dtype=torch.float64)
    # reference: conv then bilinear upsampling (align_corners=True) of the whole map
    full = F.interpolate(F.conv2d(fmap, upl.proj.weight, upl.proj.bias), size=(96, 128),
                         mode='bilinear', align_corners=True)
    assert torch.allclose(upl(fmap), full)
    b = torch.tensor([0, 1, 1, 0, 1, 0])
    r = torch.tensor([0, 95, 17, 48, 63, 1])
    c = torch.tensor([0, 127, 5, 64, 100, 126])
    expected = full[b, :, r, c]                                   # (K, C_out)
    torch.testing.assert_close(upl.sample(fmap, b, r, c), expected)
    # every pixel of one image, as a last check of the index mapping
    rr, cc = torch.meshgrid(torch.arange(96), torch.arange(128), indexing='ij')
    allpix = upl.sample(fmap, torch.ones(96 * 128, dtype=torch.long), rr.flatten(), cc.flatten())
    torch.testing.assert_close(allpix, full[1].flatten(1).t())


def test_upl_sample_at_an_image_size_that_is_not_a_stride_multiple():
    # 240x320 images give an 8x10 layer4 map (ceil(240/32) = 8); UPL upsamples to 240x320
    torch.manual_seed(1)
    upl = UpsamplingProjection(in_channels=6, out_channels=4, scale=32).double()
    fmap = torch.randn(1, 6, 8, 10, dtype=torch.float64)
    full = F.interpolate(F.conv2d(fmap, upl.proj.weight, upl.proj.bias), size=(240, 320),
                         mode='bilinear', align_corners=True)
    torch.testing.assert_close(upl(fmap, image_size=(240, 320)), full)
    r, c = torch.tensor([0, 239, 120, 7]), torch.tensor([319, 0, 160, 33])
    torch.testing.assert_close(
        upl.sample(fmap, torch.zeros(4, dtype=torch.long), r, c, image_size=(240, 320)),
        full[0, :, r, c].t())


def test_upl_sample_gradients_match_the_full_map():
    torch.manual_seed(1)
    upl = UpsamplingProjection(in_channels=4, out_channels=3, scale=8).double()
    fmap = torch.randn(1, 4, 2, 3, dtype=torch.float64, requires_grad=True)
    b, r, c = torch.zeros(5, dtype=torch.long), torch.tensor([0, 3, 7, 15, 9]), \
        torch.tensor([0, 23, 11, 4, 17])
    upl.sample(fmap, b, r, c).sum().backward()
    grad_sample = (fmap.grad.clone(), upl.proj.weight.grad.clone())
    fmap.grad = None
    upl.zero_grad()
    upl(fmap)[b, :, r, c].sum().backward()
    torch.testing.assert_close(grad_sample[0], fmap.grad)
    torch.testing.assert_close(grad_sample[1], upl.proj.weight.grad)


def test_upl_rejects_pixels_outside_the_image():
    upl = UpsamplingProjection(in_channels=4, out_channels=2, scale=4)
    fmap = torch.zeros(1, 4, 2, 2)
    with pytest.raises(ValueError, match=r'rows must lie in \[0, 8\)'):
        upl.sample(fmap, torch.tensor([0]), torch.tensor([8]), torch.tensor([0]))


def test_ppnce_hand_worked():
    loss = PPNCELoss(temperature=0.04)
    eye = torch.eye(2)
    # matching one-hot pairs: S = [[25, 0], [0, 25]] -> log(1 + e^-25) per row
    assert loss(eye, eye).item() == pytest.approx(math.log1p(math.exp(-25)), abs=1e-9)
    # both points equal pixel 0: row 0 as above, row 1 -log(e^0 / (e^25 + 1))
    points = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    expected = (math.log1p(math.exp(-25)) + math.log(math.exp(25) + 1)) / 2
    assert loss(points, eye).item() == pytest.approx(expected, rel=1e-6)
    # normalisation: scaling a feature does not change the loss
    assert loss(points * 7, eye * 3).item() == pytest.approx(expected, rel=1e-6)


def test_ppnce_is_ln_k_for_uninformative_features():
    k = 64
    same = torch.ones(k, 8)                       # every logit equal -> uniform softmax
    assert PPNCELoss()(same, same).item() == pytest.approx(math.log(k), rel=1e-6)


def test_ppnce_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match='both be'):
        PPNCELoss()(torch.zeros(4, 8), torch.zeros(5, 8))
    with pytest.raises(ValueError, match='temperature'):
        PPNCELoss(temperature=0)
