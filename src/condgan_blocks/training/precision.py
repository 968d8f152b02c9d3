"""Mixed precision: the autocast region of a step and the fp16 gradient scaler."""

from __future__ import annotations

import contextlib

import torch

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
PRECISIONS = ("bf16", "fp16", "fp32")


def _check(precision: str, device: torch.device | str) -> torch.device:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    device = torch.device(device)
    if precision == "fp16" and device.type != "cuda":
        raise ValueError(
            f"precision='fp16' needs a CUDA device (autocast + GradScaler), got {device}; "
            "use 'bf16' or 'fp32'"
        )
    return device


def autocast_context(
    precision: str, device: torch.device | str
) -> contextlib.AbstractContextManager:
    """The context the forward pass and the losses run in.

    Args:
        precision: "fp32" (no autocast), "bf16" or "fp16" (autocast to that dtype).
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
    device = _check(precision, device)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_AUTOCAST_DTYPES[precision])


def make_grad_scaler(precision: str, device: torch.device | str) -> torch.amp.GradScaler | None:
    """A ``torch.amp.GradScaler`` for "fp16", None otherwise (bf16 needs no loss scaling).

    Examples:
        >>> make_grad_scaler("bf16", "cpu") is None
        True
    """
    device = _check(precision, device)
    if precision != "fp16":
        return None
    return torch.amp.GradScaler(device.type)
