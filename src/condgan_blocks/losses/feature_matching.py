"""pix2pixHD's discriminator feature-matching loss."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_number, check_same_shape
from ..discriminators._nested import as_scales


def _is_flat(outputs: object) -> bool:
    """True for one discriminator's list of tensors, False for a list of lists."""
    return isinstance(outputs[0], Tensor)


def feature_matching_loss(
    fake_features: list, real_features: list, *, weight: float = 10.0
) -> Tensor:
    """L1 between the discriminator's intermediate features of fake and (detached) real inputs.

    With S scales and L outputs per scale (``num_layers + 2`` for our discriminators, the last
    being the prediction, which is left out)::

        loss = weight * sum_s sum_{i < L-1} (1 / S) (4 / (L - 1)) mean(|fake[s][i] - real[s][i]|)

    which is pix2pixHD's ``loss_G_GAN_Feat`` (its ``4 / (n_layers_D + 1)`` is ``4 / (L - 1)``).
    The real features are detached: no gradient reaches the real branch.

    Args:
        fake_features: [`MultiscaleDiscriminator`][condgan_blocks.MultiscaleDiscriminator] output
            (``return_features=True``) for the fake pair: one list of layer outputs per scale. One
            discriminator's list of tensors is taken as a single scale.
        real_features: The same for the real pair, with the same structure and shapes.
        weight: Factor on the total (pix2pixHD's ``lambda_feat``).

    Returns:
        A 0-dim tensor, >= 0.

    Raises:
        TypeError: If an input is not a list of tensors or a list of lists of tensors.
        ValueError: If the structures differ (nesting, number of scales, of layers, shapes), a
            scale has fewer than 2 outputs, or ``weight`` is negative.

    Shape:
        - Inputs: lists over scales of lists of (N, C_i, h_i, w_i) tensors.
        - Output: ().

    Examples:
        >>> import torch
        >>> fake = [[torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 3, 3)]]
        >>> real = [[torch.ones(1, 2, 4, 4), torch.ones(1, 1, 3, 3)]]
        >>> float(feature_matching_loss(fake, real, weight=10.0))  # 10 * 4/1 * 1, no prediction
        40.0
    """
    weight = check_number("weight", weight, minimum=0.0)
    fake_scales = as_scales(fake_features, "fake_features")
    real_scales = as_scales(real_features, "real_features")
    if isinstance(fake_features, Tensor) or isinstance(real_features, Tensor):
        raise ValueError(
            "the feature-matching loss needs every layer's output, got a single tensor; build "
            "the discriminator with return_features=True"
        )
    if _is_flat(fake_features) != _is_flat(real_features):
        raise ValueError(
            "fake_features and real_features have different structures: one is a list of "
            "tensors, the other a list of lists"
        )
    if len(fake_scales) != len(real_scales):
        raise ValueError(
            f"fake_features has {len(fake_scales)} scales, real_features {len(real_scales)}"
        )
    num_scales = len(fake_scales)
    total = None
    for s, (fake_scale, real_scale) in enumerate(zip(fake_scales, real_scales, strict=True)):
        if len(fake_scale) != len(real_scale):
            raise ValueError(
                f"scale {s}: fake_features has {len(fake_scale)} outputs, "
                f"real_features {len(real_scale)}"
            )
        num_outputs = len(fake_scale)
        if num_outputs < 2:
            raise ValueError(
                f"scale {s} has {num_outputs} output; the feature-matching loss needs the "
                "intermediate features too: build the discriminator with return_features=True"
            )
        for i, (fake, real) in enumerate(zip(fake_scale, real_scale, strict=True)):
            check_same_shape(fake, real, f"scale {s}, output {i}")
        coefficient = weight * (4.0 / (num_outputs - 1)) / num_scales
        for fake, real in zip(fake_scale[:-1], real_scale[:-1], strict=True):
            term = coefficient * F.l1_loss(fake, real.detach())
            total = term if total is None else total + term
    return total


class FeatureMatchingLoss(nn.Module):
    """pix2pixHD's feature-matching loss over multi-scale discriminator features.

    See [`feature_matching_loss`][condgan_blocks.feature_matching_loss] for the formula; the layer
    weights 4 / (L - 1) and the scale weights 1 / S follow the structure of the inputs.

    Args:
        weight: Factor on the total (``lambda_feat``, 10 in pix2pixHD).

    Shape:
        - Input: two lists over scales of lists of layer outputs (N, C_i, h_i, w_i).
        - Output: ().

    Examples:
        >>> import torch
        >>> from condgan_blocks import MultiscaleDiscriminator
        >>> disc = MultiscaleDiscriminator(6, num_scales=2, base_channels=8)
        >>> fake, real = torch.randn(2, 1, 6, 32, 32)
        >>> loss = FeatureMatchingLoss()(disc(fake), disc(real))
        >>> loss.shape, bool(loss > 0)
        (torch.Size([]), True)
    """

    def __init__(self, weight: float = 10.0) -> None:
        super().__init__()
        self.weight = check_number("weight", weight, minimum=0.0)

    def forward(self, fake_features: list, real_features: list) -> Tensor:
        """Weighted L1 between the features; ``real_features`` are detached."""
        return feature_matching_loss(fake_features, real_features, weight=self.weight)

    def extra_repr(self) -> str:
        return f"weight={self.weight}"
