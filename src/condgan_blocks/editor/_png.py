"""PNG bytes in and out of the editor (Pillow, imported when used)."""

from __future__ import annotations

import io

import numpy as np
import torch
from torch import Tensor

_INTEGER_MODES = ("1", "L", "P", "I", "I;16", "I;16B", "I;16L", "I;16N")


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


def decode_id_png(data: bytes, *, max_pixels: int) -> Tensor:
    """An int64 (H, W) map from the bytes of a single-channel PNG (8 or 16 bit, palette).

    Raises:
        ValueError: If the bytes are not a PNG, the image is not single-channel, or it has more
            than ``max_pixels`` pixels (checked before decoding the pixels).
    """
    from PIL import Image, UnidentifiedImageError

    if not isinstance(data, (bytes, bytearray)) or not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("expected the bytes of a PNG file")
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        width, height = image.size
        if width * height > max_pixels:
            raise ValueError(f"image of {width}x{height} pixels is larger than {max_pixels} pixels")
        if image.mode not in _INTEGER_MODES:
            raise ValueError(
                f"label and instance maps must be single-channel integer PNGs, got mode "
                f"{image.mode!r} (convert colour-coded labels to class ids first)"
            )
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"could not decode the PNG: {error}") from None
    if image.mode == "1":
        image = image.convert("L")
    return torch.from_numpy(np.asarray(image).astype(np.int64))
