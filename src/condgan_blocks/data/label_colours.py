"""Turn a label map into colours, for looking at it."""

from __future__ import annotations

import torch
from torch import Tensor


def colorize(label: Tensor, palette: Tensor) -> Tensor:
    """Paint every pixel with its class colour.

    Args:
        label: Integer class ids of shape (H, W), (1, H, W) or (N, 1, H, W).
        palette: uint8 colours of shape (K, 3), row ``k`` for class ``k``.

    Returns:
        uint8 tensor of shape (3, H, W) for a (H, W) or (1, H, W) label, else (N, 3, H, W).

    Raises:
        ValueError: If a label id has no colour in ``palette``.

    Shape:
        - Label: (H, W), (1, H, W) or (N, 1, H, W)
        - Output: (3, H, W) or (N, 3, H, W)

    Examples:
        >>> palette = torch.tensor([[0, 0, 0], [255, 0, 0]], dtype=torch.uint8)
        >>> colorize(torch.tensor([[0, 1]]), palette)[:, 0]
        tensor([[  0, 255],
                [  0,   0],
                [  0,   0]], dtype=torch.uint8)
    """
    if not isinstance(label, Tensor) or label.is_floating_point() or label.is_complex():
        raise TypeError(f"label must be an integer tensor, got {label!r:.60}")
    if palette.ndim != 2 or palette.shape[1] != 3:
        raise ValueError(f"palette must have shape (K, 3), got {tuple(palette.shape)}")
    if label.ndim == 2:
        label = label[None]
    if label.ndim not in (3, 4) or label.shape[-3] != 1:
        raise ValueError(
            f"expected label of shape (H, W), (1, H, W) or (N, 1, H, W), got {tuple(label.shape)}"
        )
    if label.numel():
        low, high = int(label.min()), int(label.max())
        if low < 0 or high >= palette.shape[0]:
            raise ValueError(
                f"label ids must lie in 0..{palette.shape[0] - 1} to have a colour, got ids "
                f"from {low} to {high}"
            )
    colours = palette.to(device=label.device)[label.long().squeeze(-3)]  # (..., H, W, 3)
    return torch.movedim(colours, -1, -3).contiguous()
