"""Image-to-image training (num_classes=0, the original's --label_nc 0): config, inputs, models,
step, generation, resume and stage 2, on in-memory pairs and on a ``_A`` / ``_B`` folder."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from condgan_blocks.data import PairedFolderDataset, collate
from condgan_blocks.training import (
    CheckpointError,
    EncoderConfig,
    TrainingConfig,
    build_models,
    build_training,
    condition_map,
    fused_step,
    naive_step,
    prepare_batch,
)
from condgan_blocks.training.config import architecture_differences, architecture_of
from tests._data_trees import make_image_pairs, save_instance
from tests._training_helpers import one_thread, tiny_config

C_IN, C_OUT = 1, 3


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


def image_config(**overrides) -> TrainingConfig:
    values = {"num_classes": 0, "input_channels": C_IN, "image_channels": C_OUT}
    values["use_instances"] = False
    values.update(overrides)
    return tiny_config(**values)


def pairs(count: int = 4, size=(16, 16), *, seed: int = 0, instances: bool = False):
    g = torch.Generator().manual_seed(seed)
    samples = []
    for index in range(count):
        sample = {
            "input": torch.rand(C_IN, *size, generator=g) * 2 - 1,
            "image": torch.rand(C_OUT, *size, generator=g) * 2 - 1,
            "path": f"pair{index}",
        }
        if instances:
            sample["instance"] = (torch.arange(size[1]) >= size[1] // 2).long().expand(1, *size)
        samples.append(sample)
    return samples


# Config --------------------------------------------------------------------------------------


def test_config_channels_follow_the_input_image():
    config = image_config()
    assert config.image_input
    assert (config.condition_channels, config.generator_in_channels) == (C_IN, C_IN)
    assert config.discriminator_in_channels == C_IN + C_OUT
    with_boundary = image_config(input_channels=5, use_instances=True)
    assert with_boundary.condition_channels == 6
    assert with_boundary.discriminator_in_channels == 6 + C_OUT
    assert TrainingConfig.from_dict(config.to_dict()) == config
    assert not TrainingConfig(num_classes=7).image_input


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"input_channels": None}, ValueError, "num_classes=0 .* needs input_channels"),
        ({"input_channels": 0}, ValueError, "input_channels must be >= 1, got 0"),
        ({"input_channels": 1.5}, TypeError, "input_channels must be an int"),
        ({"num_classes": -1}, ValueError, "num_classes must be >= 0, got -1"),
        ({"num_classes": 7}, ValueError, "input_channels is only used with num_classes=0"),
        ({"encoder": EncoderConfig()}, ValueError, "encoder .* needs label maps"),
        ({"ignore_index": 255}, ValueError, "ignore_index is a label id"),
    ],
)
def test_config_refuses_bad_combinations(overrides, error, message):
    with pytest.raises(error, match=message):
        image_config(**overrides)


def test_architecture_names_input_channels_and_old_checkpoints_still_match():
    ours = image_config().architecture()
    assert ours["input_channels"] == C_IN
    other = image_config(input_channels=2).architecture()
    assert architecture_differences(ours, other) == ["input_channels: 1 vs 2"]
    labels = TrainingConfig(num_classes=7).to_dict()
    old = {k: v for k, v in labels.items() if k != "input_channels"}  # written before the field
    assert architecture_differences(architecture_of(old), architecture_of(labels)) == []


# Inputs --------------------------------------------------------------------------------------


def test_condition_is_the_input_image_itself():
    batch = collate(pairs(2))
    inputs = prepare_batch(batch, num_classes=0, input_channels=C_IN, use_instances=False)
    assert inputs.condition.shape == (2, C_IN, 16, 16)
    assert torch.equal(inputs.condition, batch["input"])
    assert inputs.real.shape == (2, C_OUT, 16, 16)


def test_condition_gets_the_boundary_map_when_instances_exist():
    batch = collate(pairs(2, instances=True))
    inputs = prepare_batch(batch, num_classes=0, input_channels=C_IN, use_instances=True)
    assert inputs.condition.shape == (2, C_IN + 1, 16, 16)
    assert torch.equal(inputs.condition[:, :C_IN], batch["input"])
    boundary = inputs.condition[:, C_IN]
    assert boundary.sum() > 0
    assert (boundary[:, :, :6] == 0).all()  # far from the one instance edge at x = 8


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda b: b.pop("input"), ValueError, r"no 'input' \(the input image"),
        (
            lambda b: b.update(input=b["input"].repeat(1, 2, 1, 1)),
            ValueError,
            r"batch\['input'\] has 2 channels, the config expects 1",
        ),
        (lambda b: b.update(input=b["input"] * 200), ValueError, r"batch\['input'\] values span"),
        (
            lambda b: b.update(input=(b["input"] > 0).to(torch.uint8)),
            TypeError,
            r"batch\['input'\] must be a floating tensor",
        ),
        (
            lambda b: b.update(input=b["input"][..., :8]),
            ValueError,
            r"batch\['image'\] has shape .* and batch\['input'\]",
        ),
    ],
)
def test_bad_inputs_are_named(change, error, message):
    batch = collate(pairs(2))
    change(batch)
    with pytest.raises(error, match=message):
        prepare_batch(batch, num_classes=0, input_channels=C_IN, use_instances=False)


def test_condition_map_refuses_label_ids_as_an_input_image():
    with pytest.raises(TypeError, match="num_classes=0 the input must be a floating image"):
        condition_map(torch.zeros(1, 1, 4, 4, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="ignore_index is a label id"):
        condition_map(torch.zeros(1, 1, 4, 4), 0, ignore_index=0)


# Models and step -----------------------------------------------------------------------------


def test_networks_take_the_input_and_make_the_output_channels():
    models = build_models(image_config())
    assert models.generator.stem.conv.in_channels == C_IN
    out = models.generator(torch.zeros(1, C_IN, 16, 16))
    assert out.shape == (1, C_OUT, 16, 16)
    first = models.discriminator.state_dict()["scales.0.layers.0.conv.weight"]
    assert first.shape[1] == C_IN + C_OUT


@pytest.mark.parametrize("step", [fused_step, naive_step])
def test_a_step_trains_on_pairs(step):
    models = build_models(image_config())
    inputs = prepare_batch(
        collate(pairs(2)), num_classes=0, input_channels=C_IN, use_instances=False
    )
    before = [p.clone() for p in models.generator.parameters()]
    losses = step(models, inputs)
    assert all(math.isfinite(v) for v in losses.values())
    assert losses["g_gan"] > 0
    changed = [
        not torch.equal(a, b) for a, b in zip(before, models.generator.parameters(), strict=True)
    ]
    assert any(changed)


def test_fit_generate_and_resume(tmp_path):
    config = image_config(epochs=1, decay_epochs=1, output_dir=str(tmp_path), batch_size=2)
    dataset = pairs(4)
    training = build_training(config)
    fake = training.generate(collate(dataset[:2]))
    assert fake.shape == (2, C_OUT, 16, 16)
    assert fake.dtype == torch.float32
    result = training.fit(dataset)
    assert (result.epoch, result.global_step) == (2, 4)
    resumed = build_training(config, resume=tmp_path)
    assert resumed.state.global_step == 4
    batch = collate(dataset[:1])
    assert torch.equal(training.generate(batch), resumed.generate(batch))
    wrong = image_config(input_channels=2, epochs=1, decay_epochs=1)
    with pytest.raises(CheckpointError, match="input_channels: 1 vs 2"):
        build_training(wrong, resume=tmp_path)


def test_stage_two_grows_an_image_input_stage_one(tmp_path):
    stage_one = image_config(output_dir=str(tmp_path))
    build_training(stage_one).save()
    local = image_config(stage="local", global_checkpoint=str(tmp_path))
    models = build_models(local)
    out = models.generator(torch.zeros(1, C_IN, 32, 32))
    assert out.shape == (1, C_OUT, 32, 32)
    mismatched = image_config(stage="local", global_checkpoint=str(tmp_path), input_channels=2)
    with pytest.raises(CheckpointError, match="input_channels: 1 vs 2"):
        build_models(mismatched)


def test_trains_on_a_folder_of_pairs_with_instance_maps(tmp_path):
    make_image_pairs(tmp_path, "train", ("a", "b"), size=(16, 16), mode_a="L", mode_b="RGB")
    for name in ("a", "b"):
        ids = np.zeros((16, 16), np.uint16)
        ids[:, 8:] = 1000
        save_instance(tmp_path / "train_inst" / f"{name}.png", ids)
    dataset = PairedFolderDataset(tmp_path, label_nc=0)
    assert set(dataset[0]) == {"input", "instance", "image", "path"}
    config = image_config(use_instances=True, epochs=1, decay_epochs=0)
    training = build_training(config)
    losses = training.step(collate([dataset[0], dataset[1]]))
    assert all(math.isfinite(v) for v in losses.values())
    without = PairedFolderDataset(tmp_path, label_nc=0, load_instances=False)
    assert "instance" not in without[0]
