"""The one place that turns short layer names into modules.

Every block takes ``norm``, ``activation`` and ``padding`` as short strings; this module resolves
them, owns their defaults (instance norm is built with ``affine=False``, as in pix2pixHD) and
rejects unknown names with a message that lists the valid ones.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn
from torch.nn.utils import parametrizations

from .._checks import check_bool

NORMS = ("batch", "instance", "none")
ACTIVATIONS = ("leaky_relu", "none", "relu", "tanh")
PADDINGS = ("reflect", "replicate", "zero")

_CONV_PADDING_MODES = {"reflect": "reflect", "replicate": "replicate", "zero": "zeros"}


def check_choice(argument: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError naming ``argument``."""
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a string, one of {choices}, got {value!r}")
    if value not in choices:
        raise ValueError(f"{argument} must be one of {choices}, got {value!r}")
    return value


def make_norm(name: str, channels: int) -> nn.Module:
    """Build a normalisation layer over ``channels`` channels.

    Args:
        name: "instance" (``InstanceNorm2d(affine=False)``, as in pix2pixHD), "batch"
            (``BatchNorm2d(affine=True)``) or "none" (identity, no state).
        channels: Number of channels C.

    Raises:
        ValueError: If ``name`` is unknown.
    """
    check_choice("norm", name, NORMS)
    if name == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if name == "batch":
        return nn.BatchNorm2d(channels, affine=True)
    return nn.Identity()


def make_activation(name: str) -> nn.Module:
    """Build an activation: "relu", "leaky_relu" (slope 0.2, as in pix2pixHD), "tanh" or "none"."""
    check_choice("activation", name, ACTIVATIONS)
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2, inplace=True)
    if name == "tanh":
        return nn.Tanh()
    return nn.Identity()


def make_conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    stride: int = 1,
    padding: str = "zero",
    spectral_norm: bool = False,
) -> nn.Conv2d:
    """Build a convolution that pads by ``kernel_size // 2`` with the given padding kind.

    Reflect and replicate padding use ``Conv2d(padding_mode=...)``, which computes exactly what
    pix2pixHD's separate ``ReflectionPad2d`` + ``Conv2d(padding=0)`` computed, with one module less.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Odd kernel size.
        stride: Convolution stride.
        padding: "reflect", "replicate" or "zero".
        spectral_norm: Wrap the weight in torch's spectral-norm parametrization.
    """
    check_choice("padding", padding, PADDINGS)
    check_bool("spectral_norm", spectral_norm)
    conv = nn.Conv2d(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=kernel_size // 2,
        padding_mode=_CONV_PADDING_MODES[padding],
    )
    return parametrizations.spectral_norm(conv) if spectral_norm else conv


def conv_parameters(kernel_size: int, in_channels: int, out_channels: int) -> int:
    """Parameters of a (transposed) convolution with bias, as `make_conv` builds it.

    Spectral normalisation adds none: it keeps the weight as ``original`` and its vectors as
    buffers.
    """
    return kernel_size * kernel_size * in_channels * out_channels + out_channels


def norm_parameters(name: str, channels: int) -> int:
    """Parameters of `make_norm` ``(name, channels)``: only batch norm has any."""
    return 2 * channels if name == "batch" else 0


def conv_norm_act(conv: nn.Module, norm: str, activation: str, out_channels: int) -> nn.Sequential:
    """Chain ``conv``, a norm and an activation as children named ``conv``, ``norm``, ``act``.

    Parts that resolve to "none" are left out, so they add no state-dict keys.
    """
    parts: OrderedDict[str, nn.Module] = OrderedDict(conv=conv)
    if check_choice("norm", norm, NORMS) != "none":
        parts["norm"] = make_norm(norm, out_channels)
    if check_choice("activation", activation, ACTIVATIONS) != "none":
        parts["act"] = make_activation(activation)
    return nn.Sequential(parts)
