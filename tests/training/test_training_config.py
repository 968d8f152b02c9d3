"""TrainingConfig: the paper's defaults, validation of every field, dict and JSON round trips."""

from __future__ import annotations

import io
import json

import pytest
import torch

from condgan_blocks.training import (
    DiscriminatorConfig,
    EncoderConfig,
    GeneratorConfig,
    LossConfig,
    OptimizerConfig,
    TrainingConfig,
    build_models,
)
from condgan_blocks.training.config import architecture_differences
from tests._training_helpers import one_thread, tiny_config


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


def test_defaults_are_the_papers():
    config = TrainingConfig(num_classes=35)
    assert (config.optimizer.lr, config.optimizer.beta1, config.optimizer.beta2) == (
        2e-4,
        0.5,
        0.999,
    )
    assert config.losses.gan_mode == "lsgan"
    assert config.losses.feature_matching_weight == 10.0
    assert config.losses.vgg_weight == 10.0
    assert (config.epochs, config.decay_epochs, config.batch_size) == (100, 100, 1)
    assert config.init_std == 0.02
    assert (config.generator.base_channels, config.generator.num_downsamples) == (64, 4)
    assert config.discriminator.num_scales == 2
    assert config.condition_channels == 36
    assert config.discriminator_in_channels == 39


def test_channels_follow_instances_and_encoder():
    config = TrainingConfig(num_classes=7, use_instances=False, encoder=EncoderConfig())
    assert config.condition_channels == 7
    assert config.generator_in_channels == 10


def test_build_models_uses_the_config():
    models = build_models(tiny_config(losses=LossConfig(gan_mode="hinge", vgg_weight=0.0)))
    assert models.gan_loss.mode == "hinge"
    assert models.vgg_loss is None
    assert models.feature_matching_loss.weight == 10.0
    assert models.optimizer_g.defaults["betas"] == (0.5, 0.999)
    assert models.generator.stem.conv.in_channels == 8
    assert models.discriminator.in_channels == 11
    # init_weights: N(0, 0.02) convolution weights
    stds = [
        float(m.weight.detach().std())
        for m in models.generator.modules()
        if isinstance(m, torch.nn.Conv2d) and m.weight.numel() > 500
    ]
    assert all(0.015 < s < 0.025 for s in stds)


def test_vgg_options_reach_the_loss():
    losses = LossConfig(vgg_weights=None, vgg_normalize="none", vgg_batched=False, vgg_weight=2.0)
    vgg = build_models(tiny_config(losses=losses)).vgg_loss
    assert (vgg.weight, vgg.normalize, vgg.batched) == (2.0, None, False)


def test_encoder_parameters_are_optimized_with_the_generator():
    models = build_models(tiny_config(encoder=EncoderConfig(base_channels=2, num_downsamples=2)))
    optimized = {id(p) for group in models.optimizer_g.param_groups for p in group["params"]}
    assert {id(p) for p in models.encoder.parameters()} <= optimized
    assert {id(p) for p in models.generator.parameters()} <= optimized


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_classes": -1}, ValueError, "num_classes must be >= 0, got -1"),
        ({"num_classes": 0}, ValueError, "num_classes=0 .* needs input_channels"),
        ({"num_classes": 2.5}, TypeError, "num_classes must be an int"),
        ({"precision": "fp8"}, ValueError, "precision must be one of"),
        ({"param_dtype": "float16"}, ValueError, "param_dtype must be one of"),
        ({"stage": "middle"}, ValueError, "stage must be one of"),
        ({"global_checkpoint": "x.pt"}, ValueError, "only used with stage='local'"),
        ({"freeze_global_epochs": -1}, ValueError, "freeze_global_epochs must be >= 0"),
        ({"epochs": 0, "decay_epochs": 0}, ValueError, "epochs \\+ decay_epochs must be >= 1"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"pool_size": -2}, ValueError, "pool_size must be >= 0"),
        ({"ema_decay": 1.0}, ValueError, "ema_decay must be < 1.0"),
        ({"ema_decay": "0.9"}, TypeError, "ema_decay must be a real number"),
        ({"device": "gpu"}, ValueError, "device 'gpu' is not a valid torch device"),
        ({"precision": "fp16"}, ValueError, r"fp16.*needs a CUDA device"),
        ({"keep_last": 0}, ValueError, "keep_last must be >= 1"),
        ({"save_every_steps": -1}, ValueError, "save_every_steps must be >= 0"),
        ({"init_std": 0}, ValueError, "init_std must be > 0"),
        ({"use_instances": 1}, TypeError, "use_instances must be a bool"),
        ({"output_dir": 3}, TypeError, "output_dir must be a string or None"),
        ({"generator": 3}, TypeError, "generator must be a GeneratorConfig or a dict"),
        ({"encoder": "yes"}, TypeError, "encoder must be a EncoderConfig, None or a dict"),
        ({"compile_backend": ""}, TypeError, "compile_backend must be a non-empty string"),
    ],
)
def test_bad_fields_raise_naming_the_field(kwargs, error, match):
    values = {"num_classes": 3, **kwargs}
    with pytest.raises(error, match=match):
        TrainingConfig(**values)


@pytest.mark.parametrize(
    ("section", "kwargs", "match"),
    [
        (GeneratorConfig, {"base_channels": 0}, "generator.base_channels must be >= 1"),
        (GeneratorConfig, {"norm": "layer"}, "generator.norm must be one of"),
        (GeneratorConfig, {"num_enhancers": 0}, "generator.num_enhancers must be >= 1"),
        (DiscriminatorConfig, {"num_scales": 0}, "discriminator.num_scales must be >= 1"),
        (EncoderConfig, {"feature_channels": 0}, "encoder.feature_channels must be >= 1"),
        (LossConfig, {"gan_mode": "wgan"}, "losses.gan_mode must be one of"),
        (LossConfig, {"vgg_weight": -1}, "losses.vgg_weight must be >= 0.0"),
        (LossConfig, {"vgg_normalize": None}, "losses.vgg_normalize must be a string"),
        (OptimizerConfig, {"lr": 0}, "optimizer.lr must be > 0"),
        (OptimizerConfig, {"beta1": 1.0}, "optimizer.beta1 must be < 1.0"),
        (OptimizerConfig, {"beta2": float("nan")}, "optimizer.beta2 must be finite"),
    ],
)
def test_bad_section_fields_raise_with_the_qualified_name(section, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        section(**kwargs)


def test_dict_and_json_round_trip():
    config = tiny_config(encoder=EncoderConfig(), ema_decay=0.999, ignore_index=255, seed=4)
    values = config.to_dict()
    assert TrainingConfig.from_dict(values) == config
    assert TrainingConfig.from_dict(json.loads(json.dumps(values))) == config
    assert values["generator"]["base_channels"] == 4
    # plain values only: a weights_only checkpoint can hold it
    buffer = io.BytesIO()
    torch.save(values, buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True) == values


def test_from_dict_rejects_unknown_keys_at_any_level():
    values = tiny_config().to_dict()
    with pytest.raises(ValueError, match=r"unknown config keys: \['learning_rate'\]"):
        TrainingConfig.from_dict({**values, "learning_rate": 1.0})
    values["generator"]["ngf"] = 64
    with pytest.raises(ValueError, match=r"unknown config keys in 'generator': \['ngf'\]"):
        TrainingConfig.from_dict(values)


def test_architecture_differences_name_the_fields():
    first = tiny_config().architecture()
    second = tiny_config(
        generator=GeneratorConfig(base_channels=8), use_instances=False
    ).architecture()
    lines = architecture_differences(first, second)
    assert "use_instances: True vs False" in lines
    assert "generator.base_channels: 4 vs 8" in lines
    assert architecture_differences(first, first) == []


@pytest.mark.parametrize("seed", [2**63, 2**70])
def test_seed_beyond_64_bits_is_a_value_error(seed):
    with pytest.raises(ValueError, match=rf"seed must be < 2\*\*63 .+, got {seed}"):
        TrainingConfig(num_classes=7, seed=seed)


def test_the_largest_seed_trains():
    from condgan_blocks.data import SyntheticScenes
    from condgan_blocks.training import build_training
    from tests._training_helpers import SIZE, one_thread, tiny_config

    with one_thread():
        training = build_training(tiny_config(seed=2**63 - 1, batch_size=2))
        loader = training.make_loader(SyntheticScenes(2, size=SIZE), epoch=5)
        training.step(next(iter(loader)))
    assert training.state.global_step == 1


def test_default_vgg_loss_runs_two_passes():
    """The faster VGG path is the default: no input gradients for the real half."""
    from condgan_blocks.training import build_models

    config = TrainingConfig(
        num_classes=3,
        generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1),
        discriminator=DiscriminatorConfig(base_channels=4, num_scales=1, num_layers=1),
        losses=LossConfig(vgg_weights=None),
    )
    assert config.losses.vgg_batched is False
    assert build_models(config).vgg_loss.batched is False
