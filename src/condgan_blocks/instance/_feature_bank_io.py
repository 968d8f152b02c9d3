"""File formats of ``FeatureBank``: its own npz file and the original's npy.

The bank's file is a NumPy ``.npz`` archive (uncompressed zip of ``.npy`` arrays) written with
plain arrays only and read with ``allow_pickle=False``, so loading never runs code:

============================  ===========  ====================================================
name                          dtype        content
============================  ===========  ====================================================
``format``                    str          ``"condgan_blocks.FeatureBank"``
``format_version``            int64, ()    ``2`` (``1`` files, without populations, still load)
``feature_channels``          int64, ()    C
``class_divisor``             int64, ()    the Cityscapes id divisor (1000)
``center_classes``            int64, (K,)  classes with centres, strictly ascending
``center_counts``             int64, (K,)  number of centres of each class, >= 1
``centers``                   float32      (sum of counts, C): the centres, class after class
``center_populations``        int64        (sum of counts,) instances nearest each centre, >= 0,
                                           each class's sum >= 1; or (0,): unknown (version 2)
``record_classes``            int64, (M,)  class of every recorded instance
``record_features``           float32      (M, C): its feature vector
``record_pixels``             int64, (M,)  its number of pixels
``record_image_pixels``       int64, (M,)  H * W of its image
============================  ===========  ====================================================

It is written to a temporary file in the destination folder, then moved over the destination
with ``os.replace``, so readers never see a half-written file.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Mapping

import numpy as np

from .._files.archive import check_input_file, fail, open_zip, verify_members
from .._files.atomic import atomic_write

FORMAT = "condgan_blocks.FeatureBank"
FORMAT_VERSION = 2
_ADDED_IN_VERSION_2 = frozenset({"center_populations"})
_WHAT = "FeatureBank file"
_SUFFIX = ".npy"
_MAX_ITEMSIZE = 4 * len(FORMAT)  # the longest dtype of the schema: the marker string

# name -> (dtype kind the stored array must have, the dtype it is read as, number of dims)
_SCHEMA: dict[str, tuple[str, type, int]] = {
    "format": ("U", np.str_, 0),
    "format_version": ("iu", np.int64, 0),
    "feature_channels": ("iu", np.int64, 0),
    "class_divisor": ("iu", np.int64, 0),
    "center_classes": ("iu", np.int64, 1),
    "center_counts": ("iu", np.int64, 1),
    "centers": ("f", np.float32, 2),
    "center_populations": ("iu", np.int64, 1),
    "record_classes": ("iu", np.int64, 1),
    "record_features": ("f", np.float32, 2),
    "record_pixels": ("iu", np.int64, 1),
    "record_image_pixels": ("iu", np.int64, 1),
}


def write_bank_file(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` (the schema above, without ``format``/``format_version``) atomically."""
    path = os.fspath(path)
    payload = {"format": np.array(FORMAT), "format_version": np.array(FORMAT_VERSION)}
    payload.update(arrays)
    missing = set(_SCHEMA) - set(payload)
    if missing:
        raise ValueError(f"internal error: FeatureBank arrays {sorted(missing)} are missing")
    with atomic_write(path) as file:
        np.savez(file, **payload)


def _fail(path: str, reason: str) -> ValueError:
    return fail(path, _WHAT, reason)


def read_bank_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read and validate a bank file; every array comes back with the schema's dtype.

    Nothing is decompressed or allocated before the file is known to fit the schema: the zip's
    central directory is checked first (member names, sizes, compression ratio), then the
    ``.npy`` header of every member (dtype, shape, and that the declared size is exactly the
    member's size), then the shapes against each other and against ``feature_channels``. Only
    then are the CRC32 checksums verified and the arrays read, with ``allow_pickle=False``.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not an npz archive of this format, is corrupt or truncated,
            or its arrays are missing, have other dtypes or shapes, or contradict each other.
    """
    checked = check_input_file(path, _WHAT)
    path = os.fspath(path)
    with open_zip(checked, _WHAT) as (archive, members):
        infos = {info.filename.removesuffix(_SUFFIX): info for info in members}
        if "format" not in infos or _read_member(path, archive, infos["format"]) != FORMAT:
            raise _fail(path, f"it has no format marker {FORMAT!r}")
        if "format_version" not in infos:
            raise _fail(path, "it has no format_version")
        version = int(_read_member(path, archive, infos["format_version"]))
        if version not in (1, FORMAT_VERSION):
            raise _fail(
                path, f"format_version {version}, this library reads 1 and {FORMAT_VERSION}"
            )
        schema = {n: v for n, v in _SCHEMA.items() if version > 1 or n not in _ADDED_IN_VERSION_2}
        names = set(infos)
        if names != set(schema) or any(not info.filename.endswith(_SUFFIX) for info in members):
            raise _fail(
                path,
                f"missing arrays {sorted(set(schema) - names)}, unexpected arrays "
                f"{sorted(names - set(schema))}",
            )
        shapes = {name: _read_header(path, archive, infos[name])[0] for name in schema}
        shapes.setdefault("center_populations", (0,))
        _check_shapes(path, shapes)
        channels = int(_read_member(path, archive, infos["feature_channels"]))
        if shapes["centers"][1] != channels:
            raise _fail(
                path,
                f"centers and record_features have {shapes['centers'][1]} columns, "
                f"feature_channels says {channels}",
            )
        verify_members(checked, _WHAT, archive, members)
        raw = {name: _read_member(path, archive, infos[name]) for name in schema}

    raw.setdefault("center_populations", np.zeros(0, dtype=np.int64))  # version 1: unknown
    arrays = {name: raw[name].astype(dtype) for name, (_, dtype, _) in _SCHEMA.items()}
    _check_contents(path, arrays)
    return arrays


def _read_header(
    path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo
) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and header length of a member, checked against the schema and its size."""
    name = info.filename.removesuffix(_SUFFIX)
    kinds, _, ndim = _SCHEMA[name]
    with archive.open(info) as stream:
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise ValueError(f".npy format version {version} is not 1.0 or 2.0")
        except zipfile.BadZipFile as error:  # small members are read whole: CRC checked
            raise _fail(path, f"member {info.filename!r} is damaged ({error})") from None
        except (ValueError, EOFError, OSError) as error:
            raise _fail(
                path, f"member {info.filename!r} has no valid .npy header ({error})"
            ) from None
        offset = stream.tell()
    if dtype.hasobject:
        raise _fail(
            path,
            f"{name!r} has dtype {dtype}, which numpy reads only by unpickling; expected a "
            f"{ndim}-d array of kind {kinds!r}",
        )
    if dtype.kind not in kinds or len(shape) != ndim or dtype.itemsize > _MAX_ITEMSIZE:
        raise _fail(
            path,
            f"{name!r} has dtype {dtype} and shape {shape}, expected a {ndim}-d array of kind "
            f"{kinds!r}",
        )
    size = math.prod(shape) * dtype.itemsize
    if any(n < 0 for n in shape) or offset + size != info.file_size:
        raise _fail(
            path,
            f"{name!r} declares shape {shape} of {dtype} ({size} bytes after a {offset}-byte "
            f"header), but its member holds {info.file_size} bytes",
        )
    return shape, dtype, offset


def _check_shapes(path: str, shapes: dict[str, tuple[int, ...]]) -> None:
    """The shapes the headers declare must agree before any data is read."""
    if shapes["center_classes"] != shapes["center_counts"]:
        raise _fail(
            path,
            f"center_classes {shapes['center_classes']} and center_counts "
            f"{shapes['center_counts']} differ",
        )
    if shapes["center_populations"][0] not in (0, shapes["centers"][0]):
        raise _fail(
            path,
            f"center_populations {shapes['center_populations']} must be empty or as long as "
            f"centers {shapes['centers']}",
        )
    if shapes["centers"][1] != shapes["record_features"][1]:
        raise _fail(
            path,
            f"centers {shapes['centers']} and record_features {shapes['record_features']} "
            "have different numbers of columns",
        )
    lengths = {name: shapes[name][0] for name in _SCHEMA if name.startswith("record_")}
    if len(set(lengths.values())) != 1:
        raise _fail(path, f"record arrays have different lengths {lengths}")


def _read_member(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """The member's array, read after its header was checked (``allow_pickle=False``)."""
    _read_header(path, archive, info)
    try:
        with archive.open(info) as stream:
            return np.lib.format.read_array(stream, allow_pickle=False)
    except zipfile.BadZipFile as error:
        raise _fail(path, f"member {info.filename!r} is damaged ({error})") from None
    except (ValueError, EOFError, OSError) as error:
        raise _fail(path, f"member {info.filename!r} is corrupt or truncated ({error})") from None


def _check_contents(path: str, a: dict[str, np.ndarray]) -> None:
    channels = int(a["feature_channels"])
    if channels < 1 or int(a["class_divisor"]) < 1:
        raise _fail(
            path,
            f"feature_channels {channels} and class_divisor {int(a['class_divisor'])} must be >= 1",
        )
    classes, counts, centers = a["center_classes"], a["center_counts"], a["centers"]
    if classes.shape != counts.shape:
        raise _fail(path, f"center_classes {classes.shape} and center_counts {counts.shape} differ")
    if classes.size and (classes.min() < 0 or np.any(np.diff(classes) <= 0)):
        raise _fail(path, "center_classes must be non-negative and strictly ascending")
    if counts.size and counts.min() < 1:
        raise _fail(path, "every class in center_classes needs at least one centre")
    if centers.shape != (int(counts.sum()), channels):
        raise _fail(
            path,
            f"centers has shape {centers.shape}, expected ({int(counts.sum())}, {channels}) "
            "from center_counts and feature_channels",
        )
    populations = a["center_populations"]
    if populations.size:
        if populations.min() < 0:  # its length was checked against centers' in the headers
            raise _fail(path, "center_populations must be empty or one count >= 0 per centre")
        starts = np.cumsum(counts) - counts
        if np.add.reduceat(populations, starts).min() < 1:
            raise _fail(path, "the center_populations of every class must sum to at least 1")
    num = a["record_classes"].shape[0]
    shapes = {name: a[name].shape for name in _SCHEMA if name.startswith("record_")}
    expected = {name: (num, channels) if name == "record_features" else (num,) for name in shapes}
    if shapes != expected:
        raise _fail(path, f"record arrays have shapes {shapes}, expected {expected}")
    if num and (
        a["record_classes"].min() < 0
        or a["record_pixels"].min() < 1
        or np.any(a["record_pixels"] > a["record_image_pixels"])
    ):
        raise _fail(path, "record classes must be >= 0 and pixel counts in [1, image pixels]")
    if not (np.isfinite(centers).all() and np.isfinite(a["record_features"]).all()):
        raise _fail(path, "centers and record features must be finite")


def read_pix2pixhd_npy(path: str | os.PathLike, *, allow_pickle: bool) -> dict[int, np.ndarray]:
    """Read the original's ``features_clustered_*.npy``: ``{label: (k, C) centres}``.

    The original saved that dict with ``np.save``, which pickles it; unpickling runs whatever code
    the file names, so it is refused unless ``allow_pickle`` is True.
    """
    path = os.fspath(path)
    if not allow_pickle:
        raise ValueError(
            f"{path}: the original pix2pixHD saved its cluster centres as a pickled dict "
            "(np.save of a Python object), and unpickling can run arbitrary code. Pass "
            "allow_pickle=True only for a file you trust, then save() the bank to the safe npz "
            "format and use FeatureBank.load() from then on"
        )
    if not os.path.exists(path):
        raise FileNotFoundError(f"no file at {path}")
    try:
        content = np.load(path, allow_pickle=True, encoding="latin1")
    except (OSError, EOFError, ValueError) as error:
        raise ValueError(f"{path} is not a readable .npy file: {error}") from error
    if isinstance(content, np.ndarray) and content.dtype == object and content.shape == ():
        content = content.item()
    if not isinstance(content, dict):
        raise ValueError(
            f"{path} holds a {type(content).__name__}, expected the original's dict "
            "{label: cluster centres}"
        )
    centers: dict[int, np.ndarray] = {}
    for label, value in content.items():
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)):
            raise ValueError(f"{path}: labels must be ints, got {label!r}")
        array = np.asarray(value)
        if array.ndim != 2 or array.shape[0] < 1 or array.dtype.kind not in "fiu":
            raise ValueError(
                f"{path}: the centres of label {label} must be a non-empty numeric (k, C) "
                f"array, got dtype {array.dtype} and shape {array.shape}"
            )
        if int(label) < 0 or not np.isfinite(array).all():
            raise ValueError(f"{path}: label {label} must be >= 0 with finite centres")
        centers[int(label)] = array
    if not centers:
        raise ValueError(f"{path} holds no cluster centres")
    widths = {array.shape[1] for array in centers.values()}
    if len(widths) != 1:
        raise ValueError(
            f"{path}: expected centres of one width C for all labels, got widths {sorted(widths)}"
        )
    return dict(sorted(centers.items()))
