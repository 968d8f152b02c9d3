"""From a batch dict to the step's tensors: condition map, encoder instances, checks."""

from __future__ import annotations

import pytest
import torch

from condgan_blocks import instance_boundary, one_hot_labels
from condgan_blocks.data import SyntheticScenes
from condgan_blocks.training import condition_map, generator_input, prepare_batch
from tests._training_helpers import SIZE, batch_of

DATA = SyntheticScenes(2, size=SIZE)


def test_condition_is_one_hot_then_boundary():
    batch = batch_of(DATA, [0, 1])
    inputs = prepare_batch(batch, num_classes=7, dtype=torch.float64)
    expected = torch.cat(
        [
            one_hot_labels(batch["label"], 7, dtype=torch.float64),
            instance_boundary(batch["instance"], dtype=torch.float64),
        ],
        1,
    )
    assert torch.equal(inputs.condition, expected)
    assert torch.equal(inputs.real, batch["image"].double())
    assert inputs.instances is None


def test_without_instances_and_with_the_encoder():
    batch = batch_of(DATA, [0])
    inputs = prepare_batch(batch, num_classes=7, use_instances=False, use_encoder=True)
    assert inputs.condition.shape == (1, 7, *SIZE)
    assert torch.equal(inputs.instances, batch["instance"])
    features = torch.zeros(1, 3, *SIZE)
    assert generator_input(inputs.condition, features).shape == (1, 10, *SIZE)
    assert generator_input(inputs.condition) is inputs.condition


def test_ignore_index_gives_zero_vectors():
    label = torch.tensor([[[[0, 255]]]])
    condition = condition_map(label, 2, ignore_index=255)
    assert condition[0, :, 0, 1].tolist() == [0.0, 0.0]


def test_channels_last():
    inputs = prepare_batch(batch_of(DATA, [0]), num_classes=7, channels_last=True)
    assert inputs.condition.is_contiguous(memory_format=torch.channels_last)


def test_missing_keys_and_bad_shapes_are_named():
    batch = batch_of(DATA, [0])
    del batch["instance"]
    with pytest.raises(ValueError, match=r"no 'instance' \(use_instances=True\)"):
        prepare_batch(batch, num_classes=7)
    with pytest.raises(ValueError, match="the encoder pools over instances"):
        prepare_batch(batch, num_classes=7, use_instances=False, use_encoder=True)
    with pytest.raises(ValueError, match="has 3 channels, the config expects 1"):
        prepare_batch(batch, num_classes=7, use_instances=False, image_channels=1)
    batch["label"] = batch["label"][0]
    with pytest.raises(ValueError, match=r"batch\['label'\] must be a \(N, C, H, W\) tensor"):
        prepare_batch(batch, num_classes=7, use_instances=False)


def test_label_out_of_range_is_reported():
    batch = batch_of(DATA, [0])
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        prepare_batch(batch, num_classes=3)
