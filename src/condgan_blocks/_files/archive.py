"""Inspect files before they are loaded: zip archives, pickle streams and ``torch.save`` files.

Every loader of the library runs these checks first, so that a damaged, truncated or crafted
file is refused with a ``ValueError`` naming the file and what is wrong, before torch or numpy
parse it:

- ``check_input_file``: an existing, non-empty regular file.
- ``open_zip``: a zip archive with sane, unique member names, no encryption, no member that
  declares more than ``MAX_COMPRESSION_RATIO`` times its compressed size (all read from the
  central directory, before anything is decompressed).
- ``verify_members``: every member passes its CRC32 check (decompressed in 1 MiB chunks, so
  memory stays flat); ``check_zip`` does both.
- ``load_torch_file``: a ``torch.save`` file (zip, or the legacy pre-1.6 format) read with
  ``torch.load(weights_only=True)``, every failure turned into a ``ValueError``.
- ``check_torch_bytes``: the same ``weights_only=True`` check for a file embedded in an archive.
- ``is_pickle``: whether a stream is a complete pickle.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import pickletools
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import torch

# A member may not declare more than this times its compressed size (deflate reaches about 1000
# on zeros); the library's own files and torch's are stored uncompressed (ratio 1).
MAX_COMPRESSION_RATIO = 100
ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20
_PICKLE_PROTOCOLS = range(2, 6)  # the byte after the PROTO opcode 0x80


def fail(path: Path | str, what: str, reason: str) -> ValueError:
    """The library's message for a file it refuses: ``<path> is not a valid <what>: <reason>``."""
    return ValueError(f"{path} is not a valid {what}: {reason}")


def check_input_file(path: object, what: str) -> Path:
    """``path`` as a ``Path`` to an existing, non-empty regular file.

    Raises:
        TypeError: If ``path`` is not a str or os.PathLike.
        FileNotFoundError: If there is no file at ``path``.
        ValueError: If it is a folder or is empty.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no {what} at {path} (file not found)")
    if not path.is_file():
        raise fail(path, what, "it is not a regular file")
    if path.stat().st_size == 0:
        raise fail(path, what, "it is empty (0 bytes)")
    return path


def _name_problem(name: str) -> str | None:
    if not name:
        return "an empty name"
    if "\\" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "a control character or backslash in its name"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "an absolute path as its name"
    parts = name[:-1].split("/") if name.endswith("/") else name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "an empty, '.' or '..' path component in its name"
    return None


@contextlib.contextmanager
def open_zip(
    path: Path, what: str, *, max_ratio: float = MAX_COMPRESSION_RATIO
) -> Iterator[tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]]:
    """Open the zip archive at ``path`` and check its central directory; nothing is decompressed.

    Yields:
        The open archive and its file members (directory entries left out).

    Raises:
        ValueError: If it is not a zip archive (or is truncated), or a member has an unsafe or
            repeated name, is encrypted, or declares more than ``max_ratio`` times its
            compressed size.
    """
    size = path.stat().st_size
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        raise fail(
            path, what, f"it is truncated or not a zip archive ({size} bytes; {error})"
        ) from None
    with archive:
        yield archive, _check_directory(path, what, archive.infolist(), max_ratio)


def verify_members(
    path: Path, what: str, archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]
) -> None:
    """Decompress every member in 1 MiB chunks and compare its CRC32; name the first bad one."""
    for info in members:
        try:
            with archive.open(info) as stream:
                while stream.read(_CHUNK):
                    pass
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error, NotImplementedError) as error:
            raise fail(path, what, f"member {info.filename!r} is damaged ({error})") from None


def check_zip(
    path: Path, what: str, *, max_ratio: float = MAX_COMPRESSION_RATIO
) -> list[zipfile.ZipInfo]:
    """``open_zip`` and ``verify_members``: the whole archive checked; return its file members.

    Raises:
        ValueError: Naming ``path`` and, where one is at fault, the member.
    """
    with open_zip(path, what, max_ratio=max_ratio) as (archive, members):
        verify_members(path, what, archive, members)
    return members


def _check_directory(
    path: Path, what: str, infos: list[zipfile.ZipInfo], max_ratio: float
) -> list[zipfile.ZipInfo]:
    seen: set[str] = set()
    members = []
    for info in infos:
        name = info.filename
        problem = _name_problem(name)
        if problem is not None:
            raise fail(path, what, f"member {name!r} has {problem}")
        if name in seen:  # readers disagree on which copy they return: refuse rather than guess
            raise fail(path, what, f"member {name!r} occurs more than once")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise fail(path, what, f"member {name!r} is encrypted")
        if info.is_dir():
            if info.file_size:
                raise fail(path, what, f"directory entry {name!r} holds data")
            continue
        if info.file_size > max_ratio * max(info.compress_size, 1):
            raise fail(
                path,
                what,
                f"member {name!r} declares {info.file_size} bytes from {info.compress_size} "
                f"compressed bytes (more than {max_ratio} times); refused as a possible zip bomb",
            )
        members.append(info)
    return members


def is_pickle(stream: IO[bytes]) -> bool:
    """Whether the seekable ``stream`` holds one complete pickle of protocol 2 to 5, and no more.

    Only streams that start with the PROTO opcode (0x80, then 2 to 5) are parsed, so raw tensor
    bytes are rarely parsed, and taken for a pickle only if they form a complete, well-formed
    one (which random bytes practically never do).
    """
    head = stream.read(2)
    if len(head) < 2 or head[0] != 0x80 or head[1] not in _PICKLE_PROTOCOLS:
        return False
    stream.seek(0)
    last = None
    try:
        for opcode, _, _ in pickletools.genops(stream):
            last = opcode.name
    except Exception:  # not a well-formed pickle
        return False
    return last == "STOP" and not stream.read(1)


def load_torch_file(path: str | os.PathLike, what: str, *, map_location: Any = "cpu") -> object:
    """Check and read a ``torch.save`` file with ``torch.load(weights_only=True)``.

    A zip file (``torch.save`` since torch 1.6) must pass ``check_zip``; a legacy file (a pickle
    stream, which has no checksums) must start like one. Either way ``weights_only=True``
    restricts unpickling to tensors and plain containers: no code from the file runs.

    Raises:
        TypeError: If ``path`` is not a str or os.PathLike.
        FileNotFoundError: If there is no file at ``path``.
        ValueError: If the file is empty, truncated, damaged, neither kind of torch file, or
            holds objects that ``weights_only=True`` refuses (code, classes).
    """
    path = check_input_file(path, what)
    with open(path, "rb") as file:
        head = file.read(4)
    if head == ZIP_MAGIC:
        check_zip(path, what)
    elif not (len(head) >= 2 and head[0] == 0x80 and head[1] in _PICKLE_PROTOCOLS):
        raise fail(
            path,
            what,
            f"it starts with {head!r}: neither a zip archive (torch.save since torch 1.6) nor a "
            "legacy torch file",
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # UnpicklingError, RuntimeError, EOFError, KeyError, ...
        raise fail(path, what, _torch_load_problem(error)) from None


def check_torch_bytes(data: bytes, path: Path, what: str, member: str) -> None:
    """Refuse ``member`` of ``path`` unless ``torch.load(weights_only=True)`` reads its bytes."""
    try:
        torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:
        raise fail(path, what, f"member {member!r}: {_torch_load_problem(error)}") from None


def _torch_load_problem(error: Exception) -> str:
    detail = f"{type(error).__name__}: {error}"
    if isinstance(error, pickle.UnpicklingError):
        return f"it holds code or objects that weights_only=True refuses ({detail})"
    return f"torch cannot read it; it may be truncated or damaged ({detail})"
