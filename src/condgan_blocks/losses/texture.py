"""A texture-statistics loss that works offline: how much fine detail each small window holds."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_count, check_number, check_positive_int, check_same_shape
from ..layers._detail import box_detail


def _check_images(images: object, name: str) -> None:
    if not isinstance(images, Tensor) or images.dim() != 4 or not images.is_floating_point():
        got = (
            f"{tuple(images.shape)} {images.dtype}"
            if isinstance(images, Tensor)
            else type(images).__name__
        )
        raise TypeError(f"{name} must be a float tensor of shape (N, C, H, W), got {got}")


def local_detail_energy(images: Tensor, *, window: int = 4, num_scales: int = 2) -> list[Tensor]:
    """Maps of the mean fine detail per window, on the luminance and the chroma, at each scale.

    The luminance is the mean over channels, the chroma each channel minus it (a one-channel
    image has no chroma). The detail is ``|x - box3(x)|`` (3x3 box blur); it is averaged over
    ``window x window`` cells. Scale ``s`` (from 0) repeats this on the image 2**s times
    smaller (average pooling), with ``max(window // 2**s, 1)`` cells.

    Args:
        images: Tensor of shape (N, C, H, W), any range (the loss uses [-1, 1]).
        window: Cell size in pixels at full resolution.
        num_scales: How many scales (2x apart).

    Returns:
        A list of tensors: for each scale, the luminance map (N, 1, h, w) then, for C > 1, the
        chroma map (N, C, h, w), with ``h = H_s // window_s``.

    Raises:
        TypeError: If ``images`` is not a 4D floating-point tensor.
        ValueError: If ``window`` or ``num_scales`` is not a positive int, or the image is
            smaller than the coarsest scale's cell.

    Examples:
        >>> import torch
        >>> flat = torch.zeros(1, 3, 16, 16)
        >>> [tuple(m.shape) for m in local_detail_energy(flat)]
        [(1, 1, 4, 4), (1, 3, 4, 4), (1, 1, 4, 4), (1, 3, 4, 4)]
        >>> float(sum(m.sum() for m in local_detail_energy(flat)))
        0.0
    """
    window = check_positive_int("window", window)
    num_scales = check_count("num_scales", num_scales, minimum=1)
    _check_images(images, "images")
    _check_size(images, window, num_scales)
    return _energy_maps(images, window, num_scales)


def _check_size(images: Tensor, window: int, num_scales: int) -> None:
    factor = 2 ** (num_scales - 1)
    needed = factor * max(window // factor, 1)
    if min(images.shape[-2:]) < needed:
        raise ValueError(
            f"images of {tuple(images.shape[-2:])} pixels are smaller than the coarsest cell "
            f"({needed} pixels for window={window}, num_scales={num_scales})"
        )


def _energy_maps(images: Tensor, window: int, num_scales: int) -> list[Tensor]:
    """`local_detail_energy` on arguments already checked."""
    maps = []
    for scale in range(num_scales):
        x = images if scale == 0 else F.avg_pool2d(images, 2**scale)
        cell = max(window // 2**scale, 1)
        luminance = x.mean(1, keepdim=True)
        parts = [luminance] if x.shape[1] == 1 else [luminance, x - luminance]
        maps += [F.avg_pool2d(box_detail(part), cell) for part in parts]
    return maps


class LocalTextureLoss(nn.Module):
    """L1 between the local fine-detail energy of fake and real images: texture, not phase.

    A per-pixel L1 (or the feature-matching and VGG losses, which compare features at the same
    positions) asks *where* the grain of asphalt or foliage sits; a generator cannot know, so
    those terms pull textured regions towards their mean and leave the adversarial term to paint
    the grain, often as colour speckle. This term compares only *how much* fine detail each
    ``window x window`` cell holds ([`local_detail_energy`][condgan_blocks.local_detail_energy]),
    on the luminance and the chroma separately, at ``num_scales`` scales: it asks for the real
    image's amount of grain in each cell and penalises colour noise where the real image has
    none. It needs no pretrained weights and knows nothing of the labels.

    ``loss = weight * sum_maps mean(|energy(fake) - energy(real)|)``; the real maps are computed
    without gradient.

    Args:
        weight: Factor on the total.
        window: Cell size in pixels at full resolution (4: the statistics of 4x4 pixels).
        num_scales: Scales 2x apart (2: the detail of the image and of its half size).

    Shape:
        - Input: fake and real images (N, C, H, W), same shape.
        - Output: ().

    Examples:
        >>> import torch
        >>> loss = LocalTextureLoss(weight=1.0)
        >>> real = torch.zeros(1, 3, 16, 16)
        >>> float(loss(real.clone(), real))
        0.0
        >>> grain = torch.rand(1, 1, 16, 16).expand(1, 3, 16, 16)  # grey grain
        >>> moved = torch.roll(grain, shifts=(0, 2), dims=(2, 3))  # same grain, other place
        >>> bool(loss(moved, grain) < loss(torch.zeros_like(grain), grain))
        True
    """

    def __init__(self, weight: float = 1.0, *, window: int = 4, num_scales: int = 2) -> None:
        super().__init__()
        self.weight = check_number("weight", weight, minimum=0.0)
        self.window = check_positive_int("window", window)
        self.num_scales = check_count("num_scales", num_scales, minimum=1)

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        """The weighted L1 between the energy maps; no gradient reaches ``real``."""
        _check_images(fake, "fake")
        _check_images(real, "real")
        check_same_shape(fake, real, "the texture loss")
        _check_size(fake, self.window, self.num_scales)
        with torch.no_grad():
            targets = _energy_maps(real, self.window, self.num_scales)
        fakes = _energy_maps(fake, self.window, self.num_scales)
        total = sum((f - t).abs().mean() for f, t in zip(fakes, targets, strict=True))
        return self.weight * total

    def extra_repr(self) -> str:
        return f"weight={self.weight}, window={self.window}, num_scales={self.num_scales}"
