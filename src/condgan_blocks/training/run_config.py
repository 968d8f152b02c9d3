"""The configuration of a recipe run: one JSON-able dict from a preset, flags and ``--set``.

A run configuration has three sections and two labels::

    {"training": {...},   # a TrainingConfig dict: the networks, losses and schedule
     "data": {...},       # where samples come from (see dataset_from_settings)
     "recipe": {...},     # the script's own settings (grids, evaluation, styles)
     "preset": "demo",    # the preset (or --config file) it started from
     "smoke": false}      # a --smoke run, which checks the pipeline and learns nothing

A preset file holds the sections; [`read_run_config`][condgan_blocks.training.read_run_config]
reads and checks one. [`resolve_run_config`][condgan_blocks.training.resolve_run_config]
applies settings to it (one per flag or ``--set KEY=VALUE``), derives what the data section
fixes, and checks the result; for ``train --resume`` it refuses any setting that would change
what the run has trained (only [`RESUME_SETTINGS`][condgan_blocks.training.RESUME_SETTINGS]
may change). The checkpoints of a run always live in its own ``checkpoints/`` folder, so
``training.output_dir`` is always ``"checkpoints"`` (relative to the run folder).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from ..data.dataset_settings import dataset_from_settings
from .config import TrainingConfig
from .overrides import apply_overrides, get_nested, parse_override, read_config_file

RUN_SECTIONS = ("training", "data", "recipe")
"""The sections of a run configuration (and of a preset file)."""
RUN_LABELS = ("preset", "smoke")
"""The keys a run's configuration holds besides its sections."""
RUN_CHECKPOINTS = "checkpoints"
"""A run's checkpoint folder, relative to the run folder (its ``training.output_dir``)."""
RESUME_SETTINGS = (
    "training.epochs",
    "training.decay_epochs",
    "training.keep_last",
    "training.log_every_steps",
    "training.save_every_steps",
    "training.device",
    "training.precision",
    "training.compile",
    "training.compile_backend",
    "training.channels_last",
    "training.num_workers",
    "data.root",
    "recipe.",
)
"""What ``train --resume`` may change: how far and where a run goes on, not what it has
trained. A name ending in ``.`` allows its whole section."""


class RunConfigError(ValueError):
    """A run configuration or run folder that cannot be used as asked.

    Raised for a setting that would change a trained run on resume, a ``training`` value that
    contradicts the ``data`` section it derives from, data whose images do not have the
    configured channels, and a folder that is not a run folder. The message says what to do
    instead (a command line shows it without a traceback). It is a ValueError.

    Examples:
        >>> issubclass(RunConfigError, ValueError)
        True
    """


def read_run_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read a preset, a ``--config`` file or a run's ``recipe.json``, its keys checked.

    Args:
        path: A JSON file with the sections ``training``, ``data`` and ``recipe`` (and
            optionally ``preset`` and ``smoke``).

    Returns:
        The parsed dict.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ValueError: Not valid JSON, an unknown key (named with the valid ones), a key of
            ``training`` that is not a [`TrainingConfig`][condgan_blocks.training.TrainingConfig]
            field, or a missing section.

    Examples:
        >>> import json, tempfile
        >>> path = Path(tempfile.mkdtemp()) / "mine.json"
        >>> _ = path.write_text(json.dumps({"training": {"num_classes": 7}}))
        >>> read_run_config(path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: .../mine.json needs the sections ['training', 'data', 'recipe'], missing \
['data', 'recipe']
    """
    config = read_config_file(
        path, sections=(*RUN_SECTIONS, *RUN_LABELS), schemas={"training": TrainingConfig}
    )
    missing = [name for name in RUN_SECTIONS if not isinstance(config.get(name), dict)]
    if missing:
        raise ValueError(f"{path} needs the sections {list(RUN_SECTIONS)}, missing {missing}")
    return config


def resolve_device(device: str | None) -> str:
    """The device a run uses: ``"auto"`` (or None) is ``"cuda"`` when CUDA is present, else
    ``"cpu"``; any other name is kept.

    Examples:
        >>> resolve_device("cpu"), resolve_device("auto") in ("cpu", "cuda")
        ('cpu', True)
    """
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'cpu', 'cuda' or 'auto', got {device!r}")
    return device


def _plain(value: Any) -> Any:
    """``value`` as JSON would give it back (tuples become lists)."""
    return json.loads(json.dumps(value))


def run_config_value(config: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The value at ``path`` of a run configuration, with the defaults filled in.

    Below ``training`` a key the configuration does not set has its
    [`TrainingConfig`][condgan_blocks.training.TrainingConfig] default; elsewhere a missing
    key is None.

    Args:
        config: A run configuration (or a preset).
        path: Key names, e.g. ``("training", "batch_size")``.

    Returns:
        The value as JSON holds it (lists, not tuples).

    Examples:
        >>> config = {"training": {"num_classes": 7}, "data": {}, "recipe": {}}
        >>> run_config_value(config, ("training", "batch_size"))  # the default
        1
        >>> run_config_value(config, ("data", "root")) is None
        True
    """
    path = tuple(path)
    if path[:1] == ("training",) and isinstance(config.get("training"), Mapping):
        training = TrainingConfig.from_dict(copy.deepcopy(dict(config["training"])))
        return get_nested(_plain(training.to_dict()), path[1:])
    return _plain(get_nested(config, path))


def _may_change_on_resume(key: str) -> bool:
    return any(
        key == name or (name.endswith(".") and key.startswith(name)) for name in RESUME_SETTINGS
    )


def _as_setting(setting: str | tuple) -> tuple[tuple[str, ...], Any, str]:
    if isinstance(setting, str):
        path, value = parse_override(setting)
        return path, value, f"--set {'.'.join(path)}"
    if not isinstance(setting, (tuple, list)) or len(setting) not in (2, 3):
        raise TypeError(
            f"a setting must be a KEY=VALUE string or a (path, value[, source]) tuple, got "
            f"{setting!r}"
        )
    path, value, *source = setting
    path = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
    return path, value, source[0] if source else ".".join(path)


def _derive_folder_settings(config: dict[str, Any], given: set[tuple[str, ...]], *, new_run: bool):
    """Folder data: ``data.label_nc`` sets ``training.num_classes`` (0: image-to-image pairs
    with ``data.input_nc`` input channels), ``data.output_nc`` sets
    ``training.image_channels``; a new image-to-image run feeds the instance boundary map only
    when ``<root>/train_inst`` exists, unless a setting says otherwise."""
    data, training = config["data"], config["training"]
    if data.get("kind") != "folder":
        return
    image_input = data.get("label_nc") == 0
    derived = {"num_classes": ("label_nc", data.get("label_nc"))}
    if "output_nc" in data:
        derived["image_channels"] = ("output_nc", data["output_nc"])
    if image_input:
        derived["input_channels"] = ("input_nc", data.get("input_nc", 3))
    for key, (source, value) in derived.items():
        if ("training", key) in given and training.get(key) != value:
            raise RunConfigError(
                f"with folder data, data.{source} sets training.{key}: got training.{key}="
                f"{training.get(key)!r} and data.{source}={value!r}; set only data.{source}"
                + (" (0: image-to-image pairs from _A / _B)" if source == "label_nc" else "")
            )
        training[key] = value
    if not image_input:
        training.pop("input_channels", None)
    elif new_run and ("training", "use_instances") not in given:
        training["use_instances"] = (Path(data["root"]) / "train_inst").is_dir()


def resolve_run_config(
    config: Mapping[str, Any],
    settings: Iterable[str | tuple] = (),
    *,
    resume_of: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """``config`` with ``settings`` applied in order, the folder-data keys derived, checked.

    Args:
        config: The configuration to start from: a preset (for a new run) or the run's stored
            configuration (for a resumed run, with ``resume_of``).
        settings: ``"KEY=VALUE"`` strings (``--set``) or ``(path, value)`` /
            ``(path, value, source)`` tuples, where ``source`` names the flag that set it
            (``"--epochs"``), for messages.
        resume_of: The run folder that ``config`` was stored in: the run is resumed, so a
            setting outside [`RESUME_SETTINGS`][condgan_blocks.training.RESUME_SETTINGS] must
            keep the stored value (with the defaults filled in: see
            [`run_config_value`][condgan_blocks.training.run_config_value]), and whether an
            image-to-image run uses instance maps is not derived again.

    Returns:
        A new dict, ``training.output_dir`` set to ``"checkpoints"``; the ``training``
        section builds a [`TrainingConfig`][condgan_blocks.training.TrainingConfig].

    Raises:
        RunConfigError: A setting of ``training.output_dir``; on resume, a setting that would
            change the trained run; with folder data, a derived ``training`` key set to a
            value other than the one its ``data`` key gives.
        ValueError: An unknown section or key, or a bad value (from
            [`apply_overrides`][condgan_blocks.training.apply_overrides] and
            ``TrainingConfig``).

    Examples:
        >>> preset = {"training": {"num_classes": 7}, "data": {"kind": "synthetic"},
        ...           "recipe": {}}
        >>> config = resolve_run_config(preset, [(("training", "epochs"), 3, "--epochs"),
        ...                                      "training.seed=4"])
        >>> config["training"]
        {'num_classes': 7, 'epochs': 3, 'seed': 4, 'output_dir': 'checkpoints'}
        >>> resolve_run_config(config, ["training.batch_size=8"], resume_of="runs/a")
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        condgan_blocks.training.run_config.RunConfigError: --set training.batch_size cannot \
change on resume: runs/a was trained with training.batch_size=1 (see its recipe.json); start a \
new run (train without --resume, another --output) to change it. On resume only these may \
change: training.epochs, ..., recipe.*
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict of sections, got {type(config).__name__}")
    missing = [name for name in RUN_SECTIONS if not isinstance(config.get(name), Mapping)]
    if missing:
        raise ValueError(f"config needs the sections {list(RUN_SECTIONS)}, missing {missing}")
    parsed = [_as_setting(setting) for setting in settings]
    for path, value, source in parsed:
        key = ".".join(path)
        if path == ("training", "output_dir"):
            raise RunConfigError(
                "training.output_dir is always RUN/checkpoints, so that a run folder can be "
                "moved or copied; choose the run folder with --output"
            )
        if resume_of is None or _may_change_on_resume(key):
            continue
        current = run_config_value(config, path)
        if _plain(value) != current:
            raise RunConfigError(
                f"{source} cannot change on resume: {resume_of} was trained with {key}="
                f"{current!r} (see its recipe.json); start a new run (train without --resume, "
                "another --output) to change it. On resume only these may change: "
                + ", ".join(name + ("*" if name.endswith(".") else "") for name in RESUME_SETTINGS)
            )
    overrides = [(path, value) for path, value, _ in parsed]
    overrides.append((("training", "output_dir"), RUN_CHECKPOINTS))
    resolved = apply_overrides(config, overrides, schemas={"training": TrainingConfig})
    given = {path for path, _ in overrides}
    _derive_folder_settings(resolved, given, new_run=resume_of is None)
    TrainingConfig.from_dict(copy.deepcopy(resolved["training"]))
    return resolved


def check_data_channels(config: Mapping[str, Any]) -> None:
    """Check that image-to-image folder data has the channels the configuration expects.

    The first training pair of ``data`` must have ``training.input_channels`` input and
    ``training.image_channels`` target channels; other configurations are not checked.
    Call it before training, so that a mismatch is named by its setting rather than failing
    in the first step.

    Args:
        config: A resolved run configuration.

    Raises:
        RunConfigError: A side of the first pair has other channels; the message names the
            ``data`` setting and the value that fits.

    Examples:
        >>> config = {"training": {"num_classes": 7}, "data": {"kind": "synthetic"},
        ...           "recipe": {}}
        >>> check_data_channels(config)  # label maps: nothing to check
    """
    data = config["data"]
    training = TrainingConfig.from_dict(copy.deepcopy(dict(config["training"])))
    if not training.image_input or data.get("kind") != "folder":
        return
    sample = dataset_from_settings(data, "train")[0]
    sides = (("input", "input_nc", "A", training.input_channels),
             ("image", "output_nc", "B", training.image_channels))  # fmt: skip
    for key, setting, side, expected in sides:
        found = sample[key].shape[0]
        if found != expected:
            raise RunConfigError(
                f"data.{setting}={expected}, but the images in {data['root']}/train_{side} have "
                f"{found} channel{'s' if found != 1 else ''}: use --set data.{setting}={found}"
            )
