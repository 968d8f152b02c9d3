"""The fused step against the original's three-pass step, precision options, frozen params."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from condgan_blocks.data import SyntheticScenes
from condgan_blocks.training import (
    FakePool,
    LossConfig,
    TrainingConfig,
    build_models,
    build_training,
    fused_step,
    naive_step,
    prepare_batch,
)
from tests._training_helpers import SIZE, batch_of, one_thread, tiny_config, tiny_encoder


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


DATA = SyntheticScenes(4, size=SIZE, seed=1)


def _inputs(config, indices, dtype):
    return prepare_batch(
        batch_of(DATA, indices),
        num_classes=config.num_classes,
        use_encoder=config.encoder is not None,
        dtype=dtype,
    )


def _state(models):
    return {
        "generator": models.generator.state_dict(),
        "discriminator": models.discriminator.state_dict(),
        "encoder": None if models.encoder is None else models.encoder.state_dict(),
        "optimizer_g": models.optimizer_g.state_dict()["state"],
        "optimizer_d": models.optimizer_d.state_dict()["state"],
    }


def _compare(first, second, *, atol):
    for key in ("generator", "discriminator", "encoder"):
        if first[key] is None:
            continue
        for name, value in first[key].items():
            torch.testing.assert_close(
                value, second[key][name], rtol=0, atol=atol, msg=f"{key}.{name}"
            )
    for key in ("optimizer_g", "optimizer_d"):
        assert first[key].keys() == second[key].keys()
        for index, state in first[key].items():
            for name, value in state.items():
                torch.testing.assert_close(
                    value, second[key][index][name], rtol=0, atol=atol, msg=f"{key}[{index}]"
                )


TOLERANCES = {"float32": 1e-6, "float64": 1e-12}


@pytest.mark.parametrize(
    ("param_dtype", "pool_size", "with_encoder"),
    [("float32", 0, False), ("float32", 2, True), ("float64", 0, True), ("float64", 2, False)],
)
def test_fused_matches_naive_three_pass_step(param_dtype, pool_size, with_encoder):
    # Same losses, weights and Adam states after one and after two steps, VGG loss on.
    config = tiny_config(
        param_dtype=param_dtype,
        encoder=tiny_encoder() if with_encoder else None,
        losses=LossConfig(vgg_weight=10.0, vgg_weights=None),
    )
    torch.manual_seed(0)
    fused = build_models(config)
    naive = copy.deepcopy(fused)
    initial = copy.deepcopy(fused.generator.state_dict())
    pools = FakePool(pool_size, seed=7), FakePool(pool_size, seed=7)
    dtype, atol = getattr(torch, param_dtype), TOLERANCES[param_dtype]
    for step, indices in enumerate(([0, 1], [2, 3])):
        inputs = _inputs(config, indices, dtype)
        losses_fused = fused_step(fused, inputs, fake_pool=pools[0])
        losses_naive = naive_step(naive, inputs, fake_pool=pools[1])
        assert losses_fused == pytest.approx(losses_naive, rel=1e-6), f"step {step + 1}"
        _compare(_state(fused), _state(naive), atol=atol)
    moved = max((initial[k] - v).abs().max() for k, v in fused.generator.state_dict().items())
    assert moved > 100 * atol  # the weights did change: the comparison means something


def _count_calls(models):
    """Count discriminator forwards and gradient accumulations into D's weights."""
    counts = {"d_forward": 0, "d_grad": 0}

    def forward_hook(module, args, output):
        counts["d_forward"] += 1

    def grad_hook(parameter):
        counts["d_grad"] += 1

    models.discriminator.register_forward_hook(forward_hook)
    first_weight = next(models.discriminator.parameters())
    first_weight.register_post_accumulate_grad_hook(grad_hook)
    return counts


@pytest.mark.parametrize(
    ("step", "pool_size", "forwards", "grads"),
    [(fused_step, 0, 2, 1), (naive_step, 0, 3, 2), (fused_step, 2, 3, 1)],
)
def test_discriminator_passes_and_weight_gradients(step, pool_size, forwards, grads):
    # fused: one D pass on the fakes and no D weight gradient from the G loss; naive: the
    # original's three passes and a D weight gradient computed in the G backward, thrown away.
    # With a fake pool the fused step makes a separate D pass on the pooled fakes.
    config = tiny_config()
    models = build_models(config)
    counts = _count_calls(models)
    step(models, _inputs(config, [0], torch.float32), fake_pool=FakePool(pool_size))
    assert counts == {"d_forward": forwards, "d_grad": grads}


def test_step_changes_every_trainable_weight():
    config = tiny_config()
    training = build_training(config)
    before = {k: v.clone() for k, v in training.models.generator.state_dict().items()}
    training.step(batch_of(DATA, [0]))
    after = training.models.generator.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before if k.endswith("weight"))


def test_training_step_returns_float_losses_and_lr():
    training = build_training(tiny_config(losses=LossConfig(vgg_weight=10.0, vgg_weights=None)))
    losses = training.step(batch_of(DATA, [0]))
    assert set(losses) == {
        "g_gan",
        "g_feat",
        "g_vgg",
        "d_fake",
        "d_real",
        "g_total",
        "d_total",
        "lr",
    }
    assert all(isinstance(v, float) for v in losses.values())
    assert losses["g_total"] == pytest.approx(losses["g_gan"] + losses["g_feat"] + losses["g_vgg"])
    assert losses["d_total"] == pytest.approx(0.5 * (losses["d_fake"] + losses["d_real"]))
    assert losses["g_vgg"] > 0
    assert losses["lr"] == 2e-4
    assert training.state.global_step == 1


def test_offline_terms_are_reported_and_added_to_the_generator_total():
    losses_config = LossConfig(vgg_weight=0.0, vgg_weights=None, l1_weight=5.0, texture_weight=20.0)
    training = build_training(tiny_config(losses=losses_config))
    assert training.models.texture_loss is not None
    assert training.models.texture_loss.weight == 20.0
    losses = training.step(batch_of(DATA, [0]))
    assert losses["g_l1"] > 0
    assert losses["g_texture"] > 0
    parts = ("g_gan", "g_feat", "g_vgg", "g_l1", "g_texture")
    assert losses["g_total"] == pytest.approx(sum(losses[k] for k in parts))
    assert build_models(tiny_config()).texture_loss is None  # weight 0: left out


def test_training_step_naive_option_matches_fused():
    first, second = build_training(tiny_config()), build_training(tiny_config())
    batch = batch_of(DATA, [1, 2])
    assert first.step(batch) == second.step(batch, naive=True)
    for a, b in zip(
        first.models.generator.parameters(), second.models.generator.parameters(), strict=True
    ):
        assert torch.equal(a, b)


def test_bf16_autocast_step_keeps_float32_weights():
    config = tiny_config(precision="bf16", losses=LossConfig(vgg_weight=10.0, vgg_weights=None))
    training = build_training(config)
    losses = training.step(batch_of(DATA, [0]))
    reference = build_training(dataclasses.replace(config, precision="fp32"))
    expected = reference.step(batch_of(DATA, [0]))
    assert losses == pytest.approx(expected, rel=0.05)
    assert training.scaler is None
    assert all(p.dtype == torch.float32 for p in training.models.generator.parameters())


def test_fp16_needs_cuda():
    with pytest.raises(ValueError, match=r"fp16.*needs a CUDA device"):
        tiny_config(precision="fp16")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fp16_step_uses_a_grad_scaler_on_cuda():
    training = build_training(tiny_config(precision="fp16", device="cuda"))
    training.step(batch_of(DATA, [0]))
    assert training.scaler is not None
    assert training.checkpoint()["scaler"] is not None


def test_channels_last_step_matches_default_layout():
    first = build_training(tiny_config())
    second = build_training(tiny_config(channels_last=True))
    batch = batch_of(DATA, [0])
    assert first.step(batch) == pytest.approx(second.step(batch), rel=1e-4)
    weight = second.models.generator.stem.conv.weight
    assert weight.is_contiguous(memory_format=torch.channels_last)


def test_compile_option_runs_a_step():
    torch._dynamo.reset()
    training = build_training(tiny_config(compile=True, compile_backend="aot_eager"))
    eager = build_training(tiny_config())
    batch = batch_of(DATA, [0])
    assert set(training.models.compiled) == {"generator", "discriminator"}
    assert training.step(batch) == pytest.approx(eager.step(batch), rel=1e-4)
    # the modules stay uncompiled: checkpoint keys do not change
    assert not any(k.startswith("_orig_mod") for k in training.models.generator.state_dict())


def test_frozen_generator_parameters_do_not_change():
    training = build_training(tiny_config())
    frozen = list(training.models.generator.stem.parameters())
    for parameter in frozen:
        parameter.requires_grad_(False)
    before = [p.clone() for p in frozen]
    training.step(batch_of(DATA, [0]))
    assert all(torch.equal(a, b) for a, b in zip(before, frozen, strict=True))
    assert all(p.grad is None for p in frozen)


def test_config_type_is_checked():
    with pytest.raises(TypeError, match="TrainingConfig"):
        build_training({"num_classes": 3})
    assert isinstance(tiny_config(), TrainingConfig)
