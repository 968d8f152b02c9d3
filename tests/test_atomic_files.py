"""condgan_blocks._files.atomic: the one place files are written (sync, then rename)."""

from __future__ import annotations

import json
import os

import pytest
import torch

from condgan_blocks._files import atomic
from condgan_blocks._files.atomic import (
    atomic_copy,
    atomic_path,
    atomic_write,
    remove_stale_temporaries,
    torch_save,
    write_bytes,
    write_json,
    write_text,
)


def _names(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_data_is_synced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source, target):
        events.append(("replace", os.path.basename(target)))
        real_replace(source, target)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    write_bytes(tmp_path / "a.bin", b"new")
    if os.name == "posix" and os.path.isdir("/proc/self/fd"):
        assert events == [("fsync", False), ("replace", "a.bin"), ("fsync", True)]
    else:
        assert events[:2] == [("fsync", False), ("replace", "a.bin")]
    assert (tmp_path / "a.bin").read_bytes() == b"new"


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path, error):
    path = write_bytes(tmp_path / "model.pt", b"old")

    def write_half():
        with atomic_write(path) as file:
            file.write(b"half of the new")
            raise error

    with pytest.raises(type(error)):
        write_half()
    assert path.read_bytes() == b"old"
    assert _names(tmp_path) == ["model.pt"]


def test_a_failing_rename_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = write_text(tmp_path / "page.html", "old")

    def refuse(source, target):
        raise PermissionError("read-only")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(PermissionError, match="read-only"):
        write_text(path, "new")
    assert path.read_text() == "old"
    assert _names(tmp_path) == ["page.html"]


def test_write_json_encodes_before_writing(tmp_path):
    path = write_json(tmp_path / "sub" / "metrics.json", {"fid": 1.5, "classes": [1, 2]})
    assert json.loads(path.read_text()) == {"fid": 1.5, "classes": [1, 2]}
    assert path.read_text().endswith("}\n")
    with pytest.raises(ValueError, match="Out of range float values"):
        write_json(path, {"fid": float("nan")}, allow_nan=False)
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json(path, {"tensor": torch.ones(1)})
    assert json.loads(path.read_text())["fid"] == 1.5
    assert _names(path.parent) == ["metrics.json"]
    write_json(path, {"fid": float("inf")})  # like json.dumps, unless allow_nan=False
    assert json.loads(path.read_text()) == {"fid": float("inf")}


def test_write_bytes_and_text_check_their_input(tmp_path):
    with pytest.raises(TypeError, match="data must be bytes, got str"):
        write_bytes(tmp_path / "a", "text")
    with pytest.raises(TypeError, match="text must be a str, got bytes"):
        write_text(tmp_path / "a", b"bytes")
    assert _names(tmp_path) == []


def test_torch_save_writes_checksums(tmp_path):
    setter = getattr(torch.serialization, "set_crc32_options", None)
    getter = getattr(torch.serialization, "get_crc32_options", None)
    if setter is None or getter is None:
        pytest.skip("this torch cannot switch CRC32 records off")
    setter(False)
    try:
        path = torch_save({"x": torch.arange(4)}, tmp_path / "x.pt")
        assert not getter()  # the caller's setting is restored
    finally:
        setter(True)
    import zipfile

    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert all(info.CRC != 0 for info in archive.infolist() if info.file_size)
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.arange(4))


def test_atomic_path_moves_extras_then_the_file_and_cleans_up(tmp_path):
    target = write_text(tmp_path / "g.onnx", "old")

    def export_half():
        with atomic_path(target) as temporary:
            temporary.write_text("partial")
            raise RuntimeError("exporter failed")

    with pytest.raises(RuntimeError, match="exporter failed"):
        export_half()
    assert target.read_text() == "old"
    assert _names(tmp_path) == ["g.onnx"]
    with pytest.raises(FileNotFoundError, match="did not write"), atomic_path(target):
        pass
    assert _names(tmp_path) == ["g.onnx"]
    with atomic_path(target) as temporary:
        temporary.with_name("g.onnx.data").write_text("weights")
        temporary.write_text("graph")
    assert _names(tmp_path) == ["g.onnx", "g.onnx.data"]
    assert target.read_text() == "graph"


def test_atomic_copy_and_stale_temporaries(tmp_path):
    source = write_bytes(tmp_path / "epoch_0001.pt", b"weights")
    copy = atomic_copy(source, tmp_path / "latest.pt")
    assert copy.read_bytes() == b"weights"
    with pytest.raises(FileNotFoundError, match="no file to copy"):
        atomic_copy(tmp_path / "missing.pt", tmp_path / "latest.pt")
    (tmp_path / ".latest.pt.tmp.1.deadbeef").write_bytes(b"half")
    (tmp_path / ".latest.pt.tmp.2.deadbeef").mkdir()
    removed = remove_stale_temporaries(tmp_path / "latest.pt")
    assert sorted(path.name for path in removed) == [
        ".latest.pt.tmp.1.deadbeef",
        ".latest.pt.tmp.2.deadbeef",
    ]
    assert _names(tmp_path) == ["epoch_0001.pt", "latest.pt"]
