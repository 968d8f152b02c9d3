"""Argument checks shared by the losses; each raises a clear error naming the argument."""

from __future__ import annotations

import math
from numbers import Real

from torch import Tensor


def check_number(name: str, value: object, *, minimum: float | None = None) -> float:
    """Return ``value`` as a float if it is a finite real number >= ``minimum`` (when given).

    Raises:
        TypeError: If ``value`` is not a real number (``bool`` is rejected too).
        ValueError: If it is NaN, infinite or below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
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
