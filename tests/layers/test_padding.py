"""pad_to_multiple / crop_padding: exact round trip for any size, divisibility, modes, errors."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import GlobalGenerator, LocalEnhancer, crop_padding, pad_to_multiple

MODES = ("reflect", "replicate", "zero")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@given(
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    multiple=st.integers(1, 16),
    mode=st.sampled_from(MODES),
)
@settings(deadline=None, max_examples=25)
def test_round_trip_is_exact_for_any_size(dtype, height, width, multiple, mode):
    x = torch.randn(2, 3, height, width, dtype=dtype)
    pad_h, pad_w = -height % multiple, -width % multiple
    expected_padding = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
    if mode == "reflect" and (pad_w - pad_w // 2 >= width or pad_h - pad_h // 2 >= height):
        with pytest.raises(ValueError, match="reflect padding"):
            pad_to_multiple(x, multiple, mode)
        return
    padded, padding = pad_to_multiple(x, multiple, mode)
    assert padding == expected_padding
    assert padded.dtype == dtype
    assert padded.shape[:2] == (2, 3)
    assert padded.shape[-2] % multiple == 0
    assert padded.shape[-1] % multiple == 0
    assert padded.shape[-2] - height < multiple
    assert padded.shape[-1] - width < multiple
    assert abs(padding[0] - padding[1]) <= 1
    assert abs(padding[2] - padding[3]) <= 1
    assert torch.equal(crop_padding(padded, padding), x)


@pytest.mark.parametrize("mode", MODES)
def test_modes_fill_the_border_as_named(mode):
    x = torch.arange(1.0, 1 + 5 * 7).view(1, 1, 5, 7)
    padded, padding = pad_to_multiple(x, 4, mode)
    assert padding == (0, 1, 1, 2)
    assert padded.shape == (1, 1, 8, 8)
    torch_mode = "constant" if mode == "zero" else mode
    torch.testing.assert_close(padded, F.pad(x, padding, mode=torch_mode))
    if mode == "zero":
        assert (padded[..., 0, :] == 0).all()
        assert (padded[..., :, -1] == 0).all()
    elif mode == "replicate":
        assert torch.equal(padded[..., 0, 0:7], x[..., 0, :])  # top row copied
        assert torch.equal(padded[..., 1:6, 7], x[..., :, 6])  # right column copied
    else:
        assert torch.equal(padded[..., 0, 0:7], x[..., 1, :])  # mirrored, edge excluded
        assert torch.equal(padded[..., 1:6, 7], x[..., :, 5])


def test_default_mode_is_reflect():
    x = torch.randn(1, 2, 6, 6)
    padded, _ = pad_to_multiple(x, 4)
    torch.testing.assert_close(padded, F.pad(x, (1, 1, 1, 1), mode="reflect"))


def test_already_divisible_is_unchanged():
    x = torch.randn(1, 3, 16, 32)
    padded, padding = pad_to_multiple(x, 16)
    assert padding == (0, 0, 0, 0)
    assert torch.equal(padded, x)
    assert torch.equal(crop_padding(padded, padding), x)


def test_crop_padding_works_on_any_leading_dims():
    y = torch.randn(2, 3, 4, 10, 12)
    assert crop_padding(y, (1, 2, 3, 0)).shape == (2, 3, 4, 7, 9)
    torch.testing.assert_close(crop_padding(y, (1, 2, 3, 0)), y[..., 3:10, 1:10])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda x: pad_to_multiple(x, 0), ValueError, "multiple must be >= 1, got 0"),
        (lambda x: pad_to_multiple(x, 2.0), TypeError, "multiple must be an int"),
        (lambda x: pad_to_multiple(x, 4, "circular"), ValueError, "mode must be one of"),
        (lambda x: pad_to_multiple(x[0], 4), ValueError, "expected input of shape (N, C, H, W)"),
        (lambda x: pad_to_multiple(x, 16), ValueError, "reflect padding of (1, 1, 5, 5)"),
        (lambda x: crop_padding(x, (1, 1, 1)), ValueError, "padding must be 4 non-negative ints"),
        (
            lambda x: crop_padding(x, (1, 1, -1, 0)),
            ValueError,
            "padding must be 4 non-negative ints",
        ),
        (lambda x: crop_padding(x, (3, 2, 0, 0)), ValueError, "would crop away all"),
        (lambda x: crop_padding(x, (0, 0, 5, 0)), ValueError, "would crop away all"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(torch.randn(1, 1, 5, 5))


def test_large_padding_works_with_replicate_and_zero():
    x = torch.randn(1, 1, 5, 5)
    for mode in ("replicate", "zero"):
        padded, padding = pad_to_multiple(x, 16, mode)
        assert padded.shape == (1, 1, 16, 16)
        assert torch.equal(crop_padding(padded, padding), x)


@given(height=st.integers(8, 28), width=st.integers(8, 28))
@settings(deadline=None, max_examples=10)
def test_generator_through_pad_and_crop_keeps_the_size(height, width):
    net = GlobalGenerator(3, base_channels=2, num_downsamples=2, num_blocks=1)
    x = torch.randn(1, 3, height, width)
    padded, padding = pad_to_multiple(x, net.size_multiple)
    y = crop_padding(net(padded), padding)
    assert y.shape == (1, 3, height, width)


def test_local_enhancer_through_pad_and_crop_keeps_the_size():
    net = LocalEnhancer(
        3,
        base_channels=1,
        num_enhancers=2,
        num_blocks_local=0,
        num_downsamples_global=1,
        num_blocks_global=0,
    )
    x = torch.randn(1, 3, 21, 30)
    with pytest.raises(ValueError, match="pad_to_multiple"):  # the error points at the fix
        net(x)
    padded, padding = pad_to_multiple(x, net.size_multiple)
    assert padded.shape[-2:] == (24, 32)
    assert crop_padding(net(padded), padding).shape == (1, 3, 21, 30)
