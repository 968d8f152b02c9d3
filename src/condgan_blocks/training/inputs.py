"""From a batch dict to the tensors a training step uses."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..instance.boundary import instance_boundary
from ..instance.one_hot import one_hot_labels


@dataclass
class StepInputs:
    """The tensors of one step, on the step's device and dtype.

    Attributes:
        condition: One-hot labels (or, for image-to-image training, the input image) and,
            when used, the instance boundary map, (N, K(+1), H, W): what both G and D are
            conditioned on (the original's ``input_label``).
        real: Real images (N, C, H, W) in [-1, 1].
        instances: Instance ids (N, 1, H, W) int64 for the encoder, else None.

    Shape:
        - condition: (N, K, H, W), or (N, K + 1, H, W) with the boundary map.
        - real: (N, C, H, W).
        - instances: (N, 1, H, W) or None.

    Examples:
        >>> inputs = StepInputs(torch.zeros(2, 8, 16, 16), torch.zeros(2, 3, 16, 16))
        >>> inputs.condition.shape, inputs.real.shape, inputs.instances is None
        (torch.Size([2, 8, 16, 16]), torch.Size([2, 3, 16, 16]), True)
    """

    condition: Tensor
    real: Tensor
    instances: Tensor | None = None


def condition_map(
    label: Tensor,
    num_classes: int,
    *,
    instance: Tensor | None = None,
    ignore_index: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """One-hot labels, followed by the instance boundary map when ``instance`` is given.

    With ``num_classes=0`` (image-to-image training, the original's ``--label_nc 0``)
    ``label`` is the input image itself, (N, C_in, H, W) floating: it is used as it is (in
    ``dtype``), with no one-hot encoding.

    Args:
        label: Class ids (N, 1, H, W), or with ``num_classes=0`` the input image
            (N, C_in, H, W).
        num_classes: Number of classes K; 0 for an input image.
        instance: Instance ids (N, 1, H, W), or None to leave the boundary map out.
        ignore_index: A label id that gets an all-zero one-hot vector (label maps only).
        dtype: Floating dtype of the result.

    Returns:
        Tensor of shape (N, K, H, W), or (N, K + 1, H, W) with ``instance``; with
        ``num_classes=0`` (N, C_in, H, W) or (N, C_in + 1, H, W).

    Raises:
        TypeError: If ``num_classes=0`` and ``label`` is not a floating tensor.
        ValueError: If ``num_classes`` is negative, or ``ignore_index`` is given with
            ``num_classes=0``.

    Examples:
        >>> label = torch.zeros(1, 1, 4, 4, dtype=torch.long)
        >>> instance = torch.arange(2).repeat_interleave(2).expand(1, 1, 4, 4)
        >>> condition_map(label, 3, instance=instance).shape
        torch.Size([1, 4, 4, 4])
        >>> image = torch.rand(1, 2, 4, 4) * 2 - 1  # image to image: used as it is
        >>> torch.equal(condition_map(image, 0), image)
        True
        >>> condition_map(image, 0, instance=instance).shape
        torch.Size([1, 3, 4, 4])
    """
    if num_classes == 0:
        if ignore_index is not None:
            raise ValueError(
                f"ignore_index is a label id; num_classes=0 (image input) has no labels, got "
                f"ignore_index={ignore_index}"
            )
        if not isinstance(label, Tensor) or not label.is_floating_point():
            kind = label.dtype if isinstance(label, Tensor) else type(label).__name__
            raise TypeError(
                f"with num_classes=0 the input must be a floating image (N, C_in, H, W) in "
                f"[-1, 1], got {kind}"
            )
        parts = [label.to(dtype)]
    else:
        parts = [one_hot_labels(label, num_classes, ignore_index=ignore_index, dtype=dtype)]
    if instance is not None:
        parts.append(instance_boundary(instance, dtype=dtype))
    return torch.cat(parts, 1)


def _with_features(condition: Tensor, features: Tensor | None) -> Tensor:
    """G's input: the condition, followed by the encoder's features when given (the one
    implementation, shared by the training step and `condgan_blocks.synthesis`)."""
    return condition if features is None else torch.cat([condition, features], 1)


def generator_input(condition: Tensor, features: Tensor | None = None) -> Tensor:
    """G's input: the condition, followed by the encoder's features when given.

    Deprecated: use
    [`generator_input_from_labels`][condgan_blocks.synthesis.generator_input_from_labels] to
    build G's input from maps, or [`Synthesizer`][condgan_blocks.synthesis.Synthesizer] to
    generate; this name goes in the next release.

    Args:
        condition: The condition map (N, K(+1), H, W).
        features: The encoder's features (N, F, H, W), or None.

    Returns:
        ``condition`` itself without features, else both concatenated along channels.

    Shape:
        - condition: (N, K', H, W).
        - features: (N, F, H, W).
        - Output: (N, K' + F, H, W), or (N, K', H, W) without features.

    Examples:
        >>> import warnings
        >>> condition = torch.zeros(1, 8, 4, 4)
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     x = generator_input(condition, torch.ones(1, 3, 4, 4))
        >>> x.shape, caught[0].category.__name__
        (torch.Size([1, 11, 4, 4]), 'DeprecationWarning')
    """
    warnings.warn(
        "condgan_blocks.training.generator_input is deprecated and will be removed in the next "
        "release; use condgan_blocks.synthesis.generator_input_from_labels (or Synthesizer)",
        DeprecationWarning,
        stacklevel=2,
    )
    return _with_features(condition, features)


# Images must lie in [-1, 1]; resampling (bicubic) may overshoot a little.
IMAGE_RANGE_MARGIN = 0.1


def _get(batch: Mapping[str, Any], key: str, why: str) -> Tensor:
    if key not in batch:
        raise ValueError(f"the batch has no {key!r} ({why}); it has {sorted(batch)}")
    value = batch[key]
    if not isinstance(value, Tensor) or value.ndim != 4:
        shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f"batch[{key!r}] must be a (N, C, H, W) tensor, got {shape}")
    return value


def _check_map(key: str, value: Tensor, what: str) -> None:
    if value.dtype == torch.bool or value.is_complex():
        raise TypeError(f"batch[{key!r}] must hold integer {what}, got dtype {value.dtype}")
    if value.shape[1] != 1:
        raise ValueError(
            f"batch[{key!r}] must be a (N, 1, H, W) map of {what}, got shape {tuple(value.shape)}"
        )


def _check_image(real: Tensor, image_channels: int, key: str = "image") -> None:
    if real.shape[1] != image_channels:
        raise ValueError(
            f"batch[{key!r}] has {real.shape[1]} channels, the config expects {image_channels}"
        )
    if not real.is_floating_point():
        hint = (
            " (scale uint8 images with image.float() / 127.5 - 1)"
            if real.dtype == torch.uint8
            else ""
        )
        raise TypeError(
            f"batch[{key!r}] must be a floating tensor with values in [-1, 1], got dtype "
            f"{real.dtype}{hint}"
        )
    if real.numel() == 0:
        raise ValueError(f"batch[{key!r}] is empty: shape {tuple(real.shape)}")
    # One pass and one read-out per batch (on the CPU for a DataLoader batch: no device sync).
    low, high = torch.stack(torch.aminmax(real.detach())).tolist()
    limit = 1 + IMAGE_RANGE_MARGIN
    if low < -limit or high > limit:  # NaN passes here: the loss check reports it
        hint = " (0..255 images: image / 127.5 - 1)" if high > 2 else ""
        raise ValueError(
            f"batch[{key!r}] values span [{low:g}, {high:g}]; expected images in [-1, 1] (up "
            f"to {IMAGE_RANGE_MARGIN:g} outside is allowed){hint}"
        )


def _check_sizes(label: Tensor, others: dict[str, Tensor | None], key: str = "label") -> None:
    for other, value in others.items():
        if value is not None and (
            value.shape[0] != label.shape[0] or value.shape[2:] != label.shape[2:]
        ):
            raise ValueError(
                f"batch[{other!r}] has shape {tuple(value.shape)} and batch[{key!r}] "
                f"{tuple(label.shape)}: their batch size N and size H, W must agree"
            )


def prepare_batch(
    batch: Mapping[str, Any],
    *,
    num_classes: int,
    image_channels: int = 3,
    input_channels: int | None = None,
    use_instances: bool = True,
    use_encoder: bool = False,
    ignore_index: int | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    channels_last: bool = False,
) -> StepInputs:
    """Move a collated batch to ``device`` and build the condition map.

    Args:
        batch: A dict with ``label`` (N, 1, H, W) int64 (with ``num_classes=0``: ``input``
            (N, C_in, H, W) in [-1, 1] instead), ``image`` (N, C, H, W) in [-1, 1] and, when
            instances or the encoder are used, ``instance`` (N, 1, H, W) int64.
        num_classes: Number of classes K; 0 conditions on ``batch["input"]`` itself
            (image-to-image training; see
            [`condition_map`][condgan_blocks.training.condition_map]).
        image_channels: Channels C the images must have.
        input_channels: Channels C_in the inputs must have with ``num_classes=0`` (None
            accepts any).
        use_instances: Append the instance boundary map to the condition.
        use_encoder: Keep the instance ids for the encoder.
        ignore_index: A label id that gets an all-zero one-hot vector.
        device: Where the step runs.
        dtype: Floating dtype of the condition and the images.
        channels_last: Use the channels-last memory format.

    Returns:
        A [`StepInputs`][condgan_blocks.training.StepInputs].

    Raises:
        ValueError: If a needed key is missing, a tensor is not 4-D, the label or instance map
            has more than one channel, the image (or input) has another number of channels,
            the tensors disagree in batch size or H, W, or the image's (or input's) values lie
            outside [-1, 1] (with a margin of 0.1; NaN is left to the loss check). All checked
            before anything moves to ``device``; the range with one pass over the image.
        TypeError: If the image (or input) is not floating point (a uint8 image in 0..255),
            or a map is bool.

    Examples:
        >>> from condgan_blocks.data import SyntheticScenes, collate
        >>> batch = collate([SyntheticScenes(1, size=(16, 32))[0]])
        >>> inputs = prepare_batch(batch, num_classes=7)
        >>> inputs.condition.shape, inputs.real.shape
        (torch.Size([1, 8, 16, 32]), torch.Size([1, 3, 16, 32]))

        Image to image (``num_classes=0``): the 1-channel input is the condition.

        >>> pair = {"input": torch.zeros(1, 1, 8, 8), "image": torch.zeros(1, 3, 8, 8)}
        >>> inputs = prepare_batch(pair, num_classes=0, input_channels=1, use_instances=False)
        >>> inputs.condition.shape
        torch.Size([1, 1, 8, 8])
    """
    device = torch.device(device)
    if num_classes == 0:
        key = "input"
        label = _get(batch, "input", "the input image of image-to-image training")
    else:
        key = "label"
        label = _get(batch, "label", "the semantic label map")
        _check_map("label", label, "class ids")
    real = _get(batch, "image", "the real image")
    instance = None
    if use_instances or use_encoder:
        why = "use_instances=True" if use_instances else "the encoder pools over instances"
        instance = _get(batch, "instance", why)
        _check_map("instance", instance, "instance ids")
    _check_sizes(label, {"image": real, "instance": instance}, key)
    _check_image(real, image_channels)
    if num_classes == 0:
        _check_image(label, label.shape[1] if input_channels is None else input_channels, key)
    label = label.to(device, non_blocking=True)
    real = real.to(device, dtype, non_blocking=True)
    if instance is not None:
        instance = instance.to(device, non_blocking=True)
    condition = condition_map(
        label,
        num_classes,
        instance=instance if use_instances else None,
        ignore_index=ignore_index,
        dtype=dtype,
    )
    if channels_last:
        condition = condition.contiguous(memory_format=torch.channels_last)
        real = real.contiguous(memory_format=torch.channels_last)
    return StepInputs(condition, real, instance if use_encoder else None)
