"""Semantic editing: pure tensor helpers behind the paper's interactive manipulation.

Edits work on a pair of maps of the same size: a label map (one class per pixel) and an instance
map (one id per pixel), each of shape (N, 1, H, W) or (N, H, W). Every helper returns new
tensors with the shapes and dtypes of its inputs and never modifies them. An edit applies to
every image of the batch that holds the instance; slice the batch to edit one image.

After editing, [`Synthesizer`][condgan_blocks.synthesis.Synthesizer] generates the edited maps
(any size, with per-object styles from a feature bank), and
[`generator_input_from_labels`][condgan_blocks.synthesis.generator_input_from_labels] rebuilds
what the generator takes: one-hot labels, the boundary map and (optionally) a feature map.

Examples:
    >>> import torch
    >>> labels = torch.tensor([[[[7, 7, 26, 26]]]])
    >>> instances = torch.tensor([[[[7, 7, 26000, 26000]]]])
    >>> labels, instances = relabel_instance(labels, instances, 26000, 27, class_divisor=1000)
    >>> labels, instances
    (tensor([[[[ 7,  7, 27, 27]]]]), tensor([[[[    7,     7, 27000, 27000]]]]))
    >>> labels, instances = remove_instance(labels, instances, 27000, 7)
    >>> instances
    tensor([[[[7, 7, 7, 7]]]])
    >>> from condgan_blocks.synthesis import generator_input_from_labels
    >>> generator_input_from_labels(labels, 30, instances=instances).shape
    torch.Size([1, 31, 1, 4])
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from ._checks import check_positive_int
from .instance.ids import check_instance_map, check_same_size, instance_to_class

__all__ = [
    "generator_input",
    "new_instance_id",
    "paint_instance",
    "relabel_instance",
    "remove_instance",
]


def _check_pair(labels: Tensor, instances: Tensor) -> tuple[Tensor, Tensor]:
    labels_4d = check_instance_map(labels, name="labels")
    instances_4d = check_instance_map(instances)
    check_same_size(labels_4d, instances_4d, name="labels")
    return labels_4d, instances_4d


def _mask_of(instances: Tensor, instance_id: int) -> Tensor:
    mask = instances == instance_id
    if not bool(mask.any()):
        raise ValueError(
            f"instance id {instance_id} is not in the instance map of shape "
            f"{tuple(instances.shape)}"
        )
    return mask


def new_instance_id(
    instances: Tensor, class_id: int | None = None, *, class_divisor: int = 1000
) -> int:
    """An id that no pixel of the batch holds yet.

    Without ``class_id``: the largest id plus one. With it: the next id of the Cityscapes
    encoding ``class_id * class_divisor + k``, so that ``instance_to_class`` gives ``class_id``.

    Raises:
        ValueError: If ``class_id`` is 0 (its encoded ids would read as "stuff" classes) or all
            ``class_divisor`` ids of the class are taken.

    Examples:
        >>> import torch
        >>> instances = torch.tensor([[[[7, 26000, 26003]]]])
        >>> new_instance_id(instances), new_instance_id(instances, 26)
        (26004, 26004)
        >>> new_instance_id(instances, 24)
        24000
    """
    instances = check_instance_map(instances)
    if class_id is None:
        return int(instances.max()) + 1 if instances.numel() else 0
    check_positive_int("class_id", class_id, minimum=0)
    check_positive_int("class_divisor", class_divisor)
    if class_id < 1:
        raise ValueError(
            "class_id must be >= 1 to be encoded as class_id * class_divisor + k; "
            "class 0 ids would read as 'stuff' ids"
        )
    first = class_id * class_divisor
    taken = instances[(instances >= first) & (instances < first + class_divisor)]
    k = int(taken.max()) - first + 1 if taken.numel() else 0
    if k >= class_divisor:
        raise ValueError(f"all {class_divisor} instance ids of class {class_id} are taken")
    return first + k


def relabel_instance(
    labels: Tensor,
    instances: Tensor,
    instance_id: int,
    new_class: int,
    *,
    class_divisor: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Change the class of one instance.

    Args:
        labels: Label map (N, 1, H, W) or (N, H, W).
        instances: Instance map of the same size.
        instance_id: The instance to change.
        new_class: Its new class.
        class_divisor: When given, the instance also gets a new id encoding ``new_class``
            ([`new_instance_id`][condgan_blocks.editing.new_instance_id]), as Cityscapes ids do;
            otherwise its id is kept.

    Returns:
        ``(labels, instances)``, new tensors.

    Raises:
        ValueError: If ``instance_id`` is not in the map.

    Shape:
        - Input: ``labels`` and ``instances`` (N, 1, H, W) or (N, H, W).
        - Output: ``labels`` and ``instances`` in the input shapes.

    Examples:
        >>> import torch
        >>> labels = torch.tensor([[[0, 5, 5]]])
        >>> instances = torch.tensor([[[0, 5000, 5000]]])
        >>> relabel_instance(labels, instances, 5000, 6)
        (tensor([[[0, 6, 6]]]), tensor([[[   0, 5000, 5000]]]))
        >>> relabel_instance(labels, instances, 5000, 6, class_divisor=1000)[1]
        tensor([[[   0, 6000, 6000]]])
    """
    labels_4d, instances_4d = _check_pair(labels, instances)
    check_positive_int("instance_id", instance_id, minimum=0)
    check_positive_int("new_class", new_class, minimum=0)
    mask = _mask_of(instances_4d, instance_id)
    new_labels = torch.where(mask, new_class, labels_4d).view_as(labels)
    if class_divisor is None:
        return new_labels, instances.clone()
    if instance_to_class(instance_id, class_divisor) == new_class:
        return new_labels, instances.clone()
    new_id = new_instance_id(instances_4d, new_class, class_divisor=class_divisor)
    return new_labels, torch.where(mask, new_id, instances_4d).view_as(instances)


def paint_instance(
    labels: Tensor,
    instances: Tensor,
    mask: Tensor,
    new_class: int,
    *,
    instance_id: int | None = None,
    class_divisor: int | None = None,
) -> tuple[Tensor, Tensor, int]:
    """Paint a region with a class, as a new instance (the paper's "add an object").

    Args:
        labels: Label map (N, 1, H, W) or (N, H, W).
        instances: Instance map of the same size.
        mask: Boolean region, (H, W) for every image, or (N, H, W) / (N, 1, H, W).
        new_class: Class of the painted instance.
        instance_id: Its id; it must not be used outside ``mask``. By default a new id:
            [`new_instance_id`][condgan_blocks.editing.new_instance_id] with ``new_class`` when
            ``class_divisor`` is given, else the largest id plus one.
        class_divisor: The Cityscapes divisor used to pick the new id.

    Returns:
        ``(labels, instances, instance_id)``: new maps and the id given to the region.

    Raises:
        ValueError: If the mask has another size, selects no pixel, or ``instance_id`` is used
            outside it.

    Shape:
        - Input: ``labels`` and ``instances`` (N, 1, H, W) or (N, H, W); ``mask`` (H, W),
          (N, H, W) or (N, 1, H, W).
        - Output: ``labels`` and ``instances`` in the input shapes.

    Examples:
        >>> import torch
        >>> labels = torch.zeros(1, 1, 2, 3, dtype=torch.long)
        >>> instances = torch.zeros(1, 1, 2, 3, dtype=torch.long)
        >>> mask = torch.tensor([[False, True, True], [False, False, False]])
        >>> labels, instances, new_id = paint_instance(
        ...     labels, instances, mask, 5, class_divisor=1000
        ... )
        >>> new_id
        5000
        >>> labels[0, 0]
        tensor([[0, 5, 5],
                [0, 0, 0]])
    """
    labels_4d, instances_4d = _check_pair(labels, instances)
    check_positive_int("new_class", new_class, minimum=0)
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor, got {getattr(mask, 'dtype', type(mask))}")
    batch, _, height, width = instances_4d.shape
    shapes = {(height, width), (batch, height, width), (batch, 1, height, width)}
    if tuple(mask.shape) not in shapes:
        raise ValueError(
            f"mask must have shape (H, W), (N, H, W) or (N, 1, H, W) of instances "
            f"{tuple(instances_4d.shape)}, got {tuple(mask.shape)}"
        )
    mask_4d = mask.reshape(-1, 1, height, width).expand_as(instances_4d)
    if not bool(mask_4d.any()):
        raise ValueError("mask selects no pixel")
    if instance_id is None and class_divisor is None:
        instance_id = new_instance_id(instances_4d)
    elif instance_id is None:
        instance_id = new_instance_id(instances_4d, new_class, class_divisor=class_divisor)
    else:
        check_positive_int("instance_id", instance_id, minimum=0)
        if bool(((instances_4d == instance_id) & ~mask_4d).any()):
            raise ValueError(f"instance id {instance_id} is already used outside the mask")
    new_labels = torch.where(mask_4d, new_class, labels_4d).view_as(labels)
    new_instances = torch.where(mask_4d, instance_id, instances_4d).view_as(instances)
    return new_labels, new_instances, instance_id


def remove_instance(
    labels: Tensor,
    instances: Tensor,
    instance_id: int,
    background_class: int,
    *,
    background_id: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Remove an instance by filling it with a background class.

    Args:
        labels: Label map (N, 1, H, W) or (N, H, W).
        instances: Instance map of the same size.
        instance_id: The instance to remove.
        background_class: Class its pixels get, e.g. road.
        background_id: Id its pixels get; by default ``background_class`` itself, the id of a
            "stuff" region in the Cityscapes convention.

    Returns:
        ``(labels, instances)``, new tensors.

    Raises:
        ValueError: If ``instance_id`` is not in the map.

    Shape:
        - Input: ``labels`` and ``instances`` (N, 1, H, W) or (N, H, W).
        - Output: ``labels`` and ``instances`` in the input shapes.

    Examples:
        >>> import torch
        >>> labels = torch.tensor([[[3, 5, 5]]])
        >>> instances = torch.tensor([[[3, 5000, 5000]]])
        >>> remove_instance(labels, instances, 5000, 3)
        (tensor([[[3, 3, 3]]]), tensor([[[3, 3, 3]]]))
    """
    labels_4d, instances_4d = _check_pair(labels, instances)
    check_positive_int("instance_id", instance_id, minimum=0)
    check_positive_int("background_class", background_class, minimum=0)
    background_id = background_class if background_id is None else background_id
    check_positive_int("background_id", background_id, minimum=0)
    mask = _mask_of(instances_4d, instance_id)
    new_labels = torch.where(mask, background_class, labels_4d).view_as(labels)
    return new_labels, torch.where(mask, background_id, instances_4d).view_as(instances)


def generator_input(
    labels: Tensor,
    instances: Tensor | None,
    num_classes: int,
    features: Tensor | None = None,
    *,
    ignore_index: int | None = None,
) -> Tensor:
    """Rebuild the generator's input from (edited) maps, in the original's channel order.

    Deprecated: use
    [`generator_input_from_labels`][condgan_blocks.synthesis.generator_input_from_labels]
    (the same input, keyword arguments), or
    [`Synthesizer`][condgan_blocks.synthesis.Synthesizer] to generate maps of any size; this
    name goes in the next release.

    Args:
        labels: Label map (N, 1, H, W) or (N, H, W).
        instances: Instance map of the same size, or None to leave the boundary map out (the
            original's ``--no_instance``).
        num_classes: Number of label classes (``label_nc``).
        features: Optional feature map (N, C, H, W), e.g. from ``FeatureBank.feature_map``.
        ignore_index: Label whose pixels get an all-zero one-hot vector.

    Returns:
        ``cat([one_hot(labels), boundary(instances), features], dim=1)`` in the features' dtype
        (float32 without features).

    Shape:
        - Input: ``labels`` and ``instances`` (N, 1, H, W) or (N, H, W); ``features``
          (N, C, H, W).
        - Output: (N, num_classes + 1 + C, H, W), without the parts left out.

    Examples:
        >>> import torch, warnings
        >>> labels = torch.tensor([[[[0, 1], [1, 1]]]])
        >>> instances = torch.tensor([[[[0, 1000], [1000, 1000]]]])
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     x = generator_input(labels, instances, num_classes=2)
        >>> x.shape, caught[0].category.__name__
        (torch.Size([1, 3, 2, 2]), 'DeprecationWarning')
    """
    warnings.warn(
        "condgan_blocks.editing.generator_input is deprecated and will be removed in the next "
        "release; use condgan_blocks.synthesis.generator_input_from_labels(labels, num_classes, "
        "instances=..., features=...) or Synthesizer",
        DeprecationWarning,
        stacklevel=2,
    )
    from .synthesis import generator_input_from_labels

    return generator_input_from_labels(
        labels, num_classes, instances=instances, features=features, ignore_index=ignore_index
    )
