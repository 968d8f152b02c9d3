"""What the on-disk datasets share: pairing files by name, reading a sample, ``validate()``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .._checks import check_bool, check_optional_bool, check_positive_int
from ._pil import INSTALL_HINT, FileContentError, read_image_array, read_label_array
from .validation import DatasetError, Problem, ValidationReport, sample_problems

IMAGE_EXTENSIONS = (".bmp", ".jpeg", ".jpg", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp")
ARRAY_EXTENSIONS = (".npy",)
_LOSSY_EXTENSIONS = (".jpeg", ".jpg")
MAP_ROLES = ("label", "instance")  # exact integers, nearest-neighbour
PICTURE_ROLES = ("input", "image")  # floats in [-1, 1]
_PROGRESS_MIN_SAMPLES = 200
_NAMES = {"label": "label", "instance": "instance map", "input": "input", "image": "image"}

Record = dict[str, Path]  # role -> file; the first entry is the sample's ``path``


def read_member(role: str, path: Path) -> np.ndarray:
    """Decode one member of a sample as a (C, H, W) array (int64 maps, float32 pictures)."""
    if role in MAP_ROLES:
        return read_label_array(path)[None]
    return read_image_array(path)


def missing_folder_error(kind: str, folder: Path, layout: str, root: Path) -> FileNotFoundError:
    """A FileNotFoundError that names the missing folder and prints the expected layout."""
    if root.is_dir():
        present = sorted(entry.name for entry in root.iterdir() if entry.is_dir())
        found = f"folders in {root}: {', '.join(present) if present else '(none)'}"
    else:
        found = f"{root} does not exist"
    return FileNotFoundError(
        f"{kind}: missing folder {folder}\n{found}\nexpected layout:\n{layout}"
    )


class FileDataset(Dataset):
    """A list of records (role -> file) read into sample dicts; see the concrete datasets."""

    def __init__(
        self,
        records: list[Record],
        *,
        num_classes: int | None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None,
    ) -> None:
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {transform!r}")
        self.records = records
        self.num_classes = num_classes
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Read sample ``index``; raise [`DatasetError`][condgan_blocks.data.DatasetError] naming
        the file if it is bad."""
        record = self.records[index]
        arrays, problems = self._read(record)
        if problems:
            raise DatasetError(problems, f"{self!r}; run .validate() to list every problem")
        sample: dict[str, Any] = {role: torch.from_numpy(array) for role, array in arrays.items()}
        sample["path"] = str(next(iter(record.values())))
        return sample if self.transform is None else self.transform(sample)

    def _read(self, record: Record) -> tuple[dict[str, np.ndarray], list[Problem]]:
        arrays, problems = {}, []
        for role, path in record.items():
            try:
                arrays[role] = read_member(role, path)
            except FileNotFoundError:
                problems.append(Problem(str(path), f"{role} file not found"))
            except FileContentError as error:
                problems.append(Problem(str(path), error.reason))
        paths = {role: str(path) for role, path in record.items()}
        problems.extend(sample_problems(arrays, paths, self.num_classes or None))
        return arrays, problems

    def validate(
        self, *, raise_on_error: bool = True, progress: bool | None = None, num_workers: int = 0
    ) -> ValidationReport:
        """Read every sample once and report every problem, not only the first.

        Checks that each file decodes, that label and instance maps are single-channel and
        lossless (not JPEG), that label ids lie in ``0 .. num_classes - 1``, that the members
        of a sample have one size, and that all images (and inputs) have one channel count.

        Args:
            raise_on_error: Raise a [`DatasetError`][condgan_blocks.data.DatasetError] listing every
                problem found.
            progress: Show a tqdm progress bar; None shows one for 200+ samples on a terminal.
            num_workers: Threads that decode files in parallel (0: the calling thread).

        Returns:
            The [`ValidationReport`][condgan_blocks.data.ValidationReport] (when nothing is raised).

        Raises:
            DatasetError: If ``raise_on_error`` and a problem was found.
        """
        check_bool("raise_on_error", raise_on_error)
        check_optional_bool("progress", progress)
        check_positive_int("num_workers", num_workers, minimum=0)
        report = ValidationReport(repr(self), num_samples=len(self))
        channels: dict[str, dict[int, list[str]]] = {role: {} for role in PICTURE_ROLES}
        results = self._map(self._check, num_workers)
        for record, (problems, counts) in zip(
            self.records, _progress(results, len(self), progress), strict=True
        ):
            report.problems.extend(problems)
            for role, count in counts.items():
                channels[role].setdefault(count, []).append(str(record[role]))
        for role, by_count in channels.items():
            report.problems.extend(_channel_problems(role, by_count))
        return report.raise_if_problems() if raise_on_error else report

    def _map(self, function, num_workers: int) -> Iterator:
        if num_workers == 0:
            return map(function, self.records)
        executor = ThreadPoolExecutor(num_workers)
        results = executor.map(function, self.records)
        executor.shutdown(wait=False)
        return results

    def _check(self, record: Record) -> tuple[list[Problem], dict[str, int]]:
        arrays, problems = self._read(record)
        for role in MAP_ROLES:
            if role in record and record[role].suffix.lower() in _LOSSY_EXTENSIONS:
                problems.insert(
                    0,
                    Problem(
                        str(record[role]),
                        f"{role} map stored as JPEG, a lossy format that alters ids along "
                        "edges; store label and instance maps as PNG",
                    ),
                )
        counts = {role: arrays[role].shape[0] for role in PICTURE_ROLES if role in arrays}
        return problems, counts


def _channel_problems(role: str, by_count: dict[int, list[str]]) -> list[Problem]:
    if len(by_count) < 2:
        return []
    total = sum(len(paths) for paths in by_count.values())
    common = max(by_count, key=lambda count: len(by_count[count]))
    return [
        Problem(
            path,
            f"{role} has {count} channel{'s' if count != 1 else ''} but {len(by_count[common])} "
            f"of the {total} {role}s have {common}; samples of one dataset must share a channel "
            "count to be batched (convert this file)",
        )
        for count, paths in sorted(by_count.items())
        if count != common
        for path in paths
    ]


def _progress(iterable: Iterable, total: int, progress: bool | None) -> Iterable:
    if progress is None:
        progress = total >= _PROGRESS_MIN_SAMPLES and sys.stderr.isatty()
        if progress:
            try:
                import tqdm
            except ImportError:
                progress = False
    if not progress:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError as error:
        raise ImportError(f"progress=True needs tqdm; install it with {INSTALL_HINT}") from error
    return tqdm(iterable, total=total, desc="validate", unit="sample")


def pair_records(
    folders: dict[str, tuple[Path, Iterable[Path], Callable[[Path], str], Callable[[str], object]]],
    primary: str,
) -> tuple[list[Record], list[Problem]]:
    """Match files of several roles by key; report every file without its partners.

    Args:
        folders: role -> (folder, files, key of a file, expected file for a key), in the order
            the roles appear in each record.
        primary: The role every sample needs (its ``path``); the others must match it.

    Returns:
        The records, sorted by key, and the problems (duplicates, files with no partner).
    """
    keyed: dict[str, dict[str, Path]] = {}
    problems = []
    for role, (_, files, key_of, _) in folders.items():
        keyed[role] = {}
        for path in sorted(files):
            key = key_of(path)
            if key in keyed[role]:
                problems.append(
                    Problem(
                        str(path),
                        f"two {_NAMES[role]} files for sample {key!r}: this one and "
                        f"{keyed[role][key]}",
                    )
                )
                continue
            keyed[role][key] = path
    records = []
    for key in sorted(keyed[primary]):
        record = {}
        for role, (_, _, _, expected) in folders.items():
            if key in keyed[role]:
                record[role] = keyed[role][key]
            else:
                problems.append(
                    Problem(
                        str(keyed[primary][key]),
                        f"{_NAMES[primary]} has no {_NAMES[role]}; expected {expected(key)}",
                    )
                )
        if len(record) == len(folders):
            records.append(record)
    for role in folders:
        if role == primary:
            continue
        for key in sorted(set(keyed[role]) - set(keyed[primary])):
            problems.append(
                Problem(
                    str(keyed[role][key]),
                    f"{_NAMES[role]} has no {_NAMES[primary]}; expected {folders[primary][3](key)}",
                )
            )
    return records, problems
