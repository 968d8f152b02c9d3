"""Preflight: dry runs that time a few training steps of a configuration at its full resolution.

A dry run answers "does this preset fit, and how long will it take?" before a long run: it
builds the configured networks, losses and optimizers, trains a few steps on synthetic scenes
of the full training size and reports the parameters of G, D and E, the seconds per step and
the peak memory (CUDA allocated on a GPU, the process's peak resident set size on a CPU).
Nothing is saved, except that a stage-2 configuration without a stage-1 checkpoint first saves
the initial weights of the matching stage-1 model, to grow from them.
"""

from __future__ import annotations

import copy
import os
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .._tables import text_table
from ..data import SyntheticScenes, collate
from .config import TrainingConfig
from .trainer import build_training

STAGE_ONE_FOLDER = "dry_run_stage1"  # the stage-1 checkpoint folder a stage-2 dry run makes
# torchvision's ImageNet VGG19 file in the torch hub cache, where the VGG loss looks it up.
VGG19_IMAGENET_FILE = "vgg19-dcbb9e9d.pth"


def dry_run_size(data: Mapping[str, Any]) -> tuple[int, int]:
    """(H, W) of a dry run: the full training resolution of a recipe's ``data`` section.

    Synthetic data (``"kind": "synthetic"``) trains at ``size``; Cityscapes and folder data at
    ``width`` (1024 when unset) and half that height, the 2:1 frames of Cityscapes after
    [`ScaleWidth`][condgan_blocks.data.ScaleWidth].

    Examples:
        >>> dry_run_size({"kind": "cityscapes", "width": 2048})
        (1024, 2048)
        >>> dry_run_size({"kind": "synthetic", "size": [64, 128]})
        (64, 128)
    """
    if data.get("kind") == "synthetic":
        height, width = data["size"]
        return int(height), int(width)
    width = int(data.get("width") or 1024)
    return width // 2, width


def _size_multiple(config: TrainingConfig) -> int:
    multiple = 2**config.generator.num_downsamples
    if config.stage == "local":
        multiple *= 2**config.generator.num_enhancers
    return multiple


def _random_vgg_if_missing(config: TrainingConfig) -> tuple[TrainingConfig, str | None]:
    """Random VGG weights when the ImageNet file is not cached (it may not be downloadable);
    returns the config and the note to report, or None when nothing changed."""
    losses = config.losses
    if losses.vgg_weight == 0 or losses.vgg_weights != "imagenet":
        return config, None
    path = Path(torch.hub.get_dir()) / "checkpoints" / VGG19_IMAGENET_FILE
    if path.is_file():
        return config, None
    note = (
        f"VGG loss with random weights: the ImageNet VGG19 file {path} is not present (the "
        "cost per step is the same)"
    )
    return config.with_overrides([(("losses", "vgg_weights"), None)]), note


def _save_stage_one(config: TrainingConfig, folder: Path) -> Path:
    """Save the initial weights of the stage-1 model that the stage-2 ``config`` grows from."""
    stage_one = config.with_overrides(
        [
            ("stage", "global"),
            ("global_checkpoint", None),
            ("freeze_global_epochs", 0),
            ("compile", False),
            ("channels_last", False),
            ("precision", "fp32"),
            ("device", "cpu"),  # built beside the device: it takes no part in the measured memory
            ("output_dir", str(folder)),
            (("losses", "vgg_weight"), 0.0),  # weights only
        ]
    )
    return build_training(stage_one).save()


def _peak_rss_mib() -> float | None:
    """The peak resident set size of this process in MiB (None where unknown)."""
    try:
        import resource
    except ImportError:  # not on Unix
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes, else KiB


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return platform.processor() or platform.machine()


def dry_run(
    config: TrainingConfig,
    *,
    steps: int,
    size: tuple[int, int],
    folder: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Train ``steps`` steps of ``config`` on synthetic scenes of ``size`` and time them.

    The config's networks, losses, batch size, precision and device are used as they are; its
    ``output_dir`` is ignored (nothing is checkpointed). When the VGG loss asks for the
    ImageNet weights and they are not in the torch hub cache, random weights are used (the cost
    per step is the same) and a note says so. A stage-"local" config without
    ``global_checkpoint`` first saves the initial weights of its stage-1 model to
    ``folder/dry_run_stage1/latest.pt`` and grows from them.

    Args:
        config: The training configuration to measure.
        steps: Training steps (>= 1); the first is reported apart (it includes warm-up).
        size: (H, W) of the scenes, a multiple of the generator's ``size_multiple``.
        folder: Where a stage-2 dry run saves its stage-1 checkpoint.

    Returns:
        A JSON-ready dict: ``stage``, ``resolution``, ``batch_size``, ``device``,
        ``device_name``, ``precision``, ``channels_last``, ``compile``, ``vgg_weights``,
        ``parameters`` (G, D, E; None for a missing network), ``steps``, ``first_step_s``,
        ``median_step_s`` (of the steps after the first; None for one step),
        ``step_seconds``, ``peak_memory_mib``, ``peak_memory_kind``, ``global_checkpoint``,
        ``notes`` and the measured ``config``.

    Raises:
        ValueError: For ``steps < 1``, a size the generator cannot take, or a stage-2 config
            without a checkpoint and without ``folder``.

    Examples:
        >>> config = TrainingConfig.from_dict({
        ...     "num_classes": 7, "losses": {"vgg_weight": 0},
        ...     "generator": {"base_channels": 4, "num_downsamples": 1, "num_blocks": 1},
        ...     "discriminator": {"base_channels": 4, "num_scales": 1, "num_layers": 1}})
        >>> result = dry_run(config, steps=2, size=(16, 32))
        >>> result["resolution"], result["steps"], len(result["step_seconds"])
        ([16, 32], 2, 2)
        >>> result["parameters"]["generator"] > 0, result["parameters"]["encoder"]
        (True, None)
    """
    if not isinstance(config, TrainingConfig):
        raise TypeError(f"config must be a TrainingConfig, got {type(config).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"a dry run needs at least 1 step, got steps={steps!r}")
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ValueError(f"size must be two positive ints (H, W), got {size!r}")
    height, width = size
    multiple = _size_multiple(config)
    if height % multiple or width % multiple:
        raise ValueError(
            f"the dry run size {height}x{width} must be a multiple of {multiple} (the "
            "generator's downsamplings)"
        )
    local_without_checkpoint = config.stage == "local" and not config.global_checkpoint
    if local_without_checkpoint and folder is None:
        raise ValueError(
            "a stage-'local' dry run without global_checkpoint needs a folder to save the "
            "stage-1 weights it grows from"
        )
    config = config.with_overrides([("output_dir", None)])  # the dry run saves no checkpoint
    config, vgg_note = _random_vgg_if_missing(config)
    notes = [] if vgg_note is None else [vgg_note]
    if local_without_checkpoint:
        checkpoint = _save_stage_one(config, Path(folder) / STAGE_ONE_FOLDER)
        config = config.with_overrides([("global_checkpoint", str(checkpoint))])
        notes.append(f"stage-1 checkpoint (initial weights) kept at {checkpoint}")
    training = build_training(config)
    scenes = SyntheticScenes(
        steps * config.batch_size, size=(height, width), seed=config.seed, split="train"
    )
    batches = [
        collate([scenes[i] for i in range(start, start + config.batch_size)])
        for start in range(0, len(scenes), config.batch_size)
    ]
    if config.image_input:  # image to image: random pairs of the configured channels
        draws = torch.Generator().manual_seed(config.seed)
        for batch in batches:
            count = batch.pop("label").shape[0]
            sides = {"input": config.input_channels, "image": config.image_channels}
            for key, channels in sides.items():
                batch[key] = torch.rand(count, channels, height, width, generator=draws) * 2 - 1
    device = training.device
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    step_seconds = []
    for batch in batches:
        begun = time.perf_counter()
        training.step(batch)  # returns floats: the step has finished on the device
        if cuda:
            torch.cuda.synchronize(device)
        step_seconds.append(time.perf_counter() - begun)
    networks = training.models.networks()
    return {
        "stage": config.stage,
        "resolution": [height, width],
        "batch_size": config.batch_size,
        "device": str(device),
        "device_name": _device_name(device),
        "precision": training.precision,  # "auto" resolved on this device
        "channels_last": config.channels_last,
        "compile": config.compile,
        "vgg_weights": config.losses.vgg_weights if config.losses.vgg_weight > 0 else None,
        "parameters": {
            name: (
                None
                if networks.get(name) is None
                else sum(p.numel() for p in networks[name].parameters())
            )
            for name in ("generator", "discriminator", "encoder")
        },
        "steps": len(step_seconds),
        "first_step_s": step_seconds[0],
        "median_step_s": statistics.median(step_seconds[1:]) if len(step_seconds) > 1 else None,
        "step_seconds": step_seconds,
        "peak_memory_mib": (
            torch.cuda.max_memory_allocated(device) / 2**20 if cuda else _peak_rss_mib()
        ),
        "peak_memory_kind": "CUDA allocated" if cuda else "process peak RSS",
        "global_checkpoint": config.global_checkpoint,
        "notes": notes,
        "config": copy.deepcopy(config.to_dict()),
    }


def format_dry_run(result: Mapping[str, Any]) -> str:
    """The table of a [`dry_run`][condgan_blocks.training.dry_run] result: one row under the
    header (a ``preset`` entry, when present, names the row).

    Examples:
        >>> result = {"preset": "demo", "stage": "global", "resolution": [64, 128],
        ...           "batch_size": 4, "device": "cpu", "precision": "bf16",
        ...           "parameters": {"generator": 2_500_000, "discriminator": 700_000,
        ...                          "encoder": None},
        ...           "median_step_s": 0.1234, "first_step_s": 0.5, "peak_memory_mib": 812.4,
        ...           "peak_memory_kind": "process peak RSS"}
        >>> print(format_dry_run(result).splitlines()[-1])  # doctest: +NORMALIZE_WHITESPACE
        demo | global | 64x128, batch 4 | cpu | bf16 | 2.50 | 0.70 | - | 0.123 | 0.500 |
        812 (process peak RSS)
    """

    def millions(count: int | None) -> str:
        return "-" if count is None else f"{count / 1e6:.2f}"

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    params = result["parameters"]
    memory = result["peak_memory_mib"]
    height, width = result["resolution"]
    header = ("preset", "stage", "resolution", "device", "precision", "G (M)", "D (M)",
              "E (M)", "s/step (median)", "s/step (first)", "peak memory (MiB)")  # fmt: skip
    row = (
        str(result.get("preset", "-")),
        result["stage"],
        f"{height}x{width}, batch {result['batch_size']}",
        result["device"],
        result["precision"],
        millions(params["generator"]),
        millions(params["discriminator"]),
        millions(params["encoder"]),
        seconds(result["median_step_s"]),
        seconds(result["first_step_s"]),
        "-" if memory is None else f"{memory:.0f} ({result['peak_memory_kind']})",
    )
    return text_table([header, row])
