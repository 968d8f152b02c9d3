"""PairedFolderDataset on small trees in the original pix2pixHD layouts; lazy Pillow import."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from condgan_blocks.data import DatasetError, FileContentError, PairedFolderDataset
from condgan_blocks.data._pil import read_image_array, read_label_array, require_pil

from .._data_trees import make_image_pairs, make_pix2pixhd, save_image, save_label


def _as_image(array: np.ndarray, full: int = 255) -> torch.Tensor:
    array = array.astype(np.float32)
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(array) / (full / 2) - 1


def test_reads_label_inst_img_exactly(tmp_path):
    written = make_pix2pixhd(tmp_path, "train", ("a", "b", "c"), size=(16, 32))
    dataset = PairedFolderDataset(tmp_path, "train", label_nc=35)
    assert len(dataset) == 3
    for index, name in enumerate(("a", "b", "c")):
        sample = dataset[index]
        assert set(sample) == {"label", "instance", "image", "path"}
        assert sample["label"].dtype == torch.int64
        assert sample["label"].shape == (1, 16, 32)
        assert sample["label"][0].numpy().tolist() == written[name]["label"].tolist()
        assert sample["instance"][0].numpy().tolist() == written[name]["instance"].tolist()
        assert torch.allclose(sample["image"], _as_image(written[name]["image"]))
        assert sample["path"] == str(tmp_path / "train_label" / f"{name}.png")


def test_pairs_by_name_not_by_sorted_order(tmp_path):
    """Cityscapes-named files of pix2pixHD's datasets/cityscapes pair despite their suffixes."""
    written = make_pix2pixhd(tmp_path, "train", ("x",), instances=False, images=False)
    stem = "frankfurt_000000_000576"
    (tmp_path / "train_label" / "x.png").rename(
        tmp_path / "train_label" / f"{stem}_gtFine_labelIds.png"
    )
    save_image(tmp_path / "train_img" / f"{stem}_leftImg8bit.png", written["x"]["image"])
    save_image(tmp_path / "train_img" / "sub" / "extra.jpg", written["x"]["image"])
    save_label(tmp_path / "train_label" / "sub" / "extra.png", written["x"]["label"])
    (tmp_path / "train_img" / "notes.txt").write_text("ignored")
    dataset = PairedFolderDataset(tmp_path, label_nc=35)
    assert len(dataset) == 2
    assert [r["image"].name for r in dataset.records] == [
        f"{stem}_leftImg8bit.png",
        "extra.jpg",
    ]


def test_instances_optional_required_or_ignored(tmp_path):
    make_pix2pixhd(tmp_path, "train", ("a",), instances=False)
    assert "instance" not in PairedFolderDataset(tmp_path, label_nc=35)[0]
    with pytest.raises(FileNotFoundError, match=r"train_inst"):
        PairedFolderDataset(tmp_path, label_nc=35, load_instances=True)
    make_pix2pixhd(tmp_path, "train", ("a",), instances=True)
    assert "instance" in PairedFolderDataset(tmp_path, label_nc=35)[0]
    ignored = PairedFolderDataset(tmp_path, label_nc=35, load_instances=False)[0]
    assert "instance" not in ignored


def test_labels_only_for_inference(tmp_path):
    make_pix2pixhd(tmp_path, "test", ("a", "b"), images=False)
    sample = PairedFolderDataset(tmp_path, "test", label_nc=35, load_images=False)[1]
    assert set(sample) == {"label", "instance", "path"}
    with pytest.raises(FileNotFoundError, match=r"test_img"):
        PairedFolderDataset(tmp_path, "test", label_nc=35)


@pytest.mark.parametrize(
    ("mode_a", "mode_b", "channels_a", "channels_b"),
    [("L", "RGB", 1, 3), ("RGBA", "L", 4, 1), ("LA", "RGB", 2, 3), ("I;16", "RGB", 1, 3)],
)
def test_image_pairs_keep_their_channels(tmp_path, mode_a, mode_b, channels_a, channels_b):
    written = make_image_pairs(tmp_path, "train", ("a", "b"), mode_a=mode_a, mode_b=mode_b)
    dataset = PairedFolderDataset(tmp_path, label_nc=0)
    sample = dataset[0]
    assert set(sample) == {"input", "image", "path"}
    assert sample["input"].shape == (channels_a, 16, 32)
    assert sample["image"].shape == (channels_b, 16, 32)
    full_a = 65535 if mode_a == "I;16" else 255
    assert torch.allclose(sample["input"], _as_image(written["a"]["A"], full_a), atol=1e-6)
    assert torch.allclose(sample["image"], _as_image(written["a"]["B"]))
    assert sample["input"].min() >= -1
    assert sample["input"].max() <= 1
    assert dataset.validate().ok


def test_multichannel_arrays(tmp_path):
    rng = np.random.default_rng(0)
    for side, channels in (("A", 5), ("B", 3)):
        (tmp_path / f"train_{side}").mkdir()
        np.save(
            tmp_path / f"train_{side}" / "a.npy", rng.integers(0, 256, (8, 16, channels), np.uint8)
        )
    sample = PairedFolderDataset(tmp_path, label_nc=0)[0]
    assert sample["input"].shape == (5, 8, 16)
    assert sample["image"].shape == (3, 8, 16)


def test_sixteen_bit_labels(tmp_path):
    label = np.array([[0, 300], [65535, 7]], dtype=np.uint16)
    (tmp_path / "train_label").mkdir()
    Image.fromarray(label).save(tmp_path / "train_label" / "a.png")
    save_image(tmp_path / "train_img" / "a.png", np.zeros((2, 2, 3), dtype=np.uint8))
    sample = PairedFolderDataset(tmp_path, label_nc=70000)[0]
    assert sample["label"].tolist() == [[[0, 300], [65535, 7]]]


# Errors ------------------------------------------------------------------------------------


def test_missing_root_and_folder_print_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist") as info:
        PairedFolderDataset(tmp_path / "nowhere", label_nc=35)
    assert "train_label" in str(info.value)
    (tmp_path / "train_img").mkdir()
    with pytest.raises(FileNotFoundError, match=r"missing folder .*train_label") as info:
        PairedFolderDataset(tmp_path, label_nc=35)
    assert "folders in" in str(info.value)
    assert "train_img" in str(info.value)
    with pytest.raises(FileNotFoundError, match=r"missing folder .*train_A") as info:
        PairedFolderDataset(tmp_path, label_nc=0)
    assert "train_B/<name>" in str(info.value)


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "train_label").mkdir()
    (tmp_path / "train_img").mkdir()
    with pytest.raises(FileNotFoundError, match="no image files"):
        PairedFolderDataset(tmp_path, label_nc=35)


def test_unpaired_and_duplicate_files_all_reported(tmp_path):
    written = make_pix2pixhd(tmp_path, "train", ("a", "b", "c"), image_ext=".jpg")
    (tmp_path / "train_img" / "a.jpg").unlink()  # label without image
    (tmp_path / "train_label" / "b.png").unlink()  # image without label
    save_image(tmp_path / "train_img" / "c.png", written["c"]["image"])  # two images for c
    with pytest.raises(DatasetError) as info:
        PairedFolderDataset(tmp_path, label_nc=35)
    problems = {p.path: p.message for p in info.value.problems}
    assert problems[str(tmp_path / "train_label" / "a.png")].startswith("label has no image")
    assert problems[str(tmp_path / "train_img" / "b.jpg")].startswith("image has no label")
    assert problems[str(tmp_path / "train_inst" / "b.png")].startswith("instance map has no label")
    assert "two image files for sample 'c'" in problems[str(tmp_path / "train_img" / "c.png")]
    assert len(problems) == 4


def test_validate_reports_every_content_problem(tmp_path):
    written = make_pix2pixhd(tmp_path, "train", ("a", "b", "c", "d", "e", "f"), size=(16, 32))
    label = written["a"]["label"].copy()
    label[3, 3] = 200
    save_label(tmp_path / "train_label" / "a.png", label)  # id >= label_nc
    save_image(tmp_path / "train_img" / "b.png", np.zeros((16, 30, 3), np.uint8))  # size
    (tmp_path / "train_img" / "c.png").write_bytes(b"\x89PNG broken")  # unreadable
    save_image(tmp_path / "train_label" / "d.png", written["d"]["image"])  # RGB label
    save_image(tmp_path / "train_img" / "e.png", written["e"]["image"][..., 0])  # grayscale
    dataset = PairedFolderDataset(tmp_path, label_nc=35)
    report = dataset.validate(raise_on_error=False)
    by_path = {p.path: p.message for p in report.problems}
    assert len(report.problems) == 5
    assert "[200]" in by_path[str(tmp_path / "train_label" / "a.png")]
    assert "size mismatch" in by_path[str(tmp_path / "train_img" / "b.png")]
    assert "unreadable image" in by_path[str(tmp_path / "train_img" / "c.png")]
    assert "single-channel" in by_path[str(tmp_path / "train_label" / "d.png")]
    assert (
        "has 1 channel but 4 of the 5 images have 3"
        in by_path[str(tmp_path / "train_img" / "e.png")]
    )
    threaded = dataset.validate(raise_on_error=False, num_workers=2, progress=False)
    assert threaded.problems == report.problems
    with pytest.raises(DatasetError, match="5 problems") as info:
        dataset.validate()
    assert len(info.value.problems) == 5


def test_jpeg_labels_are_flagged(tmp_path):
    written = make_pix2pixhd(tmp_path, "train", ("a",), instances=False)
    (tmp_path / "train_label" / "a.png").unlink()
    Image.fromarray(written["a"]["label"]).save(tmp_path / "train_label" / "a.jpg", quality=100)
    report = PairedFolderDataset(tmp_path, label_nc=256).validate(raise_on_error=False)
    assert any("stored as JPEG" in p.message for p in report.problems)


def test_bad_arguments(tmp_path):
    make_pix2pixhd(tmp_path, "train", ("a",))
    with pytest.raises(ValueError, match="label_nc must be >= 0"):
        PairedFolderDataset(tmp_path, label_nc=-1)
    with pytest.raises(TypeError, match="load_instances"):
        PairedFolderDataset(tmp_path, label_nc=35, load_instances="yes")
    with pytest.raises(TypeError, match="transform must be callable"):
        PairedFolderDataset(tmp_path, label_nc=35, transform=3)


# Pillow ------------------------------------------------------------------------------------


def test_missing_pillow_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r'pip install "condgan-blocks\[recipe\]"'):
        require_pil()


def test_readers_are_exact_and_reject_wrong_kinds(tmp_path):
    instance = np.array([[0, 26000, 33999, 65535]], dtype=np.uint16)
    Image.fromarray(instance).save(tmp_path / "inst.png")
    values = read_label_array(tmp_path / "inst.png")
    assert values.dtype == np.int64
    assert values.tolist() == instance.tolist()
    palette = Image.fromarray(np.array([[0, 5, 9]], dtype=np.uint8)).convert("P")
    palette.save(tmp_path / "palette.png")
    assert read_label_array(tmp_path / "palette.png").tolist() == [[0, 5, 9]]
    save_image(tmp_path / "rgb.png", np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(FileContentError, match="Pillow mode 'RGB'"):
        read_label_array(tmp_path / "rgb.png")
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(FileContentError, match=r"bad\.png: unreadable image"):
        read_image_array(tmp_path / "bad.png")
    with pytest.raises(FileNotFoundError):
        read_image_array(tmp_path / "missing.png")


def test_validate_progress_bar(tmp_path, capsys):
    make_pix2pixhd(tmp_path, "train", ("a", "b"))
    dataset = PairedFolderDataset(tmp_path, label_nc=35)
    dataset.validate()
    assert capsys.readouterr().err == ""  # silent by default for small datasets
    dataset.validate(progress=True)
    assert "validate" in capsys.readouterr().err


def test_dataset_error_pickles_with_its_problems(tmp_path):
    make_pix2pixhd(tmp_path, "train", ("a", "b"))
    (tmp_path / "train_img" / "a.png").unlink()
    with pytest.raises(DatasetError) as info:
        PairedFolderDataset(tmp_path, label_nc=35)
    copy = pickle.loads(pickle.dumps(info.value))
    assert copy.problems == info.value.problems
    assert str(copy) == str(info.value)
