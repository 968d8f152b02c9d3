"""High-frequency energy: the chroma / luminance noise measure of the evaluation."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks.evaluation import HighFrequencyMeter, high_frequency_energy


def _loop_reference(images: torch.Tensor) -> dict[str, list[float]]:
    """Pixel-by-pixel reference: mean |v - mean of its 3x3 neighbourhood (borders clamped)|."""
    x = (images.double().clamp(-1, 1) + 1) / 2
    out = {"chroma": [], "luminance": []}
    n, c, h, w = x.shape
    for i in range(n):
        lum = x[i].mean(0)
        planes = {"luminance": [lum], "chroma": [x[i, k] - lum for k in range(c)]}
        for key, maps in planes.items():
            total, count = 0.0, 0
            for plane in maps:
                for r in range(h):
                    for q in range(w):
                        rows = [min(max(r + d, 0), h - 1) for d in (-1, 0, 1)]
                        cols = [min(max(q + d, 0), w - 1) for d in (-1, 0, 1)]
                        mean = sum(float(plane[a, b]) for a in rows for b in cols) / 9
                        total += abs(float(plane[r, q]) - mean)
                        count += 1
            out[key].append(total / count)
    return out


@settings(deadline=None, max_examples=15)
@given(n=st.integers(1, 2), c=st.sampled_from([1, 3]), h=st.integers(2, 6), w=st.integers(2, 6),
       seed=st.integers(0, 2**16))  # fmt: skip
def test_matches_a_pixel_loop(n, c, h, w, seed):
    images = torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    energy = high_frequency_energy(images)
    reference = _loop_reference(images)
    for key in ("chroma", "luminance"):
        assert energy[key].shape == (n,)
        torch.testing.assert_close(energy[key], torch.tensor(reference[key], dtype=torch.float64))


def test_constant_and_grey_images():
    constant = torch.full((2, 3, 8, 8), 0.3)
    assert high_frequency_energy(constant)["luminance"].abs().max() == 0
    grey_noise = torch.rand(1, 1, 8, 8).expand(1, 3, 8, 8) * 2 - 1
    energy = high_frequency_energy(grey_noise)
    assert energy["chroma"].abs().max() < 1e-12  # equal channels: no colour noise
    assert energy["luminance"].item() > 0.05


def test_colour_noise_raises_chroma_not_luminance():
    torch.manual_seed(0)
    smooth = F.interpolate(torch.rand(1, 3, 4, 8) * 2 - 1, size=(32, 64), mode="bilinear")
    noise = torch.randn(1, 3, 32, 64) * 0.2
    noise = noise - noise.mean(1, keepdim=True)  # pure colour noise, same luminance
    base, noisy = high_frequency_energy(smooth), high_frequency_energy(smooth + noise)
    assert noisy["chroma"].item() > 3 * base["chroma"].item()
    torch.testing.assert_close(noisy["luminance"], base["luminance"], atol=2e-3, rtol=0)


def test_meter_averages_over_images():
    torch.manual_seed(1)
    a, b = torch.rand(2, 3, 8, 8) * 2 - 1, torch.rand(3, 3, 8, 8) * 2 - 1
    meter = HighFrequencyMeter()
    meter.update(a)
    meter.update(b)
    expected = high_frequency_energy(torch.cat([a, b]))
    result = meter.compute()
    assert result["num_images"] == 5
    assert result["chroma_hf"] == pytest.approx(expected["chroma"].mean().item())
    assert result["luminance_hf"] == pytest.approx(expected["luminance"].mean().item())


def test_bad_inputs():
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        high_frequency_energy([[0.0]])
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        high_frequency_energy(torch.zeros(3, 8, 8))
    with pytest.raises(TypeError, match="floating point"):
        high_frequency_energy(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="at least 2x2"):
        high_frequency_energy(torch.zeros(1, 3, 1, 8))
    with pytest.raises(ValueError, match="at least one update"):
        HighFrequencyMeter().compute()
