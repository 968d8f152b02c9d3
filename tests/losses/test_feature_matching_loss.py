"""FeatureMatchingLoss / feature_matching_loss: formula, invariants, gradients, errors, compat."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import FeatureMatchingLoss, MultiscaleDiscriminator, feature_matching_loss
from condgan_blocks.compat import pix2pixhd


def _features(num_scales, num_outputs, seed, *, dtype=torch.float32, requires_grad=False):
    gen = torch.Generator().manual_seed(seed)
    scales = []
    for s in range(num_scales):
        size = 8 >> s
        scale = [
            torch.randn(2, 1 + i, size, size + 1, generator=gen, dtype=dtype)
            for i in range(num_outputs)
        ]
        scales.append([t.requires_grad_(requires_grad) for t in scale])
    return scales


def _reference(fake, real, weight):
    """The issue's formula as a slow loop in float64."""
    total = torch.zeros((), dtype=torch.float64)
    for fake_scale, real_scale in zip(fake, real, strict=True):
        num_outputs = len(fake_scale)
        for f, r in zip(fake_scale[:-1], real_scale[:-1], strict=True):
            l1 = (f.double() - r.double()).abs().mean()
            total = total + weight * (4 / (num_outputs - 1)) * (1 / len(fake)) * l1
    return total


STRUCTURE = {
    "num_scales": st.integers(1, 3),
    "num_outputs": st.integers(2, 5),
    "seed": st.integers(0, 2**16),
}


@given(weight=st.floats(0.0, 20.0), **STRUCTURE)
@settings(deadline=None, max_examples=25)
def test_matches_formula(num_scales, num_outputs, seed, weight):
    fake = _features(num_scales, num_outputs, seed)
    real = _features(num_scales, num_outputs, seed + 1)
    loss = feature_matching_loss(fake, real, weight=weight)
    torch.testing.assert_close(loss.double(), _reference(fake, real, weight), atol=1e-5, rtol=1e-5)
    assert loss >= 0


@given(**STRUCTURE)
@settings(deadline=None, max_examples=15)
def test_zero_when_fake_equals_real(num_scales, num_outputs, seed):
    fake = _features(num_scales, num_outputs, seed)
    assert feature_matching_loss(fake, fake) == 0
    assert FeatureMatchingLoss(weight=3.0)(fake, [[t.clone() for t in s] for s in fake]) == 0


@given(weight=st.floats(0.0, 100.0), **STRUCTURE)
@settings(deadline=None, max_examples=15)
def test_scales_linearly_with_weight(num_scales, num_outputs, seed, weight):
    fake = _features(num_scales, num_outputs, seed)
    real = _features(num_scales, num_outputs, seed + 1)
    unit = FeatureMatchingLoss(weight=1.0)(fake, real)
    torch.testing.assert_close(FeatureMatchingLoss(weight=weight)(fake, real), weight * unit)


def test_final_prediction_is_left_out():
    fake = _features(2, 4, 0)
    real = [[*scale[:-1], scale[-1] + 100] for scale in fake]
    assert feature_matching_loss(fake, real) == 0


def test_one_discriminator_list_is_one_scale():
    fake, real = _features(1, 4, 0), _features(1, 4, 1)
    assert torch.equal(feature_matching_loss(fake[0], real[0]), feature_matching_loss(fake, real))


def test_gradients_reach_fake_only():
    fake = _features(2, 4, 0, requires_grad=True)
    real = _features(2, 4, 1, requires_grad=True)
    feature_matching_loss(fake, real).backward()
    for fake_scale, real_scale in zip(fake, real, strict=True):
        assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in fake_scale[:-1])
        assert fake_scale[-1].grad is None
        assert all(t.grad is None for t in real_scale)


def test_with_a_multiscale_discriminator_real_input_gets_no_gradient():
    disc = MultiscaleDiscriminator(3, num_scales=2, base_channels=4, num_layers=2)
    fake = torch.randn(1, 3, 32, 32, requires_grad=True)
    real = torch.randn(1, 3, 32, 32, requires_grad=True)
    loss = FeatureMatchingLoss()(disc(fake), disc(real))
    loss.backward()
    assert fake.grad is not None
    assert fake.grad.abs().sum() > 0
    assert real.grad is None


def test_float64():
    fake = _features(2, 4, 0, dtype=torch.float64)
    real = _features(2, 4, 1, dtype=torch.float64)
    loss = FeatureMatchingLoss()(fake, real)
    assert loss.dtype == torch.float64
    torch.testing.assert_close(loss, _reference(fake, real, 10.0), atol=1e-12, rtol=1e-12)


def test_under_bfloat16_autocast():
    disc = MultiscaleDiscriminator(3, num_scales=2, base_channels=4, num_layers=2)
    fake = torch.randn(1, 3, 32, 32, requires_grad=True)
    real = torch.randn(1, 3, 32, 32)
    reference = FeatureMatchingLoss()(disc(fake), disc(real))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fake_features, real_features = disc(fake), disc(real)
        assert fake_features[0][0].dtype == torch.bfloat16
        loss = FeatureMatchingLoss()(fake_features, real_features)
    assert torch.isfinite(loss)
    loss.float().backward()
    assert fake.grad is not None
    torch.testing.assert_close(loss.float(), reference, atol=5e-2, rtol=5e-2)


def test_module_equals_function_and_holds_no_state():
    fake, real = _features(2, 3, 0), _features(2, 3, 1)
    criterion = FeatureMatchingLoss(weight=2.5)
    assert torch.equal(criterion(fake, real), feature_matching_loss(fake, real, weight=2.5))
    assert criterion.state_dict() == {}
    assert "weight=2.5" in repr(criterion)


def test_mismatched_structures_raise():
    fake = _features(2, 4, 0)
    with pytest.raises(ValueError, match="2 scales, real_features 1"):
        feature_matching_loss(fake, fake[:1])
    with pytest.raises(ValueError, match="scale 1: fake_features has 4 outputs, real_features 3"):
        feature_matching_loss(fake, [fake[0], fake[1][:3]])
    bad = [t[:1] if i == 2 else t for i, t in enumerate(fake[0])]
    with pytest.raises(ValueError, match="shapes differ at scale 0, output 2"):
        feature_matching_loss(fake, [bad, fake[1]])
    with pytest.raises(ValueError, match="different structures"):
        feature_matching_loss(fake[:1], fake[0])
    with pytest.raises(ValueError, match="return_features=True"):
        feature_matching_loss([[t[-1]] for t in fake], [[t[-1]] for t in fake])
    with pytest.raises(ValueError, match="single tensor"):
        feature_matching_loss(fake[0][0], fake[0][0])
    with pytest.raises(ValueError, match="must not be empty"):
        feature_matching_loss([], [])
    with pytest.raises(TypeError, match="mixes tensors and lists"):
        feature_matching_loss([fake[0][0], fake[1]], fake)
    with pytest.raises(TypeError, match="must be a tensor"):
        feature_matching_loss([[1.0, 2.0]], [[1.0, 2.0]])


def test_bad_weight():
    with pytest.raises(ValueError, match="weight must be >= 0"):
        FeatureMatchingLoss(weight=-1.0)
    with pytest.raises(TypeError, match="weight must be a real number"):
        FeatureMatchingLoss(weight="10")
    with pytest.raises(ValueError, match="weight must be finite"):
        feature_matching_loss(_features(1, 2, 0), _features(1, 2, 0), weight=float("inf"))


def test_compat_checks_the_options_structure():
    criterion = pix2pixhd.build(
        "feature_matching_loss", {"num_D": 2, "n_layers_D": 2, "lambda_feat": 5.0}
    )
    fake, real = _features(2, 4, 0), _features(2, 4, 1)
    torch.testing.assert_close(criterion(fake, real), feature_matching_loss(fake, real, weight=5.0))
    pix2pixhd.load_state_dict(criterion, {})
    with pytest.raises(ValueError, match="expect 2 scales of 4"):
        criterion(_features(2, 5, 0), _features(2, 5, 1))
    with pytest.raises(ValueError, match="expect 2 scales of 4"):
        criterion(fake[:1], real[:1])
