"""The ``label_modulation`` option: SPADE's label-modulated norms in the generators' upsamplings."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from condgan_blocks import EnhancerStage, GlobalGenerator, LabelModulatedNorm, LocalEnhancer
from condgan_blocks.data import SyntheticScenes
from condgan_blocks.generators.global_generator import global_generator_size
from condgan_blocks.generators.local_enhancer import local_enhancer_size
from condgan_blocks.training import GeneratorConfig, TrainingConfig, build_training
from condgan_blocks.training.config import architecture_of
from tests._generator_helpers import assert_new_modules_start_neutral, tiny_local_enhancer
from tests._training_helpers import SIZE, batch_of, one_thread, tiny_config

MODULATION_KEYS = {f"norm.{conv}.{p}" for conv in ("shared", "affine") for p in ("weight", "bias")}


def _global(hidden: int, **kwargs) -> GlobalGenerator:
    return GlobalGenerator(
        3, base_channels=4, num_downsamples=2, num_blocks=1, label_modulation=hidden, **kwargs
    )


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _randomise_modulation(net: nn.Module) -> None:
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, LabelModulatedNorm):
                module.affine.weight.normal_(0.0, 0.5)
                module.affine.bias.normal_(0.0, 0.5)


def test_a_new_norm_is_the_plain_norm():
    torch.manual_seed(0)
    norm = LabelModulatedNorm(nn.InstanceNorm2d(6), 6, 4, hidden=8)
    x = torch.randn(2, 6, 8, 8)
    for condition in (torch.randn(2, 4, 8, 8), torch.randn(2, 4, 32, 32)):
        torch.testing.assert_close(norm(x, condition), nn.InstanceNorm2d(6)(x), rtol=0, atol=0)


def test_the_labels_set_scale_and_shift_pixel_by_pixel():
    torch.manual_seed(0)
    norm = LabelModulatedNorm(nn.InstanceNorm2d(6), 6, 2, hidden=8)
    _randomise_modulation(norm)
    x = torch.randn(1, 6, 16, 16)
    left, right = torch.zeros(1, 2, 16, 16), torch.zeros(1, 2, 16, 16)
    left[:, 0], right[:, 1] = 1.0, 1.0
    mixed = torch.cat([left[..., :8], right[..., 8:]], 3)
    out = {name: norm(x, c) for name, c in (("left", left), ("right", right), ("mixed", mixed))}
    assert (out["left"] - out["right"]).abs().amax() > 1e-2
    # Away from the seam (two 3x3 convolutions reach 2 px), each half follows its own label.
    torch.testing.assert_close(out["mixed"][..., :6], out["left"][..., :6])
    torch.testing.assert_close(out["mixed"][..., 10:], out["right"][..., 10:])


@given(factor=st.sampled_from([1, 2, 4]), batch=st.integers(1, 3))
@settings(deadline=None, max_examples=8)
def test_the_condition_is_pooled_to_the_features(factor, batch):
    norm = LabelModulatedNorm(nn.InstanceNorm2d(3), 3, 5, hidden=4)
    _randomise_modulation(norm)
    x, condition = torch.randn(batch, 3, 4, 8), torch.randn(batch, 5, 4 * factor, 8 * factor)
    pooled = nn.functional.avg_pool2d(condition, factor) if factor > 1 else condition
    torch.testing.assert_close(norm(x, condition), norm(x, pooled))


@pytest.mark.parametrize(
    ("condition", "match"),
    [
        (torch.zeros(1, 3, 8, 8), r"condition must be \(N, 4, H, W\), got \(1, 3, 8, 8\)"),
        (torch.zeros(4, 8, 8), r"condition must be \(N, 4, H, W\), got \(4, 8, 8\)"),
        (torch.zeros(1, 4, 12, 8), r"\(12, 8\) pixels cannot be pooled to the features' \(8, 8\)"),
    ],
)
def test_a_wrong_condition_is_refused(condition, match):
    norm = LabelModulatedNorm(nn.InstanceNorm2d(2), 2, 4)
    with pytest.raises(ValueError, match=match):
        norm(torch.zeros(1, 2, 8, 8), condition)


def test_bad_constructor_arguments_are_refused():
    with pytest.raises(TypeError, match=r"norm must be an nn\.Module, got str"):
        LabelModulatedNorm("instance", 2, 4)
    with pytest.raises(ValueError, match="hidden must be >= 1, got 0"):
        LabelModulatedNorm(nn.InstanceNorm2d(2), 2, 4, hidden=0)


def test_off_by_default_with_the_original_keys():
    default = GlobalGenerator(3, base_channels=4, num_downsamples=2, num_blocks=1)
    assert default.label_modulation == 0
    assert not any(isinstance(m, LabelModulatedNorm) for m in default.modules())
    assert list(_global(0).state_dict()) == list(default.state_dict())


@pytest.mark.parametrize("upsample", ["transposed", "resize"])
def test_modulation_adds_only_the_upsamplings_norm_weights(upsample):
    off, on = _global(0, upsample=upsample), _global(8, upsample=upsample)
    extra = set(on.state_dict()) - set(off.state_dict())
    assert extra == {f"upsamples.{i}.{k}" for i in range(2) for k in MODULATION_KEYS}
    assert set(off.state_dict()) <= set(on.state_dict())
    assert on.upsamples[0].norm.affine.out_channels == 2 * 8
    assert on.upsamples[1].norm.affine.out_channels == 2 * 4


@pytest.mark.parametrize(("hidden", "skips", "norm"), [(8, False, "instance"), (5, True, "batch")])
def test_parameter_counts_are_exact(hidden, skips, norm):
    net = _global(hidden, condition_skips=skips, norm=norm)
    expected = global_generator_size(
        3, 3, 4, 2, 1, norm, condition_skips=skips, label_modulation=hidden
    )
    assert _count(net) == expected[1]
    local = tiny_local_enhancer(label_modulation=hidden, condition_skips=skips, norm=norm)
    expected = local_enhancer_size(
        3, 3, 2, 2, 1, 1, 1, 8, norm, condition_skips=skips, label_modulation=hidden
    )
    assert _count(local) == expected[1]


def test_a_new_modulated_generator_computes_the_plain_one():
    torch.manual_seed(0)
    plain, modulated = _global(0), _global(8)
    x = torch.randn(2, 3, 16, 16)
    assert_new_modules_start_neutral(plain, modulated, MODULATION_KEYS, _randomise_modulation, x)


def test_gradients_reach_the_modulation():
    torch.manual_seed(0)
    net = _global(8, condition_skips=True)
    net(torch.randn(2, 3, 16, 16)).square().mean().backward()
    for up in net.upsamples:
        assert up.norm.affine.weight.grad.abs().sum() > 0


def test_bf16_autocast_runs():
    net = _global(8)
    _randomise_modulation(net)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(torch.randn(1, 3, 16, 16))
    assert out.shape == (1, 3, 16, 16)
    assert torch.isfinite(out.float()).all()


def test_local_enhancer_and_from_global_carry_the_modulation():
    net = tiny_local_enhancer(label_modulation=6)
    assert net.label_modulation == 6
    assert net.global_generator.label_modulation == 6
    assert all(isinstance(stage.up.norm, LabelModulatedNorm) for stage in net.stages)
    assert net(torch.randn(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    grown = LocalEnhancer.from_global(_global(8), num_blocks_local=1)
    assert grown.label_modulation == 8
    assert isinstance(grown.stages[0].up.norm, LabelModulatedNorm)
    stage = EnhancerStage(3, 4, num_blocks=1, out_channels=3, label_modulation=4)
    assert stage(torch.randn(1, 3, 16, 16), torch.randn(1, 8, 8, 8)).shape == (1, 3, 16, 16)


@pytest.mark.parametrize(
    "build",
    [
        lambda v, **kw: _global(v, **kw),
        lambda v, **kw: tiny_local_enhancer(label_modulation=v, **kw),
        lambda v, **kw: EnhancerStage(3, 4, label_modulation=v, **kw),
        lambda v, **kw: GeneratorConfig(label_modulation=v, **kw),
    ],
)
def test_bad_label_modulation_is_refused(build):
    with pytest.raises(TypeError, match="label_modulation must be an int, got bool"):
        build(True)
    with pytest.raises(ValueError, match="label_modulation must be >= 0, got -1"):
        build(-1)
    with pytest.raises(ValueError, match=r"label_modulation.*norm.*'none'"):
        build(4, norm="none")


def test_generator_config_round_trip_and_architecture():
    config = TrainingConfig(num_classes=3, generator=GeneratorConfig(label_modulation=16))
    assert TrainingConfig.from_dict(config.to_dict()) == config
    assert config.architecture()["generator"]["label_modulation"] == 16
    # A checkpoint written before the field existed was trained without it.
    old = TrainingConfig(num_classes=3).to_dict()
    del old["generator"]["label_modulation"]
    assert architecture_of(old)["generator"]["label_modulation"] == 0


def test_build_training_with_modulation_runs_a_step():
    config = tiny_config()
    generator = {**config.generator.to_dict(), "label_modulation": 8}
    config = TrainingConfig.from_dict({**config.to_dict(), "generator": generator})
    with one_thread():
        training = build_training(config)
        affine = training.models.generator.upsamples[-1].norm.affine
        before = affine.weight.detach().clone()
        losses = training.step(batch_of(SyntheticScenes(2, size=SIZE, seed=3), [0]))
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert not torch.equal(before, affine.weight.detach())
