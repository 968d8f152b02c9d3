"""Activation checkpointing over a sequence of blocks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint


@contextlib.contextmanager
def _keep_norm_statistics(buffers: list[Tensor]) -> Iterator[None]:
    """Undo what the recomputation in backward does to batch-norm running statistics."""
    saved = [buffer.clone() for buffer in buffers]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in zip(buffers, saved, strict=True):
                buffer.copy_(value)


def _norm_buffers(block: nn.Module) -> list[Tensor]:
    return [
        buffer
        for module in block.modules()
        if isinstance(module, _BatchNorm) and module.track_running_stats
        for buffer in module.buffers()
    ]


def run_blocks(
    blocks: nn.ModuleList, x: Tensor, *, checkpointed: bool, condition: Tensor | None = None
) -> Tensor:
    """Apply ``blocks`` in order, recomputing their activations in backward when ``checkpointed``.

    Checkpointing only applies while autograd records; in inference it changes nothing. Batch-norm
    running statistics are updated once per forward, as without checkpointing: the recomputation
    in backward restores them. ``condition`` goes to every block (label-modulated blocks).
    """
    use_checkpoint = checkpointed and torch.is_grad_enabled()
    extra = () if condition is None else (condition,)
    for block in blocks:
        if not use_checkpoint:
            x = block(x, *extra)
            continue
        buffers = _norm_buffers(block)
        if not buffers:
            x = checkpoint(block, x, *extra, use_reentrant=False)
            continue

        def contexts(buffers: list[Tensor] = buffers):
            return contextlib.nullcontext(), _keep_norm_statistics(buffers)

        x = checkpoint(block, x, *extra, use_reentrant=False, context_fn=contexts)
    return x
