"""Float ``.npy`` pictures must be finite and in [-1, 1]: refused on read and by validate()."""

from __future__ import annotations

import re

import numpy as np
import pytest

from condgan_blocks.data import DatasetError, FileContentError, PairedFolderDataset
from condgan_blocks.data._pil import read_image_array


def _pairs(root, b_arrays: dict[str, np.ndarray]):
    for side in ("A", "B"):
        (root / f"train_{side}").mkdir(exist_ok=True)
    for name, array in b_arrays.items():
        np.save(root / "train_A" / f"{name}.npy", np.zeros((4, 6, 2), np.float32))
        np.save(root / "train_B" / f"{name}.npy", array)
    return PairedFolderDataset(root, label_nc=0)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_out_of_range_float_is_refused_naming_file_and_range(tmp_path, dtype):
    array = np.zeros((4, 6, 3), dtype)
    array[0, 0, 0], array[1, 1, 1] = 5.0, -2.0
    dataset = _pairs(tmp_path, {"a": array})
    path = tmp_path / "train_B" / "a.npy"
    message = re.escape(f"{path}: float array values lie in [-2, 5], outside [-1, 1]")
    with pytest.raises(FileContentError, match=message):
        read_image_array(path)
    with pytest.raises(DatasetError, match=message):
        dataset[0]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_float_is_refused(tmp_path, bad):
    array = np.full((4, 6), 0.5, np.float32)
    array[2, 3] = bad
    _pairs(tmp_path, {"a": array})
    path = tmp_path / "train_B" / "a.npy"
    message = re.escape(
        f"{path}: float array holds 1 NaN or infinite value(s) (finite values in [0.5, 0.5])"
    )
    with pytest.raises(FileContentError, match=message):
        read_image_array(path)


def test_validate_reports_every_bad_float_file(tmp_path):
    nan = np.zeros((4, 6, 3), np.float32)
    nan[0, 0] = np.nan
    dataset = _pairs(
        tmp_path,
        {
            "good": np.linspace(-1, 1, 72, dtype=np.float32).reshape(4, 6, 3),
            "big": np.full((4, 6, 3), 5.0, np.float64),
            "nan": nan,
        },
    )
    report = dataset.validate(raise_on_error=False)
    problems = {p.path: p.message for p in report.problems}
    assert set(problems) == {
        str(tmp_path / "train_B" / "big.npy"),
        str(tmp_path / "train_B" / "nan.npy"),
    }
    assert "values lie in [5, 5], outside [-1, 1]" in problems[str(tmp_path / "train_B/big.npy")]
    assert "3 NaN or infinite value(s)" in problems[str(tmp_path / "train_B/nan.npy")]
    with pytest.raises(DatasetError, match="2 problems"):
        dataset.validate()


def test_in_range_floats_and_integer_arrays_read_as_before(tmp_path):
    folder = tmp_path / "arrays"
    folder.mkdir()
    edges = np.array([[-1.0, 1.0]], np.float64)
    np.save(folder / "f.npy", edges)
    np.save(folder / "u8.npy", np.array([[0, 255]], np.uint8))
    np.save(folder / "u16.npy", np.array([[0, 65535]], np.uint16))
    np.save(folder / "empty.npy", np.zeros((0, 3), np.float32))
    for name in ("f", "u8", "u16"):
        out = read_image_array(folder / f"{name}.npy")
        assert out.dtype == np.float32
        assert out.tolist() == [[[-1.0, 1.0]]]
    assert read_image_array(folder / "empty.npy").shape == (1, 0, 3)
