"""Brush strokes: the pixels a paint stroke covers."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor


def stroke_mask(points: Sequence[tuple[int, int]], radius: int, height: int, width: int) -> Tensor:
    """Bool (H, W) mask of discs of ``radius`` along a polyline through ``points``.

    A disc of radius r holds the pixels closer than r to its centre; the polyline is sampled at
    every pixel step, so the stroke has no gaps. Points may lie outside the image.

    Examples:
        >>> stroke_mask([(1, 1), (4, 1)], 2, 4, 7).int()
        tensor([[1, 1, 1, 1, 1, 1, 0],
                [1, 1, 1, 1, 1, 1, 0],
                [1, 1, 1, 1, 1, 1, 0],
                [0, 0, 0, 0, 0, 0, 0]], dtype=torch.int32)
    """
    centres = [tuple(points[0])]
    for (xa, ya), (xb, yb) in itertools.pairwise(points):
        steps = int(max(abs(xb - xa), abs(yb - ya), 1))
        for t in range(1, steps + 1):
            centres.append((round(xa + (xb - xa) * t / steps), round(ya + (yb - ya) * t / steps)))
    centre = torch.tensor(centres, dtype=torch.long).unique(dim=0)  # (P, 2) as (x, y)
    span = torch.arange(-radius + 1, radius)
    dy, dx = torch.meshgrid(span, span, indexing="ij")
    inside = dx**2 + dy**2 < radius**2
    offsets = torch.stack([dx[inside], dy[inside]], dim=1)  # (D, 2)
    mask = torch.zeros(height, width, dtype=torch.bool)
    for chunk in centre.split(max(1, 2**20 // len(offsets))):
        pixels = (chunk[:, None, :] + offsets[None]).reshape(-1, 2)
        keep = (pixels[:, 0] >= 0) & (pixels[:, 0] < width) & (pixels[:, 1] >= 0)
        keep &= pixels[:, 1] < height
        mask[pixels[keep, 1], pixels[keep, 0]] = True
    return mask
