"""Sanity bounds of the original's options, checked before any network is allocated.

An ``opt.txt`` is a file from elsewhere: ``n_downsample_global: 64`` would ask for layers of
``ngf * 2**64`` channels. Every option the builders read is checked here by kind and range, and
the widths the downsampling options imply are bounded, so such a file is refused with a message
naming the option (and, for ``opt.txt``, the line) before anything is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_CHANNELS = 2**16
MAX_DOWNSAMPLES = 10

# name -> (smallest, largest) value of the int options the builders read.
INT_OPTIONS: dict[str, tuple[int, int]] = {
    "input_nc": (1, MAX_CHANNELS),
    "output_nc": (1, MAX_CHANNELS),
    "label_nc": (0, MAX_CHANNELS),
    "feat_num": (1, MAX_CHANNELS),
    "ngf": (1, MAX_CHANNELS),
    "ndf": (1, MAX_CHANNELS),
    "nef": (1, MAX_CHANNELS),
    "n_downsample_global": (0, MAX_DOWNSAMPLES),
    "n_downsample_E": (0, MAX_DOWNSAMPLES),
    "n_local_enhancers": (1, MAX_DOWNSAMPLES),
    "n_blocks_global": (0, 100),
    "n_blocks_local": (0, 100),
    "n_layers_D": (1, MAX_DOWNSAMPLES),
    "num_D": (1, MAX_DOWNSAMPLES),
    "block_num": (1, 2**20),
    "data_type": (8, 64),
}
BOOL_OPTIONS = frozenset(
    ("no_instance", "instance_feat", "label_feat", "no_lsgan", "no_ganFeat_loss", "use_sigmoid",
     "getIntermFeat")
)  # fmt: skip
STR_OPTIONS: dict[str, tuple[str, ...] | None] = {
    "netG": ("global", "local"),
    "norm": None,
    "padding_type": None,
}


def option_problem(name: str, value: Any) -> tuple[type[Exception], str] | None:
    """The error type and message for a bad ``value`` of the option ``name``, or None."""
    if name in INT_OPTIONS:
        low, high = INT_OPTIONS[name]
        if isinstance(value, bool) or not isinstance(value, int):
            return TypeError, f"{name} must be an int, got {type(value).__name__} {value!r}"
        if not low <= value <= high:
            return ValueError, f"{name} must be in [{low}, {high}], got {value}"
    elif name in BOOL_OPTIONS:
        if not isinstance(value, bool):
            return TypeError, f"{name} must be True or False, got {type(value).__name__} {value!r}"
    elif name in STR_OPTIONS:
        choices = STR_OPTIONS[name]
        if not isinstance(value, str):
            return TypeError, f"{name} must be a str, got {type(value).__name__} {value!r}"
        if choices is not None and value not in choices:
            return ValueError, f"{name} must be one of {choices}, got {value!r}"
    return None


def checked_option(options: Mapping[str, Any], name: str, default: Any) -> Any:
    """``options[name]`` (or ``default``), checked by ``option_problem``."""
    value = options.get(name, default)
    problem = option_problem(name, value)
    if problem is not None:
        error, message = problem
        raise error(f"option {message}")
    return value


def width_problem(base: tuple[str, int], *downsamples: tuple[str, int]) -> tuple[str, str] | None:
    """Check that ``base`` doubled once per downsampling stays within ``MAX_CHANNELS``.

    Args:
        base: ``(option name, channels)`` of the first layer, such as ``("ngf", 64)``.
        downsamples: ``(option name, count)`` of every option that doubles the width.

    Returns:
        None, or the option to blame (the last downsampling one) and the message.
    """
    total = sum(count for _, count in downsamples)
    if base[1] * 2**total <= MAX_CHANNELS:
        return None
    names = " + ".join(f"{name}={count}" for name, count in downsamples)
    return downsamples[-1][0], (
        f"{base[0]}={base[1]} doubled {names} times gives {base[1]} * 2**{total} channels, more "
        f"than {MAX_CHANNELS}; the file is not a pix2pixHD configuration this library builds"
    )


def check_width(base: tuple[str, int], *downsamples: tuple[str, int]) -> None:
    """Raise a ValueError if ``width_problem`` finds one."""
    problem = width_problem(base, *downsamples)
    if problem is not None:
        raise ValueError(f"option {problem[1]}")
