"""How often the editor's random styles pick each cluster of a class."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor


def check_style_weights(
    weights: Mapping[int, Sequence[float]], num_styles: Mapping[int, int]
) -> dict[int, Tensor]:
    """``weights`` as float64 tensors, one per class, checked against ``num_styles``.

    Args:
        weights: ``{class: relative frequency of each cluster}``, e.g. a feature bank's
            populations; classes left out draw their clusters uniformly.
        num_styles: ``{class: number of clusters}``.

    Returns:
        ``{class: (num_styles[class],) float64 weights}``.

    Raises:
        TypeError: If ``weights`` is not a mapping or a weight not a real number.
        ValueError: For a class without styles, a wrong number of weights, a negative or
            non-finite weight, or weights that sum to 0.

    Examples:
        >>> check_style_weights({5: [3, 1]}, {5: 2})
        {5: tensor([3., 1.], dtype=torch.float64)}
        >>> check_style_weights({5: [3]}, {5: 2})
        Traceback (most recent call last):
        ...
        ValueError: style_weights[5] must hold 2 weights (one per cluster), got 1
    """
    if not isinstance(weights, Mapping):
        raise TypeError(f"style_weights must be a mapping of class to weights, got {weights!r:.60}")
    checked = {}
    for class_id, values in weights.items():
        name = f"style_weights[{class_id!r:.20}]"
        count = num_styles.get(class_id)
        if count is None:
            raise ValueError(f"{name}: class {class_id!r:.20} has no styles; those with: "
                             f"{sorted(num_styles)}")  # fmt: skip
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise TypeError(f"{name} must be a sequence of numbers, got {values!r:.60}")
        if len(values) != count:
            raise ValueError(
                f"{name} must hold {count} weights (one per cluster), got {len(values)}"
            )
        for value in values:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must hold numbers, got {value!r:.40}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must hold finite weights >= 0, got {value!r:.40}")
        if sum(values) <= 0:
            raise ValueError(f"{name} sums to 0: no cluster could be drawn")
        checked[int(class_id)] = torch.tensor([float(v) for v in values], dtype=torch.float64)
    return checked
