"""Instance-level kinds: the feature encoder ``netE``, ``get_edges`` and ``encode_features``."""

from __future__ import annotations

from collections.abc import Collection

import torch
from torch import Tensor, nn

from ..._checks import check_image_batch, check_positive_int
from ...instance.boundary import InstanceBoundary
from ...instance.encoder import InstanceFeatureEncoder
from ...instance.ids import (
    as_int64_ids,
    check_instance_map,
    check_same_size,
    instance_to_class,
    key_segments,
)
from ._networks import global_generator_map
from ._options import check_width
from ._registry import Options, option, register_key_map, register_kind

# Defaults of the original's options (options/base_options.py); block_num is hard-coded there.
DEFAULTS = {
    "input_nc": 3,
    "feat_num": 3,
    "nef": 16,
    "n_downsample_E": 4,
    "norm": "instance",
    "label_nc": 35,
    "data_type": 32,
    "block_num": 32,
}
CLASS_DIVISOR = 1000


def _get(options: Options, name: str):
    return option(options, name, DEFAULTS[name])


def _check_block_num(instances: Tensor, block_num: int) -> Tensor:
    instances = check_instance_map(instances)
    if instances.shape[-2] * instances.shape[-1] < block_num:
        raise ValueError(
            f"H * W must be at least block_num={block_num} (the area is num / (H * W // "
            f"block_num)), got instances {tuple(instances.shape)}"
        )
    return instances


def pix2pixhd_instance_rows(
    features: Tensor,
    instances: Tensor,
    *,
    block_num: int = 32,
    label_nc: int | None = None,
) -> dict[int, Tensor]:
    """The original ``encode_features`` extraction, vectorised with one stable sort.

    For every id of the whole batch, in ascending order: its positions in row-major order over
    the (N, 1, H, W) map, ``num`` of them; the row is the features at position ``num // 2``
    followed by ``num / (H * W // block_num)`` (``num`` is not divided by N). Rows are grouped by
    label ``id if id < 1000 else id // 1000``, in ascending id order.

    Args:
        features: Pooled feature map (N, C, H, W).
        instances: Instance map (N, 1, H, W) or (N, H, W).
        block_num: The original's ``block_num`` (32).
        label_nc: When given, labels must be below it (the original raises KeyError otherwise).

    Returns:
        ``{label: float64 tensor (rows, C + 1)}`` for every label that has rows.

    Raises:
        ValueError: If the maps differ in size, a label is ``>= label_nc``, or ``H * W`` is below
            ``block_num`` (the original divides by zero).
    """
    check_image_batch(features, name="features")
    instances = _check_block_num(instances, block_num)
    check_same_size(features, instances)
    batch, channels, height, width = features.shape
    pixels = height * width
    ids, _, high = as_int64_ids(instances)
    segment_ids, counts, middle = key_segments(ids.reshape(-1), high + 1)
    values = features.reshape(batch, channels, pixels)[middle // pixels, :, middle % pixels]
    area = counts.to(torch.float64) / (pixels // block_num)
    rows = torch.cat([values.to(torch.float64), area.unsqueeze(1)], dim=1)
    labels = instance_to_class(segment_ids, CLASS_DIVISOR)
    if label_nc is not None and bool((labels >= label_nc).any()):
        bad = sorted(set(segment_ids[labels >= label_nc].tolist()))
        raise ValueError(
            f"instance ids {bad} have labels >= label_nc={label_nc} (label = id if id < "
            f"{CLASS_DIVISOR} else id // {CLASS_DIVISOR}); the original raises KeyError here"
        )
    labels, order = torch.sort(labels, stable=True)
    unique, sizes = torch.unique_consecutive(labels, return_counts=True)
    groups = rows[order].split(sizes.tolist())
    return dict(zip(unique.tolist(), groups, strict=True))


class EncodeFeatures(nn.Module):
    """The original ``Pix2PixHDModel.encode_features``: encode, then one row per instance id.

    Args:
        encoder: The feature encoder (``netE``).
        label_nc: Number of labels; ids whose label is not below it raise ValueError.
        block_num: The original's ``block_num``.

    Shape:
        - Input: image (N, C_in, H, W) and instances (N, 1, H, W)
        - Output: ``{label: float64 tensor (rows, feature_channels + 1)}``
    """

    def __init__(
        self, encoder: InstanceFeatureEncoder, *, label_nc: int = 35, block_num: int = 32
    ) -> None:
        super().__init__()
        if not isinstance(encoder, InstanceFeatureEncoder):
            raise TypeError(
                f"encoder must be an InstanceFeatureEncoder, got {type(encoder).__name__}"
            )
        self.encoder = encoder
        self.label_nc = check_positive_int("label_nc", label_nc, minimum=0)
        self.block_num = check_positive_int("block_num", block_num)

    def forward(self, image: Tensor, instances: Tensor) -> dict[int, Tensor]:
        _check_block_num(instances, self.block_num)
        features = self.encoder(image, instances)
        return pix2pixhd_instance_rows(
            features, instances, block_num=self.block_num, label_nc=self.label_nc
        )


@register_kind("encoder")
def build_encoder(options: Options) -> InstanceFeatureEncoder:
    check_width(("nef", _get(options, "nef")), ("n_downsample_E", _get(options, "n_downsample_E")))
    return InstanceFeatureEncoder(
        _get(options, "input_nc"),
        _get(options, "feat_num"),
        base_channels=_get(options, "nef"),
        num_downsamples=_get(options, "n_downsample_E"),
        norm=_get(options, "norm"),
    )


@register_kind("get_edges")
def build_get_edges(options: Options) -> InstanceBoundary:
    # The original returns edge.half() with --data_type 16 and edge.float() otherwise.
    return InstanceBoundary(
        dtype=torch.float16 if _get(options, "data_type") == 16 else torch.float32
    )


@register_kind("encode_features")
def build_encode_features(options: Options) -> EncodeFeatures:
    return EncodeFeatures(
        build_encoder(options),
        label_nc=_get(options, "label_nc"),
        block_num=_get(options, "block_num"),
    )


@register_key_map(InstanceFeatureEncoder)
def _encoder_keys(net: InstanceFeatureEncoder, _: Collection[str] | None) -> dict[str, str]:
    return global_generator_map(net)


@register_key_map(EncodeFeatures)
def _encode_features_keys(net: EncodeFeatures, _: Collection[str] | None) -> dict[str, str]:
    # The original's checkpoint of this step is netE's own state dict.
    return global_generator_map(net.encoder, "encoder")


@register_key_map(InstanceBoundary)
def _boundary_keys(net: InstanceBoundary, _: Collection[str] | None) -> dict[str, str]:
    return {}
