"""Identical PatchGAN discriminators at several image scales."""

from __future__ import annotations

from torch import Tensor, nn

from .._checks import (
    check_architecture_size,
    check_bool,
    check_count,
    check_image_batch,
    check_input_dtype,
    check_positive_int,
)
from ..layers._factory import NORMS, check_choice
from ..layers.pyramid import downsample
from .nlayer import NLayerDiscriminator, nlayer_discriminator_size


class MultiscaleDiscriminator(nn.Module):
    """``num_scales`` [`NLayerDiscriminator`][condgan_blocks.NLayerDiscriminator]s on the input
    downsampled 2**k times.

    ``scales[0]`` sees the full resolution (fine detail), ``scales[-1]`` the coarsest level
    (global consistency). Downsampling is pix2pixHD's 3x3 average pooling.

    Args:
        in_channels: Channels of the (label, image) pair.
        num_scales: Number of discriminators (``num_D``).
        base_channels: Channels of each discriminator's first layer (``ndf``).
        num_layers: Strided layers per discriminator (``n_layers_D``).
        norm: "instance", "batch" or "none".
        use_sigmoid: Apply a sigmoid to every prediction.
        return_features: Return every layer's output per scale (for the feature-matching loss).
        spectral_norm: Wrap every convolution in spectral normalisation.

    Raises:
        TypeError: If a size is not an int or a flag not a bool.
        ValueError: If a size is out of range, including more than 4096 scales or layers, a
            layer wider than 2**16 channels or more than 2**34 parameters in all scales.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: a list over scales, full resolution first, of lists of layer outputs; each inner
          list is ``[prediction]`` alone when ``return_features=False``.

    Examples:
        >>> import torch
        >>> net = MultiscaleDiscriminator(6, num_scales=2, base_channels=8)
        >>> out = net(torch.randn(1, 6, 32, 32))
        >>> [len(scale) for scale in out], tuple(out[1][-1].shape)
        ([5, 5], (1, 1, 5, 5))
    """

    def __init__(
        self,
        in_channels: int,
        *,
        num_scales: int = 3,
        base_channels: int = 64,
        num_layers: int = 3,
        norm: str = "instance",
        use_sigmoid: bool = False,
        return_features: bool = True,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.num_scales = check_count("num_scales", num_scales, minimum=1)
        check_positive_int("base_channels", base_channels)
        check_count("num_layers", num_layers, minimum=1)
        check_choice("norm", norm, NORMS)
        check_bool("use_sigmoid", use_sigmoid)
        self.return_features = check_bool("return_features", return_features)
        check_bool("spectral_norm", spectral_norm)
        widest, per_scale = nlayer_discriminator_size(in_channels, base_channels, num_layers, norm)
        check_architecture_size(
            "MultiscaleDiscriminator",
            widest,
            num_scales * per_scale,
            hint="in_channels, num_scales, base_channels or num_layers",
        )
        self.scales = nn.ModuleList(
            NLayerDiscriminator(
                in_channels,
                base_channels=base_channels,
                num_layers=num_layers,
                norm=norm,
                use_sigmoid=use_sigmoid,
                spectral_norm=spectral_norm,
            )
            for _ in range(num_scales)
        )

    def forward(self, x: Tensor) -> list[list[Tensor]]:
        check_image_batch(x, self.in_channels)
        check_input_dtype(x, self.scales[0].layers[0].conv.bias)
        results = []
        for k, scale in enumerate(self.scales):
            if k > 0:
                x = downsample(x)
            outputs = scale.features(x)
            results.append(outputs if self.return_features else outputs[-1:])
        return results
