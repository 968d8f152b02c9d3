"""A recipe run folder: a run's configuration, checkpoints and feature bank, found by the folder.

::

    RUN/recipe.json                    the resolved run configuration (every value the run used)
    RUN/checkpoints/latest.pt          the newest checkpoint (and epoch_NNNN.pt)
    RUN/checkpoints/feature_bank.npz   the feature bank of encode-features

A run folder is relocatable: nothing in it names the folder itself, and everything here reads
the files relative to where the folder is now (older run folders stored an absolute
``training.output_dir``; it is ignored), so a copied or moved folder resumes and generates in
its new place.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._files.atomic import write_json
from .._files.json_file import read_json_object
from ..instance.feature_bank import FeatureBank
from .config import TrainingConfig
from .run_config import RUN_CHECKPOINTS, RunConfigError, resolve_device
from .trainer import Training, build_training

RUN_CONFIG_FILE = "recipe.json"
"""A run's configuration, relative to the run folder."""
FEATURE_BANK_FILE = "feature_bank.npz"
"""A run's feature bank, relative to its checkpoint folder."""


def load_run_config(run: str | os.PathLike) -> dict[str, Any]:
    """The configuration stored in a run folder (``RUN/recipe.json``).

    Older run folders are read as they are; a missing ``smoke`` label reads as False.

    Args:
        run: The run folder.

    Returns:
        The run configuration dict.

    Raises:
        RunConfigError: ``run`` holds no ``recipe.json`` (it is not a run folder).
        ValueError: The file is not a JSON object.

    Examples:
        >>> import tempfile
        >>> run = Path(tempfile.mkdtemp())
        >>> _ = save_run_config(run, {"training": {"num_classes": 7}, "data": {}, "recipe": {}})
        >>> load_run_config(run)["smoke"]
        False
    """
    path = Path(run) / RUN_CONFIG_FILE
    if not path.is_file():
        raise RunConfigError(f"{run} is not a run folder: no {RUN_CONFIG_FILE} (train one first)")
    config = read_json_object(path, "run configuration")
    config.setdefault("smoke", False)
    return config


def save_run_config(run: str | os.PathLike, config: Mapping[str, Any]) -> Path:
    """Write a run configuration to ``RUN/recipe.json``, atomically (the folder is created).

    Examples:
        >>> import tempfile
        >>> save_run_config(Path(tempfile.mkdtemp()), {"training": {}}).name
        'recipe.json'
    """
    return write_json(Path(run) / RUN_CONFIG_FILE, dict(config))


def run_training_config(
    config: Mapping[str, Any], run: str | os.PathLike | None = None
) -> TrainingConfig:
    """The [`TrainingConfig`][condgan_blocks.training.TrainingConfig] of a run configuration.

    Its checkpoints go to ``RUN/checkpoints`` wherever the run folder is now, whatever
    ``training.output_dir`` says; without ``run`` nothing is saved (``output_dir=None``).

    Args:
        config: A run configuration (its ``training`` section is read).
        run: The run folder.

    Examples:
        >>> config = {"training": {"num_classes": 7, "output_dir": "/old/place/checkpoints"}}
        >>> run_training_config(config, "runs/b").output_dir
        'runs/b/checkpoints'
        >>> run_training_config(config).output_dir is None
        True
    """
    values = copy.deepcopy(dict(config["training"]))
    values["output_dir"] = None if run is None else str(Path(run) / RUN_CHECKPOINTS)
    return TrainingConfig.from_dict(values)


def load_run(
    run: str | os.PathLike,
    *,
    device: str | None = None,
    precision: str | None = None,
    epoch: int | None = None,
) -> tuple[dict[str, Any], Training]:
    """A trained run: its configuration and its networks from ``checkpoints/latest.pt``
    (or ``checkpoints/epoch_NNNN.pt`` with ``epoch``).

    Only files inside ``run`` are read (the dataset aside), and the returned Training saves
    nothing; its networks are in eval mode and not compiled.

    Args:
        run: The run folder.
        device: Where the networks run; ``"auto"`` or None: CUDA when present.
        precision: Overrides the run's precision ("auto", "fp32", "bf16").
        epoch: Load the checkpoint the run kept at the end of this epoch instead of the latest
            (the original's ``--which_epoch N``).

    Returns:
        ``(config, training)``: the run configuration and a
        [`Training`][condgan_blocks.training.Training] restored from the checkpoint.

    Raises:
        RunConfigError: ``run`` is not a run folder.
        FileNotFoundError: It holds no checkpoint yet, or none of ``epoch`` (the message
            lists the epochs it kept).
        TypeError: ``epoch`` is not an int.
        ValueError: ``epoch`` is below 1.

    Examples:
        >>> import tempfile
        >>> from condgan_blocks.data import SyntheticScenes
        >>> run = Path(tempfile.mkdtemp())
        >>> config = {"training": {"num_classes": 7, "epochs": 1, "decay_epochs": 0,
        ...     "generator": {"base_channels": 4, "num_downsamples": 1, "num_blocks": 1},
        ...     "discriminator": {"base_channels": 4, "num_scales": 1},
        ...     "losses": {"vgg_weight": 0.0, "vgg_weights": None}, "log_every_steps": 0},
        ...     "data": {}, "recipe": {}}
        >>> _ = save_run_config(run, config)
        >>> _ = build_training(run_training_config(config, run)).fit(SyntheticScenes(1, (16, 16)))
        >>> config, training = load_run(run, device="cpu")
        >>> training.state.epoch, training.config.output_dir is None
        (1, True)
    """
    config = load_run_config(run)
    checkpoint = Path(run) / RUN_CHECKPOINTS
    if epoch is not None:
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            raise TypeError(f"epoch must be an int, got {type(epoch).__name__}")
        if epoch < 1:
            raise ValueError(f"epoch must be 1 or more, got {epoch}")
        checkpoint = checkpoint / f"epoch_{epoch:04d}.pt"
        if not checkpoint.is_file():
            kept = sorted(p.stem[len("epoch_") :] for p in checkpoint.parent.glob("epoch_*.pt"))
            raise FileNotFoundError(
                f"{checkpoint} does not exist: the run kept the checkpoints of epochs "
                f"{[int(k) for k in kept if k.isdigit()] or 'none'} (keep more with --keep-last)"
            )
    changes: dict[str, Any] = {"compile": False, "device": resolve_device(device)}
    if precision is not None:
        changes["precision"] = precision
    training_config = dataclasses.replace(run_training_config(config), **changes)
    training = build_training(training_config, resume=checkpoint)
    training.models.train(False)
    return config, training


def load_run_bank(run: str | os.PathLike, training: Training) -> FeatureBank | None:
    """The feature bank of a trained run, or None when the run has no instance encoder.

    Args:
        run: The run folder.
        training: The run, as [`load_run`][condgan_blocks.training.load_run] gives it.

    Returns:
        The [`FeatureBank`][condgan_blocks.FeatureBank] of ``RUN/checkpoints/feature_bank.npz``.

    Raises:
        RunConfigError: The run has an encoder but no bank yet (run ``encode-features``).

    Examples:
        >>> from condgan_blocks.training import (GeneratorConfig, LossConfig, TrainingConfig,
        ...                                      build_training)
        >>> training = build_training(TrainingConfig(num_classes=7,
        ...     generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1),
        ...     losses=LossConfig(vgg_weight=0.0)))
        >>> load_run_bank("runs/none", training) is None  # no encoder, no bank
        True
    """
    if training.models.encoder is None:
        return None
    path = Path(run) / RUN_CHECKPOINTS / FEATURE_BANK_FILE
    if not path.is_file():
        raise RunConfigError(f"no feature bank at {path}: run encode-features --run {run} first")
    return FeatureBank.load(path, feature_channels=training.config.encoder.feature_channels)
