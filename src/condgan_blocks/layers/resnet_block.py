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
from .label_modulation import (
    LabelModulatedNorm,
    check_label_modulation,
)


class ResnetBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection.

    Computes ``x + norm2(conv2(dropout(act(norm1(conv1(x))))))``, with no activation after the
    sum, as in pix2pixHD. Reflect and replicate padding are done by the convolutions themselves.
    With ``label_modulation`` > 0, ``norm2`` is a
    [`LabelModulatedNorm`][condgan_blocks.LabelModulatedNorm] (SPADE) driven by a condition
    passed to ``forward``: the labels set the scale and shift of the residual, pixel by pixel.

    Args:
        channels: Number of input and output channels C.
        norm: "instance", "batch" or "none".
        activation: "relu", "leaky_relu", "tanh" or "none".
        padding: "reflect", "replicate" or "zero".
        dropout: Probability used between the two convolutions.
        label_modulation: Hidden channels of the modulated ``norm2``; 0 (the default): a plain
            norm, as in the original.
        condition_channels: Channels K of the condition; required with ``label_modulation``.

    Raises:
        TypeError: If a size is not an int or ``dropout`` not a real number.
        ValueError: If ``channels`` exceeds 2**16, ``dropout`` lies outside [0, 1), or
            ``label_modulation`` is on with ``norm="none"`` or without ``condition_channels``.

    Shape:
        - Input: (N, C, H, W), and with modulation a condition (N, K, H', W') whose size is a
          whole multiple of H x W.
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> block = ResnetBlock(8)
        >>> block(torch.randn(2, 8, 16, 16)).shape
        torch.Size([2, 8, 16, 16])
        >>> modulated = ResnetBlock(8, label_modulation=16, condition_channels=3)
        >>> modulated(torch.randn(2, 8, 16, 16), torch.randn(2, 3, 32, 32)).shape
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
        label_modulation: int = 0,
        condition_channels: int = 0,
    ) -> None:
        super().__init__()
        self.channels = check_positive_int("channels", channels)
        if not 0.0 <= check_number("dropout", dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        hidden = check_label_modulation(
            label_modulation, check_choice("norm", norm, NORMS), where="the block's second norm"
        )
        check_positive_int("condition_channels", condition_channels, minimum=0)
        if hidden and not condition_channels:
            raise ValueError(
                f"label_modulation={hidden} needs condition_channels, the channels of the "
                "condition that drives it"
            )
        check_architecture_size(
            "ResnetBlock",
            max(channels, condition_channels, hidden),
            resnet_block_parameters(
                channels, norm, condition_channels=condition_channels, label_modulation=hidden
            ),
            hint="channels, condition_channels or label_modulation",
        )
        self.conv1 = make_conv(channels, channels, 3, padding=padding)
        self.norm1 = make_norm(norm, channels)
        self.act = make_activation(activation)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = make_conv(channels, channels, 3, padding=padding)
        self.norm2 = make_norm(norm, channels)
        if hidden:
            self.norm2 = LabelModulatedNorm(self.norm2, channels, condition_channels, hidden=hidden)

    @property
    def modulated(self) -> bool:
        """Whether ``norm2`` is label-modulated (``forward`` then needs a condition)."""
        return isinstance(self.norm2, LabelModulatedNorm)

    def forward(self, x: Tensor, condition: Tensor | None = None) -> Tensor:
        check_image_batch(x, self.channels)
        check_input_dtype(x, self.conv1.bias)
        if self.modulated != (condition is not None):
            raise ValueError(
                "this block is label-modulated: pass the condition"
                if self.modulated
                else "this block is not label-modulated: it takes no condition"
            )
        residual = self.norm1(self.conv1(x))
        residual = self.dropout(self.act(residual))
        residual = self.conv2(residual)
        if condition is None:
            return x + self.norm2(residual)
        return x + self.norm2(residual, condition)
