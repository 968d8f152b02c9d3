"""GANLoss / gan_loss: formulas per mode, nested predictions, dtypes, errors, compat variant."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import GANLoss, MultiscaleDiscriminator, gan_loss
from condgan_blocks.compat import pix2pixhd
from condgan_blocks.losses.adversarial import GAN_MODES

SHAPES = st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(1, 6), st.integers(1, 6))


def _reference(p: torch.Tensor, mode: str, real: bool, label: float, for_d: bool = True):
    """The formulas of the issue, spelled out in float64."""
    p = p.double()
    if mode == "lsgan":
        return ((p - label) ** 2).mean()
    if mode == "vanilla":
        s = torch.sigmoid(p)
        return -(label * torch.log(s) + (1 - label) * torch.log(1 - s)).mean()
    if not for_d:
        return -p.mean()
    return torch.clamp(1 - p, min=0).mean() if real else torch.clamp(1 + p, min=0).mean()


@pytest.mark.parametrize("mode", GAN_MODES)
@given(
    shape=SHAPES,
    real=st.booleans(),
    labels=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)),
    seed=st.integers(0, 2**16),
)
@settings(deadline=None, max_examples=25)
def test_matches_formula_on_random_inputs(mode, shape, real, labels, seed):
    pred = torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 3
    real_label, fake_label = labels
    loss = gan_loss(pred, real, mode=mode, real_label=real_label, fake_label=fake_label)
    expected = _reference(pred, mode, real, real_label if real else fake_label)
    torch.testing.assert_close(loss.double(), expected, atol=1e-5, rtol=1e-5)
    assert loss.shape == ()


@given(shape=SHAPES, seed=st.integers(0, 2**16))
@settings(deadline=None, max_examples=20)
def test_hinge_discriminator_and_generator_formulas(shape, seed):
    gen = torch.Generator().manual_seed(seed)
    real_pred, fake_pred = torch.randn(shape, generator=gen), torch.randn(shape, generator=gen)
    d_loss = gan_loss(real_pred, True, mode="hinge") + gan_loss(fake_pred, False, mode="hinge")
    expected = F.relu(1 - real_pred).mean() + F.relu(1 + fake_pred).mean()
    torch.testing.assert_close(d_loss, expected)
    g_loss = gan_loss(fake_pred, True, mode="hinge", for_discriminator=False)
    torch.testing.assert_close(g_loss, -fake_pred.mean())


@pytest.mark.parametrize("mode", ["lsgan", "vanilla"])
def test_for_discriminator_does_not_change_lsgan_and_vanilla(mode):
    pred = torch.randn(2, 1, 5, 5)
    for real in (True, False):
        assert torch.equal(
            gan_loss(pred, real, mode=mode),
            gan_loss(pred, real, mode=mode, for_discriminator=False),
        )


@pytest.mark.parametrize("mode", GAN_MODES)
@given(shape=SHAPES, real=st.booleans(), seed=st.integers(0, 2**16))
@settings(deadline=None, max_examples=15)
def test_discriminator_losses_are_non_negative(mode, shape, real, seed):
    pred = torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 5
    assert gan_loss(pred, real, mode=mode) >= 0


def test_vanilla_is_stable_for_large_logits():
    pred = torch.tensor([-200.0, 200.0])
    assert torch.isfinite(gan_loss(pred, True, mode="vanilla"))
    torch.testing.assert_close(gan_loss(pred, True, mode="vanilla"), torch.tensor(100.0))
    torch.testing.assert_close(gan_loss(pred, False, mode="vanilla"), torch.tensor(100.0))


@pytest.mark.parametrize("mode", GAN_MODES)
def test_nested_structures(mode):
    scale_a = [torch.randn(2, 4, 6, 6), torch.randn(2, 1, 5, 5)]
    scale_b = [torch.randn(2, 4, 3, 3), torch.randn(2, 1, 3, 3)]
    one = gan_loss(scale_a[-1], True, mode=mode)
    # A flat list is one discriminator's outputs: only the last tensor is the prediction.
    torch.testing.assert_close(gan_loss(scale_a, True, mode=mode), one)
    # A list of lists sums over scales, as the original does (not a mean).
    two = gan_loss([scale_a, scale_b], True, mode=mode)
    torch.testing.assert_close(two, one + gan_loss(scale_b[-1], True, mode=mode))
    # Tuples work like lists; single-prediction scales as well.
    torch.testing.assert_close(gan_loss((scale_a[-1:], scale_b[-1:]), True, mode=mode), two)


@pytest.mark.parametrize("mode", GAN_MODES)
def test_module_equals_function(mode):
    preds = [[torch.randn(1, 1, 4, 4)], [torch.randn(1, 1, 3, 3)]]
    criterion = GANLoss(mode, real_label=0.9, fake_label=0.1)
    for real in (True, False):
        expected = gan_loss(preds, real, mode=mode, real_label=0.9, fake_label=0.1)
        assert torch.equal(criterion(preds, real), expected)
    assert criterion.state_dict() == {}
    assert "mode=" in repr(criterion)


def test_with_a_multiscale_discriminator_gradients_reach_the_fake_input():
    disc = MultiscaleDiscriminator(3, num_scales=2, base_channels=4, num_layers=2)
    fake = torch.randn(1, 3, 32, 32, requires_grad=True)
    loss = GANLoss()(disc(fake), True)
    loss.backward()
    assert fake.grad is not None
    assert fake.grad.abs().sum() > 0


@pytest.mark.parametrize("mode", GAN_MODES)
def test_float64_targets_follow_the_prediction(mode):
    criterion = GANLoss(mode, real_label=0.9)
    pred32 = torch.randn(2, 1, 4, 4)
    loss64 = criterion(pred32.double(), True)
    assert loss64.dtype == torch.float64
    # The same instance then serves another dtype and shape: no cached target.
    loss32 = criterion(pred32, True)
    assert loss32.dtype == torch.float32
    torch.testing.assert_close(loss64, _reference(pred32, mode, True, 0.9), atol=1e-12, rtol=1e-12)
    assert criterion(torch.randn(3, 1, 7, 2), False).shape == ()


@pytest.mark.parametrize("mode", GAN_MODES)
def test_under_bfloat16_autocast(mode):
    disc = MultiscaleDiscriminator(3, num_scales=2, base_channels=4, num_layers=2)
    x = torch.randn(1, 3, 32, 32, requires_grad=True)
    criterion = GANLoss(mode)
    reference = criterion(disc(x), True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        preds = disc(x)
        assert preds[0][-1].dtype == torch.bfloat16
        loss = criterion(preds, True)
    assert torch.isfinite(loss)
    loss.float().backward()
    assert x.grad is not None
    torch.testing.assert_close(loss.float(), reference.float(), atol=5e-2, rtol=5e-2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of"):
        GANLoss("wgan")
    with pytest.raises(TypeError, match="mode must be a string"):
        GANLoss(1)
    with pytest.raises(ValueError, match=r"real_label must be in \[0, 1\]"):
        GANLoss("vanilla", real_label=1.5)
    with pytest.raises(TypeError, match="fake_label must be a real number"):
        GANLoss(fake_label="0")
    with pytest.raises(ValueError, match="real_label must be finite"):
        GANLoss(real_label=float("nan"))
    GANLoss("lsgan", real_label=2.0)  # least squares takes any target
    criterion = GANLoss()
    pred = torch.randn(1, 1, 2, 2)
    with pytest.raises(TypeError, match="target_is_real must be a bool"):
        criterion(pred, torch.tensor(True))
    with pytest.raises(TypeError, match="for_discriminator must be a bool"):
        criterion(pred, True, for_discriminator=1)
    with pytest.raises(ValueError, match="must not be empty"):
        criterion([], True)
    with pytest.raises(ValueError, match=r"predictions\[1\] must not be empty"):
        criterion([[pred], []], True)
    with pytest.raises(TypeError, match="mixes tensors and lists"):
        criterion([pred, [pred]], True)
    with pytest.raises(TypeError, match="must be a tensor, a list"):
        criterion(pred.numpy(), True)
    with pytest.raises(TypeError, match=r"predictions\[0\]\[0\] must be a tensor"):
        criterion([[1.0]], True)
    with pytest.raises(ValueError, match="is empty"):
        criterion(torch.zeros(0, 1, 2, 2), True)
    with pytest.raises(ValueError, match="target_is_real=True"):
        GANLoss("hinge")(pred, False, for_discriminator=False)


# --- compat: the original's GANLoss ----------------------------------------------------------


def test_compat_lsgan_is_our_gan_loss_with_custom_labels():
    criterion = pix2pixhd.build("gan_loss", {"use_lsgan": True, "target_real_label": 0.9})
    assert isinstance(criterion, GANLoss)
    pred = torch.randn(2, 1, 4, 4)
    torch.testing.assert_close(criterion([[pred]], True), ((pred - 0.9) ** 2).mean())
    assert isinstance(pix2pixhd.build("gan_loss", {"no_lsgan": False}), GANLoss)


def test_compat_bce_on_probabilities():
    criterion = pix2pixhd.build("gan_loss", {"no_lsgan": True, "target_fake_label": 0.2})
    assert not isinstance(criterion, GANLoss)
    probs = [[torch.rand(2, 1, 4, 4)], [torch.rand(2, 1, 2, 2)]]
    expected = sum(F.binary_cross_entropy(s[-1], torch.full_like(s[-1], 0.2)) for s in probs)
    torch.testing.assert_close(criterion(probs, False), expected)
    # BCE on probabilities clamps its logs: exact 0 and 1 give finite losses.
    edge = torch.tensor([0.0, 1.0])
    torch.testing.assert_close(criterion(edge, True), torch.tensor(50.0))
    pix2pixhd.load_state_dict(criterion, {})
    assert pix2pixhd.to_original_state_dict(criterion) == {}
    with pytest.raises(ValueError, match=r"real_label must be in \[0, 1\]"):
        pix2pixhd.build("gan_loss", {"use_lsgan": False, "target_real_label": 2.0})
