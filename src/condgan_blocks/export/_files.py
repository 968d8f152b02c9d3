"""Path checks and atomic writes for exported files."""

from __future__ import annotations

import os
from pathlib import Path


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
