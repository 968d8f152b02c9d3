"""Datasets described by a settings dict: the ``data`` section of a recipe run or preset.

A settings dict names its kind and the few values that kind needs, so a whole run can be
described in JSON (see ``examples/presets/*.json``):

- ``{"kind": "synthetic", "size": [H, W], "num_train": N, "num_val": M[, "seed": 0][,
  "cache": false]}``: [`SyntheticScenes`][condgan_blocks.data.SyntheticScenes] (``"train"``
  has ``num_train`` scenes, every other split ``num_val``; ``cache`` keeps every drawn scene in
  memory).
- ``{"kind": "cityscapes", "root": DIR, ...}``:
  [`CityscapesDataset`][condgan_blocks.data.CityscapesDataset] of that split.
- ``{"kind": "folder", "root": DIR, "label_nc": K[, "test_phase": "test"], ...}``:
  [`PairedFolderDataset`][condgan_blocks.data.PairedFolderDataset], the original pix2pixHD
  layout; ``"train"`` reads the ``train_*`` folders, every other split the ``test_phase`` ones,
  and ``label_nc=0`` reads image-to-image ``_A`` / ``_B`` pairs.

Files on disk may be resized: ``width`` scales every sample to that width (the original's
``--loadSize`` with ``scale_width``), ``resize: [H, W]`` resizes to that size instead
(``resize_and_crop``); training samples (``train=True``) are then randomly cropped to ``crop``
(an int for a square, or ``[H, W]``; the original's ``--fineSize``) and flipped unless
``flip`` is false.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from .._checks import check_bool
from .cityscapes import CityscapesDataset
from .cityscapes_labels import cityscapes_palette
from .paired_folder import PairedFolderDataset
from .synthetic_scenes import SyntheticScenes
from .transforms import Compose, RandomCrop, RandomHorizontalFlip, Resize, ScaleWidth

DATA_KINDS = ("synthetic", "cityscapes", "folder")
"""The values of a settings dict's ``kind``."""


def _kind(data: object) -> str:
    if not isinstance(data, Mapping):
        raise TypeError(f"data settings must be a dict, got {type(data).__name__}")
    kind = data.get("kind")
    if kind not in DATA_KINDS:
        raise ValueError(f"data.kind must be one of {DATA_KINDS}, got {kind!r}")
    return kind


def _required(data: Mapping[str, Any], key: str) -> Any:
    if data.get(key) is None:
        raise ValueError(
            f"data settings of kind {data['kind']!r} need data.{key}; got the keys {sorted(data)}"
        )
    return data[key]


def _pair(value: Any) -> int | tuple[int, int]:
    return value if isinstance(value, int) else tuple(value)


def dataset_from_settings(data: Mapping[str, Any], split: str, *, train: bool = False) -> Dataset:
    """The dataset a settings dict describes, for one split.

    Args:
        data: The settings: ``kind`` and the keys that kind needs (see the module's text).
        split: ``"train"``, ``"val"`` or ``"test"`` (Cityscapes reads that split; synthetic
            scenes and folders tell only ``"train"`` from the rest).
        train: Training samples: apply the random ``crop`` and the horizontal flip (unless
            ``flip`` is false). Other samples are only resized.

    Returns:
        A dataset of sample dicts (``label``, ``instance``, ``image``, ``path``; ``input``
        instead of ``label`` for image-to-image folders).

    Raises:
        TypeError: ``data`` is not a dict, ``split`` not a string or ``train`` not a bool.
        ValueError: An unknown ``kind``, or a key the kind needs is missing.

    Examples:
        >>> data = {"kind": "synthetic", "size": [32, 64], "num_train": 6, "num_val": 2}
        >>> train, val = dataset_from_settings(data, "train"), dataset_from_settings(data, "val")
        >>> len(train), len(val), tuple(val[0]["label"].shape)
        (6, 2, (1, 32, 64))
        >>> dataset_from_settings({"kind": "coco"}, "train")
        Traceback (most recent call last):
        ...
        ValueError: data.kind must be one of ('synthetic', 'cityscapes', 'folder'), got 'coco'
    """
    kind = _kind(data)
    if not isinstance(split, str):
        raise TypeError(f"split must be a string such as 'train' or 'val', got {split!r}")
    check_bool("train", train)
    if kind == "synthetic":
        count = _required(data, "num_train" if split == "train" else "num_val")
        size = tuple(_required(data, "size"))
        seed, cache = data.get("seed", 0), data.get("cache", False)
        return SyntheticScenes(count, size=size, seed=seed, split=split, cache=cache)
    root = _required(data, "root")
    steps = [ScaleWidth(data["width"])] if data.get("width") else []
    if data.get("resize"):  # the original's resize_and_crop: resize to a fixed size
        steps = [Resize(tuple(data["resize"]))]
    if train and data.get("crop"):  # the original's fineSize: training samples only
        steps.append(RandomCrop(_pair(data["crop"])))
    if train and data.get("flip", True):
        steps.append(RandomHorizontalFlip())
    transform = Compose(steps) if steps else None
    if kind == "cityscapes":
        return CityscapesDataset(root, split, transform=transform)
    phase = "train" if split == "train" else data.get("test_phase", "test")
    label_nc = _required(data, "label_nc")
    return PairedFolderDataset(root, phase, label_nc=label_nc, transform=transform)


def palette_from_settings(data: Mapping[str, Any], num_classes: int) -> Tensor:
    """Colours to draw the label maps of a settings dict's dataset with.

    The synthetic scenes and Cityscapes have their own palettes; folder data gets
    ``num_classes`` random colours, the same on every call.

    Args:
        data: The settings (only ``kind`` is read).
        num_classes: The number of classes, for folder data.

    Returns:
        uint8 tensor (K, 3) of RGB colours, one row per class id.

    Examples:
        >>> palette_from_settings({"kind": "cityscapes"}, 35).shape
        torch.Size([35, 3])
        >>> folder = {"kind": "folder"}
        >>> torch.equal(palette_from_settings(folder, 4), palette_from_settings(folder, 4))
        True
    """
    kind = _kind(data)
    if kind == "synthetic":
        return SyntheticScenes.palette()
    if kind == "cityscapes":
        return cityscapes_palette()
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise ValueError(f"num_classes must be an int >= 0, got {num_classes!r}")
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (num_classes, 3), generator=generator, dtype=torch.uint8)
