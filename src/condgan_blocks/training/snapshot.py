"""What a checkpoint holds: taken from a :class:`Training`, and put back into one.

Contents (tensors and plain values only, so ``torch.load(weights_only=True)`` reads it)::

    format, version      "condgan_blocks.training", 1
    config               TrainingConfig.to_dict()
    state                TrainingState.to_dict(): epoch, batch in epoch, step, stage, phase
    models               generator, discriminator, encoder, ema: state dicts (or None)
    optimizers           generator (with the encoder), discriminator: Adam state dicts
    schedule             {"lr": the current learning rate}
    scaler               GradScaler state dict (fp16) or None
    world_size, ranks    per rank: torch/CUDA/Python/numpy random states and the fake pool
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from torch import Tensor

from . import distributed
from .checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    CheckpointError,
    state_dict_differences,
)
from .config import architecture_differences, architecture_of
from .rng import capture_rng_state, restore_rng_state
from .state import TrainingState

if TYPE_CHECKING:
    from .trainer import Training

logger = logging.getLogger("condgan_blocks.training")


def _to_cpu(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_cpu(v) for v in value]
    return value


def rank_state(training: Training) -> dict[str, Any]:
    """This rank's random states and fake pool, on the CPU."""
    pool = None if training.fake_pool is None else training.fake_pool.state_dict()
    return _to_cpu({"rng": capture_rng_state(), "fake_pool": pool})


def take_snapshot(training: Training) -> dict[str, Any] | None:
    """The checkpoint dict of ``training`` on rank 0, None on the other ranks (collective)."""
    ranks = distributed.gather_to_main(rank_state(training), training.context)
    if not training.context.is_main:
        return None
    models = training.models
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": training.config.to_dict(),
        "state": training.state.to_dict(),
        "models": {
            "generator": models.generator.state_dict(),
            "discriminator": models.discriminator.state_dict(),
            "encoder": None if models.encoder is None else models.encoder.state_dict(),
            "ema": None if training.ema is None else training.ema.module.state_dict(),
        },
        "optimizers": {
            "generator": models.optimizer_g.state_dict(),
            "discriminator": models.optimizer_d.state_dict(),
        },
        "schedule": {"lr": training.lr},
        "scaler": None if training.scaler is None else training.scaler.state_dict(),
        "world_size": training.context.world_size,
        "ranks": ranks,
    }


def _check_fits(training: Training, checkpoint: dict[str, Any], path: object) -> None:
    """Raise a CheckpointError naming everything that keeps ``checkpoint`` from loading."""
    saved = checkpoint["config"]
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: the config entry is a {type(saved).__name__}, not a dict")
    differences = architecture_differences(architecture_of(saved), training.config.architecture())
    if differences:
        raise CheckpointError(
            f"{path} was trained with another architecture (checkpoint vs config): "
            + "; ".join(differences)
        )
    problems = []
    modules = dict(training.models.networks())
    if training.ema is not None and checkpoint["models"].get("ema") is not None:
        modules["ema"] = training.ema.module
    for name, module in modules.items():
        state = checkpoint["models"].get(name)
        if not isinstance(state, dict):
            problems.append(f"{name}: no state dict in the checkpoint")
            continue
        problems += [f"{name}: {line}" for line in state_dict_differences(module, state)]
    for name, optimizer in (
        ("generator", training.models.optimizer_g),
        ("discriminator", training.models.optimizer_d),
    ):
        saved_groups = checkpoint["optimizers"].get(name, {}).get("param_groups", [])
        sizes = [len(group["params"]) for group in saved_groups]
        expected = [len(group["params"]) for group in optimizer.param_groups]
        if sizes != expected:
            problems.append(
                f"{name} optimizer: parameter groups of sizes {sizes} in the checkpoint, "
                f"{expected} here"
            )
    if problems:
        raise CheckpointError(f"{path} does not fit this run: " + "; ".join(problems))


def restore_snapshot(training: Training, checkpoint: dict[str, Any], path: object) -> None:
    """Load ``checkpoint`` into ``training``; everything is checked before anything changes.

    Raises:
        CheckpointError: If the architecture, a state dict or an optimizer differs; the
            message names the config fields, keys and shapes.
    """
    _check_fits(training, checkpoint, path)
    main = training.context.is_main
    changed = architecture_differences(checkpoint["config"], training.config.to_dict())
    if changed and main:
        logger.info("resuming %s with config changes (checkpoint vs now): %s", path, changed)
    try:
        state = TrainingState.from_dict(checkpoint["state"])
    except ValueError as error:
        raise CheckpointError(f"{path}: {error}") from None
    models = training.models
    for name, net in models.networks().items():
        net.load_state_dict(checkpoint["models"][name])
    if training.ema is not None:
        if checkpoint["models"].get("ema") is not None:
            training.ema.module.load_state_dict(checkpoint["models"]["ema"])
        else:
            if main:
                logger.warning("%s has no EMA; the average starts from the generator", path)
            training.ema.module.load_state_dict(models.generator.state_dict())
    models.optimizer_g.load_state_dict(checkpoint["optimizers"]["generator"])
    models.optimizer_d.load_state_dict(checkpoint["optimizers"]["discriminator"])
    if training.scaler is not None and checkpoint.get("scaler") is not None:
        training.scaler.load_state_dict(checkpoint["scaler"])
    training.state = state
    ranks = checkpoint.get("ranks") or []
    rank = training.context.rank
    if checkpoint.get("world_size") != training.context.world_size or len(ranks) <= rank:
        if not main:
            return
        logger.warning(
            "%s was written by %s process(es), this run has %d: random states and fake pools "
            "start afresh, so the run does not continue exactly",
            path,
            checkpoint.get("world_size"),
            training.context.world_size,
        )
        return
    if training.fake_pool is not None and ranks[rank].get("fake_pool") is not None:
        training.fake_pool.load_state_dict(ranks[rank]["fake_pool"])
    restore_rng_state(ranks[rank]["rng"])
