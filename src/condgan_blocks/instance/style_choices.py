"""Chosen styles: which feature-bank cluster an instance gets, from a JSON file.

A choices file maps instance ids to cluster indices, for every image (``{"26001": 2}``) or per
image, keyed by the sample's ``path`` (``{"frankfurt_000000_000294": {"26001": 2}}``). The
ids are those of the instance map (``class * 1000 + k`` for objects), the clusters those of
the [`FeatureBank`][condgan_blocks.FeatureBank]'s centres of the instance's class; the
editor's ``choices`` and a [`Synthesizer`][condgan_blocks.synthesis.Synthesizer] call take
the same ``{id: cluster}`` dicts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from torch import Tensor

from .._files.json_file import read_json_object

EVERY_IMAGE = "*"
"""The key of the choices that apply to every image."""


def _ids(values: object, where: str) -> dict[int, int]:
    if not isinstance(values, Mapping):
        raise ValueError(f"{where} must map instance ids to clusters, got {values!r:.60}")
    try:
        return {int(key): int(value) for key, value in values.items()}
    except (TypeError, ValueError):
        raise ValueError(
            f"{where} must map instance ids to cluster indices (integers), got {values!r:.60}"
        ) from None


def read_style_choices(path: str | os.PathLike | None) -> dict[str, dict[int, int]] | None:
    """Read a choices file: ``{"<sample path>": {id: cluster}}``, with the choices for every
    image under ``"*"``.

    Args:
        path: A JSON file of ``{"5000": 2}`` (every image) or ``{"<sample path>":
            {"5000": 2}, ...}`` (per image); None reads nothing.

    Returns:
        The choices with integer ids and clusters, or None for ``path=None``.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ValueError: Not valid JSON, or ids and clusters that are not integers.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "choices.json"
        >>> _ = path.write_text('{"5000": 2}')
        >>> read_style_choices(path)
        {'*': {5000: 2}}
        >>> _ = path.write_text('{"synthetic/val/000001": {"5001": 0}}')
        >>> read_style_choices(path)
        {'synthetic/val/000001': {5001: 0}}
    """
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"choices file {path} does not exist (or is not a file)")
    raw = read_json_object(path, "choices file")
    if raw and all(isinstance(value, dict) for value in raw.values()):
        return {key: _ids(value, f"{path}: {key!r}") for key, value in raw.items()}
    return {EVERY_IMAGE: _ids(raw, str(path))}


def style_choices_for(
    choices: Mapping[str, Mapping[int, int]] | None, source: str, instances: Tensor
) -> dict[int, int] | None:
    """The choices for one image: its own entry, else those for every image, restricted to
    the instance ids the image holds.

    Args:
        choices: What [`read_style_choices`][condgan_blocks.instance.read_style_choices]
            returns, or None.
        source: The sample's ``path``.
        instances: Its instance map, any shape.

    Returns:
        ``{id: cluster}`` for the ids present, or None when ``choices`` is None.

    Examples:
        >>> import torch
        >>> choices = {"*": {5000: 2, 5001: 1}, "b.png": {5000: 0}}
        >>> instances = torch.tensor([[[[3, 5000]]]])
        >>> style_choices_for(choices, "a.png", instances), style_choices_for(choices, "b.png",
        ...                                                                   instances)
        ({5000: 2}, {5000: 0})
    """
    if choices is None:
        return None
    chosen = choices.get(source, choices.get(EVERY_IMAGE, {}))
    present = set(instances.unique().tolist())
    return {key: value for key, value in chosen.items() if key in present}
