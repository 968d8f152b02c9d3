"""GlobalGenerator (G1): shapes, tanh range, features without head, input validation, padding."""

from __future__ import annotations

import copy
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from condgan_blocks import GlobalGenerator, ResnetBlock

TOL = {torch.float32: {"atol": 1e-5, "rtol": 1e-4}, torch.float64: {"atol": 1e-10, "rtol": 1e-8}}


def tiny(**kwargs) -> GlobalGenerator:
    options = {"base_channels": 4, "num_downsamples": 2, "num_blocks": 1}
    options.update(kwargs)
    return GlobalGenerator(3, **options)


@given(
    out_channels=st.integers(1, 4),
    base_channels=st.integers(1, 4),
    num_downsamples=st.integers(0, 3),
    num_blocks=st.integers(0, 2),
    h=st.integers(2, 3),
    w=st.integers(2, 3),
    batch=st.integers(1, 2),
    norm=st.sampled_from(["instance", "batch", "none"]),
)
@settings(deadline=None, max_examples=20)
def test_output_shape_and_tanh_range(
    out_channels, base_channels, num_downsamples, num_blocks, h, w, batch, norm
):
    net = GlobalGenerator(
        2,
        out_channels,
        base_channels=base_channels,
        num_downsamples=num_downsamples,
        num_blocks=num_blocks,
        norm=norm,
    )
    m = 2**num_downsamples
    # At least 2 pixels at the coarsest level and 4 at full size (the stem reflect-pads by 3).
    h, w = max(h * m, 4), max(w * m, 4)
    x = 3 * torch.randn(batch, 2, h, w)
    y = net(x)
    assert y.shape == (batch, out_channels, h, w)
    assert y.abs().max() <= 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_features_is_everything_but_the_head(dtype):
    net = tiny(base_channels=4).to(dtype)
    x = torch.randn(2, 3, 16, 12, dtype=dtype)
    features = net.features(x)
    assert features.shape == (2, 4, 16, 12)
    assert features.dtype == dtype
    assert features.min() >= 0  # ends in the last upsampling's ReLU
    torch.testing.assert_close(net(x), net.head(features), **TOL[dtype])
    # By hand through the children, in order.
    h = net.stem(x)
    for layer in [*net.downsamples, *net.blocks, *net.upsamples]:
        h = layer(h)
    torch.testing.assert_close(features, h, **TOL[dtype])


def test_without_head():
    full = tiny(out_channels=3)
    headless = tiny(include_head=False)
    assert headless.head is None
    assert not any(key.startswith("head.") for key in headless.state_dict())
    assert {k for k in full.state_dict() if not k.startswith("head.")} == set(headless.state_dict())
    headless.load_state_dict({k: v for k, v in full.state_dict().items() if "head" not in k})
    x = torch.randn(1, 3, 8, 8)
    torch.testing.assert_close(headless(x), full.features(x))
    assert headless(x).shape == (1, 4, 8, 8)


def test_layout_and_widths():
    net = GlobalGenerator(5, 2, base_channels=3, num_downsamples=3, num_blocks=2)
    assert (net.stem.conv.in_channels, net.stem.conv.out_channels) == (5, 3)
    assert net.stem.conv.kernel_size == (7, 7)
    assert [(d.conv.in_channels, d.conv.out_channels) for d in net.downsamples] == [
        (3, 6),
        (6, 12),
        (12, 24),
    ]
    assert all(d.conv.stride == (2, 2) for d in net.downsamples)
    assert all(isinstance(b, ResnetBlock) and b.channels == 24 for b in net.blocks)
    assert [(u.conv.in_channels, u.conv.out_channels) for u in net.upsamples] == [
        (24, 12),
        (12, 6),
        (6, 3),
    ]
    assert all(isinstance(u.conv, nn.ConvTranspose2d) for u in net.upsamples)
    assert (net.head.conv.in_channels, net.head.conv.out_channels) == (3, 2)
    assert net.size_multiple == 8


@given(
    num_downsamples=st.integers(1, 3),
    h=st.integers(1, 20),
    w=st.integers(1, 20),
)
@settings(deadline=None, max_examples=25)
def test_sizes_not_a_multiple_raise_naming_the_shape(num_downsamples, h, w):
    net = GlobalGenerator(2, base_channels=1, num_downsamples=num_downsamples, num_blocks=0)
    m = 2**num_downsamples
    x = torch.randn(1, 2, h, w)
    if h % m or w % m:
        with pytest.raises(ValueError, match=re.escape(f"multiples of {m}")) as info:
            net(x)
        assert str((1, 2, h, w)) in str(info.value)
        with pytest.raises(ValueError, match=re.escape(str((1, 2, h, w)))):
            net.features(x)
    elif min(h, w) // m > 1:
        assert net(x).shape == (1, 3, h, w)


def test_bad_inputs_raise_naming_the_shape():
    net = tiny()
    with pytest.raises(ValueError, match=re.escape("(N, C, H, W), got (3, 16, 16)")):
        net(torch.randn(3, 16, 16))
    with pytest.raises(ValueError, match=re.escape("(N, C, H, W), got (1, 1, 3, 16, 16)")):
        net(torch.randn(1, 1, 3, 16, 16))
    with pytest.raises(ValueError, match=re.escape("3 channels (N, 3, H, W), got (1, 4, 16, 16)")):
        net(torch.randn(1, 4, 16, 16))
    with pytest.raises(ValueError, match=re.escape("got (1, 3, 18, 16)")):
        net(torch.randn(1, 3, 18, 16))
    with pytest.raises(TypeError, match=re.escape("input must be a torch.Tensor")):
        net(torch.randn(1, 3, 16, 16).numpy())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"in_channels": 0}, ValueError, "in_channels must be >= 1"),
        ({"in_channels": "3"}, TypeError, "in_channels must be an int"),
        ({"out_channels": 0}, ValueError, "out_channels must be >= 1"),
        ({"base_channels": 0}, ValueError, "base_channels must be >= 1"),
        ({"num_downsamples": -1}, ValueError, "num_downsamples must be >= 0, got -1"),
        ({"num_blocks": -1}, ValueError, "num_blocks must be >= 0, got -1"),
        ({"num_blocks": 1.5}, TypeError, "num_blocks must be an int"),
        ({"norm": "layer"}, ValueError, "norm must be one of"),
        ({"padding": "circular"}, ValueError, "padding must be one of"),
    ],
)
def test_bad_arguments_raise(kwargs, error, message):
    options = {"in_channels": 3, "base_channels": 2, "num_downsamples": 1, "num_blocks": 1}
    options.update(kwargs)
    in_channels = options.pop("in_channels")
    with pytest.raises(error, match=re.escape(message)):
        GlobalGenerator(in_channels, **options)


@pytest.mark.parametrize("padding", ["replicate", "zero"])
def test_padding_only_affects_residual_blocks(padding):
    net = tiny(padding=padding, num_blocks=2)
    mode = "zeros" if padding == "zero" else padding
    assert net.stem.conv.padding_mode == "reflect"
    assert net.head.conv.padding_mode == "reflect"
    assert all(d.conv.padding_mode == "zeros" for d in net.downsamples)
    for block in net.blocks:
        assert block.conv1.padding_mode == mode
        assert block.conv2.padding_mode == mode
    # Behaviour: with no residual blocks the padding option changes nothing at all.
    torch.manual_seed(7)
    plain = tiny(num_blocks=0, padding="reflect")
    other = tiny(num_blocks=0, padding=padding)
    other.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 8, 8)
    torch.testing.assert_close(plain(x), other(x))
    # With residual blocks the same weights give different borders.
    reflect = tiny(num_blocks=2)
    reflect.load_state_dict(net.state_dict())
    assert not torch.allclose(reflect(x), net(x))


def test_backward_reaches_every_parameter():
    net = tiny(norm="batch")
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    net(x).square().mean().backward()
    assert torch.isfinite(x.grad).all()
    for name, param in net.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_state_dict_round_trip(norm):
    source = tiny(norm=norm)
    x = torch.randn(2, 3, 8, 8)
    source(x)
    source.eval()
    torch.manual_seed(99)
    target = tiny(norm=norm).eval()
    assert not torch.allclose(source(x), target(x))
    target.load_state_dict(source.state_dict())
    torch.testing.assert_close(target(x), source(x))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_checkpoint_activations_gives_same_outputs_and_gradients(dtype, norm):
    net = tiny(norm=norm, num_blocks=2).to(dtype)
    checkpointed = copy.deepcopy(net)
    checkpointed.checkpoint_activations = True
    x = torch.randn(2, 3, 8, 8, dtype=dtype)
    out, out_ckpt = net(x), checkpointed(x)
    torch.testing.assert_close(out_ckpt, out, **TOL[dtype])
    weight = torch.randn_like(out)
    (out * weight).sum().backward()
    (out_ckpt * weight).sum().backward()
    grads = dict(checkpointed.named_parameters())
    for name, param in net.named_parameters():
        torch.testing.assert_close(grads[name].grad, param.grad, **TOL[dtype])
    # Under no_grad checkpointing is skipped and results are unchanged.
    with torch.no_grad():
        torch.testing.assert_close(checkpointed(x), net(x), **TOL[dtype])


def test_checkpoint_activations_keeps_batch_norm_statistics():
    """Recomputing the blocks in backward must not update BatchNorm running stats a second time.

    Without checkpointing one training step moves every BN once (num_batches_tracked == 1);
    with checkpointing the result must be the same state, so eval-mode outputs stay identical.
    """
    net = tiny(norm="batch", num_blocks=2)
    checkpointed = copy.deepcopy(net)
    checkpointed.checkpoint_activations = True
    x = torch.randn(2, 3, 8, 8)
    net(x).sum().backward()
    checkpointed(x).sum().backward()
    state = net.state_dict()
    for key, value in checkpointed.state_dict().items():
        torch.testing.assert_close(value, state[key], msg=f"{key} differs after one step")
