"""The paper's weight initialisation."""

from __future__ import annotations

import torch
from torch import nn

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear)
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


@torch.no_grad()
def init_weights(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Initialise ``module`` in place as pix2pixHD does and return it.

    Convolution (and transposed-convolution) weights are drawn from N(0, std); batch-norm weights
    from N(1, std) and batch-norm biases are set to 0. Convolution biases keep PyTorch's default,
    as in the original. Modules wrapped in spectral norm initialise the original weight.

    Args:
        module: Any module; every sub-module is visited.
        std: Standard deviation of the normal draws.

    Returns:
        The same ``module``, for chaining.

    Examples:
        >>> from condgan_blocks import GlobalGenerator
        >>> net = init_weights(GlobalGenerator(4, num_downsamples=2, num_blocks=1))
        >>> round(net.stem.conv.weight.std().item(), 2)
        0.02
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    if isinstance(std, bool) or not isinstance(std, (int, float)):
        raise TypeError(f"std must be a number, got {type(std).__name__} {std!r}")
    if std <= 0:
        raise ValueError(f"std must be > 0, got {std}")
    for sub in module.modules():
        if isinstance(sub, _CONVS):
            weight = _raw_weight(sub)
            weight.normal_(0.0, std)
        elif isinstance(sub, _BATCH_NORMS) and sub.affine:
            sub.weight.normal_(1.0, std)
            sub.bias.zero_()
    return module


def _raw_weight(module: nn.Module) -> torch.Tensor:
    parametrized = getattr(module, "parametrizations", None)
    if parametrized is not None and "weight" in parametrized:
        return parametrized.weight.original
    return module.weight
