"""Datasets from a settings dict (a run's data section), their palettes, and first_batches."""

from __future__ import annotations

import pytest
import torch

from condgan_blocks.data import (
    CityscapesDataset,
    PairedFolderDataset,
    SyntheticScenes,
    cityscapes_palette,
    dataset_from_settings,
    first_batches,
    palette_from_settings,
)
from tests._data_trees import make_cityscapes, make_image_pairs, make_pix2pixhd

SYNTHETIC = {"kind": "synthetic", "size": [16, 32], "num_train": 5, "num_val": 3, "seed": 2}


def test_synthetic_settings_give_the_scenes_of_each_split():
    train = dataset_from_settings(SYNTHETIC, "train")
    val = dataset_from_settings(SYNTHETIC, "val")
    assert isinstance(train, SyntheticScenes)
    assert (len(train), len(val)) == (5, 3)
    expected = SyntheticScenes(3, size=(16, 32), seed=2, split="val")[1]
    assert torch.equal(val[1]["image"], expected["image"])
    assert not torch.equal(val[0]["image"], dataset_from_settings(SYNTHETIC, "train")[0]["image"])


def test_folder_settings_read_the_phases_and_resize(tmp_path):
    make_pix2pixhd(tmp_path, "train", ("a", "b"), (32, 64))
    make_pix2pixhd(tmp_path, "test", ("c",), (32, 64), seed=1)
    data = {"kind": "folder", "root": str(tmp_path), "label_nc": 35, "width": 32}
    train = dataset_from_settings(data, "train")
    assert isinstance(train, PairedFolderDataset)
    assert len(train) == 2
    assert train[0]["image"].shape == (3, 16, 32)  # scaled to the width
    val = dataset_from_settings(data, "val")
    assert val[0]["path"].endswith("c.png")  # the test phase
    square = dataset_from_settings({**data, "resize": [8, 8]}, "val")
    assert square[0]["label"].shape == (1, 8, 8)


def test_training_samples_are_cropped_and_flipped_only_with_train(tmp_path):
    make_pix2pixhd(tmp_path, "train", ("a",), (32, 64))
    data = {"kind": "folder", "root": str(tmp_path), "label_nc": 35, "crop": 16}
    torch.manual_seed(0)
    crop = dataset_from_settings(data, "train", train=True)[0]
    assert crop["label"].shape == (1, 16, 16)
    assert dataset_from_settings(data, "train")[0]["label"].shape == (1, 32, 64)
    unflipped = {**data, "crop": None, "flip": False}
    full = dataset_from_settings(unflipped, "train", train=True)[0]
    assert torch.equal(full["label"], dataset_from_settings(data, "train")[0]["label"])
    rectangle = dataset_from_settings({**data, "crop": [8, 24]}, "train", train=True)[0]
    assert rectangle["image"].shape == (3, 8, 24)


def test_image_to_image_and_cityscapes_settings(tmp_path):
    make_image_pairs(tmp_path / "pairs", "train", ("a",), size=(16, 16))
    pairs = dataset_from_settings(
        {"kind": "folder", "root": str(tmp_path / "pairs"), "label_nc": 0}, "train"
    )
    assert pairs[0]["input"].shape == (1, 16, 16)
    make_cityscapes(tmp_path / "city", "val", {"frankfurt": 1}, (16, 32))
    city = dataset_from_settings({"kind": "cityscapes", "root": str(tmp_path / "city")}, "val")
    assert isinstance(city, CityscapesDataset)
    assert len(city) == 1


@pytest.mark.parametrize(
    ("data", "split", "error", "match"),
    [
        ([], "train", TypeError, "data settings must be a dict"),
        ({"kind": "coco"}, "train", ValueError, "data.kind must be one of"),
        ({"kind": "synthetic", "size": [8, 8]}, "train", ValueError, "need data.num_train"),
        ({"kind": "folder", "root": "x"}, "train", ValueError, "need data.label_nc"),
        ({"kind": "cityscapes"}, "val", ValueError, "need data.root"),
        (SYNTHETIC, 1, TypeError, "split must be a string"),
    ],
)
def test_bad_settings_are_refused(data, split, error, match):
    with pytest.raises(error, match=match):
        dataset_from_settings(data, split)
    with pytest.raises(TypeError, match="train must be a bool"):
        dataset_from_settings(SYNTHETIC, "train", train="yes")


def test_palettes():
    assert torch.equal(palette_from_settings(SYNTHETIC, 7), SyntheticScenes.palette())
    assert torch.equal(palette_from_settings({"kind": "cityscapes"}, 35), cityscapes_palette())
    folder = palette_from_settings({"kind": "folder"}, 5)
    assert (folder.shape, folder.dtype) == ((5, 3), torch.uint8)
    assert torch.equal(folder, palette_from_settings({"kind": "folder"}, 5))
    assert torch.equal(palette_from_settings({"kind": "folder"}, 9)[:5], folder)
    with pytest.raises(ValueError, match="num_classes must be an int >= 0"):
        palette_from_settings({"kind": "folder"}, -1)


def test_first_batches_cover_the_first_samples_in_order():
    scenes = SyntheticScenes(5, size=(16, 16))
    batches = list(first_batches(scenes, 4, 3))
    assert [batch["path"] for batch in batches] == [
        [scenes[i]["path"] for i in range(3)], [scenes[3]["path"]]
    ]  # fmt: skip
    assert torch.equal(batches[1]["label"][0], scenes[3]["label"])
    assert sum(len(b["path"]) for b in first_batches(scenes, 99, 2)) == 5
    assert list(first_batches(scenes, 0, 2)) == []
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        first_batches(scenes, 2, 0)  # refused at once, before any sample is read
    with pytest.raises(ValueError, match="count must be >= 0"):
        first_batches(scenes, -1, 2)


def test_synthetic_cache_setting_reaches_the_dataset(monkeypatch):
    data = {"kind": "synthetic", "size": [16, 32], "num_train": 2, "num_val": 1, "cache": True}
    scenes = dataset_from_settings(data, "train")
    calls = []
    draw = scenes.generate
    monkeypatch.setattr(scenes, "generate", lambda i: calls.append(i) or draw(i))
    scenes[0], scenes[0]
    assert calls == [0]
    with pytest.raises(TypeError, match="cache must be a bool"):
        dataset_from_settings({**data, "cache": "yes"}, "train")
