"""CityscapesDataset on small trees in the official layout and encodings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from condgan_blocks.data import (
    CITYSCAPES_LABELS,
    CITYSCAPES_NUM_CLASSES,
    CityscapesDataset,
    DatasetError,
    ScaleWidth,
    cityscapes_palette,
    cityscapes_thing_ids,
    cityscapes_train_ids,
)

from .._data_trees import cityscapes_paths, make_cityscapes, save_image, save_label


@pytest.fixture
def tree(tmp_path):
    written = make_cityscapes(tmp_path, "train", {"aachen": 2, "bochum": 1}, size=(16, 32))
    return tmp_path, written


def test_reads_official_layout_exactly(tree):
    root, written = tree
    dataset = CityscapesDataset(root, "train")
    assert len(dataset) == 3
    keys = sorted(written)
    for index, key in enumerate(keys):
        sample = dataset[index]
        expected = written[key]
        assert sample["label"].dtype == torch.int64
        assert sample["label"].shape == (1, 16, 32)
        assert torch.equal(sample["label"][0], torch.from_numpy(expected["label"].astype(np.int64)))
        assert sample["instance"].dtype == torch.int64
        assert torch.equal(
            sample["instance"][0], torch.from_numpy(expected["instance"].astype(np.int64))
        )
        image = torch.from_numpy(expected["image"].astype(np.float32)).permute(2, 0, 1)
        assert sample["image"].dtype == torch.float32
        assert torch.allclose(sample["image"], image / 127.5 - 1)
        assert sample["path"] == str(cityscapes_paths(root, key)["label"])


def test_sixteen_bit_instance_ids_survive(tree):
    root, _ = tree
    instance = torch.cat([CityscapesDataset(root)[i]["instance"].flatten() for i in range(3)])
    assert int(instance.max()) >= 33000  # a bicycle instance, beyond 8 bits
    things = instance[instance >= 1000]
    assert set((things // 1000).tolist()) <= set(cityscapes_thing_ids())


def test_instance_maps_are_optional(tree):
    root, _ = tree
    for path in root.glob("gtFine/train/*/*_instanceIds.png"):
        path.unlink()
    sample = CityscapesDataset(root, load_instances=False)[0]
    assert "instance" not in sample
    assert set(sample) == {"label", "image", "path"}


def test_transform_is_applied(tree):
    root, _ = tree
    sample = CityscapesDataset(root, transform=ScaleWidth(16))[0]
    assert sample["label"].shape == (1, 8, 16)
    assert sample["image"].shape == (3, 8, 16)
    assert sample["label"].dtype == torch.int64


def test_label_table_is_the_official_one():
    assert CITYSCAPES_NUM_CLASSES == 35
    assert len(CITYSCAPES_LABELS) == 35
    assert [row.id for row in CITYSCAPES_LABELS] == [*range(34), -1]
    by_name = {row.name: row for row in CITYSCAPES_LABELS}
    assert by_name["car"].id == 26
    assert by_name["car"].train_id == 13
    assert by_name["car"].color == (0, 0, 142)
    assert by_name["car"].has_instances
    assert by_name["road"].train_id == 0
    assert not by_name["road"].has_instances
    train_ids = sorted(row.train_id for row in CITYSCAPES_LABELS if 0 <= row.train_id < 255)
    assert train_ids == list(range(19))
    assert cityscapes_thing_ids() == tuple(range(24, 34))


def test_palette_and_train_ids():
    palette = cityscapes_palette()
    assert palette.shape == (35, 3)
    assert palette.dtype == torch.uint8
    assert palette[7].tolist() == [128, 64, 128]
    assert cityscapes_train_ids(torch.tensor([[7, 8, 0, 33]])).tolist() == [[0, 1, 255, 18]]
    with pytest.raises(ValueError, match=r"0\.\.33"):
        cityscapes_train_ids(torch.tensor([34]))


def test_colorize_uses_official_colours(tree):
    root, _ = tree
    dataset = CityscapesDataset(root)
    label = dataset[0]["label"]
    colours = dataset.colorize(label)
    assert colours.shape == (3, 16, 32)
    assert colours.dtype == torch.uint8
    road = label[0] == 7
    if road.any():
        assert colours[:, road].T.unique(dim=0).tolist() == [[128, 64, 128]]


# Errors ------------------------------------------------------------------------------------


def test_missing_root_prints_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist") as info:
        CityscapesDataset(tmp_path / "nowhere")
    assert "gtFine_labelIds.png" in str(info.value)
    assert "leftImg8bit" in str(info.value)


def test_missing_split_names_folder_and_present_splits(tree):
    root, _ = tree
    with pytest.raises(FileNotFoundError, match=r"gtFine[/\\]val") as info:
        CityscapesDataset(root, "val")
    message = str(info.value)
    assert "train" in message  # the splits that do exist
    assert "expected layout" in message


def test_missing_image_split(tree):
    root, _ = tree
    for path in sorted((root / "leftImg8bit" / "train").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (root / "leftImg8bit" / "train").rmdir()
    with pytest.raises(FileNotFoundError, match=r"leftImg8bit[/\\]train"):
        CityscapesDataset(root, "train")


def test_empty_split_is_an_error(tmp_path):
    (tmp_path / "gtFine" / "train" / "aachen").mkdir(parents=True)
    (tmp_path / "leftImg8bit" / "train" / "aachen").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no \*_gtFine_labelIds\.png files"):
        CityscapesDataset(tmp_path)


def test_unpaired_files_are_all_reported(tree):
    root, written = tree
    first, second, third = sorted(written)
    paths = {key: cityscapes_paths(root, key) for key in written}
    paths[first]["image"].unlink()  # label without image
    paths[second]["label"].unlink()  # image (and instance) without label
    paths[third]["instance"].unlink()  # label without instance map
    with pytest.raises(DatasetError) as info:
        CityscapesDataset(root)
    problems = {(p.path, p.message.split(";")[0]) for p in info.value.problems}
    assert (str(paths[first]["label"]), "label has no image") in problems
    assert (str(paths[second]["image"]), "image has no label") in problems
    assert (str(paths[second]["instance"]), "instance map has no label") in problems
    assert (str(paths[third]["label"]), "label has no instance map") in problems
    message = str(info.value)
    assert "4 problems" in message
    assert str(paths[first]["image"]) in message  # the expected partner is named


def test_validate_clean_dataset(tree):
    root, _ = tree
    report = CityscapesDataset(root).validate()
    assert report.ok
    assert report.num_samples == 3
    assert "no problems" in str(report)


def test_label_ids_out_of_range_named(tree):
    root, written = tree
    key = sorted(written)[1]
    label = written[key]["label"].copy()
    label[0, :3] = [40, 41, 40]
    save_label(cityscapes_paths(root, key)["label"], label)
    dataset = CityscapesDataset(root)
    with pytest.raises(DatasetError, match=r"label ids \[40, 41\] are outside 0..34") as info:
        dataset.validate()
    assert [p.path for p in info.value.problems] == [str(cityscapes_paths(root, key)["label"])]
    with pytest.raises(DatasetError, match="40, 41"):
        dataset[1]  # reading the sample stops before a CUDA assert could


def test_num_classes_is_checked(tree):
    root, _ = tree
    report = CityscapesDataset(root, num_classes=20).validate(raise_on_error=False)
    assert len(report.problems) == 3  # every label holds car (26) or bicycle (33) ids
    assert all("num_classes=20" in p.message for p in report.problems)


def test_size_mismatch_and_unreadable_image_all_reported(tree):
    root, written = tree
    first, second, third = sorted(written)
    save_image(cityscapes_paths(root, first)["image"], np.zeros((8, 16, 3), dtype=np.uint8))
    cityscapes_paths(root, second)["image"].write_bytes(b"this is not a png")
    label = written[third]["label"].copy()
    label[0, 0] = 99
    save_label(cityscapes_paths(root, third)["label"], label)
    dataset = CityscapesDataset(root)
    report = dataset.validate(raise_on_error=False)
    by_path = {p.path: p.message for p in report.problems}
    assert len(report.problems) == 3
    mismatch = by_path[str(cityscapes_paths(root, first)["image"])]
    assert "size mismatch" in mismatch
    assert "8 x 16" in mismatch
    assert "16 x 32" in mismatch
    assert "unreadable image" in by_path[str(cityscapes_paths(root, second)["image"])]
    assert "[99]" in by_path[str(cityscapes_paths(root, third)["label"])]
    with pytest.raises(DatasetError, match="3 problems"):
        dataset.validate()
    with pytest.raises(DatasetError, match="unreadable image"):
        dataset[1]
    with pytest.raises(DatasetError, match="size mismatch"):
        dataset[0]
