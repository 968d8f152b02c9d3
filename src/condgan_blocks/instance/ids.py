"""Instance maps: the id conventions and the vectorised id bookkeeping the instance blocks share.

An instance map is an integer tensor of shape (N, 1, H, W) (or (N, H, W)) holding one
non-negative id per pixel. Ids are arbitrary: Cityscapes encodes "thing" instances as
``class_id * 1000 + k`` and "stuff" as the plain class id, so ids run up to about 34000 while an
image holds a few hundred of them.

The blocks never loop over ids in Python. They give every id a *column* of a small table
(`id_table`): the id itself when the largest id is small enough (below
``max(1024, H * W)``, so a table is never much larger than its map), else its rank among the
ids of the batch (``torch.unique``, which costs a sort). A pixel of image ``b`` then has the key
``b * num_columns + column``; sums, counts and look-ups per (image, instance) are one
``scatter_add``, ``index_add`` or ``gather`` over those keys.
"""

from __future__ import annotations

from typing import NamedTuple, overload

import torch
from torch import Tensor

# Ids below this bound (or below H * W, if larger) are used as columns directly; larger ids are
# compacted with torch.unique, which costs a sort. Cityscapes ids (< 34000) on a 512x1024 map
# take the direct path.
_DIRECT_COLUMNS = 1024


@overload
def instance_to_class(instances: int, divisor: int = 1000) -> int: ...
@overload
def instance_to_class(instances: Tensor, divisor: int = 1000) -> Tensor: ...
def instance_to_class(instances: int | Tensor, divisor: int = 1000) -> int | Tensor:
    """Map instance ids to class ids with the Cityscapes convention.

    An id below ``divisor`` is a "stuff" class id and maps to itself; a larger id encodes
    ``class_id * divisor + k`` and maps to ``id // divisor``. Datasets without that convention pass
    an explicit label map wherever a class is needed instead.

    Args:
        instances: An id, or a tensor of ids of any shape.
        divisor: The multiplier of the encoding.

    Returns:
        The class of every id, with the input's shape and dtype.

    Examples:
        >>> import torch
        >>> instance_to_class(torch.tensor([0, 7, 999, 24001, 26000]))
        tensor([  0,   7, 999,  24,  26])
        >>> instance_to_class(33)
        33
    """
    if isinstance(divisor, bool) or not isinstance(divisor, int) or divisor < 1:
        raise ValueError(f"divisor must be a positive int, got {divisor!r}")
    if isinstance(instances, Tensor):
        return torch.where(
            instances < divisor, instances, torch.div(instances, divisor, rounding_mode="floor")
        )
    if isinstance(instances, bool) or not isinstance(instances, int):
        raise TypeError(f"instances must be an int or a tensor, got {type(instances).__name__}")
    return instances if instances < divisor else instances // divisor


def check_instance_map(instances: object, *, name: str = "instances") -> Tensor:
    """Return ``instances`` as a (N, 1, H, W) view after checking its kind and shape.

    Only cheap facts are checked here (no host round trip): a tensor, of shape (N, 1, H, W) or
    (N, H, W), of an integer, bool or floating dtype. Values are checked by `id_table`.

    Raises:
        TypeError: If ``instances`` is not a tensor, or is complex.
        ValueError: If the shape is not (N, 1, H, W) or (N, H, W).
    """
    if not isinstance(instances, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(instances).__name__}")
    if instances.is_complex():
        raise TypeError(f"{name} must hold integer ids, got dtype {instances.dtype}")
    if instances.ndim == 3:
        instances = instances.unsqueeze(1)
    if instances.ndim != 4 or instances.shape[1] != 1:
        raise ValueError(
            f"expected {name} of shape (N, 1, H, W) or (N, H, W), got {tuple(instances.shape)}"
        )
    return instances


def check_same_size(features: Tensor, instances: Tensor, *, name: str = "features") -> None:
    """Raise a ValueError naming both shapes unless ``features`` and ``instances`` share N, H, W."""
    if features.shape[0] != instances.shape[0] or features.shape[-2:] != instances.shape[-2:]:
        raise ValueError(
            f"{name} and instances must have the same batch size and spatial size, got "
            f"{name} {tuple(features.shape)} and instances {tuple(instances.shape)}"
        )


def as_int64_ids(instances: Tensor, *, name: str = "instances") -> tuple[Tensor, int, int]:
    """Cast ids to int64 and return them with their minimum and maximum.

    This is the one host round trip of the instance blocks: the largest id sizes their tables.
    Floating maps must hold integer values; negative ids are refused.

    Returns:
        ``(ids, min_id, max_id)``; ids has the input's shape. For an empty map, ``(ids, 0, -1)``.

    Raises:
        ValueError: If a float map holds non-integer values (or NaN/inf) or an id is negative.
    """
    if instances.is_floating_point():
        ids = instances.to(torch.int64)
        bad = (ids != instances).sum()
    else:
        ids = instances.to(torch.int64)
        bad = ids.new_zeros(())
    if ids.numel() == 0:
        return ids, 0, -1
    low, high = torch.aminmax(ids)
    low, high, bad = torch.stack([low, high, bad.to(torch.int64)]).tolist()
    if bad:
        raise ValueError(
            f"{name} of dtype {instances.dtype} must hold integer values; {bad} pixel(s) of the "
            f"map of shape {tuple(instances.shape)} do not"
        )
    if low < 0:
        raise ValueError(
            f"{name} must be non-negative ids, found {low} in a map of shape "
            f"{tuple(instances.shape)}"
        )
    return ids, low, high


class IdTable(NamedTuple):
    """Every pixel's column in a per-image table of ids (see `id_table`).

    Attributes:
        columns: (N, H * W) int64, the column of each pixel, in ``[0, len(ids))``.
        ids: (T,) int64, ascending: the id held by each column. Columns of ids that occur in no
            image are allowed (the direct table holds every id up to the largest).
    """

    columns: Tensor
    ids: Tensor

    @property
    def num_columns(self) -> int:
        return self.ids.shape[0]

    def keys(self) -> Tensor:
        """(N * H * W,) int64: ``b * num_columns + column`` for every pixel, row-major."""
        batch = self.columns.shape[0]
        if batch == 1:
            return self.columns.reshape(-1)
        offsets = torch.arange(batch, device=self.columns.device) * self.num_columns
        return (self.columns + offsets[:, None]).reshape(-1)

    def counts(self, keys: Tensor | None = None) -> Tensor:
        """(N, T) int64: the number of pixels of each id in each image.

        Args:
            keys: `keys`, if the caller has them already.
        """
        batch = self.columns.shape[0]
        keys = self.keys() if keys is None else keys
        # index_add_ instead of bincount: as fast, and its output shape does not depend on data.
        counts = keys.new_zeros(batch * self.num_columns)
        counts.index_add_(0, keys, keys.new_ones(()).expand_as(keys))
        return counts.view(batch, self.num_columns)


def id_table(instances: Tensor, *, name: str = "instances") -> IdTable:
    """Give every pixel a column of a small per-image id table (one host round trip).

    When the largest id is below ``max(1024, H * W)`` the columns are the ids themselves, which
    costs nothing; otherwise the ids are ranked with ``torch.unique`` (a sort). Either way the
    N x T table is never much larger than the map.

    Args:
        instances: Instance map of shape (N, 1, H, W) or (N, H, W); integer dtype, or floating
            with integer values.

    Raises:
        ValueError: On non-integer or negative ids.

    Examples:
        >>> import torch
        >>> table = id_table(torch.tensor([[[[3, 3], [0, 5]]]]))
        >>> table.columns, table.num_columns
        (tensor([[3, 3, 0, 5]]), 6)
        >>> id_table(torch.tensor([[[[10**9, 0]]]])).ids
        tensor([         0, 1000000000])
    """
    instances = check_instance_map(instances, name=name)
    ids, _, high = as_int64_ids(instances, name=name)
    batch, _, height, width = ids.shape
    flat = ids.reshape(batch, height * width)
    if high + 1 <= max(_DIRECT_COLUMNS, height * width):
        return IdTable(flat, torch.arange(high + 1, device=ids.device))
    unique, inverse = torch.unique(flat, return_inverse=True)
    return IdTable(inverse, unique)


def key_segments(keys: Tensor, num_keys: int) -> tuple[Tensor, Tensor, Tensor]:
    """Group positions by key, as the original's ``(inst == id).nonzero()`` loop does.

    One stable sort replaces the loop: for every distinct key, in ascending order, it returns the
    number of positions holding it and the position the original reads, ``nonzero()[num // 2]``
    (the middle one in ascending position order; the upper middle when ``num`` is even).

    Args:
        keys: (P,) integer keys in ``[0, num_keys)``, one per position.
        num_keys: An upper bound of the keys; below ``2**31`` they are sorted as int32, which is
            about twice as fast.

    Returns:
        ``(segment_keys, counts, middle)``, each of shape (S,), int64.

    Examples:
        >>> import torch
        >>> key_segments(torch.tensor([5, 2, 5, 5, 2, 9]), 10)
        (tensor([2, 5, 9]), tensor([2, 3, 1]), tensor([4, 2, 5]))
    """
    keys = keys.reshape(-1)
    if keys.numel() == 0:
        empty = keys.new_zeros(0, dtype=torch.int64)
        return empty, empty, empty
    if num_keys <= 2**31 and keys.numel() < 2**31:
        keys = keys.to(torch.int32)
    sorted_keys, order = torch.sort(keys, stable=True)
    starts_mask = torch.ones_like(sorted_keys, dtype=torch.bool)
    starts_mask[1:] = sorted_keys[1:] != sorted_keys[:-1]
    starts = starts_mask.nonzero().squeeze(1)
    ends = torch.cat([starts[1:], starts.new_tensor([keys.numel()])])
    counts = ends - starts
    middle = order[starts + counts // 2]
    return sorted_keys[starts].to(torch.int64), counts, middle
