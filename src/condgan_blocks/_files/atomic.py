"""Atomic file writes: write beside the target, flush to disk, rename over it.

Every file the library writes goes through this module. The data goes to a temporary name in the
target's folder (``.<name>.tmp.<pid>.<random>``: ``os.replace`` is atomic only within one file
system), is flushed and synced to disk, then renamed over the target, and the folder is synced so
that the rename survives a power cut. A reader, or a process killed while writing, sees the
complete old file or the complete new one; on an error the temporary file is removed and the
target is left as it was.

- ``atomic_write``: an open binary file, for writers that take a file object (``torch.save``,
  ``np.savez``, ``Image.save``).
- ``atomic_path``: a temporary path, for writers that only take a path (``torch.export.save``,
  ONNX) and may add files beside it.
- ``write_bytes``, ``write_text``, ``write_json``, ``torch_save``: one call each.
- ``atomic_copy``: a copy (a hard link when possible).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import torch


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp.{os.getpid()}.{uuid.uuid4().hex[:8]}")


def fsync_directory(folder: str | os.PathLike) -> None:
    """Flush ``folder``'s entries (a rename into it) to disk, where the system allows it.

    A no-op outside POSIX and on file systems that refuse to sync a folder: the rename itself
    has happened either way.

    Examples:
        >>> import tempfile
        >>> fsync_directory(tempfile.mkdtemp())
    """
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as file:
        os.fsync(file.fileno())


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files a killed writer of ``path`` left beside it.

    Only call this where no other process writes ``path`` at the same time (its temporary file
    would be deleted too).

    Returns:
        The deleted paths.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / ".latest.pt.tmp.123.abcd1234").write_bytes(b"half")
        >>> [path.name for path in remove_stale_temporaries(folder / "latest.pt")]
        ['.latest.pt.tmp.123.abcd1234']
    """
    path = Path(path)
    removed = []
    for stale in path.parent.glob(f".{path.name}.tmp.*"):
        with contextlib.suppress(OSError):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale)
            else:
                stale.unlink()
            removed.append(stale)
    return removed


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a binary file that replaces ``path`` only once the block finishes without error.

    The folder is created. The data goes to a temporary file in the same folder, which is
    flushed and synced to disk, then renamed over ``path``; the folder is synced last. On an
    error (in the block or while writing) the temporary file is removed and ``path`` is left as
    it was.

    Args:
        path: The file to write.

    Yields:
        The open temporary file, for ``torch.save``, ``np.savez``, ``Image.save`` or ``write``.

    Examples:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "note.txt"
        >>> with atomic_write(target) as file:
        ...     _ = file.write(b"done")
        >>> target.read_bytes()
        b'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_name(path)
    try:
        with open(temporary, "xb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    fsync_directory(path.parent)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A path to write instead of ``path``; moved over ``path`` once the block succeeds.

    For writers that take a file name rather than a file object. The yielded path has
    ``path``'s name, inside a fresh temporary folder beside ``path``; files the writer adds next
    to it (ONNX's external weights ``<name>.data``) are moved beside ``path`` first, the main
    file last, each synced to disk before it is renamed. The temporary folder is always removed;
    on an error nothing is moved.

    Args:
        path: The file to write; its folder is created.

    Yields:
        The temporary path to write.

    Examples:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "graph.onnx"
        >>> with atomic_path(target) as temporary:
        ...     _ = temporary.write_text("graph")
        ...     _ = temporary.with_name("graph.onnx.data").write_text("weights")
        >>> sorted(p.name for p in target.parent.iterdir()), target.read_text()
        (['graph.onnx', 'graph.onnx.data'], 'graph')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = _temporary_name(path)
    folder.mkdir()
    try:
        written = folder / path.name
        yield written
        if not written.is_file():
            raise FileNotFoundError(f"the writer of {path} did not write {written}")
        extras = sorted(p for p in folder.iterdir() if p != written)
        for file in [*extras, written]:
            if file.is_file():
                _fsync_file(file)
            os.replace(file, path.parent / file.name)
        fsync_directory(path.parent)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically.

    Returns:
        ``path`` as a ``Path``.

    Examples:
        >>> import tempfile
        >>> write_bytes(Path(tempfile.mkdtemp()) / "a.bin", b"\\x00\\x01").read_bytes()
        b'\\x00\\x01'
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    with atomic_write(path) as file:
        file.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (no newline translation).

    Returns:
        ``path`` as a ``Path``.

    Examples:
        >>> import tempfile
        >>> write_text(Path(tempfile.mkdtemp()) / "a.txt", "hello").read_text()
        'hello'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return write_bytes(path, text.encode(encoding))


def write_json(
    path: str | os.PathLike, value: Any, *, indent: int | None = 2, allow_nan: bool = True
) -> Path:
    """Write ``value`` as JSON (UTF-8, ending with a newline) to ``path`` atomically.

    The value is encoded before anything is written, so a value JSON cannot hold raises
    ``TypeError`` and leaves ``path`` untouched.

    Args:
        path: The file to write; its folder is created.
        value: Dicts, lists, strings, numbers, booleans and None.
        indent: Spaces per level; None writes one line.
        allow_nan: Write NaN and infinities as ``NaN`` / ``Infinity`` (as ``json.dumps`` does;
            Python reads them back, strict JSON parsers do not); False raises ``ValueError``.

    Returns:
        ``path`` as a ``Path``.

    Examples:
        >>> import tempfile
        >>> path = write_json(Path(tempfile.mkdtemp()) / "a.json", {"b": [1, 2]}, indent=None)
        >>> path.read_text()
        '{"b": [1, 2]}\\n'
    """
    text = json.dumps(value, indent=indent, allow_nan=allow_nan) + "\n"
    return write_text(path, text)


@contextlib.contextmanager
def _crc32_written() -> Iterator[None]:
    # Files are checked against their CRC32 checksums before they are loaded, so write them.
    getter = getattr(torch.serialization, "get_crc32_options", None)
    setter = getattr(torch.serialization, "set_crc32_options", None)
    if getter is None or setter is None or getter():
        yield
        return
    setter(True)
    try:
        yield
    finally:
        setter(False)


def torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` atomically, with the CRC32 checksums of every record.

    Returns:
        ``path`` as a ``Path``.

    Examples:
        >>> import tempfile
        >>> path = torch_save({"x": torch.ones(2)}, Path(tempfile.mkdtemp()) / "x.pt")
        >>> torch.load(path, weights_only=True)["x"]
        tensor([1., 1.])
    """
    with _crc32_written(), atomic_write(path) as file:
        torch.save(obj, file)
    return Path(path)


def atomic_copy(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Make ``target`` a copy of ``source`` atomically: a hard link when possible.

    Raises:
        FileNotFoundError: If ``source`` does not exist.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = write_bytes(folder / "epoch_0001.pt", b"weights")
        >>> atomic_copy(folder / "epoch_0001.pt", folder / "latest.pt").read_bytes()
        b'weights'
    """
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise FileNotFoundError(f"no file to copy at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_name(target)
    try:
        try:
            os.link(source, temporary)
        except OSError:
            shutil.copyfile(source, temporary)
            _fsync_file(temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    fsync_directory(target.parent)
    return target
