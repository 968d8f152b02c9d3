"""Reading a small JSON file users hand over: bounded in size, UTF-8, errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Configuration, choices and report files are kilobytes; a bound keeps a wrong path (a
# checkpoint, a video) from being read whole into memory before it fails to decode.
MAX_JSON_BYTES = 16 * 2**20


def read_json(path: Path, what: str, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The decoded content of ``path``, an existing file.

    Args:
        path: The file (the caller has checked it exists).
        what: How messages name the file, e.g. ``"config file"``.
        max_bytes: Larger files are refused before they are read.

    Raises:
        ValueError: The file is larger than ``max_bytes``, not UTF-8, or not valid JSON (the
            message gives the line and column).

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "a.json"
        >>> _ = path.write_text('{"a": [1, 2]}')
        >>> read_json(path, "settings file")
        {'a': [1, 2]}
        >>> _ = path.write_text('{"a": }')
        >>> read_json(path, "settings file")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: settings file .../a.json is not valid JSON: Expecting value at line 1, column 7
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(
            f"{what} {path} is {size} bytes; expected a JSON file of at most {max_bytes} bytes"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{what} {path} is not UTF-8 text (byte {error.start}); expected a JSON file"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{what} {path} is not valid JSON: {error.msg} at line {error.lineno}, "
            f"column {error.colno}"
        ) from None


def read_json_object(
    path: Path,
    what: str,
    *,
    holds: str = "a JSON object",
    wrong_type: type[Exception] = ValueError,
) -> dict[str, Any]:
    """``read_json``, checked to hold a JSON object.

    Args:
        path: The file (the caller has checked it exists).
        what: How messages name the file.
        holds: What the file must hold, for the message.
        wrong_type: The exception raised when the content is not an object.

    Raises:
        ValueError: As ``read_json``.
        wrong_type: The content is not a JSON object.
    """
    value = read_json(path, what)
    if not isinstance(value, dict):
        raise wrong_type(f"{what} {path} must hold {holds}, got {type(value).__name__}")
    return value
