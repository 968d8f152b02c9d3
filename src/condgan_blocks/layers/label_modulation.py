"""Label-modulated normalisation: a norm whose per-pixel scale and shift come from the labels."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_bool, check_positive_int
from ._factory import conv_parameters


class LabelModulatedNorm(nn.Module):
    """A parameter-free norm followed by a per-pixel scale and shift computed from the labels.

    ``out = norm(x) * (1 + gamma) + beta`` with ``(gamma, beta)`` from two 3x3 convolutions
    (``hidden`` channels and a ReLU between) of the condition average-pooled to ``x``'s size:
    SPADE's spatially-adaptive normalisation (Park et al., CVPR 2019). A plain instance norm
    takes the same mean and scale off a whole feature map; here the labels set them pixel by
    pixel, so a person two pixels wide keeps features of its own after every norm. The
    ``affine`` convolution starts at zero: a new module returns ``norm(x)`` unchanged, so a
    network built with it starts as the network without.

    Args:
        norm: The wrapped norm (e.g. ``InstanceNorm2d(affine=False)``), applied first.
        channels: Channels C of ``x``.
        condition_channels: Channels K of the condition (labels, boundary map, features).
        hidden: Channels between the two convolutions.

    Raises:
        TypeError: If ``norm`` is not an ``nn.Module`` or a size not an int.
        ValueError: If a size is not positive.

    Shape:
        - Input: ``x`` (N, C, H, W) and ``condition`` (N, K, H', W') with H' and W' multiples
          of H and W (it is average-pooled to H x W).
        - Output: (N, C, H, W).

    Examples:
        >>> import torch
        >>> norm = LabelModulatedNorm(torch.nn.InstanceNorm2d(8), 8, 4, hidden=16)
        >>> x, labels = torch.randn(2, 8, 16, 16), torch.randn(2, 4, 32, 32)
        >>> norm(x, labels).shape
        torch.Size([2, 8, 16, 16])
        >>> bool(torch.equal(norm(x, labels), torch.nn.InstanceNorm2d(8)(x)))  # starts as norm
        True
    """

    def __init__(
        self, norm: nn.Module, channels: int, condition_channels: int, *, hidden: int = 32
    ) -> None:
        super().__init__()
        if not isinstance(norm, nn.Module):
            raise TypeError(f"norm must be an nn.Module, got {type(norm).__name__}")
        self.channels = check_positive_int("channels", channels)
        self.condition_channels = check_positive_int("condition_channels", condition_channels)
        self.hidden = check_positive_int("hidden", hidden)
        self.norm = norm
        self.shared = nn.Conv2d(condition_channels, hidden, 3, padding=1)
        self.affine = nn.Conv2d(hidden, 2 * channels, 3, padding=1)
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)

    def forward(self, x: Tensor, condition: Tensor) -> Tensor:
        if condition.dim() != 4 or condition.shape[1] != self.condition_channels:
            raise ValueError(
                f"condition must be (N, {self.condition_channels}, H, W), got "
                f"{tuple(condition.shape)}"
            )
        if condition.shape[-2:] != x.shape[-2:]:
            condition = _pooled_to(condition, x.shape[-2:])
        gamma, beta = self.affine(F.relu(self.shared(condition.to(x.dtype)))).chunk(2, 1)
        return self.norm(x) * (1 + gamma) + beta

    def extra_repr(self) -> str:
        sizes = (self.channels, self.condition_channels, self.hidden)
        return "channels={}, condition_channels={}, hidden={}".format(*sizes)


def _pooled_to(condition: Tensor, size: tuple[int, int]) -> Tensor:
    """``condition`` average-pooled to ``size``, of which its size must be a whole multiple."""
    height, width = condition.shape[-2:]
    if height % size[0] or width % size[1]:
        raise ValueError(
            f"condition of {(height, width)} pixels cannot be pooled to the features' "
            f"{tuple(size)}: it must be a whole multiple"
        )
    return F.avg_pool2d(condition, (height // size[0], width // size[1]))


def check_label_modulation(
    label_modulation: object,
    norm: str,
    *,
    name: str = "label_modulation",
    norm_name: str = "norm",
    where: str = "the upsamplings' norms",
) -> int:
    """``label_modulation`` (hidden channels, 0 for off) as an int; it needs a norm to modulate.
    ``name`` and ``norm_name`` are the fields' names in the error messages, ``where`` says
    which norms it modulates."""
    hidden = check_positive_int(name, label_modulation, minimum=0)
    if hidden and norm == "none":
        raise ValueError(
            f"{name}={hidden} modulates {where}, but {norm_name}='none' has "
            f"none: use {norm_name}='instance' or {name}=0"
        )
    return hidden


def label_modulation_parameters(channels: int, condition_channels: int, hidden: int) -> int:
    """Parameters of a `LabelModulatedNorm` around a parameter-free norm."""
    return conv_parameters(3, condition_channels, hidden) + conv_parameters(3, hidden, 2 * channels)


def check_modulated_blocks(
    label_modulation_blocks: object,
    label_modulation: int,
    *,
    name: str = "label_modulation",
    flag_name: str = "label_modulation_blocks",
) -> bool:
    """``label_modulation_blocks`` as a bool; it uses ``label_modulation``'s hidden width, so
    that must be on. ``name`` and ``flag_name`` are the two fields' names in the error
    messages."""
    check_bool(flag_name, label_modulation_blocks)
    if label_modulation_blocks and not label_modulation:
        raise ValueError(
            f"{flag_name}=True modulates the residual blocks with {name}'s hidden "
            f"channels, but {name}=0: set {name} (e.g. 32) or {flag_name}=False"
        )
    return label_modulation_blocks


def run_upsampling(up: nn.Sequential, x: Tensor, condition: Tensor) -> Tensor:
    """``up(x)`` for a ``conv, norm, act`` group whose norm may be a `LabelModulatedNorm`;
    ``condition`` at the upsampling's output size (the generators pool it with a fixed factor,
    so an exported program needs no guard on the pooling)."""
    norm = getattr(up, "norm", None)
    if not isinstance(norm, LabelModulatedNorm):
        return up(x)
    return up.act(norm(up.conv(x), condition))
