"""Small argument and tensor checks shared by the blocks; each raises a clear error."""

from __future__ import annotations

import math
from numbers import Real

import torch
from torch import Tensor

# Bounds on architecture sizes, checked from the arguments before anything is allocated. They are
# far above any published configuration (pix2pixHD's widest layer has 2048 channels, its largest
# generator 731M parameters, its deepest 9 residual blocks) and refuse only sizes that would run
# the process out of memory or never finish building.
MAX_CHANNELS = 2**16
MAX_PARAMETERS = 2**34
MAX_REPEATS = 2**12


def check_positive_int(name: str, value: object, *, minimum: int | None = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum`` (any int with ``minimum=None``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_count(name: str, value: object, *, minimum: int = 0) -> int:
    """Return ``value`` if it is an int in [``minimum``, ``MAX_REPEATS``].

    For the numbers of repeated parts (blocks, layers, scales, downsamplings): a larger count is
    refused before it is used as an exponent or a loop bound.
    """
    check_positive_int(name, value, minimum=minimum)
    if value > MAX_REPEATS:
        raise ValueError(f"{name} must be <= {MAX_REPEATS}, got {value}")
    return value


def _magnitude(value: int) -> str:
    return str(value) if value < 10**15 else f"about 2**{value.bit_length() - 1}"


def check_architecture_size(block: str, widest: int, parameters: int, *, hint: str) -> None:
    """Refuse an architecture whose widest layer or parameter count is absurd, before building it.

    Args:
        block: The block's name, for the message.
        widest: Channels of its widest layer (inputs and outputs included).
        parameters: Its parameter count, computed from the arguments.
        hint: Which arguments set the size, e.g. ``"base_channels * 2**num_downsamples"``.

    Raises:
        ValueError: If ``widest`` exceeds ``MAX_CHANNELS`` or ``parameters`` exceeds
            ``MAX_PARAMETERS``.
    """
    if widest > MAX_CHANNELS:
        raise ValueError(
            f"{block} would have a layer with {_magnitude(widest)} channels, more than the limit "
            f"of {MAX_CHANNELS} (2**16); lower {hint}"
        )
    if parameters > MAX_PARAMETERS:
        raise ValueError(
            f"{block} would have {_magnitude(parameters)} parameters, more than the limit of "
            f"2**34 ({MAX_PARAMETERS}); lower {hint}"
        )


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


def _autocast_enabled(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except RuntimeError:  # a device type without autocast, such as "meta"
        return False


def check_input_dtype(x: Tensor, reference: Tensor, *, name: str = "input") -> None:
    """Check that ``x`` is floating and of the dtype of ``reference``, unless autocast casts both.

    ``reference`` is one of the module's parameters (a bias: reading a spectral-normalised weight
    would recompute it). Under ``torch.autocast`` on ``x``'s device the dtypes may differ, as
    long as neither is float64, which autocast never casts. Only dtypes are compared, so the
    check costs no host round trip.

    Raises:
        TypeError: If ``x`` is not floating point, or its dtype differs from the parameter's
            outside autocast (or either is float64).
    """
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating tensor, got dtype {x.dtype}; convert it, e.g. "
            f"{name}.to({reference.dtype})"
        )
    if x.dtype != reference.dtype and (
        torch.float64 in (x.dtype, reference.dtype) or not _autocast_enabled(x.device.type)
    ):
        raise TypeError(
            f"{name} dtype {x.dtype} differs from the module's parameter dtype "
            f"{reference.dtype}; convert the input ({name}.to({reference.dtype})) or the module "
            "(module.to(dtype)), or run under torch.autocast, which casts neither float64 inputs "
            "nor float64 modules"
        )


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


def check_optional_bool(name: str, value: object) -> bool | None:
    """Return ``value`` if it is ``None``, ``True`` or ``False``; anything else is a TypeError."""
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{name} must be None, True or False, got {type(value).__name__} {value!r}")
    return value


def check_same_shape(fake: Tensor, real: Tensor, where: str) -> None:
    """Check that the fake and real tensors compared at ``where`` have the same shape."""
    if fake.shape != real.shape:
        raise ValueError(
            f"fake and real shapes differ at {where}: {tuple(fake.shape)} vs {tuple(real.shape)}"
        )
