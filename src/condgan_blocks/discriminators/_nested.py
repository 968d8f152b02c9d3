"""Walk the nested outputs of the discriminators: a tensor, one list, or a list of lists.

A discriminator's output reaches the losses in one of three forms:

- a tensor: the prediction itself;
- a list of tensors: one
  [`NLayerDiscriminator`][condgan_blocks.discriminators.nlayer.NLayerDiscriminator]'s layer
  outputs, the last being the prediction;
- a list of lists of tensors: one such list per scale of a
  [`MultiscaleDiscriminator`][condgan_blocks.MultiscaleDiscriminator] (an inner list may hold the
  prediction alone).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor


def _describe(value: object) -> str:
    if isinstance(value, Tensor):
        return f"Tensor{tuple(value.shape)}"
    return type(value).__name__


def _check_tensor_list(value: object, name: str) -> list[Tensor]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(f"{name} must be a list of tensors, got {_describe(value)}")
    if len(value) == 0:
        raise ValueError(f"{name} must not be empty")
    for i, item in enumerate(value):
        if not isinstance(item, Tensor):
            raise TypeError(f"{name}[{i}] must be a tensor, got {_describe(item)}")
    return list(value)


def as_scales(outputs: object, name: str) -> list[list[Tensor]]:
    """Bring a discriminator output into the list-of-scales form.

    A tensor becomes ``[[tensor]]`` and a list of tensors ``[list]``; a list of lists is checked
    and returned as it is.

    Raises:
        TypeError: If ``outputs`` is not a tensor, a list of tensors or a list of such lists
            (a mix of tensors and lists included).
        ValueError: If a list is empty.
    """
    if isinstance(outputs, Tensor):
        return [[outputs]]
    if not isinstance(outputs, Sequence) or isinstance(outputs, str):
        raise TypeError(
            f"{name} must be a tensor, a list of tensors or a list of lists of tensors, "
            f"got {_describe(outputs)}"
        )
    if len(outputs) == 0:
        raise ValueError(f"{name} must not be empty")
    if all(isinstance(item, Tensor) for item in outputs):
        return [list(outputs)]
    if any(isinstance(item, Tensor) for item in outputs):
        raise TypeError(
            f"{name} mixes tensors and lists: {[_describe(item) for item in outputs]}; expected "
            "one discriminator's list of tensors or a list of such lists (one per scale)"
        )
    return [_check_tensor_list(scale, f"{name}[{k}]") for k, scale in enumerate(outputs)]


def final_predictions(outputs: object, name: str = "predictions") -> list[Tensor]:
    """The prediction of every scale: the last tensor of each scale's list."""
    return [scale[-1] for scale in as_scales(outputs, name)]
