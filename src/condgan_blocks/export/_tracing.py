"""What both exporters share: argument checks, eval mode, the traced input and its dynamic sizes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.export import Dim

from .._checks import check_divisible_size, check_image_batch
from ..generators.global_generator import GlobalGenerator
from ..generators.local_enhancer import LocalEnhancer

Generator = GlobalGenerator | LocalEnhancer


def check_generator(generator: object) -> Generator:
    """Return ``generator`` if it is a ``GlobalGenerator`` or ``LocalEnhancer``."""
    if not isinstance(generator, GlobalGenerator | LocalEnhancer):
        raise TypeError(
            f"generator must be a GlobalGenerator or LocalEnhancer, got {type(generator).__name__}"
        )
    return generator


@contextlib.contextmanager
def exporting(generator: nn.Module) -> Iterator[None]:
    """Eval mode and no autograd while tracing; every submodule's own mode is restored after."""
    modes = [(module, module.training) for module in generator.modules()]
    generator.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for module, training in modes:
            module.training = training


@dataclass(frozen=True)
class Trace:
    """The input to trace with, the dynamic sizes and the size range the export accepts."""

    example: Tensor
    dynamic_shapes: tuple[dict[int, Any]] | None
    size_multiple: int
    min_size: int


def plan_trace(
    generator: Generator, example_input: object, *, dynamic_size: bool, batch_dynamic: bool
) -> Trace:
    """Check ``example_input`` and choose what to trace; call it inside ``exporting``.

    With dynamic sizes, H = size_multiple * h_blocks and W = size_multiple * w_blocks, so the
    divisibility check of the generator's forward holds for every size the export accepts, and
    h_blocks, w_blocks start at the generator's ``min_size``. Dynamic
    dimensions are traced at 2 or more: torch.export specialises dimensions of size 1.
    """
    reference = next(generator.parameters())
    example = _example_tensor(example_input, reference, dynamic_size=dynamic_size)
    multiple = generator.size_multiple
    if example is not None:
        check_image_batch(example, generator.in_channels, name="example_input")
        check_divisible_size(
            example, multiple, name="example_input", why="the generator's size_multiple"
        )
    min_size = generator.min_size
    min_blocks = min_size // multiple
    if example is None:
        shape = [1, generator.in_channels, min_size, min_size]
    else:
        shape = list(example.shape)
        if min(shape[-2:]) < min_size:
            raise ValueError(
                f"example_input {tuple(shape)} is too small: this generator needs height and "
                f"width of at least {min_size}"
            )
    dims: dict[int, Any] = {}
    if batch_dynamic:
        shape[0] = max(shape[0], 2)
        dims[0] = Dim("batch", min=1)
    if dynamic_size:
        shape[2], shape[3] = max(shape[2], 2 * multiple), max(shape[3], 2 * multiple)
        dims[2] = multiple * Dim("h_blocks", min=min_blocks)
        dims[3] = multiple * Dim("w_blocks", min=min_blocks)
    traced = torch.zeros(shape, dtype=reference.dtype, device=reference.device)
    return Trace(traced, (dims,) if dims else None, multiple, min_size)


def _example_tensor(
    example_input: object, reference: Tensor, *, dynamic_size: bool
) -> Tensor | None:
    """``example_input`` as a tensor to check (a meta tensor for a shape), or None."""
    if example_input is None:
        if not dynamic_size:
            raise ValueError(
                "example_input is required with dynamic_size=False: its height and width are "
                "the only size the export accepts"
            )
        return None
    if isinstance(example_input, Tensor):
        if example_input.dtype != reference.dtype:
            raise TypeError(
                f"example_input has dtype {example_input.dtype}, the generator's parameters "
                f"{reference.dtype}; convert one of them"
            )
        if example_input.device != reference.device:
            raise ValueError(
                f"example_input is on {example_input.device}, the generator on "
                f"{reference.device}; move one of them"
            )
        return example_input
    if isinstance(example_input, Sequence) and not isinstance(example_input, str):
        shape = tuple(example_input)
        if any(isinstance(n, bool) or not isinstance(n, int) for n in shape):
            raise TypeError(f"example_input shape must hold ints, got {shape!r}")
        if len(shape) != 4 or min(shape) < 1:
            raise ValueError(f"expected an example_input shape (N, C, H, W) > 0, got {shape}")
        return torch.empty(shape, device="meta")
    raise TypeError(
        "example_input must be a Tensor, a shape (N, C, H, W) or None, got "
        f"{type(example_input).__name__}"
    )
