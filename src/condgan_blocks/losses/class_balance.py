"""A class-balanced L1 term: each pixel weighted by how rare its input class is in the batch."""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_number


def class_balance_weights(one_hot: Tensor, power: float) -> Tensor:
    """Per-pixel weights that give a class's pixels ``frequency ** -power`` of the weight.

    ``frequency`` is the share of the batch's pixels that carry the class in the input label
    map. The weights are scaled so that their mean over the labelled pixels is 1; pixels with
    no class (an all-zero one-hot vector, e.g. an ignored label) weigh 1. ``power=0`` gives
    all ones; ``power=1`` gives every class present the same total weight. The weights come
    from the generator's condition (the labels every training pair has), never from a
    segmenter of the outputs.

    Args:
        one_hot: One-hot labels (N, K, H, W), floating (a pixel's vector may be all zero).
        power: Exponent in [0, 1].

    Returns:
        Float32 weights (N, 1, H, W), no gradient.

    Raises:
        TypeError: If ``one_hot`` is not a floating tensor, or ``power`` not a real number.
        ValueError: If ``one_hot`` is not 4-D or ``power`` is outside [0, 1].

    Examples:
        >>> one_hot = torch.zeros(1, 2, 2, 4)
        >>> one_hot[:, 0, :, :3] = 1  # class 0: 6 of 8 pixels
        >>> one_hot[:, 1, :, 3:] = 1  # class 1: 2 of 8 pixels
        >>> class_balance_weights(one_hot, 1.0)[0, 0, 0]  # each class half the total weight
        tensor([0.6667, 0.6667, 0.6667, 2.0000])
        >>> bool(class_balance_weights(one_hot, 0.0).eq(1).all())
        True
    """
    return _weights(one_hot, _check(one_hot, power))


def _weights(one_hot: Tensor, power: float) -> Tensor:
    with torch.no_grad():
        one_hot = one_hot.detach().float()
        frequency = one_hot.mean((0, 2, 3))  # (K,): share of the batch's pixels
        present = frequency > 0
        per_class = torch.where(present, frequency.clamp_min(1e-12).pow(-power), 0.0)
        weights = (one_hot * per_class.view(1, -1, 1, 1)).sum(1, keepdim=True)
        labelled = one_hot.sum(1, keepdim=True).clamp(max=1.0)
        scale = weights.sum() / labelled.sum().clamp_min(1.0)
        return torch.where(labelled > 0, weights / scale.clamp_min(1e-12), 1.0)


def class_balanced_l1(fake: Tensor, real: Tensor, one_hot: Tensor, power: float) -> Tensor:
    """Mean absolute difference with each pixel weighted by
    [`class_balance_weights`][condgan_blocks.losses.class_balance.class_balance_weights].

    With ``power=0`` it is the plain L1 distance ``(fake - real).abs().mean()``. Rare classes
    (persons, sidewalks in street scenes) weigh more, so their colours and outlines are not
    traded for the large areas of road and sky.

    Args:
        fake: Generated images (N, C, H, W).
        real: Real images (N, C, H, W).
        one_hot: The input's one-hot labels (N, K, H, W).
        power: Exponent in [0, 1].

    Returns:
        A scalar in ``real``'s dtype.

    Raises:
        ValueError: If the shapes do not match (N, H, W), or as
            [`class_balance_weights`][condgan_blocks.losses.class_balance.class_balance_weights].

    Examples:
        >>> fake, real = torch.zeros(1, 3, 2, 4), torch.ones(1, 3, 2, 4)
        >>> one_hot = torch.zeros(1, 2, 2, 4)
        >>> one_hot[:, 0, :, :3], one_hot[:, 1, :, 3:] = 1, 1
        >>> float(class_balanced_l1(fake, real, one_hot, 0.5))  # weights average to 1
        1.0
    """
    power = _check(one_hot, power)
    if fake.shape != real.shape:
        raise ValueError(
            f"fake and real must have one shape, got {tuple(fake.shape)} and {tuple(real.shape)}"
        )
    if (one_hot.shape[0], *one_hot.shape[2:]) != (real.shape[0], *real.shape[2:]):
        raise ValueError(
            f"one_hot must be (N, K, H, W) with the images' N, H, W {tuple(real.shape)}, got "
            f"{tuple(one_hot.shape)}"
        )
    weights = _weights(one_hot, power).to(real.dtype)
    return (weights * (fake.to(real.dtype) - real).abs()).mean()


def _check(one_hot: Tensor, power: float) -> float:
    if not isinstance(one_hot, Tensor) or not one_hot.is_floating_point():
        kind = one_hot.dtype if isinstance(one_hot, Tensor) else type(one_hot).__name__
        raise TypeError(f"one_hot must be a floating tensor (N, K, H, W), got {kind}")
    if one_hot.dim() != 4:
        raise ValueError(f"one_hot must be (N, K, H, W), got shape {tuple(one_hot.shape)}")
    return check_balance_power("power", power)


def check_balance_power(name: str, power: object) -> float:
    """``power`` as a float if it is a real number in [0, 1], the range of a class balance."""
    power = check_number(name, power, minimum=0.0)
    if power > 1:
        raise ValueError(f"{name} must be in [0, 1], got {power}")
    return power
