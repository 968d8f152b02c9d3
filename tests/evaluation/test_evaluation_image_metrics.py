"""psnr and ssim: known values, symmetry, and a plain loop reference on small random images."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks.evaluation import psnr, ssim


def _reference_ssim(x: np.ndarray, y: np.ndarray, data_range: float, size: int, sigma: float):
    """SSIM of one (C, H, W) pair, window by window, as Wang et al. write it."""
    offsets = np.arange(size) - (size - 1) / 2
    g = np.exp(-(offsets**2) / (2 * sigma**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for c in range(x.shape[0]):
        for i in range(x.shape[1] - size + 1):
            for j in range(x.shape[2] - size + 1):
                a = x[c, i : i + size, j : j + size]
                b = y[c, i : i + size, j : j + size]
                mu_a, mu_b = (w * a).sum(), (w * b).sum()
                var_a = (w * (a - mu_a) ** 2).sum()
                var_b = (w * (b - mu_b) ** 2).sum()
                cov = (w * (a - mu_a) * (b - mu_b)).sum()
                values.append(
                    (2 * mu_a * mu_b + c1)
                    * (2 * cov + c2)
                    / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
                )
    return float(np.mean(values))


def _images(seed: int, shape=(2, 3, 16, 16)) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# PSNR ----------------------------------------------------------------------------------------


def test_psnr_of_identical_images_is_infinite():
    x = _images(0)
    assert psnr(x, x.clone()).tolist() == [math.inf, math.inf]


@pytest.mark.parametrize(("offset", "data_range"), [(0.5, 2.0), (0.25, 2.0), (3.0, 255.0)])
def test_psnr_of_a_constant_offset_is_closed_form(offset, data_range):
    x = _images(1, (3, 2, 8, 8)).double()
    expected = 10 * math.log10(data_range**2 / offset**2)
    result = psnr(x + offset, x, data_range=data_range)
    assert result.dtype == torch.float64
    assert torch.allclose(result, torch.full((3,), expected, dtype=torch.float64))


def test_psnr_is_per_image_and_matches_the_mse_definition():
    x, y = _images(2, (4, 1, 8, 8)), _images(3, (4, 1, 8, 8))
    mse = ((x.double() - y.double()) ** 2).flatten(1).mean(1)
    assert torch.allclose(psnr(x, y), 10 * torch.log10(4.0 / mse))
    assert torch.allclose(psnr(x, y), psnr(y, x))


# SSIM ----------------------------------------------------------------------------------------


def test_ssim_of_identical_images_is_one():
    x = _images(4, (2, 3, 11, 13))
    assert torch.allclose(ssim(x, x), torch.ones(2, dtype=torch.float64), atol=1e-12)


@given(seed=st.integers(0, 1000), noise=st.floats(0.05, 1.0))
@settings(deadline=None, max_examples=15)
def test_ssim_is_symmetric_and_below_one_for_noisy_images(seed, noise):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 2, 12, 12, generator=g) * 2 - 1
    y = (x + noise * torch.randn(2, 2, 12, 12, generator=g)).clamp(-1, 1)
    forward, backward = ssim(x, y), ssim(y, x)
    assert torch.allclose(forward, backward, atol=1e-12)
    assert (forward < 1).all()
    assert (forward > -1).all()


def test_ssim_falls_as_noise_grows():
    g = torch.Generator().manual_seed(5)
    x = torch.rand(1, 1, 16, 16, generator=g) * 2 - 1
    noise = torch.randn(1, 1, 16, 16, generator=g)
    scores = [float(ssim(x, x + level * noise)) for level in (0.05, 0.2, 0.8)]
    assert scores[0] > scores[1] > scores[2]


@pytest.mark.parametrize(("size", "sigma", "data_range"), [(11, 1.5, 2.0), (5, 1.0, 1.0)])
def test_ssim_matches_a_window_by_window_reference(size, sigma, data_range):
    g = torch.Generator().manual_seed(6)
    x = torch.rand(2, 2, 13, 15, generator=g) * data_range
    y = (x + 0.2 * data_range * torch.randn(2, 2, 13, 15, generator=g)).clamp(0, data_range)
    result = ssim(x, y, data_range=data_range, window_size=size, sigma=sigma)
    expected = [
        _reference_ssim(a.double().numpy(), b.double().numpy(), data_range, size, sigma)
        for a, b in zip(x, y, strict=True)
    ]
    assert result.tolist() == pytest.approx(expected, rel=1e-9, abs=1e-12)


# Errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_bad_inputs_raise_clear_errors(metric):
    x = _images(7)
    with pytest.raises(ValueError, match=r"same shape .*\(2, 3, 16, 16\) and \(2, 3, 16, 8\)"):
        metric(x, x[..., :8])
    with pytest.raises(ValueError, match=r"expected x of shape \(N, C, H, W\), got \(3, 16, 16\)"):
        metric(x[0], x[0])
    with pytest.raises(TypeError, match=r"y must be a floating image.*torch.uint8"):
        metric(x, x.to(torch.uint8))
    with pytest.raises(ValueError, match="data_range must be > 0"):
        metric(x, x, data_range=0)
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor, got ndarray"):
        metric(x.numpy(), x)


def test_ssim_refuses_images_smaller_than_its_window():
    x = _images(8, (1, 1, 8, 32))
    with pytest.raises(ValueError, match="at least window_size x window_size = 11x11, got H x W"):
        ssim(x, x)
    assert ssim(x, x, window_size=7).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        ssim(x, x, sigma=0.0)
