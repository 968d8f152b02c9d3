"""Small argument and tensor checks shared by the blocks; each raises a clear error."""

from __future__ import annotations

import math
from numbers import Real

from torch import Tensor


def check_positive_int(name: str, value: object, *, minimum: int | None = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum`` (any int with ``minimum=None``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_image_batch(x: object, channels: int | None = None, *, name: str = "input") -> Tensor:
    """Check that ``x`` is a (N, C, H, W) tensor with ``channels`` channels when given."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"expected {name} of shape (N, C, H, W), got {tuple(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"expected {name} with {channels} channels (N, {channels}, H, W), got {tuple(x.shape)}"
        )
    return x


def check_divisible_size(x: Tensor, multiple: int, *, name: str = "input", why: str = "") -> None:
    """Check that H and W of ``x`` are multiples of ``multiple``."""
    height, width = x.shape[-2:]
    if height % multiple or width % multiple:
        reason = f" ({why})" if why else ""
        raise ValueError(
            f"{name} height and width must be multiples of {multiple}{reason}, got "
            f"{tuple(x.shape)}; use condgan_blocks.pad_to_multiple(x, {multiple}) and "
            "crop_padding() to run other sizes"
        )


def check_number(
    name: str, value: object, *, minimum: float | None = None, below: float | None = None
) -> float:
    """Return ``value`` as a float if it is a finite real number in [``minimum``, ``below``).

    Raises:
        TypeError: If ``value`` is not a real number (``bool`` is rejected too).
        ValueError: If it is NaN, infinite, below ``minimum`` or not below ``below``.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if below is not None and value >= below:
        raise ValueError(f"{name} must be < {below}, got {value}")
    return value


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a ``bool``; a tensor or a string is a TypeError."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return value


def check_same_shape(fake: Tensor, real: Tensor, where: str) -> None:
    """Check that the fake and real tensors compared at ``where`` have the same shape."""
    if fake.shape != real.shape:
        raise ValueError(
            f"fake and real shapes differ at {where}: {tuple(fake.shape)} vs {tuple(real.shape)}"
        )
