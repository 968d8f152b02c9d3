"""Mixed precision: which precision a device runs fast, the autocast region of a step and the
fp16 gradient scaler."""

from __future__ import annotations

import contextlib
import platform

import torch

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware.

    True on x86 with AVX512-BF16 or AMX tiles, and on ARM where oneDNN supports bfloat16.
    Elsewhere PyTorch emulates bfloat16: on an AVX2 CPU a 3x3 convolution under bf16
    autocast measured 25x slower than in fp32, the demo's training step 17x (docs/benchmarks.md,
    "bf16 on a CPU without bf16 hardware").

    Examples:
        >>> isinstance(cpu_has_fast_bf16(), bool)
        True
    """
    if platform.machine().lower() in ("x86_64", "amd64", "i386", "i686"):
        probes = (
            getattr(torch.cpu, "_is_avx512_bf16_supported", None),
            getattr(torch.cpu, "_is_amx_tile_supported", None),
        )
        return any(bool(probe()) for probe in probes if probe is not None)
    try:  # ARM and others: oneDNN knows; a build without oneDNN has no fast bf16 path
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """The concrete precision ("bf16", "fp16" or "fp32") that ``precision`` means on ``device``.

    "auto" is "bf16" where the device computes it in hardware (a CUDA GPU that supports it, a
    CPU with [`cpu_has_fast_bf16`][condgan_blocks.training.cpu_has_fast_bf16]) and
    "fp32" elsewhere; the other values are returned as they are, after the checks.

    Args:
        precision: "auto", "bf16", "fp16" or "fp32".
        device: The device the networks run on.

    Returns:
        "bf16", "fp16" or "fp32".

    Raises:
        ValueError: For an unknown precision, or "fp16" off CUDA.

    Examples:
        >>> resolve_precision("fp32", "cpu")
        'fp32'
        >>> resolve_precision("auto", "cpu") in ("bf16", "fp32")
        True
    """
    device = _check(precision, device)
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if device.type == "cpu" and cpu_has_fast_bf16() else "fp32"


def _check(precision: str, device: torch.device | str) -> torch.device:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    device = torch.device(device)
    if precision == "fp16" and device.type != "cuda":
        raise ValueError(
            f"precision='fp16' needs a CUDA device (autocast + GradScaler), got {device}; "
            "use 'auto', 'bf16' or 'fp32'"
        )
    return device


def autocast_context(
    precision: str, device: torch.device | str
) -> contextlib.AbstractContextManager:
    """The context the forward pass and the losses run in.

    Args:
        precision: "fp32" (no autocast), "bf16" or "fp16" (autocast to that dtype), or "auto"
            (see [`resolve_precision`][condgan_blocks.training.resolve_precision]).
        device: The device the step runs on.

    Returns:
        ``torch.autocast`` for "bf16" and "fp16", a null context for "fp32".

    Raises:
        ValueError: For an unknown precision, or "fp16" off CUDA.

    Examples:
        >>> with autocast_context("bf16", "cpu"):
        ...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
        torch.bfloat16
    """
    precision, device = resolve_precision(precision, device), torch.device(device)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_AUTOCAST_DTYPES[precision])


def make_grad_scaler(precision: str, device: torch.device | str) -> torch.amp.GradScaler | None:
    """A ``torch.amp.GradScaler`` for "fp16", None otherwise (bf16 needs no loss scaling).

    Examples:
        >>> make_grad_scaler("bf16", "cpu") is None
        True
    """
    if resolve_precision(precision, device) != "fp16":
        return None
    return torch.amp.GradScaler(torch.device(device).type)
