"""The fine detail of an image: what a 3x3 box blur removes."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def box_detail(x: Tensor) -> Tensor:
    """``|x - box3x3(x)|`` per channel of (N, C, H, W), borders replicated; same shape."""
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return (x - blurred).abs()
