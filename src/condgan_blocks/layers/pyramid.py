"""Downsampling between scales, shared by the enhancer and the multi-scale discriminator."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from .._checks import check_count


def downsample(x: Tensor) -> Tensor:
    """Halve an image with pix2pixHD's 3x3 average pooling (stride 2, padding 1).

    Border averages divide by the number of real pixels (``count_include_pad=False``).

    Args:
        x: Tensor of shape (N, C, H, W).

    Returns:
        Tensor of shape (N, C, ceil(H / 2), ceil(W / 2)).

    Shape:
        - Input: (N, C, H, W).
        - Output: (N, C, ceil(H / 2), ceil(W / 2)).

    Examples:
        >>> import torch
        >>> downsample(torch.ones(1, 3, 5, 8)).shape
        torch.Size([1, 3, 3, 4])
        >>> downsample(torch.ones(1, 1, 4, 4)).unique()
        tensor([1.])
    """
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


def image_pyramid(x: Tensor, levels: int) -> list[Tensor]:
    """Return ``[x, downsample(x), ...]`` with ``levels + 1`` entries, finest first.

    Args:
        x: Tensor of shape (N, C, H, W).
        levels: Number of downsamplings, an int in [0, 4096].

    Raises:
        TypeError: If ``levels`` is not an int (a bool included).
        ValueError: If ``levels`` is negative or larger than 4096.

    Examples:
        >>> import torch
        >>> [tuple(level.shape[-2:]) for level in image_pyramid(torch.zeros(1, 1, 8, 6), 2)]
        [(8, 6), (4, 3), (2, 2)]
    """
    check_count("levels", levels)
    pyramid = [x]
    for _ in range(levels):
        pyramid.append(downsample(pyramid[-1]))
    return pyramid
