"""From a batch dict to the step's tensors: condition map, encoder instances, checks."""

from __future__ import annotations

import pytest
import torch

from condgan_blocks import instance_boundary, one_hot_labels
from condgan_blocks.data import SyntheticScenes
from condgan_blocks.training import build_training, condition_map, generator_input, prepare_batch
from tests._training_helpers import SIZE, batch_of, one_thread, tiny_config

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
    with pytest.warns(DeprecationWarning, match="generator_input_from_labels"):
        assert generator_input(inputs.condition, features).shape == (1, 10, *SIZE)
    with pytest.warns(DeprecationWarning, match="deprecated"):
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


def test_uint8_images_are_refused_with_the_fix():
    batch = batch_of(DATA, [0])
    batch["image"] = ((batch["image"] + 1) * 127.5).round().to(torch.uint8)
    with pytest.raises(TypeError, match=r"batch\['image'\] must be a floating tensor with values "
                       r"in \[-1, 1\], got dtype torch.uint8 \(scale uint8 images"):  # fmt: skip
        prepare_batch(batch, num_classes=7)


@pytest.mark.parametrize(("low", "high"), [(0.0, 255.0), (-1.0, 1.5), (-3.0, 0.0)])
def test_images_outside_minus_one_one_are_refused(low, high):
    batch = batch_of(DATA, [0, 1])
    image = batch["image"]
    batch["image"] = (image + 1) / 2 * (high - low) + low  # spans [low, high] exactly
    with pytest.raises(
        ValueError, match=r"batch\['image'\] values span \[.+\]; expected images in"
    ):
        prepare_batch(batch, num_classes=7)


def test_images_inside_the_margin_and_nan_images_pass():
    batch = batch_of(DATA, [0])
    batch["image"] = batch["image"] * 1.05  # bicubic overshoot
    prepare_batch(batch, num_classes=7)
    batch["image"] = torch.full_like(batch["image"], float("nan"))  # left to the loss check
    prepare_batch(batch, num_classes=7)


@pytest.mark.parametrize(
    ("key", "shape", "message"),
    [
        ("image", (1, 3, 16, 64), r"batch\['image'\] has shape \(1, 3, 16, 64\) and batch\['label"),
        ("image", (2, 3, 32, 64), r"batch\['image'\] has shape \(2, 3, 32, 64\)"),
        ("instance", (1, 1, 32, 32), r"batch\['instance'\] has shape \(1, 1, 32, 32\)"),
        ("label", (1, 2, 32, 64), r"batch\['label'\] must be a \(N, 1, H, W\) map of class ids"),
        ("instance", (1, 3, 32, 64), r"batch\['instance'\] must be a \(N, 1, H, W\) map"),
    ],
)
def test_mismatched_sizes_name_the_tensors(key, shape, message):
    batch = batch_of(DATA, [0])
    batch[key] = torch.zeros(shape, dtype=batch[key].dtype)
    with pytest.raises(ValueError, match=message):
        prepare_batch(batch, num_classes=7)


@one_thread()
def test_a_bad_batch_fails_before_the_step_changes_anything():
    training = build_training(tiny_config())
    before = [p.clone() for p in training.models.generator.parameters()]
    batch = batch_of(DATA, [0])
    batch["image"] = (batch["image"] + 1) * 127.5
    with pytest.raises(ValueError, match="values span"):
        training.step(batch)
    assert training.state.global_step == 0
    after = training.models.generator.parameters()
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))


@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_cuda_is_a_clear_error(monkeypatch, device):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=rf"device='{device}' needs CUDA, but this torch .+ use "
                       r"device='cpu'"):  # fmt: skip
        build_training(tiny_config(device=device))


def test_a_cuda_index_beyond_the_gpus_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"resolves to cuda:3, but this machine has 1 CUDA"):
        build_training(tiny_config(device="cuda:3"))
