"""The files generate writes: one name per source sample, PNG or .npy by channel count."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from condgan_blocks.data import PairedFolderDataset
from condgan_blocks.visualization import generated_image_name, save_generated_image


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("datasets/x/test_label/0000.png", "0000.png"),
        ("a/frame_01.JPG", "frame_01.png"),
        ("synthetic/val/000001", "000001.png"),
        ("scene.v2", "scene.v2.png"),
        (
            "frankfurt_000000_000019_gtFine_labelIds.tiff",
            "frankfurt_000000_000019_gtFine_labelIds.png",
        ),
    ],
)
def test_output_name_keeps_the_source_name_with_one_extension(source, name):
    assert generated_image_name(source) == name


@pytest.mark.parametrize("channels", [1, 3])
def test_one_and_three_channels_are_written_as_png(tmp_path, channels):
    image = torch.linspace(-1, 1, channels * 4 * 6).reshape(channels, 4, 6)
    path = save_generated_image(image, tmp_path / "out" / "a.png")
    assert path == tmp_path / "out" / "a.png"
    with Image.open(path) as png:
        assert png.size == (6, 4)
        assert png.mode == "RGB"


def test_other_channel_counts_are_written_as_npy_that_folders_read_back(tmp_path):
    image = torch.linspace(-1.5, 1.5, 2 * 4 * 6).reshape(2, 4, 6)
    path = save_generated_image(image, tmp_path / "test_B" / "a.png")
    assert path == tmp_path / "test_B" / "a.npy"
    array = np.load(path, allow_pickle=False)
    assert (array.shape, array.dtype) == ((4, 6, 2), np.float32)
    assert np.array_equal(array, image.clamp(-1, 1).permute(1, 2, 0).numpy())
    assert [p.name for p in path.parent.iterdir()] == ["a.npy"]  # no temporary file left
    (tmp_path / "test_A").mkdir()
    np.save(tmp_path / "test_A" / "a.npy", array, allow_pickle=False)
    sample = PairedFolderDataset(tmp_path, "test", label_nc=0)[0]
    assert torch.allclose(sample["image"], image.clamp(-1, 1))


def test_not_an_image_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"expected an image of shape \(C, H, W\)"):
        save_generated_image(torch.zeros(1, 3, 4, 4), tmp_path / "a.png")
    assert not (tmp_path / "a.png").exists()
