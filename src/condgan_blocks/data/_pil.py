"""Pillow, imported lazily, and exact reading of label, instance and image files.

Pillow is an optional dependency (the ``recipe`` extra); nothing here imports it at module
import time, so ``import condgan_blocks.data`` works without it and only reading a file needs it.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np

INSTALL_HINT = 'pip install "condgan-blocks[recipe]"'

# Pillow modes whose pixels are one integer each; read exactly, never rescaled.
_INTEGER_MODES = ("1", "L", "P", "I", "I;16", "I;16B", "I;16L", "I;16N")
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
_NATIVE_COLOUR_MODES = ("L", "LA", "RGB", "RGBA")
_CONVERTIBLE_COLOUR_MODES = {"1": "L", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}


class FileContentError(ValueError):
    """A file exists but cannot be used: it does not decode, or holds the wrong kind of image.

    Attributes:
        path: The file.
        reason: What is wrong with it, without the path.

    Examples:
        >>> error = FileContentError("a.png", "does not decode as an image")
        >>> print(error)
        a.png: does not decode as an image
        >>> error.path, error.reason, isinstance(error, ValueError)
        ('a.png', 'does not decode as an image', True)
    """

    def __init__(self, path: str | Path, reason: str | None = None) -> None:
        self.path, self.reason = str(path), reason
        super().__init__(str(path) if reason is None else f"{path}: {reason}")


def require_pil() -> ModuleType:
    """Return ``PIL.Image``, or raise an ImportError that says which extra to install."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(
            "condgan_blocks.data needs Pillow to read and write image files; install it with "
            f"{INSTALL_HINT} (or pip install pillow)"
        ) from error
    return Image


def _open(path: Path):
    """Open and fully decode ``path``; a failure becomes a FileContentError naming the file."""
    image_module = require_pil()
    try:
        with image_module.open(path) as image:
            image.load()
            return image
    except FileNotFoundError:
        raise
    except Exception as error:  # Pillow raises many kinds for broken files
        raise _unreadable(path, error) from error


def _unreadable(path: Path, error: Exception) -> FileContentError:
    return FileContentError(path, f"unreadable image ({type(error).__name__}: {error})")


def image_size(path: str | Path) -> tuple[int, int]:
    """Return ``(height, width)`` of an image file, reading only its header."""
    image_module = require_pil()
    try:
        with image_module.open(path) as image:
            width, height = image.size
    except FileNotFoundError:
        raise
    except Exception as error:
        raise _unreadable(path, error) from error
    return height, width


def read_label_array(path: str | Path) -> np.ndarray:
    """Read a single-channel label or instance file as an exact int64 array of shape (H, W).

    8-bit grayscale and palette images give their stored values (palette indices, not colours);
    16-bit grayscale PNGs (Pillow modes ``I;16*`` or ``I``) keep values up to 65535, so
    Cityscapes instance ids such as 26001 survive unchanged.

    Raises:
        FileNotFoundError: If the file does not exist.
        FileContentError: If the file does not decode or is not single-channel (e.g. an RGB
            colour-coded label).
    """
    path = Path(path)
    image = _open(path)
    if image.mode not in _INTEGER_MODES:
        raise FileContentError(
            path,
            "a label or instance map must be a single-channel integer image (8-bit or 16-bit "
            f"grayscale, or palette indices), got Pillow mode {image.mode!r}; convert "
            "colour-coded labels to class ids first",
        )
    if image.mode == "1":
        image = image.convert("L")
    return np.asarray(image).astype(np.int64)


def read_image_array(path: str | Path) -> np.ndarray:
    """Read an image as float32 of shape (C, H, W) in [-1, 1], keeping its channels.

    Grayscale stays one channel, grayscale + alpha two, RGB three and RGBA four (nothing is
    forced to RGB). 8-bit values are mapped by ``v / 127.5 - 1``, 16-bit by ``v / 32767.5 - 1``.
    Palette images are expanded to RGB (RGBA with transparency); CMYK, YCbCr, LAB and HSV are
    converted to RGB. ``.npy`` files hold (H, W) or (H, W, C) arrays of any channel count:
    uint8 and uint16 are scaled from their full range, float arrays are taken as they are and
    must already lie in [-1, 1].

    Raises:
        FileNotFoundError: If the file does not exist.
        FileContentError: If the file does not decode, or has an unsupported mode or dtype, or
            is a float array with NaN, infinite or out-of-range values (the message gives the
            range found).
    """
    path = Path(path)
    if path.suffix.lower() == ".npy":
        return _read_npy_image(path)
    image = _open(path)
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES or mode == "I":
        array = np.asarray(image).astype(np.float32)
        if mode == "I" and (array.min(initial=0) < 0 or array.max(initial=0) > 65535):
            raise FileContentError(path, "32-bit integer image with values outside 0..65535")
        return (array / 32767.5 - 1.0)[None]
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in _CONVERTIBLE_COLOUR_MODES:
        image = image.convert(_CONVERTIBLE_COLOUR_MODES[mode])
    elif mode not in _NATIVE_COLOUR_MODES:
        raise FileContentError(
            path,
            f"Pillow mode {image.mode!r} is not supported for images; save it as 8-bit or "
            "16-bit grayscale, RGB or RGBA, or as a .npy array",
        )
    array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    return array[None] if array.ndim == 2 else np.ascontiguousarray(array.transpose(2, 0, 1))


def _read_npy_image(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise FileContentError(
            path, f"unreadable array ({type(error).__name__}: {error})"
        ) from error
    if array.ndim not in (2, 3):
        raise FileContentError(
            path, f"expected an array of shape (H, W) or (H, W, C), got {array.shape}"
        )
    if array.ndim == 2:
        array = array[:, :, None]
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 127.5 - 1.0
    elif array.dtype == np.uint16:
        array = array.astype(np.float32) / 32767.5 - 1.0
    elif np.issubdtype(array.dtype, np.floating):
        _check_picture_range(path, array)
        array = array.astype(np.float32)
    else:
        raise FileContentError(
            path, f"array dtype must be uint8, uint16 or float, got {array.dtype}"
        )
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def _check_picture_range(path: Path, array: np.ndarray) -> None:
    """Refuse a float picture array that is not finite or leaves [-1, 1], naming the range."""
    finite = np.isfinite(array)
    num_bad = array.size - int(np.count_nonzero(finite))
    values = array[finite] if num_bad else array
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if num_bad:
        raise FileContentError(
            path,
            f"float array holds {num_bad} NaN or infinite value(s) (finite values in "
            f"[{low:g}, {high:g}]); float .npy images must hold finite values in [-1, 1]",
        )
    if low < -1.0 or high > 1.0:
        raise FileContentError(
            path,
            f"float array values lie in [{low:g}, {high:g}], outside [-1, 1]; float .npy images "
            "must be scaled to [-1, 1] already (uint8 and uint16 arrays are scaled on read)",
        )


def write_png(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 (H, W) / (H, W, 3|4) or uint16 (H, W) array as a PNG, creating folders."""
    image_module = require_pil()
    array = np.asarray(array)
    if array.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"write_png needs a uint8 or uint16 array, got {array.dtype}")
    if array.dtype == np.uint16 and array.ndim != 2:
        raise ValueError(f"16-bit PNGs must be single-channel (H, W), got {array.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image_module.fromarray(array).save(path)
