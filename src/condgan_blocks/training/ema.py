"""An exponential moving average of a module's weights, used for generation."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn


class ExponentialMovingAverage(nn.Module):
    """Keeps ``average = decay * average + (1 - decay) * weight`` for every parameter.

    The average lives in `module`, a frozen copy of the tracked module taken at
    construction, so it generates images like the original (``ema.module(x)``). Floating-point
    buffers (batch-norm statistics) are copied, not averaged; integer buffers too.

    Args:
        module: The module to track, e.g. the generator.
        decay: Weight of the old average, in [0, 1).

    Examples:
        >>> net = nn.Linear(1, 1, bias=False)
        >>> _ = net.weight.data.fill_(0.0)
        >>> ema = ExponentialMovingAverage(net, decay=0.9)
        >>> _ = net.weight.data.fill_(1.0)
        >>> ema.update(net)
        >>> round(float(ema.module.weight), 4)
        0.1
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
        if isinstance(decay, bool) or not isinstance(decay, (int, float)):
            raise TypeError(f"decay must be a number, got {decay!r}")
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.module = copy.deepcopy(module).requires_grad_(False).eval()

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        """Move the average towards ``module``'s current weights (same architecture)."""
        averages = list(self.module.parameters())
        weights = [p.detach() for p in module.parameters()]
        if len(averages) != len(weights):
            raise ValueError(
                f"module has {len(weights)} parameters, the average tracks {len(averages)}"
            )
        torch._foreach_lerp_(averages, weights, 1.0 - self.decay)
        for average, buffer in zip(self.module.buffers(), module.buffers(), strict=True):
            average.copy_(buffer)

    def train(self, mode: bool = True) -> ExponentialMovingAverage:
        """The average stays in eval mode."""
        super().train(mode)
        self.module.eval()
        return self

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        """Run the averaged module."""
        return self.module(*args, **kwargs)
