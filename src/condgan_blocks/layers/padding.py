"""Run images of any size through blocks that need sizes divisible by a power of two."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from .._checks import check_image_batch, check_positive_int
from ._factory import PADDINGS, check_choice

_PAD_MODES = {"reflect": "reflect", "replicate": "replicate", "zero": "constant"}

# A multiple up to this is always accepted, whatever the image size (e.g. a 1x1 image to 1024).
MIN_MULTIPLE_BOUND = 1024


def pad_to_multiple(
    x: Tensor, multiple: int, mode: str = "reflect"
) -> tuple[Tensor, tuple[int, int, int, int]]:
    """Pad H and W up to the next multiple of ``multiple``, splitting the padding evenly.

    The original pix2pixHD silently resized images; padding keeps every pixel and
    [`crop_padding`][condgan_blocks.layers.padding.crop_padding] returns exactly the original area.

    Args:
        x: Tensor of shape (N, C, H, W).
        multiple: The size H and W must be divisible by, e.g. ``2 ** num_downsamples``.
        mode: "reflect", "replicate" or "zero".

    Returns:
        ``(padded, padding)``: the padded tensor of shape (N, C, H', W') and the padding as
        ``(left, right, top, bottom)``, the order ``torch.nn.functional.pad`` uses.

    Raises:
        ValueError: If ``multiple`` exceeds ``max(1024, 2 * max(H, W))``, so that the padding
            would dwarf the image (each padded side stays below ``3 * max(H, W) + 1024``), or if
            reflect padding would need more than H - 1 or W - 1 pixels.

    Examples:
        >>> import torch
        >>> padded, padding = pad_to_multiple(torch.zeros(1, 3, 30, 45), 16)
        >>> tuple(padded.shape), padding
        ((1, 3, 32, 48), (1, 2, 1, 1))
        >>> crop_padding(padded, padding).shape
        torch.Size([1, 3, 30, 45])
    """
    check_image_batch(x)
    check_positive_int("multiple", multiple)
    check_choice("mode", mode, PADDINGS)
    height, width = x.shape[-2:]
    bound = max(MIN_MULTIPLE_BOUND, 2 * max(height, width))
    if multiple > bound:
        raise ValueError(
            f"multiple must be <= max({MIN_MULTIPLE_BOUND}, 2 * max(H, W)) = {bound} for input "
            f"{tuple(x.shape)}, got {multiple}; padding to it would dwarf the image"
        )
    pad_h, pad_w = -height % multiple, -width % multiple
    padding = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
    if mode == "reflect" and (max(padding[:2]) >= width or max(padding[2:]) >= height):
        raise ValueError(
            f"reflect padding of {tuple(x.shape)} to a multiple of {multiple} needs "
            f"{padding} pixels, more than the image has; use mode='replicate' or 'zero'"
        )
    if pad_h == 0 and pad_w == 0:
        return x, padding
    return F.pad(x, padding, mode=_PAD_MODES[mode]), padding


def crop_padding(y: Tensor, padding: tuple[int, int, int, int]) -> Tensor:
    """Remove the padding added by
    [`pad_to_multiple`][condgan_blocks.layers.padding.pad_to_multiple].

    Args:
        y: Tensor of shape (..., H', W'), e.g. a generator output.
        padding: ``(left, right, top, bottom)`` as returned by
            [`pad_to_multiple`][condgan_blocks.layers.padding.pad_to_multiple].

    Returns:
        Tensor of shape (..., H' - top - bottom, W' - left - right).

    Shape:
        - Input: (..., H', W').
        - Output: (..., H' - top - bottom, W' - left - right).

    Examples:
        >>> import torch
        >>> y = torch.arange(16.0).reshape(1, 1, 4, 4)
        >>> crop_padding(y, (1, 0, 1, 2))
        tensor([[[[5., 6., 7.]]]])
    """
    if any(isinstance(p, bool) or not isinstance(p, int) for p in padding):
        raise TypeError(f"padding must be 4 ints (left, right, top, bottom), got {padding}")
    if len(padding) != 4 or any(p < 0 for p in padding):
        raise ValueError(
            f"padding must be 4 non-negative ints (left, right, top, bottom), got {padding}"
        )
    left, right, top, bottom = (int(p) for p in padding)
    height, width = y.shape[-2:]
    if left + right >= width or top + bottom >= height:
        raise ValueError(
            f"padding {padding} would crop away all of a tensor of shape {tuple(y.shape)}"
        )
    return y[..., top : height - bottom, left : width - right]
