"""The ``upsample`` option of the generators: transposed convolutions or resize-convolutions."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from condgan_blocks import EnhancerStage, GlobalGenerator, InstanceFeatureEncoder, LocalEnhancer
from condgan_blocks.data import SyntheticScenes
from condgan_blocks.generators.global_generator import global_generator_size
from condgan_blocks.generators.local_enhancer import local_enhancer_size
from condgan_blocks.instance.encoder import instance_encoder_size
from condgan_blocks.layers._groups import ResizeConv2d, upsampling
from condgan_blocks.training import GeneratorConfig, TrainingConfig, build_training
from tests._generator_helpers import tiny_local_enhancer
from tests._training_helpers import SIZE, batch_of, one_thread, tiny_config

MODES = ("transposed", "resize")


def _tiny_global(**kwargs) -> GlobalGenerator:
    return GlobalGenerator(3, base_channels=4, num_downsamples=2, num_blocks=1, **kwargs)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("mode", MODES)
@given(height=st.integers(1, 9), width=st.integers(1, 9), norm=st.sampled_from(["batch", "none"]))
@settings(deadline=None, max_examples=20)
def test_upsampling_maps_h_to_2h_at_any_size(mode, height, width, norm):
    layer = upsampling(4, norm, mode=mode, padding="reflect")
    assert layer(torch.randn(2, 4, height, width)).shape == (2, 2, 2 * height, 2 * width)


@pytest.mark.parametrize("mode", MODES)
@given(rows=st.integers(2, 7), cols=st.integers(2, 7))
@settings(deadline=None, max_examples=15)
def test_global_generator_output_size_equals_input_size(mode, rows, cols):
    net = GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1, upsample=mode)
    x = torch.randn(1, 3, 2 * rows, 2 * cols)
    assert net(x).shape == (1, 3, 2 * rows, 2 * cols)


@pytest.mark.parametrize("mode", MODES)
def test_local_enhancer_output_shape(mode):
    net = tiny_local_enhancer(upsample=mode)
    assert net(torch.randn(1, 3, 32, 16)).shape == (1, 3, 32, 16)
    assert net.global_generator.upsample == mode


def test_default_keys_and_shapes_unchanged():
    default, transposed = _tiny_global(), _tiny_global(upsample="transposed")
    resize = _tiny_global(upsample="resize")
    assert default.upsample == "transposed"
    assert type(default.upsamples[0].conv) is nn.ConvTranspose2d
    shapes = {k: v.shape for k, v in default.state_dict().items()}
    assert shapes == {k: v.shape for k, v in transposed.state_dict().items()}
    assert shapes["upsamples.0.conv.weight"] == (16, 8, 3, 3)  # (in, out, 3, 3)
    # Same key names in resize mode; only the upsampling weights change layout.
    assert list(resize.state_dict()) == list(default.state_dict())


@pytest.mark.parametrize(
    ("padding", "padding_mode"), [("reflect", "reflect"), ("replicate", "zeros"), ("zero", "zeros")]
)
def test_resize_mode_uses_conv2d_weights(padding, padding_mode):
    net = _tiny_global(upsample="resize", padding=padding)
    for i, (c_in, c_out) in enumerate([(16, 8), (8, 4)]):
        conv = net.upsamples[i].conv
        assert isinstance(conv, ResizeConv2d)
        assert isinstance(conv, nn.Conv2d)
        assert conv.weight.shape == (c_out, c_in, 3, 3)
        assert conv.bias.shape == (c_out,)
        assert conv.padding_mode == padding_mode
    assert net.state_dict()["upsamples.1.conv.weight"].shape == (4, 8, 3, 3)


def test_resize_conv_is_nearest_upsampling_then_convolution():
    conv = ResizeConv2d(3, 5, padding="reflect")
    x = torch.randn(2, 3, 5, 7)
    up = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    expected = nn.functional.conv2d(
        nn.functional.pad(up, (1, 1, 1, 1), mode="reflect"), conv.weight, conv.bias
    )
    torch.testing.assert_close(conv(x), expected)


def test_parameter_counts_are_exact_in_both_modes():
    for mode in MODES:
        net = _tiny_global(upsample=mode, norm="batch")
        assert _count(net) == global_generator_size(3, 3, 4, 2, 1, "batch")[1]
        enc = InstanceFeatureEncoder(base_channels=2, num_downsamples=2, upsample=mode)
        assert _count(enc) == instance_encoder_size(3, 3, 2, 2, "instance")[1]
        local = LocalEnhancer(
            3,
            base_channels=2,
            num_enhancers=1,
            num_blocks_local=1,
            num_downsamples_global=1,
            num_blocks_global=1,
            upsample=mode,
        )
        assert _count(local) == local_enhancer_size(3, 3, 2, 1, 1, 1, 1, 4, "instance")[1]
    assert _count(_tiny_global()) == _count(_tiny_global(upsample="resize"))


@pytest.mark.parametrize(
    "build",
    [
        lambda v: _tiny_global(upsample=v),
        lambda v: EnhancerStage(3, 4, upsample=v),
        lambda v: LocalEnhancer(3, base_channels=2, num_downsamples_global=1, upsample=v),
        lambda v: InstanceFeatureEncoder(upsample=v),
        lambda v: upsampling(4, "none", mode=v),
    ],
)
def test_bad_upsample_raises(build):
    with pytest.raises(ValueError, match=r"upsample must be one of \('resize', 'transposed'\)"):
        build("bilinear")
    with pytest.raises(TypeError, match="upsample must be a string"):
        build(2)


def test_bad_global_upsample_raises():
    with pytest.raises(ValueError, match="global_upsample must be one of"):
        LocalEnhancer(3, base_channels=2, num_downsamples_global=1, global_upsample="nearest")


@pytest.mark.parametrize("mode", MODES)
def test_backward_runs(mode):
    net = _tiny_global(upsample=mode)
    net(torch.randn(2, 3, 16, 16)).square().mean().backward()
    for up in net.upsamples:
        assert up.conv.weight.grad is not None
        assert up.conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("mode", MODES)
def test_state_dict_round_trip(mode):
    first, second = _tiny_global(upsample=mode), _tiny_global(upsample=mode)
    second.load_state_dict(first.state_dict())
    x = torch.randn(1, 3, 16, 16)
    torch.testing.assert_close(first(x), second(x))


def test_modes_do_not_load_each_others_weights():
    with pytest.raises(RuntimeError, match="size mismatch"):
        _tiny_global(upsample="resize").load_state_dict(_tiny_global().state_dict())


@pytest.mark.parametrize("mode", MODES)
def test_from_global_keeps_the_mode(mode):
    generator = _tiny_global(upsample=mode)
    model = LocalEnhancer.from_global(generator, num_blocks_local=1)
    assert model.upsample == mode
    assert model.global_generator.upsample == mode
    assert isinstance(model.stages[0].up.conv, ResizeConv2d) == (mode == "resize")
    x = torch.randn(1, 3, 16, 16)
    torch.testing.assert_close(model.global_generator(x), generator.features(x))
    other = "resize" if mode == "transposed" else "transposed"
    mixed = LocalEnhancer.from_global(generator, num_blocks_local=1, upsample=other)
    assert mixed.global_generator.upsample == mode
    assert mixed.upsample == other
    assert mixed(torch.randn(1, 3, 32, 32)).shape == (1, 3, 32, 32)


def test_generator_config_upsample():
    config = TrainingConfig(num_classes=3, generator=GeneratorConfig(upsample="resize"))
    assert TrainingConfig.from_dict(config.to_dict()) == config
    assert config.architecture()["generator"]["upsample"] == "resize"
    assert GeneratorConfig().upsample == "transposed"
    with pytest.raises(ValueError, match=r"generator\.upsample must be one of"):
        GeneratorConfig(upsample="bilinear")


def test_build_training_with_resize_runs_a_step():
    config = tiny_config()
    generator = GeneratorConfig(**{**config.generator.to_dict(), "upsample": "resize"})
    config = TrainingConfig.from_dict({**config.to_dict(), "generator": generator.to_dict()})
    with one_thread():
        training = build_training(config)
        assert isinstance(training.models.generator.upsamples[0].conv, ResizeConv2d)
        losses = training.step(batch_of(SyntheticScenes(2, size=SIZE, seed=3), [0]))
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert training.state.global_step == 1


def test_compile_fullgraph_resize_mode():
    torch._dynamo.reset()
    net = _tiny_global(upsample="resize").eval()
    x = torch.randn(1, 3, 16, 16)
    compiled = torch.compile(net, fullgraph=True, backend="aot_eager")
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), net(x))
