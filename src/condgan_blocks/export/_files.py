"""Path checks and atomic writes for exported files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .._files.atomic import atomic_path


def check_output_path(path: object) -> Path:
    """Return ``path`` as a ``pathlib.Path`` whose folder exists; raise early otherwise."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path must name a file, got the directory {str(path)!r}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the folder of path {str(path)!r} does not exist")
    return path


def write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write`` on ``path``'s name in a temporary folder beside it, then move the result in.

    Readers see either the old file or the complete new one, never a partial write. Files that
    ``write`` adds beside its file (ONNX's external weights ``<name>.data`` for models over
    2 GB) are moved in first, the main file last. The temporary folder is always removed (see
    ``condgan_blocks._files.atomic.atomic_path``).
    """
    with atomic_path(path) as temporary:
        write(temporary)
    return path
