"""Activation checkpointing over a sequence of blocks."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


def run_blocks(blocks: nn.ModuleList, x: Tensor, *, checkpointed: bool) -> Tensor:
    """Apply ``blocks`` in order, recomputing their activations in backward when ``checkpointed``.

    Checkpointing only applies while autograd records; in inference it changes nothing.
    """
    use_checkpoint = checkpointed and torch.is_grad_enabled()
    for block in blocks:
        x = checkpoint(block, x, use_reentrant=False) if use_checkpoint else block(x)
    return x
