"""Layer groups shared by the generators and the feature encoder."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ._factory import conv_norm_act, make_conv


def stem(in_channels: int, out_channels: int, norm: str) -> nn.Sequential:
    """7x7 reflect-padded convolution, norm, ReLU: pix2pixHD's ``c7s1-k`` front end."""
    conv = make_conv(in_channels, out_channels, 7, padding="reflect")
    return conv_norm_act(conv, norm, "relu", out_channels)


def downsampling(channels: int, norm: str) -> nn.Sequential:
    """Stride-2 3x3 convolution doubling ``channels``, norm, ReLU. Maps H to ceil(H / 2)."""
    conv = make_conv(channels, 2 * channels, 3, stride=2, padding="zero")
    return conv_norm_act(conv, norm, "relu", 2 * channels)


def upsampling(channels: int, norm: str, out_channels: int | None = None) -> nn.Sequential:
    """Stride-2 3x3 transposed convolution halving ``channels``, norm, ReLU. Maps H to 2H."""
    out_channels = channels // 2 if out_channels is None else out_channels
    conv = nn.ConvTranspose2d(channels, out_channels, 3, stride=2, padding=1, output_padding=1)
    return conv_norm_act(conv, norm, "relu", out_channels)


def image_head(in_channels: int, out_channels: int) -> nn.Sequential:
    """7x7 reflect-padded convolution to ``out_channels`` followed by tanh."""
    conv = make_conv(in_channels, out_channels, 7, padding="reflect")
    return nn.Sequential(OrderedDict(conv=conv, act=nn.Tanh()))
