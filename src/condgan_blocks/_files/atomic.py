"""Atomic file writes: write beside the target, flush to disk, rename over it."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a binary file that replaces ``path`` only once the block finishes without error.

    The folder is created. The data goes to a temporary file in the same folder
    (``.<name>.tmp.<pid>.<random>``: ``os.replace`` is atomic only within one file system), which
    is flushed and synced to disk, then renamed over ``path``. A reader, or a process killed while
    writing, sees the complete old file or the complete new one; on an error the temporary file
    is removed and ``path`` is left as it was.

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
    temporary = path.with_name(f".{path.name}.tmp.{os.getpid()}.{uuid.uuid4().hex[:8]}")
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
