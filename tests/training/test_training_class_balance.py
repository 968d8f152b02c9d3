"""LossConfig.l1_class_balance in training: the step's L1 term is the class-balanced one,
image-to-image runs keep the plain L1, the config checks the power, the presets use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from condgan_blocks.data import SyntheticScenes
from condgan_blocks.losses import class_balanced_l1
from condgan_blocks.training import (
    LossConfig,
    TrainingConfig,
    build_models,
    build_training,
    prepare_batch,
)
from tests._training_helpers import SIZE, batch_of, one_thread, tiny_config

DATA = SyntheticScenes(4, size=SIZE, seed=1)
PRESETS = Path(__file__).resolve().parents[2] / "examples" / "presets"


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


def _losses(balance: float) -> LossConfig:
    return LossConfig(vgg_weight=0.0, vgg_weights=None, l1_weight=5.0, l1_class_balance=balance)


@pytest.mark.parametrize("naive", [False, True])
def test_the_step_weighs_the_l1_term_by_the_input_classes(naive):
    config = tiny_config(losses=_losses(0.5))
    training = build_training(config)
    batch = batch_of(DATA, [0, 1])
    inputs = prepare_batch(batch, num_classes=config.num_classes, use_encoder=False)
    with torch.no_grad():  # G before the step's update: the fake the step's loss sees
        fake = training.models.generator(inputs.condition)
    one_hot = inputs.condition[:, : config.num_classes]
    expected = 5.0 * float(class_balanced_l1(fake, inputs.real, one_hot, 0.5))
    plain = 5.0 * float((fake - inputs.real).abs().mean())
    losses = training.step(batch, naive=naive)
    assert losses["g_l1"] == pytest.approx(expected, rel=1e-5)
    assert abs(expected - plain) > 1e-3 * plain  # the weighting changes the term


def test_image_to_image_runs_keep_the_plain_l1():
    config = tiny_config(
        num_classes=0,
        input_channels=1,
        image_channels=3,
        use_instances=False,
        losses=_losses(0.5),
    )
    models = build_models(config)
    assert models.l1_class_balance == 0.0
    assert build_models(tiny_config(losses=_losses(0.5))).l1_class_balance == 0.5


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (1.5, ValueError, r"losses.l1_class_balance must be in \[0, 1\]"),
        (-0.5, ValueError, ">= 0"),
        ("half", TypeError, "real number"),
    ],
)
def test_the_config_checks_the_power(value, error, match):
    with pytest.raises(error, match=match):
        LossConfig(l1_class_balance=value)


def test_the_power_round_trips_and_old_configs_read_as_plain_l1():
    config = tiny_config(losses=_losses(0.25))
    assert TrainingConfig.from_dict(config.to_dict()).losses.l1_class_balance == 0.25
    old = config.to_dict()
    del old["losses"]["l1_class_balance"]  # a run configuration written before the option
    assert TrainingConfig.from_dict(old).losses.l1_class_balance == 0.0


@pytest.mark.parametrize("preset", ["demo", "folder"])
def test_the_label_map_presets_balance_their_l1_term(preset):
    losses = json.loads((PRESETS / f"{preset}.json").read_text())["training"]["losses"]
    assert losses["l1_weight"] > 0
    assert losses["l1_class_balance"] == 1.0
