"""Instance-wise average pooling, the last layer of pix2pixHD's feature encoder."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import check_image_batch
from .ids import check_instance_map, check_same_size, id_table

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def instance_average_pool(features: Tensor, instances: Tensor) -> Tensor:
    """Replace every feature by the mean over its instance, per image and per channel.

    Vectorised, with no Python loop over instances, channels or the batch: every pixel gets a
    column of a per-image id table (`id_table`), one
    ``scatter_add`` sums the features per (image, channel, instance), one ``index_add`` counts the
    pixels and one ``gather`` writes the means back. Autograd differentiates through both, so the
    backward pass is vectorised too. The only host round trip reads the smallest and largest id
    (to check them and size the table); under ``torch.compile`` it is the one graph break, and
    every other shape is static. An id present in only some images of the batch is pooled in
    those images alone. float16 and bfloat16 features are summed in float32.

    Args:
        features: Feature map of shape (N, C, H, W), floating.
        instances: Instance map of shape (N, 1, H, W) or (N, H, W): non-negative integer ids, or
            floating with integer values.

    Returns:
        Tensor of shape (N, C, H, W) and the features' dtype, constant inside each instance.

    Raises:
        ValueError: If the maps differ in batch or spatial size, or ids are negative or not
            integers.

    Shape:
        - Input: (N, C, H, W) and (N, 1, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> features = torch.tensor([[[[1.0, 2.0, 3.0, 10.0]]]])
        >>> instance_average_pool(features, torch.tensor([[[[4, 4, 4, 90001]]]]))
        tensor([[[[ 2.,  2.,  2., 10.]]]])
    """
    check_image_batch(features, name="features")
    if not features.is_floating_point():
        raise TypeError(f"features must be a floating tensor, got dtype {features.dtype}")
    instances = check_instance_map(instances)
    check_same_size(features, instances)
    table = id_table(instances)
    batch, channels, height, width = features.shape
    num_columns = table.num_columns
    compute_dtype = torch.float32 if features.dtype in _LOW_PRECISION else features.dtype
    flat = features.reshape(batch, channels, height * width).to(compute_dtype)
    index = table.columns.unsqueeze(1).expand(batch, channels, height * width)
    sums = flat.new_zeros(batch, channels, num_columns).scatter_add(2, index, flat)
    counts = table.counts().unsqueeze(1).clamp_min(1).to(compute_dtype)
    pooled = (sums / counts).gather(2, index)
    return pooled.view(batch, channels, height, width).to(features.dtype)


class InstanceAveragePool(nn.Module):
    """Module form of
    [`instance_average_pool`][condgan_blocks.instance.pooling.instance_average_pool]; it holds no
    state.

    Shape:
        - Input: features (N, C, H, W) and instances (N, 1, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> pool = InstanceAveragePool()
        >>> out = pool(torch.randn(2, 3, 8, 8), torch.randint(0, 4, (2, 1, 8, 8)))
        >>> out.shape
        torch.Size([2, 3, 8, 8])
    """

    def forward(self, features: Tensor, instances: Tensor) -> Tensor:
        return instance_average_pool(features, instances)
