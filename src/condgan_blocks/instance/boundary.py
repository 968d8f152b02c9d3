"""The instance boundary map that pix2pixHD feeds to its generator and discriminators."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .ids import check_instance_map


def _check_dtype(dtype: object) -> torch.dtype:
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {dtype!r}")
    return dtype


def instance_boundary(instances: Tensor, *, dtype: torch.dtype = torch.float32) -> Tensor:
    """Mark every pixel whose id differs from one of its 4 neighbours.

    The same map as the original's ``get_edges``: both pixels of a differing pair are marked,
    diagonal neighbours are ignored and there is no wrap-around. Integer ids are only compared
    for equality, so their map is computed on the device without a host round trip; a floating
    map costs one, to check that it holds finite integer values.

    Args:
        instances: Instance map of shape (N, 1, H, W) or (N, H, W): any integer dtype, or
            floating holding integer values.
        dtype: Dtype of the result (the original uses float32).

    Returns:
        Tensor of shape (N, 1, H, W) holding 0 and 1.

    Raises:
        ValueError: If a floating map holds NaN, inf or non-integer values, or the shape is
            not (N, 1, H, W) or (N, H, W).

    Shape:
        - Input: (N, 1, H, W) or (N, H, W)
        - Output: (N, 1, H, W)

    Examples:
        >>> import torch
        >>> instance_boundary(torch.tensor([[[1, 1, 2], [1, 1, 1]]]), dtype=torch.int64)
        tensor([[[[0, 1, 1],
                  [0, 0, 1]]]])
    """
    _check_dtype(dtype)
    instances = check_instance_map(instances)
    if instances.is_floating_point():
        # The one host round trip, for floating maps only: NaN differs from itself, so it would
        # mark a boundary around every NaN pixel instead of raising.
        valid = torch.isfinite(instances) & (instances == instances.trunc())
        if not bool(valid.all()):
            bad = int((~valid).sum())
            raise ValueError(
                f"a floating instance map must hold finite integer values; {bad} pixel(s) of "
                f"the map of shape {tuple(instances.shape)} (dtype {instances.dtype}) do not "
                "(NaN, inf or fractional ids)"
            )
    horizontal = instances[..., 1:] != instances[..., :-1]
    vertical = instances[..., 1:, :] != instances[..., :-1, :]
    edges = torch.zeros_like(instances, dtype=torch.bool)
    edges[..., 1:] |= horizontal
    edges[..., :-1] |= horizontal
    edges[..., 1:, :] |= vertical
    edges[..., :-1, :] |= vertical
    return edges.to(dtype)


class InstanceBoundary(nn.Module):
    """Module form of [`instance_boundary`][condgan_blocks.instance.boundary.instance_boundary]; it
    holds no state.

    Args:
        dtype: Dtype of the result.

    Shape:
        - Input: (N, 1, H, W) or (N, H, W)
        - Output: (N, 1, H, W)

    Examples:
        >>> import torch
        >>> InstanceBoundary()(torch.zeros(2, 1, 4, 4, dtype=torch.int32)).sum()
        tensor(0.)
    """

    def __init__(self, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.dtype = _check_dtype(dtype)

    def forward(self, instances: Tensor) -> Tensor:
        return instance_boundary(instances, dtype=self.dtype)

    def extra_repr(self) -> str:
        return f"dtype={self.dtype}"
