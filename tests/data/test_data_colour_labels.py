"""labels_from_colours and read_palette: colour-coded labels back to class ids."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks.data import (
    CITYSCAPES_LABELS,
    cityscapes_palette,
    colorize,
    labels_from_colours,
    read_palette,
)


def _distinct_palette(num_classes: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    keys = rng.choice(2**24, size=num_classes, replace=False)
    rows = np.stack([keys >> 16, keys >> 8 & 255, keys & 255], axis=1)
    return torch.from_numpy(rows.astype(np.uint8))


@given(
    num_classes=st.integers(1, 12),
    height=st.integers(1, 10),
    width=st.integers(1, 10),
    seed=st.integers(0, 2**16),
)
@settings(deadline=None, max_examples=30)
def test_colours_round_trip_with_colorize(num_classes, height, width, seed):
    palette = _distinct_palette(num_classes, seed)
    generator = torch.Generator().manual_seed(seed)
    label = torch.randint(0, num_classes, (height, width), generator=generator)
    colours = colorize(label, palette)  # (3, H, W)
    back = labels_from_colours(colours, palette)
    assert back.dtype == torch.int64
    assert torch.equal(back, label)
    hwc = colours.permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(labels_from_colours(hwc, palette.numpy()), label.numpy())
    as_dict = {k: tuple(row) for k, row in enumerate(palette.tolist())}
    np.testing.assert_array_equal(labels_from_colours(hwc, as_dict), label.numpy())


def test_cityscapes_palette_round_trips_its_distinct_colours():
    colours = {}
    for row in CITYSCAPES_LABELS:
        if row.id >= 0:
            colours.setdefault(row.color, []).append(row.id)
    distinct = torch.tensor(sorted(ids[0] for ids in colours.values() if len(ids) == 1))
    assert {7, 24, 26, 33} <= set(distinct.tolist())
    label = distinct.reshape(1, -1)
    colours = colorize(label, cityscapes_palette())
    assert torch.equal(labels_from_colours(colours), label)  # "cityscapes" is the default
    assert torch.equal(labels_from_colours(colours, cityscapes_palette()), label)


def test_shared_colours_read_as_the_smallest_id():
    black, grey = (0, 0, 0), (153, 153, 153)
    image = np.array([[black, grey]], dtype=np.uint8)
    np.testing.assert_array_equal(labels_from_colours(image), [[0, 17]])  # not 1..4, not 18
    palette = {5: (9, 9, 9), 2: "#090909", 7: (1, 1, 1)}
    np.testing.assert_array_equal(labels_from_colours(image[:, :1] + 9, palette), [[2]])


def test_unknown_colours_are_named_with_count_and_first_pixel():
    road, car = (128, 64, 128), (0, 0, 142)
    image = np.array(
        [
            [road, road, car, road],
            [road, (1, 2, 3), road, road],
            [(250, 0, 7), (1, 2, 3), road, (1, 2, 3)],
        ],
        dtype=np.uint8,
    )
    with pytest.raises(ValueError, match="not in the palette") as info:
        labels_from_colours(image)
    message = str(info.value)
    assert "2 colour(s) (r, g, b) are not in the palette, on 4 of 12 pixels" in message
    assert "(1, 2, 3) on 3 pixel(s), first at (row 1, col 1)" in message
    assert "(250, 0, 7) on 1 pixel(s), first at (row 2, col 0)" in message
    assert message.index("(1, 2, 3)") < message.index("(250, 0, 7)")  # by first pixel
    # The same for a (3, H, W) tensor.
    with pytest.raises(ValueError, match=r"\(1, 2, 3\) on 3 pixel\(s\), first at \(row 1, col 1\)"):
        labels_from_colours(torch.from_numpy(image).permute(2, 0, 1))


def test_many_unknown_colours_are_cut_to_a_few():
    image = np.zeros((1, 9, 3), dtype=np.uint8)
    image[0, :, 0] = np.arange(1, 10)  # nine unknown reds
    with pytest.raises(ValueError, match="not in the palette") as info:
        labels_from_colours(image, {0: (0, 0, 0)})
    message = str(info.value)
    assert message.startswith("9 colour(s)")
    assert "(5, 0, 0)" in message
    assert "(6, 0, 0)" not in message
    assert "and 4 more colour(s)" in message


def test_tensor_layouts_and_device():
    palette = {0: (0, 0, 0), 1: (255, 255, 255)}
    hwc = torch.tensor([[[0, 0, 0], [255, 255, 255], [0, 0, 0]]], dtype=torch.uint8)  # (1, 3, 3)
    assert labels_from_colours(hwc, palette).tolist() == [[0, 1, 0]]
    chw = hwc.permute(2, 0, 1)  # (3, 1, 3): first and last are 3, read as (3, H, W)
    assert labels_from_colours(chw, palette).tolist() == [[0, 1, 0]]
    assert labels_from_colours(chw, palette).device == chw.device


def test_palette_files_in_both_forms(tmp_path):
    as_object = tmp_path / "object.json"
    as_object.write_text(json.dumps({"0": [0, 0, 0], "12": "#ff0080"}))
    assert read_palette(as_object) == {0: (0, 0, 0), 12: (255, 0, 128)}
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps([[0, 0, 0], [10, 20, 30]]))
    assert read_palette(as_list) == {0: (0, 0, 0), 1: (10, 20, 30)}
    image = np.array([[[255, 0, 128], [0, 0, 0]]], dtype=np.uint8)
    np.testing.assert_array_equal(labels_from_colours(image, as_object), [[12, 0]])
    np.testing.assert_array_equal(labels_from_colours(image[:, 1:], str(as_list)), [[0]])


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "is not valid JSON"),
        ("3", "must hold an object"),
        ('{"a": [0, 0, 0]}', "class ids must be ints, got str 'a'"),
        ('{"1": [0, 0, 256]}', r"three ints in 0\.\.255"),
        ('{"1": "#12345"}', "'#rrggbb'"),
        ('{"1000": [0, 0, 0]}', r"0\.\.999"),
        ("[[0, 0]]", "row 0"),
    ],
)
def test_bad_palette_files_name_the_file_and_the_entry(tmp_path, content, match):
    path = tmp_path / "palette.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        read_palette(path)
    assert str(path) in str(info.value)


def test_missing_palette_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.json does not exist"):
        read_palette(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("image", "palette", "error", "match"),
    [
        (np.zeros((2, 2, 3), dtype=np.int64), "cityscapes", TypeError, "uint8 array.*int64"),
        (torch.zeros(3, 2, 2), "cityscapes", TypeError, "uint8 tensor.*float32"),
        (np.zeros((2, 2, 4), dtype=np.uint8), "cityscapes", ValueError, r"\(H, W, 3\)"),
        (torch.zeros(4, 2, 2, dtype=torch.uint8), "cityscapes", ValueError, r"\(3, H, W\) or"),
        ([[0, 0, 0]], "cityscapes", TypeError, "numpy array or a torch tensor"),
        (np.zeros((1, 1, 3), np.uint8), "ade20k", ValueError, r"\('cityscapes',\) or a \.json"),
        (np.zeros((1, 1, 3), np.uint8), {}, ValueError, "palette is empty"),
        (np.zeros((1, 1, 3), np.uint8), {-1: (0, 0, 0)}, ValueError, r"0\.\.999 .*got -1"),
        (np.zeros((1, 1, 3), np.uint8), np.zeros((2, 4)), ValueError, r"shape \(K, 3\)"),
        (np.zeros((1, 1, 3), np.uint8), 3.5, TypeError, "palette must be one of"),
    ],
)
def test_bad_arguments_are_refused(image, palette, error, match):
    with pytest.raises(error, match=match):
        labels_from_colours(image, palette)
