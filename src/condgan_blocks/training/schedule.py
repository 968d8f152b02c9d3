"""The learning-rate schedule and the two training stages, as functions of the epoch."""

from __future__ import annotations

from torch import nn

from ..generators.global_generator import GlobalGenerator
from ..generators.local_enhancer import LocalEnhancer

PHASES = ("all", "finest")


def lr_factor(epoch: int, epochs: int, decay_epochs: int) -> float:
    """Factor on the initial learning rate during ``epoch`` (counted from 0).

    pix2pixHD's schedule: ``epochs`` epochs (``niter``) at the initial rate, then
    ``decay_epochs`` (``niter_decay``) in which the rate falls linearly. The original subtracts
    ``lr / niter_decay`` at the *end* of every epoch after the first ``niter``, so the rate during
    epoch ``e`` is ``lr * (1 - max(0, e - epochs) / decay_epochs)``: the first decay epoch still
    runs at the full rate and the rate reaches 0 when the last epoch ends.

    Args:
        epoch: The epoch, from 0.
        epochs: Epochs at the constant rate.
        decay_epochs: Epochs of the decay.

    Returns:
        A factor in [0, 1].

    Examples:
        >>> [round(lr_factor(e, 2, 4), 2) for e in range(7)]
        [1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    """
    for name, value in (("epoch", epoch), ("epochs", epochs), ("decay_epochs", decay_epochs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    if decay_epochs == 0:
        return 1.0
    return max(0.0, 1.0 - max(0, epoch - epochs) / decay_epochs)


def generator_phase(stage: str, epoch: int, freeze_global_epochs: int) -> str:
    """Which generator parameters train during ``epoch`` of ``stage``.

    Args:
        stage: "global" or "local".
        epoch: The epoch within the stage, from 0.
        freeze_global_epochs: Epochs of stage "local" that train only the finest enhancer.

    Returns:
        "finest" during the first ``freeze_global_epochs`` epochs of stage "local", else "all".

    Examples:
        >>> [generator_phase("local", e, 2) for e in range(3)], generator_phase("global", 0, 2)
        (['finest', 'finest', 'all'], 'all')
    """
    if stage not in ("global", "local"):
        raise ValueError(f"stage must be 'global' or 'local', got {stage!r}")
    return "finest" if stage == "local" and epoch < freeze_global_epochs else "all"


def apply_generator_phase(generator: nn.Module, phase: str) -> None:
    """Freeze the generator's parameters outside ``phase`` (``requires_grad=False``).

    Frozen parameters get no gradient (``None``), so Adam leaves them and their state alone;
    gradients still flow through them to the inputs (to the encoder). One optimizer keeps
    covering every parameter in both phases, so its state loads the same way in any phase.

    Args:
        generator: A [`GlobalGenerator`][condgan_blocks.generators.global_generator.GlobalGenerator]
            or [`LocalEnhancer`][condgan_blocks.generators.local_enhancer.LocalEnhancer].
        phase: "all" trains everything; "finest" only
            ``LocalEnhancer.stage_parameters("finest")``.

    Examples:
        >>> from condgan_blocks import LocalEnhancer
        >>> net = LocalEnhancer(4, base_channels=2, num_blocks_local=1,
        ...                     num_downsamples_global=1, num_blocks_global=1)
        >>> apply_generator_phase(net, "finest")
        >>> any(p.requires_grad for p in net.global_generator.parameters())
        False
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
    if phase == "finest" and not isinstance(generator, LocalEnhancer):
        raise ValueError(
            f"phase 'finest' needs a LocalEnhancer, got {type(generator).__name__}; only stage "
            "'local' freezes the global generator"
        )
    if not isinstance(generator, (GlobalGenerator, LocalEnhancer)):
        raise TypeError(
            f"generator must be a GlobalGenerator or LocalEnhancer, got {type(generator).__name__}"
        )
    generator.requires_grad_(phase == "all")
    if phase == "finest":
        for parameter in generator.stage_parameters("finest"):
            parameter.requires_grad_(True)
