"""Class-balanced L1: rare input classes weigh more, the weights average to 1, bad input."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import one_hot_labels
from condgan_blocks.losses import class_balance_weights, class_balanced_l1


def _labels(seed: int, size=(2, 1, 12, 16), num_classes=4) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(num_classes, size, generator=generator)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), power=st.floats(0.0, 1.0), num_classes=st.integers(1, 6))
def test_weights_average_to_one_and_follow_the_class_frequency(seed, power, num_classes):
    one_hot = one_hot_labels(_labels(seed, num_classes=num_classes), num_classes)
    weights = class_balance_weights(one_hot, power)
    assert weights.shape == (2, 1, 12, 16)
    assert float(weights.mean()) == pytest.approx(1.0, rel=1e-5)
    frequency = one_hot.mean((0, 2, 3))
    per_class = [
        float(weights[one_hot[:, k : k + 1] > 0][0]) for k in range(num_classes) if frequency[k] > 0
    ]
    present = frequency[frequency > 0]
    for a in range(len(per_class)):  # weight ratio = frequency ratio ** -power
        for b in range(len(per_class)):
            expected = float((present[a] / present[b]) ** -power)
            assert per_class[a] / per_class[b] == pytest.approx(expected, rel=1e-4)


def test_power_one_gives_every_present_class_the_same_total_weight():
    one_hot = one_hot_labels(_labels(3), 4)
    weights = class_balance_weights(one_hot, 1.0)
    totals = [float((weights * one_hot[:, k : k + 1]).sum()) for k in range(4)]
    assert max(totals) == pytest.approx(min(totals), rel=1e-5)


def test_unlabelled_pixels_weigh_one_and_labelled_ones_still_average_to_one():
    labels = _labels(1)
    labels[:, :, :4] = 255  # ignored rows
    one_hot = one_hot_labels(labels, 4, ignore_index=255)
    weights = class_balance_weights(one_hot, 0.5)
    assert bool(weights[:, :, :4].eq(1).all())
    assert float(weights[:, :, 4:].mean()) == pytest.approx(1.0, rel=1e-5)
    assert bool(class_balance_weights(torch.zeros(1, 3, 4, 4), 0.5).eq(1).all())


def test_power_zero_is_the_plain_l1_and_rare_class_errors_cost_more():
    one_hot = one_hot_labels(_labels(2), 4)
    fake, real = torch.randn(2, 3, 12, 16), torch.randn(2, 3, 12, 16)
    plain = (fake - real).abs().mean()
    assert torch.allclose(class_balanced_l1(fake, real, one_hot, 0.0), plain)
    labels = torch.zeros(1, 1, 10, 10, dtype=torch.long)
    labels[..., :1, :2] = 1  # class 1: 2 of 100 pixels
    one_hot = one_hot_labels(labels, 2)
    real = torch.zeros(1, 3, 10, 10)
    rare, common = real.clone(), real.clone()
    rare[..., :1, :2] = 1.0  # the same error on the rare class's 2 pixels...
    common[..., 5:6, :2] = 1.0  # ...or on 2 pixels of the common class
    assert float(class_balanced_l1(rare, real, one_hot, 0.5)) > 3 * float(
        class_balanced_l1(common, real, one_hot, 0.5)
    )


def test_the_weights_carry_no_gradient_and_the_loss_does():
    one_hot = one_hot_labels(_labels(4), 4).requires_grad_()
    fake = torch.randn(2, 3, 12, 16, requires_grad=True)
    class_balanced_l1(fake, torch.zeros(2, 3, 12, 16), one_hot, 0.5).backward()
    assert fake.grad is not None
    assert one_hot.grad is None
    assert not class_balance_weights(one_hot, 0.5).requires_grad


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((torch.zeros(1, 2, 4, 4, dtype=torch.long), 0.5), TypeError, "floating"),
        ((torch.zeros(2, 4, 4), 0.5), ValueError, r"\(N, K, H, W\)"),
        ((torch.zeros(1, 2, 4, 4), 1.5), ValueError, r"\[0, 1\]"),
        ((torch.zeros(1, 2, 4, 4), -0.1), ValueError, ">= 0"),
        ((torch.zeros(1, 2, 4, 4), "half"), TypeError, "real number"),
    ],
)
def test_bad_weights_input_is_refused(args, error, match):
    with pytest.raises(error, match=match):
        class_balance_weights(*args)


def test_mismatched_shapes_are_refused():
    images = torch.zeros(1, 3, 4, 4)
    with pytest.raises(ValueError, match="one shape"):
        class_balanced_l1(images, torch.zeros(1, 3, 4, 5), torch.zeros(1, 2, 4, 4), 0.5)
    with pytest.raises(ValueError, match="N, H, W"):
        class_balanced_l1(images, images, torch.zeros(1, 2, 4, 5), 0.5)


def test_the_l1_term_checks_its_labels_before_their_shape():
    images = torch.zeros(1, 3, 4, 4)
    with pytest.raises(TypeError, match="floating tensor"):
        class_balanced_l1(images, images, [[1.0]], 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        class_balanced_l1(images, images, torch.zeros(1, 2, 4, 4), 2.0)
