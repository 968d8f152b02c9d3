"""LocalEnhancer (G1 + n enhancers) for any n >= 1, EnhancerStage, from_global, stage_parameters."""

from __future__ import annotations

import copy
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from condgan_blocks import (
    EnhancerStage,
    GlobalGenerator,
    LocalEnhancer,
    downsample,
    image_pyramid,
)

TOL = {torch.float32: {"atol": 1e-5, "rtol": 1e-4}, torch.float64: {"atol": 1e-10, "rtol": 1e-8}}


def tiny(**kwargs) -> LocalEnhancer:
    options = {
        "base_channels": 2,
        "num_enhancers": 2,
        "num_blocks_local": 1,
        "num_downsamples_global": 1,
        "num_blocks_global": 1,
    }
    options.update(kwargs)
    return LocalEnhancer(3, **options)


@given(
    num_enhancers=st.integers(1, 3),
    num_downsamples_global=st.integers(0, 2),
    base_channels=st.integers(1, 2),
    num_blocks_local=st.integers(0, 1),
    out_channels=st.integers(1, 3),
    h=st.integers(1, 2),
    w=st.integers(1, 2),
)
@settings(deadline=None, max_examples=20)
def test_output_size_equals_input_size_for_any_number_of_enhancers(
    num_enhancers, num_downsamples_global, base_channels, num_blocks_local, out_channels, h, w
):
    net = LocalEnhancer(
        2,
        out_channels,
        base_channels=base_channels,
        num_enhancers=num_enhancers,
        num_blocks_local=num_blocks_local,
        num_downsamples_global=num_downsamples_global,
        num_blocks_global=1,
    )
    m = 2 ** (num_downsamples_global + num_enhancers)
    assert net.size_multiple == m
    # >= 2 pixels at the global generator's coarsest level, >= 4 where its stem reflect-pads by 3.
    h, w = max(2 * h * m, 4 * h * 2**num_enhancers), max(2 * w * m, 4 * w * 2**num_enhancers)
    x = 3 * torch.randn(1, 2, h, w)
    y = net(x)
    assert y.shape == (1, out_channels, h, w)
    assert y.abs().max() <= 1


@given(
    num_enhancers=st.integers(1, 3),
    num_downsamples_global=st.integers(0, 2),
    h=st.integers(1, 40),
    w=st.integers(1, 40),
)
@settings(deadline=None, max_examples=25)
def test_required_multiple_is_two_to_the_total_downsamplings(
    num_enhancers, num_downsamples_global, h, w
):
    net = tiny(
        base_channels=1,
        num_enhancers=num_enhancers,
        num_downsamples_global=num_downsamples_global,
        num_blocks_local=0,
    )
    m = 2 ** (num_downsamples_global + num_enhancers)
    x = torch.randn(1, 3, h, w)
    if h % m or w % m:
        with pytest.raises(ValueError, match=re.escape(f"multiples of {m}")) as info:
            net(x)
        assert str((1, 3, h, w)) in str(info.value)
    elif min(h, w) // m >= 2 and min(h, w) // 2**num_enhancers >= 4:
        assert net(x).shape == (1, 3, h, w)


def test_bad_inputs_raise():
    net = tiny()
    with pytest.raises(ValueError, match=re.escape("(N, C, H, W), got (3, 16, 16)")):
        net(torch.randn(3, 16, 16))
    with pytest.raises(ValueError, match=re.escape("with 3 channels")):
        net(torch.randn(1, 2, 16, 16))
    with pytest.raises(ValueError, match=re.escape("multiples of 8")):
        net(torch.randn(1, 3, 16, 12))


@pytest.mark.parametrize("num_enhancers", [1, 2, 3])
def test_enhancer_widths_halve_towards_the_finest(num_enhancers):
    base = 3
    net = LocalEnhancer(
        4,
        2,
        base_channels=base,
        num_enhancers=num_enhancers,
        num_blocks_local=1,
        num_downsamples_global=1,
        num_blocks_global=1,
    )
    assert len(net.stages) == num_enhancers
    for k, stage in enumerate(net.stages, start=1):  # k = 1 coarsest ... n finest
        width = base * 2 ** (num_enhancers - k)
        stem, down = stage.front
        assert (stem.conv.in_channels, stem.conv.out_channels) == (4, width)
        assert (down.conv.in_channels, down.conv.out_channels) == (width, 2 * width)
        assert all(block.channels == 2 * width for block in stage.blocks)
        assert (stage.up.conv.in_channels, stage.up.conv.out_channels) == (2 * width, width)
        if k == num_enhancers:
            assert (stage.head.conv.in_channels, stage.head.conv.out_channels) == (base, 2)
        else:
            assert stage.head is None
    # Default global width is base * 2 ** n, matching the coarsest stage, so no bridge.
    assert net.global_generator.base_channels == base * 2**num_enhancers
    assert net.global_generator.head is None
    assert isinstance(net.bridge, nn.Identity)
    assert not any(key.startswith("bridge") for key in net.state_dict())


def test_forward_follows_the_documented_pyramid():
    net = tiny(num_enhancers=2)
    x = torch.randn(2, 3, 16, 24)
    p1 = downsample(x)
    p2 = downsample(p1)
    assert p2.shape[-2:] == (4, 6)
    y = net.global_generator(p2)
    for stage, level in zip(net.stages, (p1, x), strict=True):
        h = stage.front(level) + y
        for block in stage.blocks:
            h = block(h)
        y = stage.up(h)
        if stage.head is not None:
            y = stage.head(y)
    torch.testing.assert_close(net(x), y)


@given(height=st.integers(1, 20), width=st.integers(1, 20), value=st.floats(-5, 5))
@settings(deadline=None, max_examples=20)
def test_pyramid_levels_average_real_pixels_only(height, width, value):
    x = torch.full((1, 2, height, width), value)
    pyramid = image_pyramid(x, 3)
    assert len(pyramid) == 4
    assert pyramid[0] is x
    for k, level in enumerate(pyramid):
        assert level.shape[-2:] == (-(-height // 2**k), -(-width // 2**k))  # ceil(H / 2^k)
        # count_include_pad=False: a constant image stays constant, borders included.
        torch.testing.assert_close(level, torch.full_like(level, value))


def test_downsample_is_a_3x3_stride_2_average():
    x = torch.arange(25.0).view(1, 1, 5, 5)
    y = downsample(x)
    assert y.shape == (1, 1, 3, 3)
    assert y[0, 0, 1, 1] == x[0, 0, 1:4, 1:4].mean()  # interior: 9 pixels
    assert y[0, 0, 0, 0] == x[0, 0, 0:2, 0:2].mean()  # corner: 4 real pixels


def test_enhancer_stage_alone():
    stage = EnhancerStage(3, 4, num_blocks=1)
    out = stage(torch.randn(1, 3, 8, 8), torch.randn(1, 8, 4, 4))
    assert out.shape == (1, 4, 8, 8)
    assert out.min() >= 0  # ends in ReLU without a head
    finest = EnhancerStage(3, 4, num_blocks=0, out_channels=2)
    out = finest(torch.randn(1, 3, 8, 8), torch.randn(1, 8, 4, 4))
    assert out.shape == (1, 2, 8, 8)
    assert out.abs().max() <= 1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"in_channels": 0}, ValueError, "in_channels must be >= 1, got 0"),
        ({"width": 0}, ValueError, "width must be >= 1, got 0"),
        ({"num_blocks": -1}, ValueError, "num_blocks must be >= 0, got -1"),
        ({"out_channels": 0}, ValueError, "out_channels must be >= 1, got 0"),
        ({"norm": "x"}, ValueError, "norm must be one of"),
        ({"padding": "x"}, ValueError, "padding must be one of"),
    ],
    ids=["in_channels", "width", "num_blocks", "out_channels", "norm", "padding"],
)
def test_enhancer_stage_bad_arguments_raise(kwargs, error, message):
    options = {"in_channels": 3, "width": 2, **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        EnhancerStage(options.pop("in_channels"), options.pop("width"), **options)


def test_enhancer_stage_bad_inputs_raise_naming_the_shapes():
    stage = EnhancerStage(3, 2, num_blocks=0)
    with pytest.raises(ValueError, match=re.escape("(1, 2, 8, 8)")):
        stage(torch.randn(1, 2, 8, 8), torch.randn(1, 4, 4, 4))  # image with 2 channels, not 3
    with pytest.raises(ValueError, match=re.escape("(1, 3, 4, 4)")):
        stage(torch.randn(1, 3, 8, 8), torch.randn(1, 3, 4, 4))  # coarser with 3 channels, not 4


@pytest.mark.parametrize("num_enhancers", [1, 2])
def test_smaller_global_width_adds_a_bridge(num_enhancers):
    net = tiny(base_channels=2, num_enhancers=num_enhancers, global_base_channels=3)
    coarsest = 2 * 2 ** (num_enhancers - 1)
    assert net.global_generator.base_channels == 3
    assert isinstance(net.bridge, nn.Conv2d)
    assert net.bridge.kernel_size == (1, 1)
    assert (net.bridge.in_channels, net.bridge.out_channels) == (3, 2 * coarsest)
    assert {"bridge.weight", "bridge.bias"} <= set(net.state_dict())
    x = torch.randn(1, 3, 16, 16)
    y = net(x)
    assert y.shape == (1, 3, 16, 16)
    y.sum().backward()
    assert net.bridge.weight.grad is not None
    assert net.bridge.weight.grad.abs().sum() > 0


def test_global_width_equal_to_default_has_no_bridge():
    net = tiny(base_channels=2, num_enhancers=2, global_base_channels=8)
    assert isinstance(net.bridge, nn.Identity)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("num_enhancers", [1, 2])
def test_from_global_keeps_weights(dtype, num_enhancers):
    generator = GlobalGenerator(3, 2, base_channels=8, num_downsamples=1, num_blocks=1).to(dtype)
    with torch.no_grad():  # weights that use the dtype's full precision
        for param in generator.parameters():
            param.add_(torch.randn_like(param) * 1e-3)
    net = LocalEnhancer.from_global(generator, num_enhancers=num_enhancers, num_blocks_local=1)
    assert net.base_channels == 8 // 2**num_enhancers
    assert net.global_generator.base_channels == 8
    assert isinstance(net.bridge, nn.Identity)
    assert net.out_channels == 2
    assert net.in_channels == 3
    assert next(net.parameters()).dtype == dtype
    theirs = generator.state_dict()
    ours = net.global_generator.state_dict()
    assert set(ours) == {key for key in theirs if not key.startswith("head.")}
    for key, value in ours.items():
        assert torch.equal(value, theirs[key]), key
    x = torch.randn(1, 3, 8, 8, dtype=dtype)
    torch.testing.assert_close(net.global_generator(x), generator.features(x), rtol=0, atol=0)
    # Copies, not shared tensors: training the enhancer leaves the generator untouched.
    with torch.no_grad():
        next(net.global_generator.parameters()).add_(1.0)
    assert not torch.equal(next(net.global_generator.parameters()), next(generator.parameters()))
    m = net.size_multiple
    assert net(torch.randn(1, 3, 2 * m, 2 * m, dtype=dtype)).shape == (1, 2, 2 * m, 2 * m)


def test_from_global_with_explicit_base_channels_and_bad_arguments():
    generator = GlobalGenerator(3, base_channels=6, num_downsamples=1, num_blocks=0)
    net = LocalEnhancer.from_global(generator, num_enhancers=1, base_channels=2)
    assert net.base_channels == 2
    assert isinstance(net.bridge, nn.Conv2d)  # 6 channels bridged to the coarsest 4
    assert net(torch.randn(1, 3, 8, 8)).shape == (1, 3, 8, 8)
    with pytest.raises(ValueError, match="too small for 3 enhancers"):
        LocalEnhancer.from_global(
            GlobalGenerator(3, base_channels=4, num_blocks=0), num_enhancers=3
        )
    with pytest.raises(TypeError, match="generator must be a GlobalGenerator"):
        LocalEnhancer.from_global(nn.Conv2d(3, 3, 1))
    with pytest.raises(ValueError, match="num_enhancers must be >= 1"):
        LocalEnhancer.from_global(generator, num_enhancers=0)


def test_stage_parameters():
    net = tiny(num_enhancers=2)
    finest = list(net.stage_parameters("finest"))
    assert {id(p) for p in finest} == {id(p) for p in net.stages[-1].parameters()}
    assert len(finest) == len(list(net.stages[-1].parameters()))
    global_ids = {id(p) for p in net.global_generator.parameters()}
    assert not global_ids & {id(p) for p in finest}
    everything = list(net.stage_parameters("all"))
    assert [id(p) for p in everything] == [id(p) for p in net.parameters()]
    assert [id(p) for p in net.stage_parameters()] == [id(p) for p in net.parameters()]
    with pytest.raises(ValueError, match=re.escape("stage must be one of ('all', 'finest')")):
        net.stage_parameters("global")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"num_enhancers": 0}, ValueError, "num_enhancers must be >= 1, got 0"),
        ({"base_channels": 0}, ValueError, "base_channels must be >= 1"),
        ({"num_blocks_local": -1}, ValueError, "num_blocks_local must be >= 0"),
        ({"global_base_channels": 0}, ValueError, "global_base_channels must be >= 1"),
        ({"num_downsamples_global": -1}, ValueError, "num_downsamples_global must be >= 0"),
        ({"norm": "x"}, ValueError, "norm must be one of"),
        ({"padding": "x"}, ValueError, "padding must be one of"),
        ({"global_padding": "x"}, ValueError, "padding must be one of"),
        ({"num_enhancers": 1.0}, TypeError, "num_enhancers must be an int"),
    ],
)
def test_bad_arguments_raise(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        tiny(**kwargs)


def test_padding_options_reach_the_right_blocks():
    net = tiny(padding="zero", global_padding="replicate")
    assert all(b.conv1.padding_mode == "zeros" for s in net.stages for b in s.blocks)
    assert all(b.conv1.padding_mode == "replicate" for b in net.global_generator.blocks)
    assert all(s.front[0].conv.padding_mode == "reflect" for s in net.stages)


def test_backward_reaches_every_parameter():
    net = tiny(norm="batch")
    net(torch.randn(2, 3, 16, 16)).square().mean().backward()
    for name, param in net.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name


def test_state_dict_round_trip():
    source = tiny(norm="batch")
    x = torch.randn(2, 3, 16, 16)
    source(x)
    source.eval()
    torch.manual_seed(42)
    target = tiny(norm="batch").eval()
    assert not torch.allclose(source(x), target(x))
    target.load_state_dict(source.state_dict())
    torch.testing.assert_close(target(x), source(x))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_checkpoint_activations_gives_same_outputs_and_gradients(dtype):
    net = tiny(num_enhancers=2, num_blocks_local=2, num_blocks_global=2).to(dtype)
    checkpointed = copy.deepcopy(net)
    checkpointed.checkpoint_activations = True
    assert checkpointed.global_generator.checkpoint_activations
    assert all(stage.checkpoint_activations for stage in checkpointed.stages)
    x = torch.randn(2, 3, 16, 16, dtype=dtype)
    out, out_ckpt = net(x), checkpointed(x)
    torch.testing.assert_close(out_ckpt, out, **TOL[dtype])
    weight = torch.randn_like(out)
    (out * weight).sum().backward()
    (out_ckpt * weight).sum().backward()
    grads = dict(checkpointed.named_parameters())
    for name, param in net.named_parameters():
        torch.testing.assert_close(grads[name].grad, param.grad, **TOL[dtype])


def test_checkpoint_activations_constructor_flag():
    net = tiny(checkpoint_activations=True)
    assert net.checkpoint_activations is True
    assert all(stage.checkpoint_activations for stage in net.stages)
    net.checkpoint_activations = False
    assert not net.global_generator.checkpoint_activations
    assert not any(stage.checkpoint_activations for stage in net.stages)
