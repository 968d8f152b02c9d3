"""One-hot encoding of semantic label maps, with a clear error for out-of-range ids."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import check_positive_int
from .ids import as_int64_ids, check_instance_map


def _check_ignore_index(ignore_index: object) -> int | None:
    if ignore_index is not None and (
        isinstance(ignore_index, bool) or not isinstance(ignore_index, int)
    ):
        raise TypeError(f"ignore_index must be an int or None, got {ignore_index!r}")
    return ignore_index


def _check_dtype(dtype: object) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating dtype (a torch.dtype such as torch.float32), got {dtype!r}"
        )
    return dtype


def one_hot_labels(
    labels: Tensor,
    num_classes: int,
    *,
    ignore_index: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Turn an integer label map into a one-hot map, the generator's label input.

    The original (``scatter_`` on the GPU) dies with a device-side assert on an id outside
    ``[0, num_classes)``; here such ids raise a ValueError that names them and the images holding
    them. Checking costs one host round trip.

    Args:
        labels: Label map of shape (N, 1, H, W) or (N, H, W); integer dtype, or floating with
            integer values.
        num_classes: Number of classes K.
        ignore_index: A "don't care" id: its pixels get all zeros. It may lie inside or outside
            ``[0, num_classes)``.
        dtype: Floating dtype of the result.

    Returns:
        Tensor of shape (N, K, H, W), on the labels' device.

    Raises:
        TypeError: If ``dtype`` is not a floating ``torch.dtype``.
        ValueError: If an id (other than ``ignore_index``) lies outside ``[0, num_classes)``.

    Shape:
        - Input: (N, 1, H, W) or (N, H, W)
        - Output: (N, K, H, W)

    Examples:
        >>> import torch
        >>> one_hot_labels(torch.tensor([[[[0, 2, 255]]]]), 3, ignore_index=255)[0, :, 0]
        tensor([[1., 0., 0.],
                [0., 0., 0.],
                [0., 1., 0.]])
    """
    num_classes = check_positive_int("num_classes", num_classes)
    ignore_index = _check_ignore_index(ignore_index)
    dtype = _check_dtype(dtype)
    labels = check_instance_map(labels, name="labels")
    ids = labels.to(torch.int64)
    valid = torch.ones_like(ids, dtype=torch.bool) if ignore_index is None else ids != ignore_index
    if labels.is_floating_point():
        # Non-integer values are an error even at ignored pixels; as_int64_ids reports them.
        as_int64_ids(labels, name="labels")
    bad = valid & ((ids < 0) | (ids >= num_classes))
    if bool(bad.any()):
        images = bad.flatten(1).any(1).nonzero().squeeze(1).tolist()
        offending = ids[bad].unique().tolist()
        shown = offending[:10] + (["..."] if len(offending) > 10 else [])
        raise ValueError(
            f"labels must be in [0, {num_classes}) (num_classes={num_classes}), found ids "
            f"{shown} in batch index {images} of a map of shape {tuple(labels.shape)}"
        )
    index = torch.where(valid, ids, 0)
    out = labels.new_zeros((ids.shape[0], num_classes, *ids.shape[2:]), dtype=dtype)
    return out.scatter_(1, index, valid.to(dtype))


class OneHotLabels(nn.Module):
    """Module form of [`one_hot_labels`][condgan_blocks.instance.one_hot.one_hot_labels].

    Args:
        num_classes: Number of classes K.
        ignore_index: A "don't care" id whose pixels get all zeros.
        dtype: Floating dtype of the result.

    Raises:
        TypeError: If ``dtype`` is not a floating ``torch.dtype``.

    Shape:
        - Input: (N, 1, H, W) or (N, H, W)
        - Output: (N, K, H, W)

    Examples:
        >>> import torch
        >>> OneHotLabels(4)(torch.zeros(2, 1, 8, 8, dtype=torch.long)).shape
        torch.Size([2, 4, 8, 8])
    """

    def __init__(
        self,
        num_classes: int,
        *,
        ignore_index: int | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.ignore_index = _check_ignore_index(ignore_index)
        self.dtype = _check_dtype(dtype)

    def forward(self, labels: Tensor) -> Tensor:
        return one_hot_labels(
            labels, self.num_classes, ignore_index=self.ignore_index, dtype=self.dtype
        )

    def extra_repr(self) -> str:
        return f"{self.num_classes}, ignore_index={self.ignore_index}"
