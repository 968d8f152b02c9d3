"""prepare_folder: colour labels (and photos) -> the pix2pixHD layout PairedFolderDataset reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from condgan_blocks import instance_to_class
from condgan_blocks.data import (
    DatasetError,
    PairedFolderDataset,
    cityscapes_palette,
    prepare_folder,
)

from .._data_trees import save_image, save_label

ROAD, SKY, PERSON, CAR = 7, 23, 24, 26


def _scene(seed: int) -> np.ndarray:
    """Cityscapes class ids (16, 32): sky over road, two separate cars and one person."""
    label = np.full((16, 32), ROAD, dtype=np.int64)
    label[:8] = SKY
    label[10:14, 2:8] = CAR
    label[10:14, 12 + seed : 18 + seed] = CAR
    label[6:14, 24:27] = PERSON
    return label


def _colours(label: np.ndarray) -> np.ndarray:
    return cityscapes_palette().numpy()[label]


@pytest.fixture
def source(tmp_path):
    """Colour labels in labels/ (one in a subfolder) and their photos in photos/."""
    labels = {"a": _scene(0), "city/b": _scene(3)}
    photos = {}
    for index, (key, label) in enumerate(labels.items()):
        save_image(tmp_path / "labels" / f"{key}.png", _colours(label))
        photo = np.random.default_rng(index).integers(0, 256, (*label.shape, 3), dtype=np.uint8)
        save_image(tmp_path / "photos" / f"{key}.png", photo)
        photos[key] = photo
    return tmp_path, labels, photos


def test_writes_what_the_folder_dataset_reads(source):
    root, labels, photos = source
    result = prepare_folder(root / "labels", root / "data", images=root / "photos")
    assert (result.num_samples, result.num_classes, result.phase) == (2, 35, "train")
    assert result.with_images
    assert result.thing_classes == tuple(range(24, 34))
    assert sorted(p.name for p in (root / "data").iterdir()) == [
        "train_img",
        "train_inst",
        "train_label",
    ]  # and no temporary folder left behind
    dataset = PairedFolderDataset(root / "data", "train", label_nc=result.num_classes)
    assert len(dataset) == 2
    for sample, key in zip(dataset, ["a", "city/b"], strict=True):
        assert sample["path"] == str(root / "data" / "train_label" / f"{key}.png")
        label, instance = sample["label"][0], sample["instance"][0]
        assert np.array_equal(label.numpy(), labels[key])
        assert torch.equal(instance_to_class(instance), label)
        cars = sorted(instance[label == CAR].unique().tolist())
        assert cars == [26000, 26001]  # two separate cars, numbered from 0
        assert instance[label == PERSON].unique().tolist() == [24000]
        assert torch.equal(instance[label == SKY], label[label == SKY])  # stuff keeps its id
        expected = torch.from_numpy(photos[key]).permute(2, 0, 1).float() / 127.5 - 1
        assert torch.allclose(sample["image"], expected)


def test_instance_png_is_16_bit_and_label_png_8_bit(source):
    root, _, _ = source
    prepare_folder(root / "labels", root / "data")
    with Image.open(root / "data" / "train_inst" / "a.png") as image:
        assert image.mode == "I;16"
    with Image.open(root / "data" / "train_label" / "a.png") as image:
        assert image.mode == "L"


def test_custom_palette_things_and_connectivity(tmp_path):
    palette = {0: (0, 0, 0), 1: (255, 0, 0), 300: (0, 255, 0)}
    (tmp_path / "palette.json").write_text(json.dumps({str(k): v for k, v in palette.items()}))
    label = np.array([[1, 0, 300], [0, 1, 0]])
    colours = np.array([[palette[int(v)] for v in row] for row in label], dtype=np.uint8)
    save_image(tmp_path / "labels" / "x.png", colours)
    for connectivity, expected in ((8, [1000, 1000]), (4, [1000, 1001])):
        result = prepare_folder(
            tmp_path / "labels",
            tmp_path / "out",
            palette=tmp_path / "palette.json",
            thing_classes=[1],
            connectivity=connectivity,
            overwrite=True,
        )
        assert result.num_classes == 301
        sample = PairedFolderDataset(tmp_path / "out", "train", label_nc=301, load_images=False)[0]
        assert sample["label"][0].tolist() == label.tolist()  # 16-bit: id 300 survives
        assert sample["instance"][0][label == 1].tolist() == expected


def test_without_thing_classes_the_instance_map_is_the_label_map(tmp_path):
    save_image(tmp_path / "labels" / "x.png", np.array([[[255, 0, 0], [0, 0, 0]]], np.uint8))
    result = prepare_folder(tmp_path / "labels", tmp_path / "out", palette=[(0, 0, 0), (255, 0, 0)])
    assert result.thing_classes == ()
    sample = PairedFolderDataset(tmp_path / "out", "train", label_nc=2, load_images=False)[0]
    assert torch.equal(sample["instance"], sample["label"])


def test_cityscapes_colour_files_pair_with_their_photos(tmp_path):
    stem = "aachen/aachen_000000_000019"
    save_image(tmp_path / "gt" / f"{stem}_gtFine_color.png", _colours(_scene(0)))
    save_image(tmp_path / "img" / f"{stem}_leftImg8bit.png", np.zeros((16, 32, 3), np.uint8))
    prepare_folder(tmp_path / "gt", tmp_path / "out", images=tmp_path / "img", phase="test")
    assert (tmp_path / "out" / "test_label" / f"{stem}.png").is_file()
    assert (tmp_path / "out" / "test_img" / f"{stem}.png").is_file()


def test_refuses_a_non_empty_output_unless_overwrite(source):
    root, _, _ = source
    prepare_folder(root / "labels", root / "data", images=root / "photos")
    stale = root / "data" / "train_img" / "stale.png"
    save_image(stale, np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(FileExistsError, match=r"train_img.*not empty.*overwrite=True"):
        prepare_folder(root / "labels", root / "data")
    assert stale.is_file()
    prepare_folder(root / "labels", root / "data", overwrite=True)
    assert not (root / "data" / "train_img").exists()  # replaced: no photos this time
    prepare_folder(root / "labels", root / "data", phase="test")  # another phase is free
    assert (root / "data" / "test_label" / "a.png").is_file()


def test_every_bad_file_is_listed_and_the_output_is_left_as_it_was(source):
    root, labels, _ = source
    bad = _colours(labels["a"])
    bad[3, 5] = (1, 2, 3)
    save_image(root / "labels" / "a.png", bad)
    (root / "labels" / "broken.png").write_bytes(b"not a png")
    save_image(root / "photos" / "broken.png", np.zeros((16, 32, 3), np.uint8))
    save_image(root / "photos" / "city" / "b.png", np.zeros((8, 32, 3), np.uint8))
    with pytest.raises(DatasetError) as info:
        prepare_folder(root / "labels", root / "data", images=root / "photos")
    message = str(info.value)
    assert "3 problems" in message
    assert "(1, 2, 3) on 1 pixel(s), first at (row 3, col 5)" in message
    assert "broken.png: unreadable image" in message
    assert "image is 8x32 (HxW) but its label" in message
    assert not (root / "data").exists()  # nothing written, not even the output folder


def test_unpaired_and_lossy_files_are_refused_before_converting(source):
    root, _, _ = source
    save_image(root / "photos" / "extra.png", np.zeros((16, 32, 3), np.uint8))
    Image.fromarray(_colours(_scene(0))).save(root / "labels" / "lossy.jpg")
    with pytest.raises(DatasetError) as info:
        prepare_folder(root / "labels", root / "data", images=root / "photos")
    message = str(info.value)
    assert "extra.png: image has no label" in message
    assert "lossy.jpg: label has no image" in message
    assert "lossy.jpg: colour label stored in a lossy format" in message
    assert not (root / "data").exists()


def test_single_channel_and_transparent_labels_are_refused(tmp_path):
    save_label(tmp_path / "labels" / "ids.png", np.zeros((4, 4), np.uint8))
    rgba = np.zeros((4, 4, 4), np.uint8)
    save_image(tmp_path / "labels" / "rgba.png", rgba)
    with pytest.raises(DatasetError) as info:
        prepare_folder(tmp_path / "labels", tmp_path / "out")
    message = str(info.value)
    assert (
        "ids.png: a colour label must be an RGB (or palette) image, got Pillow mode 'L'" in message
    )
    assert "rgba.png: colour label has transparent pixels" in message


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"phase": "../x"}, ValueError, "phase must be a folder prefix"),
        ({"phase": ""}, ValueError, "phase must be a folder prefix"),
        ({"palette": "nope"}, ValueError, "palette must be one of"),
        ({"thing_classes": [99]}, ValueError, r"thing classes \[99\] have no colour"),
        (
            {"thing_classes": [70], "palette": {70: (0, 0, 0)}},
            ValueError,
            r"\[70\] are too large for 16-bit",
        ),
        ({"connectivity": 5}, ValueError, "connectivity must be 4"),
        ({"overwrite": "yes"}, TypeError, "overwrite must be a bool"),
        ({"images": "missing"}, FileNotFoundError, "images folder missing does not exist"),
    ],
)
def test_bad_arguments_are_refused_before_reading(tmp_path, kwargs, error, match):
    save_image(tmp_path / "labels" / "x.png", np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(error, match=match):
        prepare_folder(tmp_path / "labels", tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_missing_or_empty_labels_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"labels folder .* does not exist"):
        prepare_folder(tmp_path / "nothing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no image files in labels folder"):
        prepare_folder(tmp_path / "empty", tmp_path / "out")


def test_refuses_to_replace_its_own_input(tmp_path):
    save_image(tmp_path / "data" / "train_label" / "x.png", np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="lies in the output folder"):
        prepare_folder(tmp_path / "data" / "train_label", tmp_path / "data", overwrite=True)
    assert (tmp_path / "data" / "train_label" / "x.png").is_file()
