"""The residual block of pix2pixHD's generators."""

from __future__ import annotations

from torch import Tensor, nn

from .._checks import (
    check_architecture_size,
    check_image_batch,
    check_input_dtype,
    check_number,
    check_positive_int,
)
from ._factory import NORMS, check_choice, make_activation, make_conv, make_norm
from ._groups import resnet_block_parameters


class ResnetBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection.

    Computes ``x + norm2(conv2(dropout(act(norm1(conv1(x))))))``, with no activation after the
    sum, as in pix2pixHD. Reflect and replicate padding are done by the convolutions themselves.

    Args:
        channels: Number of input and output channels C.
        norm: "instance", "batch" or "none".
        activation: "relu", "leaky_relu", "tanh" or "none".
        padding: "reflect", "replicate" or "zero".
        dropout: Probability used between the two convolutions.

    Raises:
        TypeError: If a size is not an int or ``dropout`` not a real number.
        ValueError: If ``channels`` exceeds 2**16 or ``dropout`` lies outside [0, 1).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> block = ResnetBlock(8)
        >>> block(torch.randn(2, 8, 16, 16)).shape
        torch.Size([2, 8, 16, 16])
    """

    def __init__(
        self,
        channels: int,
        *,
        norm: str = "instance",
        activation: str = "relu",
        padding: str = "reflect",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.channels = check_positive_int("channels", channels)
        if not 0.0 <= check_number("dropout", dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        check_architecture_size(
            "ResnetBlock",
            channels,
            resnet_block_parameters(channels, check_choice("norm", norm, NORMS)),
            hint="channels",
        )
        self.conv1 = make_conv(channels, channels, 3, padding=padding)
        self.norm1 = make_norm(norm, channels)
        self.act = make_activation(activation)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = make_conv(channels, channels, 3, padding=padding)
        self.norm2 = make_norm(norm, channels)

    def forward(self, x: Tensor) -> Tensor:
        check_image_batch(x, self.channels)
        check_input_dtype(x, self.conv1.bias)
        residual = self.norm1(self.conv1(x))
        residual = self.dropout(self.act(residual))
        return x + self.norm2(self.conv2(residual))
