"""Every JSON file a user hands over is read the same way: bounded, UTF-8, errors name the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from condgan_blocks._files.json_file import read_json, read_json_object
from condgan_blocks.data import read_palette
from condgan_blocks.instance import read_style_choices
from condgan_blocks.training import load_run_config, read_config_file
from condgan_blocks.visualization import write_run_report


def _run_config(path: Path):
    return load_run_config(path.parent)


def _report(path: Path):
    return write_run_report(path.parent.parent)


# (reader of the file's path, where the file must sit, how its messages name it)
READERS = {
    "style choices": (read_style_choices, "choices.json", "choices file"),
    "config file": (read_config_file, "preset.json", "config file"),
    "palette": (read_palette, "palette.json", "palette file"),
    "run configuration": (_run_config, "recipe.json", "run configuration"),
    "run report metrics": (_report, "evaluation/metrics.json", "run file"),
}


def _write(tmp_path: Path, relative: str, content: bytes) -> Path:
    path = tmp_path / "run" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


# (file content, what the error must say): broken JSON gives the line and column; binary
# content (a zip's header here) is refused as text that is not UTF-8.
BAD_CONTENT = {
    "broken JSON": (b'{\n  "a": ,\n}', r"is not valid JSON: Expecting value at line 2, col"),
    "binary": (b"PK\x03\x04\xff\xfe\x00binary", r"is not UTF-8 text \(byte 4\); expected a JSON"),
}


@pytest.mark.parametrize("content", list(BAD_CONTENT))
@pytest.mark.parametrize("reader", list(READERS))
def test_bad_content_is_a_value_error_naming_the_file(tmp_path, reader, content):
    read, relative, what = READERS[reader]
    data, message = BAD_CONTENT[content]
    path = _write(tmp_path, relative, data)
    with pytest.raises(ValueError, match=message) as e:
        read(path)
    assert f"{what} {path}" in str(e.value)


@pytest.mark.parametrize("reader", ["style choices", "run configuration", "run report metrics"])
def test_a_list_where_an_object_belongs_is_a_value_error(tmp_path, reader):
    read, relative, what = READERS[reader]
    path = _write(tmp_path, relative, b"[1, 2]")
    with pytest.raises(ValueError, match=f"{what} .* must hold a JSON object, got list"):
        read(path)


def test_a_config_file_holding_a_list_is_a_type_error(tmp_path):
    path = _write(tmp_path, "preset.json", b"[1]")
    with pytest.raises(TypeError, match="must hold a JSON object of sections, got list"):
        read_config_file(path)


def test_a_file_over_the_bound_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = _write(tmp_path, "big.json", json.dumps({"a": "x" * 200}).encode())

    def no_read(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_text", no_read)
    with pytest.raises(ValueError, match=r"big\.json is \d+ bytes; expected a JSON file of at"):
        read_json(path, "settings file", max_bytes=100)


def test_a_big_palette_is_refused(tmp_path):
    path = _write(tmp_path, "palette.json", b" " * (2**20 + 1) + b"{}")
    expected = r"palette file .* is 1048579 bytes; expected a JSON file of at most 1048576 bytes"
    with pytest.raises(ValueError, match=expected):
        read_palette(path)


def test_valid_objects_come_back_unchanged(tmp_path):
    content = {"training": {"epochs": 2}, "note": ["é", 1.5, None]}
    path = _write(tmp_path, "ok.json", json.dumps(content, ensure_ascii=False).encode())
    assert read_json_object(path, "settings file") == content
