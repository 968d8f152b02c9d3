"""Checkpoint files: atomic writes, safe and checked reads, per-epoch files and pruning.

A checkpoint is a dict of tensors and plain values written with ``torch.save`` and read with
``torch.load(weights_only=True)``: nothing is unpickled. Writes go to a temporary file in the
target's folder that is renamed over the target (``os.replace``), so a reader, or a run killed
while writing, only ever sees a complete old file or a complete new one. Reads check the
archive's CRC32 checksums first, so a truncated or damaged file is reported as such instead of
loading wrong numbers.
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .._files.atomic import atomic_copy, remove_stale_temporaries, torch_save

CHECKPOINT_FORMAT = "condgan_blocks.training"
CHECKPOINT_VERSION = 1
LATEST_NAME = "latest.pt"
REQUIRED_KEYS = ("format", "version", "config", "state", "models", "optimizers")
_EPOCH_PATTERN = re.compile(r"^epoch_(\d+)\.pt$")
_SHOWN = 8  # differences listed per kind in an error message

logger = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint file is corrupt, truncated, of another kind or of another architecture.

    A subclass of ``ValueError``; [`load_checkpoint`][condgan_blocks.training.load_checkpoint] and
    resuming raise it.

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> path = Path(tempfile.mkdtemp()) / "latest.pt"
        >>> _ = path.write_bytes(b"not a zip archive")
        >>> try:
        ...     load_checkpoint(path)
        ... except CheckpointError as error:
        ...     print(isinstance(error, ValueError), "truncated or not a checkpoint" in str(error))
        True True
    """


def epoch_checkpoint_name(epoch: int) -> str:
    """File name of the checkpoint written after ``epoch`` epochs.

    Examples:
        >>> epoch_checkpoint_name(7)
        'epoch_0007.pt'
    """
    return f"epoch_{epoch:04d}.pt"


def resolve_checkpoint_path(path: str | os.PathLike) -> Path:
    """``path`` itself, or ``path/latest.pt`` when ``path`` is a run folder.

    Raises:
        FileNotFoundError: If there is no such file.
    """
    path = Path(path)
    if path.is_dir():
        path = path / LATEST_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return path


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    """``directory/latest.pt`` if it exists, else None.

    Examples:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> latest_checkpoint(folder) is None
        True
        >>> _ = save_checkpoint({"x": torch.ones(1)}, f"{folder}/latest.pt")
        >>> latest_checkpoint(folder).name
        'latest.pt'
    """
    path = Path(directory) / LATEST_NAME
    return path if path.is_file() else None


def save_checkpoint(checkpoint: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write ``checkpoint`` to ``path`` atomically.

    The dict is written to a temporary file in the same folder (``.<name>.tmp.<pid>.<random>``),
    flushed to disk, and renamed over ``path``, with the CRC32 checksums that
    [`load_checkpoint`][condgan_blocks.training.load_checkpoint] verifies. Temporary files left
    by a killed run are removed first.

    Args:
        checkpoint: Tensors and plain values only.
        path: Target file; its folder is created.

    Returns:
        ``path`` as a `Path`.

    Examples:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> save_checkpoint({"x": torch.ones(2)}, f"{folder}/a.pt").name
        'a.pt'
        >>> torch.load(f"{folder}/a.pt", weights_only=True)["x"]
        tensor([1., 1.])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    return torch_save(dict(checkpoint), path)


def publish_copy(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Make ``target`` a copy of ``source`` atomically (a hard link when possible).

    Used to keep ``latest.pt`` equal to the newest per-epoch file without writing it twice.
    """
    remove_stale_temporaries(target)
    return atomic_copy(source, target)


def prune_checkpoints(directory: str | os.PathLike, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` ``epoch_*.pt`` files of ``directory``.

    Only regular files directly inside ``directory`` whose names match ``epoch_<digits>.pt``
    (the names [`save`][condgan_blocks.training.Training.save] writes) are candidates: a
    symbolic link, a folder or any other file is left alone, and nothing outside
    ``directory`` is touched. ``latest.pt`` is never deleted.

    Returns:
        The deleted paths.

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp())
        >>> for name in ("epoch_0001.pt", "epoch_0002.pt", "epoch_0003.pt", "latest.pt"):
        ...     _ = (folder / name).write_bytes(b"")
        >>> [path.name for path in prune_checkpoints(folder, keep_last=2)]
        ['epoch_0001.pt']
        >>> sorted(path.name for path in folder.iterdir())
        ['epoch_0002.pt', 'epoch_0003.pt', 'latest.pt']
    """
    if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1:
        raise ValueError(f"keep_last must be an int >= 1, got {keep_last!r}")
    found = []
    for path in Path(directory).iterdir():
        match = _EPOCH_PATTERN.match(path.name)
        if match and path.is_file() and not path.is_symlink():
            found.append((int(match.group(1)), path))
    deleted = [path for _, path in sorted(found)[:-keep_last]]
    for path in deleted:
        path.unlink()
    return deleted


def _check_archive(path: Path) -> None:
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise CheckpointError(
            f"{path} is truncated or not a checkpoint ({size} bytes; {error}); use an earlier "
            "checkpoint (an epoch_*.pt file) or start over"
        ) from None
    if damaged is not None:
        raise CheckpointError(
            f"{path} is corrupt: the checksum of its record {damaged!r} does not match "
            f"({size} bytes); use an earlier checkpoint (an epoch_*.pt file)"
        )


def load_checkpoint(
    path: str | os.PathLike, *, map_location: str | torch.device | None = "cpu"
) -> dict[str, Any]:
    """Read and check a training checkpoint with ``torch.load(weights_only=True)``.

    Args:
        path: A checkpoint file, or a run folder (its ``latest.pt``).
        map_location: Where tensors go.

    Returns:
        The checkpoint dict.

    Raises:
        FileNotFoundError: If there is no such file.
        CheckpointError: If the file is truncated, corrupt (a checksum does not match), not
            loadable with ``weights_only=True``, not a training checkpoint, or of a newer format.

    Examples:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> entries = {"config": {}, "state": {}, "models": {}, "optimizers": {}}
        >>> checkpoint = {"format": CHECKPOINT_FORMAT, "version": 1, **entries}
        >>> _ = save_checkpoint(checkpoint, f"{folder}/latest.pt")
        >>> sorted(load_checkpoint(folder))  # a run folder reads its latest.pt
        ['config', 'format', 'models', 'optimizers', 'state', 'version']
        >>> _ = save_checkpoint({"weight": torch.ones(2)}, f"{folder}/bare.pt")
        >>> try:
        ...     load_checkpoint(f"{folder}/bare.pt")
        ... except CheckpointError as error:
        ...     print("is not a condgan_blocks.training checkpoint" in str(error))
        True
    """
    path = resolve_checkpoint_path(path)
    _check_archive(path)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        raise CheckpointError(
            f"{path} could not be read as a checkpoint ({type(error).__name__}: {error})"
        ) from None
    check_checkpoint_header(checkpoint, path)
    return checkpoint


def check_checkpoint_header(checkpoint: object, path: object) -> None:
    """Raise a [`CheckpointError`][condgan_blocks.training.CheckpointError] unless
    ``checkpoint`` is a training checkpoint dict of a format version this library reads, with
    every required entry; ``path`` names it in the message."""
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        kind = type(checkpoint).__name__
        keys = sorted(map(str, checkpoint))[:_SHOWN] if isinstance(checkpoint, dict) else []
        raise CheckpointError(
            f"{path} is not a condgan_blocks.training checkpoint (a {kind} with keys {keys}); "
            "a bare state dict loads with module.load_state_dict"
        )
    version = checkpoint.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise CheckpointError(
            f"{path} has a checkpoint format version of {version!r} "
            f"({type(version).__name__}); expected an int from 0 to {CHECKPOINT_VERSION}"
        )
    if version > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {checkpoint['version']}, this library reads "
            f"up to {CHECKPOINT_VERSION}; upgrade condgan-blocks"
        )
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise CheckpointError(f"{path} misses the entries {missing}")


def _shape(value: object) -> object:
    return tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__


def state_dict_differences(module: nn.Module, state: Mapping[str, Any]) -> list[str]:
    """What keeps ``state`` from loading into ``module``: missing, unexpected, reshaped keys.

    Returns:
        Human-readable lines, at most a few per kind; empty when ``state`` fits.

    Examples:
        >>> state_dict_differences(nn.Linear(2, 3), nn.Linear(2, 4).state_dict())[1]
        "shapes differ: 'bias' (4,) in the checkpoint, (3,) in the model"
    """
    ours = module.state_dict()
    lines = []
    missing = [key for key in ours if key not in state]
    unexpected = [key for key in state if key not in ours]
    reshaped = [key for key in ours if key in state and _shape(state[key]) != _shape(ours[key])]

    def shown(keys: list[str]) -> str:
        more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
        return ", ".join(repr(k) for k in keys[:_SHOWN]) + more

    if missing:
        lines.append(f"missing keys: {shown(missing)}")
    if unexpected:
        lines.append(f"unexpected keys: {shown(unexpected)}")
    for key in reshaped[:_SHOWN]:
        lines.append(
            f"shapes differ: {key!r} {_shape(state[key])} in the checkpoint, "
            f"{_shape(ours[key])} in the model"
        )
    if len(reshaped) > _SHOWN:
        lines.append(f"... and {len(reshaped) - _SHOWN} more keys with other shapes")
    return lines


def load_module_state(module: nn.Module, state: Mapping[str, Any], name: str, path: object) -> None:
    """Load ``state`` into ``module`` or raise a
    [`CheckpointError`][condgan_blocks.training.CheckpointError] naming what differs."""
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path}: the {name} entry is a {type(state).__name__}, not a dict")
    differences = state_dict_differences(module, state)
    if differences:
        raise CheckpointError(
            f"{path} does not fit the {name} ({type(module).__name__}): " + "; ".join(differences)
        )
    module.load_state_dict(state)
