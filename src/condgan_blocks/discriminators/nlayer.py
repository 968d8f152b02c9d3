"""PatchGAN discriminator with n strided layers."""

from __future__ import annotations

from collections import OrderedDict
from itertools import pairwise

import torch
from torch import Tensor, nn

from .._checks import (
    check_architecture_size,
    check_bool,
    check_count,
    check_image_batch,
    check_input_dtype,
    check_positive_int,
)
from ..layers._factory import (
    NORMS,
    check_choice,
    conv_norm_act,
    conv_parameters,
    make_conv,
    norm_parameters,
)

MAX_CHANNELS = 512


def _layer_widths(base_channels: int, num_layers: int) -> list[int]:
    """Output channels of ``layers[0 .. num_layers]``: doubling from ``base_channels``, capped."""
    return [base_channels] + [
        min(base_channels * 2 ** min(n, 10), MAX_CHANNELS) for n in range(1, num_layers + 1)
    ]


def nlayer_discriminator_size(
    in_channels: int, base_channels: int, num_layers: int, norm: str
) -> tuple[int, int]:
    """``(widest layer's channels, parameter count)`` of an ``NLayerDiscriminator``, unbuilt.

    The count is exact (spectral normalisation adds no parameters).
    """
    widths = _layer_widths(base_channels, num_layers)
    total = conv_parameters(4, in_channels, base_channels)
    for cin, cout in pairwise(widths):
        total += conv_parameters(4, cin, cout) + norm_parameters(norm, cout)
    total += conv_parameters(4, widths[-1], 1)
    return max(in_channels, *widths), total


class NLayerDiscriminator(nn.Module):
    """pix2pixHD's PatchGAN: 4x4 convolutions with LeakyReLU(0.2), then a 1-channel prediction.

    ``layers[0]`` is a stride-2 convolution without norm; ``layers[1 .. num_layers - 1]`` are
    stride-2 convolutions doubling the channels (capped at 512) with norm; ``layers[num_layers]``
    is the same at stride 1; ``layers[num_layers + 1]`` maps to one channel. All convolutions
    zero-pad by 2, so a stride-2 layer maps H to floor(H / 2) + 1 and a stride-1 layer to H + 1.

    Args:
        in_channels: Channels of the (label, image) pair.
        base_channels: Channels of the first layer (``ndf``).
        num_layers: Number of strided layers (``n_layers_D``).
        norm: "instance", "batch" or "none".
        use_sigmoid: Apply a sigmoid to the prediction (for a BCE-on-probabilities loss).
        return_features: Return every layer's output instead of the prediction alone.
        spectral_norm: Wrap every convolution in spectral normalisation.

    Raises:
        TypeError: If a size is not an int or a flag not a bool.
        ValueError: If a size is out of range, including more than 4096 layers, a layer wider
            than 2**16 channels or more than 2**34 parameters.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, 1, h, w); with ``return_features`` a list of ``num_layers + 2`` tensors,
          the last being the prediction.

    Examples:
        >>> import torch
        >>> net = NLayerDiscriminator(6, base_channels=8)
        >>> net(torch.randn(1, 6, 32, 32)).shape
        torch.Size([1, 1, 7, 7])
    """

    def __init__(
        self,
        in_channels: int,
        *,
        base_channels: int = 64,
        num_layers: int = 3,
        norm: str = "instance",
        use_sigmoid: bool = False,
        return_features: bool = False,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        check_positive_int("base_channels", base_channels)
        self.num_layers = check_count("num_layers", num_layers, minimum=1)
        check_choice("norm", norm, NORMS)
        self.use_sigmoid = check_bool("use_sigmoid", use_sigmoid)
        self.return_features = check_bool("return_features", return_features)
        check_bool("spectral_norm", spectral_norm)
        check_architecture_size(
            "NLayerDiscriminator",
            *nlayer_discriminator_size(in_channels, base_channels, num_layers, norm),
            hint="in_channels, base_channels or num_layers",
        )

        def conv(cin: int, cout: int, stride: int) -> nn.Module:
            return make_conv(cin, cout, 4, stride=stride, spectral_norm=spectral_norm)

        self.layers = nn.ModuleList(
            [
                conv_norm_act(
                    conv(in_channels, base_channels, 2), "none", "leaky_relu", base_channels
                )
            ]
        )
        channels = base_channels
        for n, out in enumerate(_layer_widths(base_channels, num_layers)[1:], start=1):
            stride = 2 if n < num_layers else 1
            self.layers.append(conv_norm_act(conv(channels, out, stride), norm, "leaky_relu", out))
            channels = out
        self.layers.append(nn.Sequential(OrderedDict(conv=conv(channels, 1, 1))))

    def features(self, x: Tensor) -> list[Tensor]:
        """Every layer's output, the last being the prediction (after the sigmoid if used).

        Args:
            x: Tensor of shape (N, in_channels, H, W).

        Returns:
            List of ``num_layers + 2`` tensors of shape (N, C_i, h_i, w_i).
        """
        check_image_batch(x, self.in_channels)
        check_input_dtype(x, self.layers[0].conv.bias)
        outputs = []
        for layer in self.layers:
            x = layer(x)
            outputs.append(x)
        if self.use_sigmoid:
            outputs[-1] = torch.sigmoid(outputs[-1])
        return outputs

    def forward(self, x: Tensor) -> Tensor | list[Tensor]:
        outputs = self.features(x)
        return outputs if self.return_features else outputs[-1]
