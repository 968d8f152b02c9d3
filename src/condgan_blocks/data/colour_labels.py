"""Colour-coded label images back to class ids: a palette lookup on packed RGB values.

Many tools (and Cityscapes' ``*_gtFine_color.png``) store labels as colours. pix2pixHD needs
class ids, so each pixel's colour is looked up in a palette. The lookup packs every pixel's RGB
into one integer ``r << 16 | g << 8 | b`` and finds it among the sorted palette colours with
one ``numpy.searchsorted``: no Python loop per pixel or per class.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, Union

import numpy as np
import torch
from torch import Tensor

from .._files.json_file import read_json
from .cityscapes_labels import CITYSCAPES_NUM_CLASSES, cityscapes_palette
from .instance_maps import INSTANCE_DIVISOR

# What a ``palette`` argument may be; see labels_from_colours.
PaletteLike = Union[str, "os.PathLike[str]", Mapping[int, object], np.ndarray, Tensor, list, tuple]

BUILTIN_PALETTES = ("cityscapes",)
_MAX_PALETTE_FILE_BYTES = 1 << 20
_SHOWN_COLOURS = 5


class ColourTable(NamedTuple):
    """A palette ready for lookups (made by ``colour_table``).

    Attributes:
        keys: (K,) int64, the distinct packed colours ``r << 16 | g << 8 | b``, ascending.
        ids: (K,) int64, the class id of each colour (the smallest id where ids share a colour).
        num_classes: The label channels the palette implies: its largest id + 1 (35 for the
            built-in Cityscapes palette, as the reference recipe's ``label_nc``).
    """

    keys: np.ndarray
    ids: np.ndarray
    num_classes: int


def _colour(value: object, where: str) -> tuple[int, int, int]:
    """An (r, g, b) tuple from a sequence of three ints in 0..255 or a ``"#rrggbb"`` string."""
    if isinstance(value, str):
        text = value.removeprefix("#")
        if len(text) == 6:
            try:
                return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
            except ValueError:
                pass
        raise ValueError(f"{where}: a colour string must look like '#rrggbb', got {value!r}")
    if isinstance(value, (Tensor, np.ndarray)):
        value = value.tolist()
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 3
        or any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 255 for v in value)
    ):
        raise ValueError(
            f"{where}: a colour must be three ints in 0..255 (r, g, b) or '#rrggbb', got "
            f"{value!r:.60}"
        )
    return int(value[0]), int(value[1]), int(value[2])


def _class_id(value: object, where: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where}: class ids must be ints, got {type(value).__name__} {value!r}")
    if not 0 <= value < INSTANCE_DIVISOR:
        raise ValueError(
            f"{where}: class ids must lie in 0..{INSTANCE_DIVISOR - 1} (larger ids read as "
            f"instance ids), got {value}"
        )
    return value


def _palette_rows(palette: object, where: str) -> dict[int, tuple[int, int, int]]:
    if isinstance(palette, Mapping):
        return {
            _class_id(key, f"{where} key {key!r}"): _colour(value, f"{where}[{key!r}]")
            for key, value in palette.items()
        }
    if isinstance(palette, Tensor):
        palette = palette.detach().cpu().numpy()
    if isinstance(palette, np.ndarray):
        if palette.ndim != 2 or palette.shape[1] != 3 or palette.dtype.kind not in "iu":
            raise ValueError(
                f"{where}: a palette array must have shape (K, 3) and an integer dtype (row k "
                f"is the colour of class k), got shape {palette.shape} and dtype {palette.dtype}"
            )
        palette = palette.tolist()
    if isinstance(palette, (list, tuple)):
        if len(palette) > INSTANCE_DIVISOR:
            raise ValueError(
                f"{where}: a palette has at most {INSTANCE_DIVISOR} rows, got {len(palette)}"
            )
        return {k: _colour(row, f"{where} row {k}") for k, row in enumerate(palette)}
    raise TypeError(
        f"palette must be one of {BUILTIN_PALETTES}, a .json file, a mapping class id -> "
        f"(r, g, b), or a (K, 3) array or tensor; got {type(palette).__name__}"
    )


def read_palette(path: str | os.PathLike[str]) -> dict[int, tuple[int, int, int]]:
    """Read a palette from a JSON file.

    Two forms are read: an object of class id -> colour, ``{"7": [128, 64, 128], "26":
    "#00008e"}``, or a list of colours, ``[[0, 0, 0], [128, 64, 128]]``, row ``k`` for class
    ``k``. Colours are ``[r, g, b]`` ints in 0..255 or ``"#rrggbb"`` strings; class ids lie in
    0..999.

    Args:
        path: The ``.json`` file.

    Returns:
        A dict class id -> (r, g, b).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not JSON in one of the two forms (the message names the file
            and the bad entry), or is larger than 1 MiB.

    Examples:
        >>> import json, tempfile
        >>> from pathlib import Path
        >>> path = Path(tempfile.mkdtemp()) / "palette.json"
        >>> _ = path.write_text(json.dumps({"0": [0, 0, 0], "3": "#ff8000"}))
        >>> read_palette(path)
        {0: (0, 0, 0), 3: (255, 128, 0)}
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"palette file {path} does not exist (expected a .json file)")
    content = read_json(path, "palette file", max_bytes=_MAX_PALETTE_FILE_BYTES)
    if not isinstance(content, (dict, list)):
        raise ValueError(
            f'palette file {path} must hold an object {{"id": [r, g, b]}} or a list of '
            f"[r, g, b] rows, got {type(content).__name__}"
        )
    try:
        return _palette_rows(content, f"palette file {path}")
    except TypeError as error:
        raise ValueError(str(error)) from error


def colour_table(palette: PaletteLike) -> ColourTable:
    """Resolve a ``palette`` argument (see ``labels_from_colours``) once into a ``ColourTable``.

    Where several ids share a colour the smallest id wins: with the Cityscapes palette, black
    reads as 0 ("unlabeled", not "ego vehicle" .. "static") and grey (153, 153, 153) as 17
    ("pole", not "polegroup").
    """
    if isinstance(palette, str) and palette in BUILTIN_PALETTES:
        rows = {k: tuple(row) for k, row in enumerate(cityscapes_palette().tolist())}
        num_classes = CITYSCAPES_NUM_CLASSES
    elif isinstance(palette, (str, os.PathLike)):
        if Path(palette).suffix.lower() != ".json":
            raise ValueError(
                f"palette must be one of {BUILTIN_PALETTES} or a .json file, got {str(palette)!r}"
            )
        rows = read_palette(palette)
        num_classes = max(rows, default=-1) + 1
    else:
        rows = _palette_rows(palette, "palette")
        num_classes = max(rows, default=-1) + 1
    if not rows:
        raise ValueError("palette is empty: it must give at least one class a colour")
    ids = np.fromiter(rows, dtype=np.int64, count=len(rows))
    colours = np.array([rows[k] for k in rows], dtype=np.int64)
    keys = colours[:, 0] << 16 | colours[:, 1] << 8 | colours[:, 2]
    order = np.lexsort((ids, keys))  # by colour, then by id: the first of a colour is smallest
    keys, ids = keys[order], ids[order]
    first = np.ones(keys.shape, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return ColourTable(keys[first], ids[first], num_classes)


def lookup_colours(rgb: np.ndarray, table: ColourTable) -> np.ndarray:
    """Class ids (H, W) int64 of a uint8 (H, W, 3) image; a ValueError names unknown colours."""
    height, width, _ = rgb.shape
    flat = rgb.astype(np.int32).reshape(-1, 3)
    packed = flat[:, 0] << 16 | flat[:, 1] << 8 | flat[:, 2]
    position = np.minimum(np.searchsorted(table.keys, packed), table.keys.shape[0] - 1)
    known = table.keys[position] == packed
    if not known.all():
        raise ValueError(_unknown_colours_message(packed, known, width))
    return table.ids[position].reshape(height, width)


def _unknown_colours_message(packed: np.ndarray, known: np.ndarray, width: int) -> str:
    unknown = np.flatnonzero(~known)
    colours, first, counts = np.unique(packed[unknown], return_index=True, return_counts=True)
    by_first = np.argsort(first, kind="stable")[:_SHOWN_COLOURS]
    shown = []
    for index in by_first.tolist():
        key, pixel = int(colours[index]), int(unknown[first[index]])
        rgb = (key >> 16, key >> 8 & 255, key & 255)
        row, col = divmod(pixel, width)
        shown.append(f"{rgb} on {int(counts[index])} pixel(s), first at (row {row}, col {col})")
    more = len(colours) - len(shown)
    listed = "; ".join(shown) + (f"; and {more} more colour(s)" if more else "")
    return (
        f"{len(colours)} colour(s) (r, g, b) are not in the palette, on {unknown.size} of "
        f"{packed.size} pixels: {listed}. Anti-aliased edges and lossy formats (JPEG) make such "
        "colours: draw labels without smoothing and store them as PNG, or add the colours to "
        "the palette"
    )


def labels_from_colours(
    image: np.ndarray | Tensor, palette: PaletteLike = "cityscapes"
) -> np.ndarray | Tensor:
    """Turn a colour-coded label image into class ids by looking every colour up in a palette.

    The inverse of [`colorize`][condgan_blocks.data.label_colours.colorize] for palettes whose
    colours are distinct. Where several ids share a colour the smallest id wins: with the
    Cityscapes palette black reads as 0 ("unlabeled") and grey (153, 153, 153) as 17 ("pole").

    Args:
        image: uint8 colours: a numpy array (H, W, 3), or a tensor (3, H, W) or (H, W, 3)
            (a tensor whose first and last dimensions are both 3 is read as (3, H, W)).
        palette: ``"cityscapes"`` (the official colours of
            [`CITYSCAPES_LABELS`][condgan_blocks.data.CITYSCAPES_LABELS]); a ``.json`` file
            read by [`read_palette`][condgan_blocks.data.read_palette]; a mapping
            class id -> ``(r, g, b)`` or ``"#rrggbb"``; or a (K, 3) integer array or tensor whose
            row ``k`` is the colour of class ``k``. Class ids lie in 0..999.

    Returns:
        int64 class ids of shape (H, W): a numpy array for a numpy image, else a tensor on the
        image's device.

    Raises:
        TypeError: If ``image`` is not a uint8 numpy array or tensor, or ``palette`` is of an
            unknown kind.
        ValueError: On a bad shape or palette, or colours that are not in the palette: the
            message gives how many colours and pixels, and for the first few colours their
            value, pixel count and first pixel (row, col).

    Shape:
        - image: (H, W, 3) or (3, H, W)
        - Output: (H, W)

    Examples:
        >>> import numpy as np
        >>> road, car = (128, 64, 128), (0, 0, 142)
        >>> image = np.array([[road, car], [car, car]], dtype=np.uint8)
        >>> labels_from_colours(image)
        array([[ 7, 26],
               [26, 26]])
        >>> import torch
        >>> red_green = torch.tensor([[[255, 0]], [[0, 255]], [[0, 0]]], dtype=torch.uint8)
        >>> labels_from_colours(red_green, {1: (255, 0, 0), 2: "#00ff00"})  # (3, 1, 2) image
        tensor([[1, 2]])
        >>> try:
        ...     labels_from_colours(np.array([[road, (1, 2, 3)]], dtype=np.uint8))
        ... except ValueError as error:
        ...     print(str(error)[:80])
        1 colour(s) (r, g, b) are not in the palette, on 1 of 2 pixels: (1, 2, 3) on 1 p
    """
    table = colour_table(palette)
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise TypeError(f"image must be a uint8 array of colours, got dtype {image.dtype}")
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected a numpy colour image of shape (H, W, 3), got {image.shape}")
        return lookup_colours(image, table)
    if isinstance(image, Tensor):
        if image.dtype != torch.uint8:
            raise TypeError(f"image must be a uint8 tensor of colours, got dtype {image.dtype}")
        shape = tuple(image.shape)
        if image.ndim == 3 and shape[0] == 3:
            rgb = image.permute(1, 2, 0)
        elif image.ndim == 3 and shape[2] == 3:
            rgb = image
        else:
            raise ValueError(
                f"expected a colour image of shape (3, H, W) or (H, W, 3), got {shape}"
            )
        ids = lookup_colours(np.ascontiguousarray(rgb.detach().cpu().numpy()), table)
        return torch.from_numpy(ids).to(image.device)
    raise TypeError(f"image must be a numpy array or a torch tensor, got {type(image).__name__}")
