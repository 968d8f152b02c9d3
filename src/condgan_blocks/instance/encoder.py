"""The instance-level feature encoder E of pix2pixHD."""

from __future__ import annotations

from torch import Tensor, nn

from .._checks import (
    MAX_CHANNELS,
    check_architecture_size,
    check_count,
    check_divisible_size,
    check_image_batch,
    check_input_dtype,
    check_positive_int,
)
from ..layers._factory import NORMS, check_choice
from ..layers._groups import (
    UPSAMPLES,
    downsampling,
    downsampling_parameters,
    image_head,
    image_head_parameters,
    stem,
    stem_parameters,
    upsampling,
    upsampling_parameters,
)
from .ids import check_instance_map, check_same_size
from .pooling import InstanceAveragePool


def instance_encoder_size(
    in_channels: int, feature_channels: int, base_channels: int, num_downsamples: int, norm: str
) -> tuple[int, int]:
    """``(widest layer's channels, parameter count)`` of an ``InstanceFeatureEncoder``.

    The count is exact; it is only summed once the widest layer is within bounds.
    """
    widest = max(in_channels, feature_channels, base_channels * 2**num_downsamples)
    if widest > MAX_CHANNELS:
        return widest, 0
    widths = [base_channels * 2**i for i in range(num_downsamples + 1)]
    total = stem_parameters(in_channels, base_channels, norm)
    total += sum(downsampling_parameters(w, norm) for w in widths[:-1])
    total += sum(upsampling_parameters(w, norm) for w in widths[1:])
    return widest, total + image_head_parameters(base_channels, feature_channels)


class InstanceFeatureEncoder(nn.Module):
    """Encoder-decoder that maps an image to one low-dimensional feature vector per instance.

    Layout, as in the paper and the original ``Encoder``: a 7x7 ``stem`` to ``base_channels``;
    ``num_downsamples`` stride-2 3x3 convolutions doubling the channels; as many transposed
    convolutions (or resize-convolutions) halving them back; a 7x7 ``head`` to
    ``feature_channels`` and tanh; then instance-wise average pooling (``pool``), so every
    instance of every image gets one constant feature vector.

    Args:
        in_channels: Image channels.
        feature_channels: Channels of the feature map (``feat_num`` in the original).
        base_channels: Channels after the stem (``nef``).
        num_downsamples: Number of stride-2 downsamplings (``n_downsample_E``).
        norm: "instance", "batch" or "none".
        upsample: "transposed" (the original's transposed convolutions) or "resize"
            (nearest-neighbour 2x upsampling then a zero-padded 3x3 convolution); see
            [`GlobalGenerator`][condgan_blocks.GlobalGenerator].

    Raises:
        TypeError: If a size is not an int.
        ValueError: If a size is out of range, including an architecture whose widest layer
            (``base_channels * 2**num_downsamples``) exceeds 2**16 channels or whose parameter
            count exceeds 2**34; this is checked before anything is allocated.

    Shape:
        - Input: image (N, in_channels, H, W), H and W multiples of ``2 ** num_downsamples``,
          and instances (N, 1, H, W) or (N, H, W).
        - Output: (N, feature_channels, H, W) in [-1, 1].

    Examples:
        >>> import torch
        >>> encoder = InstanceFeatureEncoder(base_channels=4, num_downsamples=2)
        >>> instances = torch.zeros(1, 1, 16, 16, dtype=torch.long)
        >>> instances[..., 8:] = 26001
        >>> out = encoder(torch.randn(1, 3, 16, 16), instances)
        >>> out.shape, out[0, :, :, :8].unique(dim=1).shape[1]
        (torch.Size([1, 3, 16, 16]), 1)
    """

    def __init__(
        self,
        in_channels: int = 3,
        feature_channels: int = 3,
        *,
        base_channels: int = 16,
        num_downsamples: int = 4,
        norm: str = "instance",
        upsample: str = "transposed",
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.feature_channels = check_positive_int("feature_channels", feature_channels)
        self.base_channels = check_positive_int("base_channels", base_channels)
        self.num_downsamples = check_count("num_downsamples", num_downsamples)
        self.norm = check_choice("norm", norm, NORMS)
        self.upsample = check_choice("upsample", upsample, UPSAMPLES)
        check_architecture_size(
            "InstanceFeatureEncoder",
            *instance_encoder_size(
                in_channels, feature_channels, base_channels, num_downsamples, norm
            ),
            hint="in_channels, feature_channels, base_channels or num_downsamples (the widest "
            "layer has base_channels * 2**num_downsamples channels)",
        )

        widths = [base_channels * 2**i for i in range(num_downsamples + 1)]
        self.stem = stem(in_channels, base_channels, norm)
        self.downsamples = nn.ModuleList(downsampling(w, norm) for w in widths[:-1])
        self.upsamples = nn.ModuleList(
            upsampling(w, norm, mode=upsample) for w in reversed(widths[1:])
        )
        self.head = image_head(base_channels, feature_channels)
        self.pool = InstanceAveragePool()

    @property
    def size_multiple(self) -> int:
        """The number H and W must be divisible by: ``2 ** num_downsamples``."""
        return 2**self.num_downsamples

    def features(self, image: Tensor) -> Tensor:
        """The feature map before instance-wise pooling.

        Args:
            image: Tensor of shape (N, in_channels, H, W).

        Returns:
            Tensor of shape (N, feature_channels, H, W) in [-1, 1].
        """
        check_image_batch(image, self.in_channels, name="image")
        check_input_dtype(image, self.stem.conv.bias, name="image")
        check_divisible_size(
            image,
            self.size_multiple,
            name="image",
            why=f"the encoder downsamples {self.num_downsamples} times",
        )
        x = self.stem(image)
        for down in self.downsamples:
            x = down(x)
        for up in self.upsamples:
            x = up(x)
        return self.head(x)

    def forward(self, image: Tensor, instances: Tensor) -> Tensor:
        check_image_batch(image, self.in_channels, name="image")
        check_input_dtype(image, self.stem.conv.bias, name="image")
        instances = check_instance_map(instances)
        check_same_size(image, instances, name="image")
        return self.pool(self.features(image), instances)
