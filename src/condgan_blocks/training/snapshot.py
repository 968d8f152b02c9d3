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
from ._snapshot_checks import check_snapshot
from .checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_VERSION
from .config import architecture_differences
from .rng import capture_rng_state, restore_rng_state

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


def restore_snapshot(training: Training, checkpoint: dict[str, Any], path: object) -> None:
    """Load ``checkpoint`` into ``training``; everything is checked before anything changes.

    The whole checkpoint is checked first (see
    [`check_snapshot`][condgan_blocks.training._snapshot_checks.check_snapshot]): the kind of
    every record, state-dict keys and shapes, finite weights, the optimizers' parameter groups
    and per-parameter state shapes, the scaler, the random states and the fake pool.

    Raises:
        CheckpointError: If any record is malformed or does not fit the run; the message names
            the record (config fields, keys, shapes). ``training`` is then left unchanged.
    """
    state = check_snapshot(training, checkpoint, path)
    main = training.context.is_main
    changed = architecture_differences(checkpoint["config"], training.config.to_dict())
    if changed and main:
        logger.info("resuming %s with config changes (checkpoint vs now): %s", path, changed)
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
