"""The ``condition_skips`` option: the condition, average-pooled, fed to every upsampling and
to the head, around the generator's bottleneck."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from condgan_blocks import EnhancerStage, GlobalGenerator, LocalEnhancer
from condgan_blocks.data import SyntheticScenes
from condgan_blocks.generators.global_generator import global_generator_size
from condgan_blocks.generators.local_enhancer import local_enhancer_size
from condgan_blocks.training import GeneratorConfig, TrainingConfig, build_training
from condgan_blocks.training.config import architecture_of
from tests._generator_helpers import tiny_local_enhancer
from tests._training_helpers import SIZE, batch_of, one_thread, tiny_config


def _global(skips: bool, **kwargs) -> GlobalGenerator:
    return GlobalGenerator(
        3, base_channels=4, num_downsamples=2, num_blocks=1, condition_skips=skips, **kwargs
    )


def _local(skips: bool) -> LocalEnhancer:
    return tiny_local_enhancer(condition_skips=skips)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _cut_main_path(net: GlobalGenerator) -> None:
    """Zero the stem and downsamplings: nothing of the input reaches the blocks through them."""
    with torch.no_grad():
        for module in [net.stem, *net.downsamples]:
            for parameter in module.parameters():
                parameter.zero_()


def test_off_by_default_with_the_original_shapes():
    default = GlobalGenerator(3, base_channels=4, num_downsamples=2, num_blocks=1)
    off = _global(False)
    assert default.condition_skips is False
    shapes = {k: v.shape for k, v in default.state_dict().items()}
    assert shapes == {k: v.shape for k, v in off.state_dict().items()}
    assert shapes["upsamples.0.conv.weight"] == (16, 8, 3, 3)
    assert shapes["head.conv.weight"] == (3, 4, 7, 7)


@pytest.mark.parametrize("upsample", ["transposed", "resize"])
def test_skips_widen_only_the_upsamplings_and_the_head(upsample):
    off, on = _global(False, upsample=upsample), _global(True, upsample=upsample)
    assert list(on.state_dict()) == list(off.state_dict())
    widened = {k for k, v in on.state_dict().items() if v.shape != off.state_dict()[k].shape}
    assert widened == {"upsamples.0.conv.weight", "upsamples.1.conv.weight", "head.conv.weight"}
    in_dim = 0 if upsample == "transposed" else 1  # ConvTranspose2d weights are (in, out, k, k)
    assert on.upsamples[0].conv.weight.shape[in_dim] == 16 + 3
    assert on.upsamples[1].conv.weight.shape[in_dim] == 8 + 3
    assert on.head.conv.in_channels == 4 + 3


@pytest.mark.parametrize("skips", [False, True])
def test_parameter_counts_are_exact(skips):
    net = _global(skips, norm="batch")
    assert _count(net) == global_generator_size(3, 3, 4, 2, 1, "batch", condition_skips=skips)[1]
    local = _local(skips)
    expected = local_enhancer_size(3, 3, 2, 2, 1, 1, 1, 8, "instance", condition_skips=skips)
    assert _count(local) == expected[1]


def test_skips_carry_the_condition_around_a_cut_bottleneck():
    torch.manual_seed(0)
    x, y = torch.randn(2, 3, 16, 16).unbind(0)
    outputs = {}
    for skips in (False, True):
        net = _global(skips).eval()
        _cut_main_path(net)
        with torch.no_grad():
            outputs[skips] = net(torch.stack([x, y]))
    # Without skips the cut generator forgets its input; with them the output still follows it.
    torch.testing.assert_close(outputs[False][0], outputs[False][1])
    assert (outputs[True][0] - outputs[True][1]).abs().amax() > 1e-3


@given(row=st.integers(0, 15), col=st.integers(0, 15))
@settings(deadline=None, max_examples=10)
def test_one_input_pixel_reaches_its_output_pixel_through_the_head(row, col):
    torch.manual_seed(0)
    net = _global(True, norm="none").eval()  # instance norm would couple every pixel
    _cut_main_path(net)
    x = torch.randn(1, 3, 16, 16, requires_grad=True)
    net(x)[0, :, row, col].sum().backward()
    influence = x.grad.abs().sum(1)[0]
    assert influence[row, col] > 0
    # Reach: 3 px of the 7x7 head; the 1/4-resolution skip's pooling (4 px) and 3x3 transposed
    # convolution (one cell, 4 px), then the 1/2-resolution one's (one cell, 2 px): 13 px.
    far = torch.ones_like(influence, dtype=torch.bool)
    far[max(row - 13, 0) : row + 14, max(col - 13, 0) : col + 14] = False
    assert influence[far].abs().sum() == 0


def test_headless_generator_returns_base_channels():
    net = _global(True, include_head=False)
    assert net(torch.randn(1, 3, 16, 16)).shape == (1, 4, 16, 16)


def test_bf16_autocast_runs():
    net = _global(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(torch.randn(1, 3, 16, 16))
    assert out.shape == (1, 3, 16, 16)
    assert torch.isfinite(out.float()).all()


def test_local_enhancer_with_skips():
    net = _local(True)
    assert net.condition_skips
    assert net.global_generator.condition_skips
    assert all(stage.condition_skips for stage in net.stages)
    x = torch.randn(1, 3, 32, 32)
    out = net(x)
    assert out.shape == (1, 3, 32, 32)
    out.square().mean().backward()
    assert net.stages[-1].head.conv.weight.grad.abs().sum() > 0
    assert net.stages[-1].head.conv.in_channels == 2 + 3


def test_enhancer_stage_with_skips():
    stage = EnhancerStage(3, 4, num_blocks=1, out_channels=3, condition_skips=True)
    assert stage(torch.randn(1, 3, 16, 16), torch.randn(1, 8, 8, 8)).shape == (1, 3, 16, 16)


@pytest.mark.parametrize("skips", [False, True])
def test_from_global_keeps_the_skips(skips):
    generator = _global(skips)
    model = LocalEnhancer.from_global(generator, num_blocks_local=1)
    assert model.condition_skips is skips
    x = torch.randn(1, 3, 16, 16)
    torch.testing.assert_close(model.global_generator(x), generator.features(x))
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 3, 32, 32)


def test_skips_and_no_skips_do_not_load_each_others_weights():
    with pytest.raises(RuntimeError, match="size mismatch"):
        _global(True).load_state_dict(_global(False).state_dict())


@pytest.mark.parametrize(
    "build",
    [
        lambda v: _global(v),
        lambda v: _local(v),
        lambda v: EnhancerStage(3, 4, condition_skips=v),
        lambda v: GeneratorConfig(condition_skips=v),
    ],
)
def test_condition_skips_must_be_a_bool(build):
    with pytest.raises(TypeError, match="condition_skips must be a bool, got"):
        build(1)


def test_generator_config_round_trip_and_architecture():
    config = TrainingConfig(num_classes=3, generator=GeneratorConfig(condition_skips=True))
    assert TrainingConfig.from_dict(config.to_dict()) == config
    assert config.architecture()["generator"]["condition_skips"] is True
    assert GeneratorConfig().condition_skips is False
    # A checkpoint written before the field existed was trained without skips.
    old = TrainingConfig(num_classes=3).to_dict()
    del old["generator"]["condition_skips"]
    assert architecture_of(old)["generator"]["condition_skips"] is False


def test_build_training_with_skips_runs_a_step():
    config = tiny_config()
    generator = {**config.generator.to_dict(), "condition_skips": True}
    config = TrainingConfig.from_dict({**config.to_dict(), "generator": generator})
    with one_thread():
        training = build_training(config)
        head = training.models.generator.head.conv
        assert head.in_channels == config.generator.base_channels + config.generator_in_channels
        before = head.weight.detach().clone()
        losses = training.step(batch_of(SyntheticScenes(2, size=SIZE, seed=3), [0]))
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert not torch.equal(before, head.weight.detach())
