"""Build small on-disk datasets, with Pillow directly, in the exact layouts and encodings.

Cityscapes: 8-bit ``*_gtFine_labelIds.png``, 16-bit ``*_gtFine_instanceIds.png`` (``id * 1000
+ k`` for things, the id for stuff), RGB ``*_leftImg8bit.png``, plus the colour and polygon
files of the real download (which the reader must ignore). pix2pixHD: ``<phase>_label`` /
``_inst`` / ``_img`` and ``<phase>_A`` / ``_B``. Each builder returns what it wrote, so tests
compare the reader's output with the exact arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

THING_IDS = (24, 26, 33)  # person, car, bicycle
STUFF_IDS = (7, 8, 11, 21, 23)  # road, sidewalk, building, vegetation, sky


def scene_arrays(rng: np.random.Generator, size: tuple[int, int]):
    """A label map (uint8, ids 0..33), its Cityscapes instance map (uint16) and an RGB image."""
    height, width = size
    label = rng.choice(np.array(STUFF_IDS, dtype=np.uint8), size=(height, width))
    instance = label.astype(np.uint16)
    for k in range(3):  # three thing blocks, two of the same class touching
        cls = THING_IDS[min(k, 2)] if k != 1 else THING_IDS[0]
        top, left = rng.integers(0, height // 2), k * (width // 4)
        block = (slice(top, top + height // 2), slice(left, left + width // 4))
        label[block] = cls
        instance[block] = cls * 1000 + k
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return label, instance, image


def save_label(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array.astype(np.uint8))
    assert image.mode == "L"
    image.save(path)


def save_instance(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array.astype(np.uint16))
    assert image.mode == "I;16"
    image.save(path)


def save_image(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def make_cityscapes(
    root: Path,
    split: str = "train",
    cities: dict[str, int] | None = None,
    size: tuple[int, int] = (16, 32),
    seed: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """Write a Cityscapes tree; returns ``{"<city>/<stem>": {"label", "instance", "image"}}``."""
    rng = np.random.default_rng(seed)
    written = {}
    for city, count in (cities or {"aachen": 2, "bochum": 1}).items():
        for frame in range(count):
            stem = f"{city}_{frame:06d}_000019"
            label, instance, image = scene_arrays(rng, size)
            gt = root / "gtFine" / split / city
            save_label(gt / f"{stem}_gtFine_labelIds.png", label)
            save_instance(gt / f"{stem}_gtFine_instanceIds.png", instance)
            save_image(gt / f"{stem}_gtFine_color.png", image)  # shipped, not read
            (gt / f"{stem}_gtFine_polygons.json").write_text("{}")
            save_image(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", image)
            written[f"{city}/{stem}"] = {"label": label, "instance": instance, "image": image}
    return written


def cityscapes_paths(root: Path, key: str, split: str = "train") -> dict[str, Path]:
    city, stem = key.split("/")
    gt = root / "gtFine" / split / city
    return {
        "label": gt / f"{stem}_gtFine_labelIds.png",
        "instance": gt / f"{stem}_gtFine_instanceIds.png",
        "image": root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png",
    }


def make_pix2pixhd(
    root: Path,
    phase: str = "train",
    names: tuple[str, ...] = ("a", "b", "c"),
    size: tuple[int, int] = (16, 32),
    *,
    instances: bool = True,
    images: bool = True,
    image_ext: str = ".png",
    seed: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """Write ``<phase>_label`` / ``_inst`` / ``_img``; returns ``{name: arrays}``."""
    rng = np.random.default_rng(seed)
    written = {}
    for name in names:
        label, instance, image = scene_arrays(rng, size)
        save_label(root / f"{phase}_label" / f"{name}.png", label)
        if instances:
            save_instance(root / f"{phase}_inst" / f"{name}.png", instance)
        if images:
            save_image(root / f"{phase}_img" / f"{name}{image_ext}", image)
        written[name] = {"label": label, "instance": instance, "image": image}
    return written


def make_image_pairs(
    root: Path,
    phase: str = "train",
    names: tuple[str, ...] = ("a", "b"),
    size: tuple[int, int] = (16, 32),
    *,
    mode_a: str = "L",
    mode_b: str = "RGB",
    seed: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """Write ``<phase>_A`` / ``_B`` images in the given Pillow modes; returns the arrays."""
    rng = np.random.default_rng(seed)
    written = {}
    for name in names:
        arrays = {}
        for side, mode in (("A", mode_a), ("B", mode_b)):
            channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "I;16": 1}[mode]
            dtype = np.uint16 if mode == "I;16" else np.uint8
            shape = size if channels == 1 else (*size, channels)
            array = rng.integers(0, np.iinfo(dtype).max + 1, size=shape, dtype=dtype)
            image = Image.fromarray(array)
            assert image.mode == mode, (image.mode, mode)
            path = root / f"{phase}_{side}" / f"{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            image.save(path)
            arrays[side] = array
        written[name] = arrays
    return written
