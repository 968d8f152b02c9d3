"""Datasets for conditional image synthesis: Cityscapes, pix2pixHD folders, built-in scenes.

Every dataset yields dicts with ``label`` (int64 (1, H, W)), ``instance`` (int64 (1, H, W),
when available), ``image`` (float32 (C, H, W) in [-1, 1]) and ``path``; the image-to-image
layout yields ``input`` (float32 (C, H, W)) instead of ``label``. Reading files needs Pillow:
``pip install "condgan-blocks[recipe]"``; it is imported only when a file is read, and
[`SyntheticScenes`][condgan_blocks.data.SyntheticScenes] needs none.
"""

from ._pil import FileContentError
from ._scene_render import CAR_COLORS, PAVEMENT_RGB
from .cityscapes import CityscapesDataset
from .cityscapes_labels import (
    CITYSCAPES_LABELS,
    CITYSCAPES_NUM_CLASSES,
    CityscapesLabel,
    cityscapes_palette,
    cityscapes_thing_ids,
    cityscapes_train_ids,
)
from .colour_labels import labels_from_colours, read_palette
from .dataset_settings import DATA_KINDS, dataset_from_settings, palette_from_settings
from .folder_preparation import PreparedFolder, prepare_folder
from .instance_maps import instances_from_labels
from .label_colours import colorize
from .loader import SeededDataLoader, collate, first_batches, make_dataloader
from .paired_folder import PairedFolderDataset
from .synthetic_scenes import (
    SYNTHETIC_CLASSES,
    SyntheticClass,
    SyntheticScenes,
    shared_scene_cache,
)
from .transforms import (
    Compose,
    PadToMultiple,
    PairedTransform,
    RandomCrop,
    RandomHorizontalFlip,
    Resize,
    ScaleWidth,
    crop_sample,
    hflip_sample,
    pad_sample,
    resize_sample,
)
from .validation import DatasetError, Problem, ValidationReport

__all__ = [
    "CAR_COLORS",
    "CITYSCAPES_LABELS",
    "CITYSCAPES_NUM_CLASSES",
    "CityscapesDataset",
    "CityscapesLabel",
    "Compose",
    "DATA_KINDS",
    "DatasetError",
    "FileContentError",
    "PAVEMENT_RGB",
    "PadToMultiple",
    "PairedFolderDataset",
    "PairedTransform",
    "PreparedFolder",
    "Problem",
    "RandomCrop",
    "RandomHorizontalFlip",
    "Resize",
    "SYNTHETIC_CLASSES",
    "ScaleWidth",
    "SeededDataLoader",
    "SyntheticClass",
    "SyntheticScenes",
    "ValidationReport",
    "cityscapes_palette",
    "cityscapes_thing_ids",
    "cityscapes_train_ids",
    "collate",
    "colorize",
    "crop_sample",
    "dataset_from_settings",
    "first_batches",
    "hflip_sample",
    "instances_from_labels",
    "labels_from_colours",
    "make_dataloader",
    "pad_sample",
    "palette_from_settings",
    "prepare_folder",
    "read_palette",
    "resize_sample",
    "shared_scene_cache",
]
