"""ResnetBlock: ``x + norm2(conv2(dropout(act(norm1(conv1(x))))))``, checked against a hand-written
functional reference."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import ResnetBlock

PADDINGS = ("reflect", "replicate", "zero")
TOL = {torch.float32: {"atol": 1e-5, "rtol": 1e-4}, torch.float64: {"atol": 1e-10, "rtol": 1e-8}}


def _conv(x, conv, padding):
    mode = "constant" if padding == "zero" else padding
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode=mode), conv.weight, conv.bias)


def _norm(x, norm_module, norm):
    if norm == "instance":
        return F.instance_norm(x, eps=1e-5)
    if norm == "batch":  # train mode: batch statistics, biased variance
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
        y = (x - mean) / torch.sqrt(var + 1e-5)
        return y * norm_module.weight.view(1, -1, 1, 1) + norm_module.bias.view(1, -1, 1, 1)
    return x


def _act(x, activation):
    if activation == "relu":
        return torch.clamp(x, min=0)
    if activation == "leaky_relu":
        return torch.where(x > 0, x, 0.2 * x)
    return x


def _reference(block, x, norm, activation, padding, dropout=0.0):
    h = _act(_norm(_conv(x, block.conv1, padding), block.norm1, norm), activation)
    if dropout:
        h = F.dropout(h, dropout, training=True)
    return x + _norm(_conv(h, block.conv2, padding), block.norm2, norm)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "none"])
def test_matches_functional_reference(dtype, padding, norm, activation):
    block = ResnetBlock(3, norm=norm, activation=activation, padding=padding).to(dtype)
    with torch.no_grad():  # non-trivial affine parameters
        for bn in (block.norm1, block.norm2):
            if norm == "batch":
                bn.weight.normal_(1.0, 0.3)
                bn.bias.normal_(0.0, 0.3)
    x = torch.randn(2, 3, 6, 5, dtype=dtype)
    expected = _reference(block, x, norm, activation, padding)
    out = block(x)
    assert out.dtype == dtype
    torch.testing.assert_close(out, expected, **TOL[dtype])


def test_no_activation_after_the_sum():
    block = ResnetBlock(2, norm="none")
    x = -10 - torch.rand(1, 2, 4, 4)  # very negative input: a ReLU after the sum would zero it
    with torch.no_grad():
        block.conv2.weight.zero_()
        block.conv2.bias.zero_()
    torch.testing.assert_close(block(x), x)


@given(
    channels=st.integers(1, 6),
    batch=st.integers(1, 3),
    height=st.integers(2, 12),
    width=st.integers(2, 12),
    padding=st.sampled_from(PADDINGS),
)
@settings(deadline=None, max_examples=20)
def test_output_shape_equals_input_shape(channels, batch, height, width, padding):
    block = ResnetBlock(channels, padding=padding)
    x = torch.randn(batch, channels, height, width)
    assert block(x).shape == x.shape


def test_dropout_sits_between_the_convolutions():
    block = ResnetBlock(3, dropout=0.5)
    assert isinstance(block.dropout, torch.nn.Dropout)
    assert block.dropout.p == 0.5
    x = torch.randn(2, 3, 6, 6)
    torch.manual_seed(3)
    out = block(x)
    torch.manual_seed(3)
    expected = _reference(block, x, "instance", "relu", "reflect", dropout=0.5)
    torch.testing.assert_close(out, expected)
    # Training mode draws a new mask each call; eval mode is deterministic and mask-free.
    assert not torch.allclose(block(x), block(x))
    block.eval()
    torch.testing.assert_close(block(x), _reference(block, x, "instance", "relu", "reflect"))


def test_zero_dropout_adds_no_module():
    assert isinstance(ResnetBlock(3).dropout, torch.nn.Identity)
    assert "dropout" not in "".join(ResnetBlock(3, dropout=0.2).state_dict())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"channels": 0}, ValueError, "channels must be >= 1, got 0"),
        ({"channels": -2}, ValueError, "channels must be >= 1, got -2"),
        ({"channels": 2.0}, TypeError, "channels must be an int, got float"),
        ({"channels": True}, TypeError, "channels must be an int, got bool"),
        ({"channels": 4, "dropout": 1.0}, ValueError, "dropout must be in [0, 1), got 1.0"),
        ({"channels": 4, "dropout": -0.1}, ValueError, "dropout must be in [0, 1), got -0.1"),
        ({"channels": 4, "norm": "group"}, ValueError, "norm must be one of"),
        ({"channels": 4, "activation": "gelu"}, ValueError, "activation must be one of"),
        ({"channels": 4, "padding": "circular"}, ValueError, "padding must be one of"),
    ],
)
def test_bad_arguments_raise(kwargs, error, message):
    channels = kwargs.pop("channels")
    with pytest.raises(error, match=re.escape(message)):
        ResnetBlock(channels, **kwargs)


def test_bad_inputs_raise():
    block = ResnetBlock(4)
    with pytest.raises(
        ValueError, match=re.escape("expected input of shape (N, C, H, W), got (4, 8, 8)")
    ):
        block(torch.randn(4, 8, 8))
    with pytest.raises(ValueError, match=re.escape("expected input with 4 channels")):
        block(torch.randn(1, 3, 8, 8))
    with pytest.raises(TypeError, match=re.escape("input must be a torch.Tensor")):
        block([[1.0]])


def test_backward_reaches_input_and_every_parameter():
    block = ResnetBlock(3, norm="batch")
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    block(x).square().sum().backward()
    assert x.grad is not None
    assert torch.isfinite(x.grad).all()
    for name, param in block.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


@pytest.mark.parametrize("padding", PADDINGS)
def test_gradcheck_float64(padding):
    block = ResnetBlock(2, padding=padding, norm="instance").double()
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(block, (x,))


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
def test_state_dict_round_trip(norm):
    source = ResnetBlock(3, norm=norm)
    x = torch.randn(2, 3, 6, 6)
    if norm == "batch":
        source(x)  # move the running statistics away from their defaults
    source.eval()
    torch.manual_seed(123)
    target = ResnetBlock(3, norm=norm).eval()
    assert not torch.allclose(target(x), source(x))
    target.load_state_dict(source.state_dict())
    torch.testing.assert_close(target(x), source(x))
    assert list(target.state_dict()) == list(source.state_dict())
