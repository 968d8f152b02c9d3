"""PNG bytes in and out of the editor (Pillow, imported when used)."""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
import torch
from torch import Tensor

_INTEGER_MODES = ("1", "L", "P", "I", "I;16", "I;16B", "I;16L", "I;16N")
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SINGLE_CHANNEL = (0, 3)  # PNG colour types: grayscale, palette


def encode_png(image: Tensor) -> bytes:
    """PNG bytes of a uint8 (C, H, W) picture (C = 1, 3 or 4) or an int (1, H, W) id map.

    Id maps of other dtypes are written as 16-bit grayscale, so ids up to 65535 survive.

    Examples:
        >>> encode_png(torch.zeros(3, 2, 2, dtype=torch.uint8))[:4]
        b'\\x89PNG'
    """
    from PIL import Image

    if image.ndim != 3 or image.shape[0] not in (1, 3, 4):
        raise ValueError(f"expected an image of shape (C, H, W), C in 1, 3, 4, got {image.shape}")
    if image.dtype == torch.uint8:
        array = image.permute(1, 2, 0).numpy()
        array = array[..., 0] if array.shape[-1] == 1 else array
    else:
        if image.shape[0] != 1 or image.is_floating_point():
            raise ValueError("non-uint8 images must be integer id maps of shape (1, H, W)")
        if image.numel() and (int(image.min()) < 0 or int(image.max()) > 65535):
            raise ValueError("ids must lie in 0..65535 to be written as a 16-bit PNG")
        array = image[0].numpy().astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG")
    return buffer.getvalue()


def png_header(data: bytes) -> tuple[int, int, int]:
    """Width, height and colour type that a PNG declares in its header; nothing is decoded.

    Raises:
        ValueError: If the bytes do not start with a PNG signature and an IHDR chunk.

    Examples:
        >>> png_header(encode_png(torch.zeros(1, 2, 5, dtype=torch.uint8)))
        (5, 2, 0)
    """
    if not isinstance(data, (bytes, bytearray)) or not data.startswith(_SIGNATURE):
        raise ValueError("expected the bytes of a PNG file")
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\rIHDR":
        raise ValueError("could not decode the PNG: it does not start with an IHDR chunk")
    width, height, _depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, colour


def decode_id_png(data: bytes, *, max_pixels: int) -> Tensor:
    """An int64 (H, W) map from the bytes of a single-channel PNG (8 or 16 bit, palette).

    The size and colour type are read from the PNG header first, so an oversized or colour
    image is refused before any pixel is decompressed.

    Raises:
        ValueError: If the bytes are not a PNG, the image is not single-channel, or it has more
            than ``max_pixels`` pixels (checked before decoding the pixels).
    """
    from PIL import Image, UnidentifiedImageError

    width, height, colour = png_header(data)
    if width * height > max_pixels:
        raise ValueError(f"image of {width}x{height} pixels is larger than {max_pixels} pixels")
    if width == 0 or height == 0:
        raise ValueError(f"could not decode the PNG: it declares {width}x{height} pixels")
    if colour not in _SINGLE_CHANNEL:
        raise ValueError(_NOT_SINGLE_CHANNEL.format(f"PNG colour type {colour}"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG"])
            if image.mode not in _INTEGER_MODES:
                raise ValueError(_NOT_SINGLE_CHANNEL.format(f"mode {image.mode!r}"))
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValueError(f"could not decode the PNG: {error}") from None
    except Image.DecompressionBombWarning as error:
        raise ValueError(f"could not decode the PNG: {error}") from None
    if image.size != (width, height):
        raise ValueError(f"could not decode the PNG: header {width}x{height}, got {image.size}")
    if image.mode == "1":
        image = image.convert("L")
    return torch.from_numpy(np.asarray(image).astype(np.int64))


_NOT_SINGLE_CHANNEL = (
    "label and instance maps must be single-channel integer PNGs, got {} "
    "(convert colour-coded labels to class ids first)"
)
