"""The evaluation floor: label maps painted with the mean real colour of every class."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from einops import rearrange
from torch import Tensor

from .._checks import check_image_batch, check_positive_int


def mean_class_colours(
    samples: Iterable[Mapping[str, Any]], num_classes: int, *, ignore_index: int | None = None
) -> Tensor:
    """The mean real colour of every class over a set of samples.

    Args:
        samples: Dicts (dataset items or collated batches) with ``label`` (.., 1, H, W) integer
            ids and ``image`` (.., C, H, W).
        num_classes: Number of classes K.
        ignore_index: A label id to leave out.

    Returns:
        float64 tensor of shape (K, C) in the images' range; zeros for a class never seen.

    Examples:
        >>> label = torch.tensor([[[0, 1], [1, 1]]])
        >>> image = torch.stack([label[0].float(), torch.zeros(2, 2)])
        >>> mean_class_colours([{"label": label, "image": image}], 3)
        tensor([[0., 0.],
                [1., 0.],
                [0., 0.]], dtype=torch.float64)
    """
    check_positive_int("num_classes", num_classes)
    sums: Tensor | None = None
    counts = torch.zeros(num_classes, dtype=torch.float64)
    for sample in samples:
        label = sample["label"].reshape(-1).long()
        image = sample["image"]
        channels = image.shape[-3]
        pixels = rearrange(image, "... c h w -> (... h w) c").to("cpu", torch.float64)
        label = label.cpu()
        if label.numel() != pixels.shape[0]:
            raise ValueError(
                f"label and image sizes differ: label {tuple(sample['label'].shape)}, image "
                f"{tuple(image.shape)}"
            )
        keep = (label >= 0) & (label < num_classes)
        if ignore_index is not None:
            keep &= label != ignore_index
        if sums is None:
            sums = torch.zeros(num_classes, channels, dtype=torch.float64)
        sums.index_add_(0, label[keep], pixels[keep])
        counts += torch.bincount(label[keep], minlength=num_classes).to(torch.float64)
    if sums is None:
        raise ValueError("mean_class_colours needs at least one sample")
    return sums / counts.clamp_min(1)[:, None]


def flat_colour_image(label: Tensor, colours: Tensor) -> Tensor:
    """Paint every pixel with the colour of its class.

    Args:
        label: Integer class ids of shape (N, 1, H, W).
        colours: (K, C) colours, e.g. from
            [`mean_class_colours`][condgan_blocks.evaluation.mean_class_colours].

    Returns:
        Tensor of shape (N, C, H, W) with the dtype of ``colours`` as float32 on the label's
        device; ids outside ``0 .. K - 1`` (ignored pixels) are painted with zeros.

    Examples:
        >>> flat_colour_image(torch.tensor([[[[0, 1]]]]), torch.tensor([[0.5], [-1.0]]))
        tensor([[[[ 0.5000, -1.0000]]]])
    """
    check_image_batch(label, 1, name="label")
    if label.is_floating_point():
        raise TypeError(f"label must be an integer tensor, got dtype {label.dtype}")
    if colours.ndim != 2:
        raise ValueError(f"colours must have shape (K, C), got {tuple(colours.shape)}")
    num_classes = colours.shape[0]
    table = torch.cat([colours, colours.new_zeros(1, colours.shape[1])]).to(
        label.device, torch.float32
    )
    ids = label[:, 0].long()
    ids = torch.where((ids >= 0) & (ids < num_classes), ids, num_classes)
    return rearrange(table[ids], "n h w c -> n c h w").contiguous()


def masked_mean_colour(images: Tensor, mask: Tensor) -> Tensor:
    """The mean colour of every image inside a mask, e.g. one car.

    Args:
        images: (N, C, H, W) images.
        mask: Boolean (N, 1, H, W) or (1, 1, H, W) region; it must hold at least one pixel.

    Returns:
        float32 tensor of shape (N, C).

    Examples:
        >>> images = torch.arange(4.0).reshape(1, 1, 2, 2)
        >>> masked_mean_colour(images, torch.tensor([[[[True, False], [False, True]]]]))
        tensor([[1.5000]])
    """
    check_image_batch(images, name="images")
    if mask.dtype != torch.bool or mask.ndim != 4 or mask.shape[1] != 1:
        raise ValueError(f"mask must be a boolean (N, 1, H, W) tensor, got {mask!r:.80}")
    mask = mask.expand(images.shape[0], 1, *images.shape[-2:]).to(images.device)
    count = mask.sum(dim=(1, 2, 3))
    if bool((count == 0).any()):
        raise ValueError("mask must hold at least one pixel in every image")
    total = (images.float() * mask).sum(dim=(2, 3))
    return total / count[:, None]
