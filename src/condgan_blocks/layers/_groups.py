"""Layer groups shared by the generators and the feature encoder."""

from __future__ import annotations

from collections import OrderedDict

import torch.nn.functional as F
from torch import Tensor, nn

from ._factory import (
    PADDINGS,
    check_choice,
    conv_norm_act,
    conv_parameters,
    make_conv,
    norm_parameters,
)
from .label_modulation import label_modulation_parameters

UPSAMPLES = ("resize", "transposed")


def stem(in_channels: int, out_channels: int, norm: str) -> nn.Sequential:
    """7x7 reflect-padded convolution, norm, ReLU: pix2pixHD's ``c7s1-k`` front end."""
    conv = make_conv(in_channels, out_channels, 7, padding="reflect")
    return conv_norm_act(conv, norm, "relu", out_channels)


def downsampling(channels: int, norm: str) -> nn.Sequential:
    """Stride-2 3x3 convolution doubling ``channels``, norm, ReLU. Maps H to ceil(H / 2)."""
    conv = make_conv(channels, 2 * channels, 3, stride=2, padding="zero")
    return conv_norm_act(conv, norm, "relu", 2 * channels)


class ResizeConv2d(nn.Conv2d):
    """Nearest-neighbour 2x upsampling followed by a 3x3 convolution (stride 1, padding 1).

    The usual remedy for the checkerboard artefacts of stride-2 transposed convolutions: every
    output pixel sees the same number of input pixels. Being an ``nn.Conv2d``, its parameters are
    ``weight`` of shape (out_channels, in_channels, 3, 3) and ``bias``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        padding: "reflect" pads the convolution by reflection; anything else pads with zeros.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, 2H, 2W)
    """

    def __init__(self, in_channels: int, out_channels: int, *, padding: str = "zero") -> None:
        check_choice("padding", padding, PADDINGS)
        mode = "reflect" if padding == "reflect" else "zeros"
        super().__init__(in_channels, out_channels, 3, padding=1, padding_mode=mode)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def upsampling(
    channels: int,
    norm: str,
    out_channels: int | None = None,
    *,
    mode: str = "transposed",
    padding: str = "zero",
) -> nn.Sequential:
    """2x upsampling from ``channels`` to ``out_channels`` (default half), norm, ReLU.

    ``mode="transposed"`` is pix2pixHD's stride-2 3x3 transposed convolution (padding 1,
    output padding 1); ``mode="resize"`` is a ``ResizeConv2d``, padded by reflection if
    ``padding`` is "reflect" and with zeros otherwise (the transposed convolution ignores
    ``padding``). Both map H to 2H, have the same parameter count and put their convolution
    under the key ``conv``.
    """
    check_choice("upsample", mode, UPSAMPLES)
    out_channels = channels // 2 if out_channels is None else out_channels
    if mode == "resize":
        conv: nn.Module = ResizeConv2d(channels, out_channels, padding=padding)
    else:
        conv = nn.ConvTranspose2d(channels, out_channels, 3, stride=2, padding=1, output_padding=1)
    return conv_norm_act(conv, norm, "relu", out_channels)


def image_head(in_channels: int, out_channels: int) -> nn.Sequential:
    """7x7 reflect-padded convolution to ``out_channels`` followed by tanh."""
    conv = make_conv(in_channels, out_channels, 7, padding="reflect")
    return nn.Sequential(OrderedDict(conv=conv, act=nn.Tanh()))


# Parameter counts of the groups above and of a residual block, computed from the sizes alone so
# that the blocks can refuse absurd sizes before allocating anything.


def stem_parameters(in_channels: int, out_channels: int, norm: str) -> int:
    """Parameters of ``stem``."""
    return conv_parameters(7, in_channels, out_channels) + norm_parameters(norm, out_channels)


def downsampling_parameters(channels: int, norm: str) -> int:
    """Parameters of ``downsampling``."""
    return conv_parameters(3, channels, 2 * channels) + norm_parameters(norm, 2 * channels)


def upsampling_parameters(channels: int, norm: str, out_channels: int | None = None) -> int:
    """Parameters of ``upsampling``, in either mode: a 3x3 convolution and a transposed one
    between the same channels have the same number of weights and biases."""
    out_channels = channels // 2 if out_channels is None else out_channels
    return conv_parameters(3, channels, out_channels) + norm_parameters(norm, out_channels)


def image_head_parameters(in_channels: int, out_channels: int) -> int:
    """Parameters of ``image_head``."""
    return conv_parameters(7, in_channels, out_channels)


def resnet_block_parameters(
    channels: int, norm: str, *, condition_channels: int = 0, label_modulation: int = 0
) -> int:
    """Parameters of a ``ResnetBlock(channels, norm=norm, label_modulation=...,
    condition_channels=...)``: two 3x3 convolutions and norms, the second one modulated when
    ``label_modulation`` > 0."""
    total = 2 * (conv_parameters(3, channels, channels) + norm_parameters(norm, channels))
    if label_modulation:
        total += label_modulation_parameters(channels, condition_channels, label_modulation)
    return total
