"""Turn a folder of colour-coded label images (and photos) into the pix2pixHD folder layout."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._checks import check_bool, check_optional_bool
from .._files.atomic import atomic_write
from ._file_dataset import IMAGE_EXTENSIONS, pair_records
from ._pil import INSTALL_HINT, FileContentError, _open, image_size, require_pil
from .cityscapes_labels import cityscapes_thing_ids
from .colour_labels import BUILTIN_PALETTES, PaletteLike, colour_table, lookup_colours
from .instance_maps import (
    INSTANCE_DIVISOR,
    check_connectivity,
    check_thing_classes,
    instances_from_labels,
)
from .paired_folder import sample_key
from .validation import DatasetError, Problem

_LOSSY_EXTENSIONS = (".jpeg", ".jpg", ".webp")
_PHASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_MAX_UINT16 = 2**16 - 1
_ROLES = ("label", "inst", "img")
_COLOUR_SUFFIX = "_gtFine_color"  # Cityscapes' colour labels, next to *_gtFine_labelIds.png


@dataclass(frozen=True)
class PreparedFolder:
    """What [`prepare_folder`][condgan_blocks.data.prepare_folder] wrote.

    Attributes:
        root: The dataset folder, for ``PairedFolderDataset(root, phase, ...)`` and the
            recipe's ``--data-root``.
        phase: The folder prefix: ``<root>/<phase>_label``, ``_inst`` and ``_img``.
        num_samples: Label maps written (one instance map each, and one image each when photos
            were given).
        num_classes: The ``label_nc`` to train with: the palette's largest id + 1 (35 for the
            Cityscapes palette, the reference recipe's ``label_nc``).
        thing_classes: The classes whose connected components became instances.
        with_images: Whether ``<phase>_img`` was written.

    Examples:
        >>> from pathlib import Path
        >>> PreparedFolder(Path("d"), "train", 2, 35, (26,), True).num_classes
        35
    """

    root: Path
    phase: str
    num_samples: int
    num_classes: int
    thing_classes: tuple[int, ...]
    with_images: bool


def _listing(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
    )


def _read_colours(path: Path) -> np.ndarray:
    """A colour label file as uint8 (H, W, 3); palette PNGs are expanded, opaque alpha dropped."""
    image = _open(path)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "RGBA":
        array = np.asarray(image)
        if (array[..., 3] != 255).any():
            raise FileContentError(
                path, "colour label has transparent pixels; every pixel needs a class colour"
            )
        return np.ascontiguousarray(array[..., :3])
    if image.mode != "RGB":
        raise FileContentError(
            path,
            f"a colour label must be an RGB (or palette) image, got Pillow mode {image.mode!r}; "
            "single-channel images already hold class ids: put them in <phase>_label as they are",
        )
    return np.asarray(image)


def _save_png(path: Path, array: np.ndarray) -> None:
    image_module = require_pil()
    with atomic_write(path) as file:
        image_module.fromarray(array).save(file, format="PNG")


def _copy(source: Path, target: Path) -> None:
    with open(source, "rb") as reader, atomic_write(target) as writer:
        shutil.copyfileobj(reader, writer)


def _progress(records: list, phase: str, progress: bool | None) -> Iterable:
    if progress is False:
        return records
    try:
        from tqdm.auto import tqdm
    except ImportError as error:
        if progress:
            raise ImportError(
                f"progress=True needs tqdm; install it with {INSTALL_HINT}"
            ) from error
        return records
    if progress is None and not sys.stderr.isatty():
        return records
    return tqdm(records, desc=f"prepare {phase}", unit="file")


def _check_things(thing_classes: object, palette: PaletteLike, table) -> tuple[int, ...]:
    if thing_classes is None:
        is_builtin = isinstance(palette, str) and palette in BUILTIN_PALETTES
        return cityscapes_thing_ids() if is_builtin else ()
    things = check_thing_classes(thing_classes)
    missing = sorted(set(things) - set(table.ids.tolist()))
    if missing:
        raise ValueError(
            f"thing classes {missing} have no colour in the palette (its ids: "
            f"{sorted(table.ids.tolist())}); pass class ids of the palette"
        )
    too_large = [c for c in things if c * INSTANCE_DIVISOR + INSTANCE_DIVISOR - 1 > _MAX_UINT16]
    if too_large:
        raise ValueError(
            f"thing classes {too_large} are too large for 16-bit instance PNGs: their ids "
            f"class * {INSTANCE_DIVISOR} + k pass {_MAX_UINT16}; thing classes must be at most "
            f"{(_MAX_UINT16 + 1) // INSTANCE_DIVISOR - 1}"
        )
    return things


def _occupied(folders: Iterable[Path]) -> list[Path]:
    return [f for f in folders if f.exists() and (not f.is_dir() or any(f.iterdir()))]


def prepare_folder(
    labels: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    images: str | os.PathLike[str] | None = None,
    phase: str = "train",
    palette: PaletteLike = "cityscapes",
    thing_classes: Iterable[int] | None = None,
    connectivity: int = 8,
    overwrite: bool = False,
    progress: bool | None = None,
) -> PreparedFolder:
    """Convert colour-coded label images (and their photos) into the pix2pixHD folder layout.

    Every colour label under ``labels`` becomes ``<output>/<phase>_label/<name>.png`` (class
    ids, 8-bit, or 16-bit when an id passes 255) and ``<output>/<phase>_inst/<name>.png``
    (16-bit instance ids from
    [`instances_from_labels`][condgan_blocks.data.instances_from_labels]: the
    connected components of the thing classes, ``class * 1000 + k``; other pixels keep their
    class id), which [`PairedFolderDataset`][condgan_blocks.data.PairedFolderDataset] and the
    recipe's ``folder`` preset read. Photos under ``images`` are copied unchanged to
    ``<output>/<phase>_img``. Files pair by their path under the folder without extension
    (``a/x.png`` with ``a/x.jpg``), as in the dataset.

    Files are paired before anything is converted; then every sample is converted into a
    temporary folder inside ``output``, and the folders are moved into place only once all of
    them converted, so a failure (which lists every bad file) leaves ``output`` as it was.
    Cityscapes' own ``*_gtFine_color.png`` files pair with their ``*_leftImg8bit.png`` photos.

    Args:
        labels: Folder of colour label images (PNG, BMP, TIFF; lossy JPEG and WebP are
            refused), searched recursively.
        output: The dataset folder to write (created).
        images: Optional folder of photos, one per label image, of the same size.
        phase: The folder prefix, e.g. "train" or "test" (the recipe validates on "test").
        palette: ``"cityscapes"``, a ``.json`` file, a mapping class id -> colour, or a (K, 3)
            array; see [`labels_from_colours`][condgan_blocks.data.labels_from_colours].
        thing_classes: Classes whose objects get instance ids (each in 1..64, with a colour in
            the palette); None: the Cityscapes thing classes (24..33) with the Cityscapes
            palette, none with any other palette. An empty list writes instance maps equal to
            the label maps.
        connectivity: 4 or 8, see ``instances_from_labels``.
        overwrite: Replace existing ``<phase>_label``, ``_inst`` and ``_img`` folders (the
            whole folders: an old ``_img`` goes even without ``images``). Without it a
            non-empty one is refused.
        progress: Show a tqdm progress bar: None shows one on a terminal when tqdm is
            installed, True requires tqdm.

    Returns:
        A [`PreparedFolder`][condgan_blocks.data.PreparedFolder] naming what was written.

    Raises:
        FileNotFoundError: If ``labels`` or ``images`` is not a folder, or ``labels`` holds no
            image file.
        FileExistsError: If an output folder exists and is not empty, without ``overwrite``.
        TypeError, ValueError: On bad arguments (phase, palette, thing classes, connectivity).
        DatasetError: If files do not pair up, are lossy, do not decode, hold colours that are
            not in the palette (named with their first pixel), differ in size from their photo,
            or hold more than 1000 objects of a class; every bad file is listed.

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> import numpy as np
        >>> from PIL import Image
        >>> source = Path(tempfile.mkdtemp())
        >>> road, car = (128, 64, 128), (0, 0, 142)
        >>> colours = np.array([[car, road, car], [road, road, road]], dtype=np.uint8)
        >>> Image.fromarray(colours).save(source / "street.png")
        >>> result = prepare_folder(source, source / "dataset")
        >>> result.num_samples, result.num_classes, sorted(p.name for p in result.root.iterdir())
        (1, 35, ['train_inst', 'train_label'])
        >>> np.asarray(Image.open(source / "dataset" / "train_inst" / "street.png")).tolist()
        [[26000, 7, 26001], [7, 7, 7]]
        >>> from condgan_blocks.data import PairedFolderDataset
        >>> PairedFolderDataset(source / "dataset", "train", label_nc=35, load_images=False)[0][
        ...     "label"].tolist()
        [[[26, 7, 26], [7, 7, 7]]]
    """
    labels_dir, output = Path(labels), Path(output)
    images_dir = None if images is None else Path(images)
    if not isinstance(phase, str) or not _PHASE.fullmatch(phase):
        raise ValueError(
            f"phase must be a folder prefix of letters, digits, '_' and '-' such as 'train' or "
            f"'test', got {phase!r}"
        )
    table = colour_table(palette)
    things = _check_things(thing_classes, palette, table)
    check_connectivity(connectivity)
    check_bool("overwrite", overwrite)
    check_optional_bool("progress", progress)
    for name, folder in (("labels", labels_dir), ("images", images_dir)):
        if folder is not None and not folder.is_dir():
            raise FileNotFoundError(f"{name} folder {folder} does not exist (or is not a folder)")
    if output.exists() and not output.is_dir():
        raise FileExistsError(f"output {output} exists and is not a folder")
    targets = {role: output / f"{phase}_{role}" for role in _ROLES}
    for name, folder in (("labels", labels_dir), ("images", images_dir)):
        inside = [t for t in targets.values() if folder is not None and _within(folder, t)]
        if inside:
            raise ValueError(
                f"{name} folder {folder} lies in the output folder {inside[0]}, which prepare "
                "replaces; write the dataset to another output"
            )
    occupied = _occupied(targets.values())
    if occupied and not overwrite:
        raise FileExistsError(
            f"{', '.join(map(str, occupied))} already exist and are not empty; pass "
            "overwrite=True (--overwrite) to replace them, or choose another output or phase"
        )

    label_files = _listing(labels_dir)
    if not label_files:
        raise FileNotFoundError(
            f"no image files in labels folder {labels_dir} (extensions: "
            f"{', '.join(IMAGE_EXTENSIONS)})"
        )
    folders = {"label": _roles_entry(labels_dir, label_files)}
    if images_dir is not None:
        folders["image"] = _roles_entry(images_dir, _listing(images_dir))
    records, problems = pair_records(folders, primary="label")
    problems += [
        Problem(
            str(path),
            "colour label stored in a lossy format, which alters colours along edges; "
            "store colour labels as PNG",
        )
        for path in label_files
        if path.suffix.lower() in _LOSSY_EXTENSIONS
    ]
    source = f"prepare_folder(labels={str(labels_dir)!r})"
    if problems:
        raise DatasetError(problems, source)

    created = not output.exists()
    output.mkdir(parents=True, exist_ok=True)
    staging = output / f".prepare-{phase}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        for record in _progress(records, phase, progress):
            key = _key(record["label"], labels_dir)
            try:
                _convert(record, key, staging, phase, table, things, connectivity)
            except FileContentError as error:
                problems.append(Problem(error.path, error.reason or "unreadable"))
        if problems:
            raise DatasetError(problems, source)
        for target in targets.values():
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            staged = staging / target.name
            if staged.is_dir():
                os.replace(staged, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                output.rmdir()  # only if still empty
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return PreparedFolder(
        root=output,
        phase=phase,
        num_samples=len(records),
        num_classes=table.num_classes,
        thing_classes=things,
        with_images=images_dir is not None,
    )


def _within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _key(path: Path, folder: Path) -> str:
    return sample_key(path, folder).removesuffix(_COLOUR_SUFFIX)


def _roles_entry(folder: Path, files: list[Path]):
    return (
        folder,
        files,
        lambda path: _key(path, folder),
        lambda key: f"a file {key}.<ext> in {folder}",
    )


def _convert(record, key, staging, phase, table, things, connectivity) -> None:
    """Write one sample's label, instance map and image under ``staging``."""
    label_path = record["label"]
    colours = _read_colours(label_path)
    try:
        label = lookup_colours(colours, table)
        instance = instances_from_labels(label, things, connectivity=connectivity)
    except ValueError as error:
        raise FileContentError(label_path, str(error)) from error
    if "image" in record:
        height, width = image_size(record["image"])
        if (height, width) != label.shape:
            raise FileContentError(
                record["image"],
                f"image is {height}x{width} (HxW) but its label {label_path} is "
                f"{label.shape[0]}x{label.shape[1]}; a label and its image must have one size",
            )
        suffix = record["image"].suffix.lower()
        _copy(record["image"], staging / f"{phase}_img" / f"{key}{suffix}")
    dtype = np.uint8 if label.max(initial=0) <= 255 else np.uint16
    _save_png(staging / f"{phase}_label" / f"{key}.png", label.astype(dtype))
    _save_png(staging / f"{phase}_inst" / f"{key}.png", instance.astype(np.uint16))
