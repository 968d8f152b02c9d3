"""LocalTextureLoss: texture amount per window, not phase; colour speckle costs; bad input."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import LocalTextureLoss, local_detail_energy


def _grey_grain(seed: int, size=(2, 1, 32, 48), amplitude=0.3) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    grain = amplitude * (torch.rand(size, generator=generator) - 0.5)
    return grain.expand(size[0], 3, *size[2:]).clone()


def test_energy_maps_have_one_cell_per_window_at_each_scale():
    maps = local_detail_energy(torch.zeros(2, 3, 32, 48), window=4, num_scales=3)
    shapes = [tuple(m.shape) for m in maps]
    assert shapes == [(2, 1, 8, 12), (2, 3, 8, 12)] * 3  # luminance, chroma per scale
    grey = local_detail_energy(torch.zeros(1, 1, 16, 16))
    assert [m.shape[1] for m in grey] == [1, 1]  # no chroma for one channel


def test_identical_images_cost_nothing_and_flat_images_hold_no_detail():
    images = _grey_grain(0)
    assert float(LocalTextureLoss()(images.clone(), images)) == 0.0
    assert all(float(m.abs().max()) == 0.0 for m in local_detail_energy(torch.ones(1, 3, 8, 8)))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), dx=st.integers(1, 7), dy=st.integers(0, 7))
def test_the_same_grain_elsewhere_costs_far_less_than_no_grain(seed, dx, dy):
    real = _grey_grain(seed)
    moved = torch.roll(real, shifts=(dy, dx), dims=(2, 3))
    loss = LocalTextureLoss()
    pixel_l1 = (moved - real).abs().mean() / real.abs().mean()
    assert pixel_l1 > 1.0  # per pixel, the moved grain is further than a flat image
    assert loss(moved, real) < 0.4 * loss(torch.zeros_like(real), real)


def test_colour_speckle_on_a_grey_image_costs_more_the_stronger_it_is():
    real = _grey_grain(1)
    generator = torch.Generator().manual_seed(2)
    speckle = torch.rand(real.shape, generator=generator) - 0.5
    loss = LocalTextureLoss()
    costs = [float(loss(real + a * speckle, real)) for a in (0.0, 0.05, 0.1, 0.2)]
    assert costs[0] == 0.0
    assert costs == sorted(costs)
    assert costs[1] > 0
    chroma_maps = local_detail_energy(real + 0.1 * speckle)[1::2]
    assert all(float(m.mean()) > 0 for m in chroma_maps)
    assert all(float(m.abs().max()) < 1e-6 for m in local_detail_energy(real)[1::2])


def test_gradient_reaches_the_fake_image_only_and_weight_scales_the_loss():
    real = _grey_grain(3).requires_grad_()
    fake = (0.01 * _grey_grain(4)).requires_grad_()  # |detail| has no gradient at exactly 0
    loss = LocalTextureLoss(weight=3.0)(fake, real)
    loss.backward()
    assert fake.grad is not None
    assert float(fake.grad.abs().sum()) > 0
    assert real.grad is None
    single = LocalTextureLoss(weight=1.0)(fake.detach(), real.detach())
    assert float(loss.detach()) == pytest.approx(3.0 * float(single))
    assert "weight=3.0, window=4, num_scales=2" in repr(LocalTextureLoss(weight=3.0))


@pytest.mark.parametrize(
    ("fake", "real", "error", "match"),
    [
        ("not a tensor", torch.zeros(1, 3, 8, 8), TypeError, "fake must be a float tensor"),
        (torch.zeros(1, 3, 8, 8), torch.zeros(3, 8, 8), TypeError, r"real .* got \(3, 8, 8\)"),
        (torch.zeros(1, 3, 8, 8, dtype=torch.long), torch.zeros(1, 3, 8, 8), TypeError, "int64"),
        (torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 16), ValueError, "shapes differ"),
        (torch.zeros(1, 3, 2, 8), torch.zeros(1, 3, 2, 8), ValueError, "smaller than the coars"),
    ],
)
def test_bad_images_are_refused_with_what_was_given(fake, real, error, match):
    with pytest.raises(error, match=match):
        LocalTextureLoss()(fake, real)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"weight": -1.0}, ValueError, "weight must be >= 0"),
        ({"window": 0}, ValueError, "window must be >= 1"),
        ({"window": 2.0}, TypeError, "window must be an int"),
        ({"num_scales": 0}, ValueError, "num_scales must be >= 1"),
        ({"num_scales": 10**6}, ValueError, "num_scales must be <="),
    ],
)
def test_bad_options_are_refused(options, error, match):
    with pytest.raises(error, match=match):
        LocalTextureLoss(**options)
