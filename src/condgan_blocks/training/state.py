"""Where a run stands, how ``fit`` ended, and the error of a non-finite loss."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .schedule import PHASES


class NonFiniteLossError(RuntimeError):
    """A loss, or a weight after an update, became NaN or infinite; training stopped.

    With a non-finite loss, training stops before that step changes the weights. A step whose
    losses were finite can still write non-finite weights (a gradient that overflows, a huge
    learning rate): that is found right after it and raised with ``parameter`` set. Either
    way nothing is saved after the bad step, so every checkpoint holds finite weights, and the
    message names the last one the run wrote (or says there is none).

    Attributes:
        step: The step (counted from 1) whose losses, or whose updated weights, were not
            finite.
        losses: All losses of that step.
        parameter: The first non-finite weight (``"generator.stem.conv.weight"``) when the
            update was at fault; None for a non-finite loss.

    Examples:
        >>> try:
        ...     raise NonFiniteLossError("non-finite loss", step=3, losses={"g_gan": float("nan")})
        ... except RuntimeError as error:
        ...     print(type(error).__name__, error.step, sorted(error.losses))
        NonFiniteLossError 3 ['g_gan']
    """

    def __init__(
        self,
        message: str,
        *,
        step: int,
        losses: dict[str, float],
        parameter: str | None = None,
    ) -> None:
        super().__init__(message)
        self.step = step
        self.losses = losses
        self.parameter = parameter


@dataclass
class TrainingState:
    """Where a run stands; saved in every checkpoint.

    Attributes:
        epoch: Finished epochs of the stage (so the current epoch, counted from 0).
        batch_in_epoch: Batches of the current epoch already trained on.
        global_step: Steps taken in this stage.
        stage: "global" or "local".
        phase: Which generator parameters train: "all" or "finest".

    Examples:
        >>> TrainingState.from_dict(TrainingState(epoch=2).to_dict()).epoch
        2
    """

    epoch: int = 0
    batch_in_epoch: int = 0
    global_step: int = 0
    stage: str = "global"
    phase: str = "all"

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingState:
        """Rebuild from [`to_dict`][condgan_blocks.training.TrainingState.to_dict], checking every
        field.

        Raises:
            ValueError: For unknown or missing keys and bad values.
        """
        names = {f.name for f in fields(cls)}
        if not isinstance(values, dict) or set(values) != names:
            got = sorted(values) if isinstance(values, dict) else type(values).__name__
            raise ValueError(f"a training state needs the keys {sorted(names)}, got {got}")
        for name in ("epoch", "batch_in_epoch", "global_step"):
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"state.{name} must be an int >= 0, got {value!r}")
        if values["stage"] not in ("global", "local"):
            raise ValueError(f"state.stage must be 'global' or 'local', got {values['stage']!r}")
        if values["phase"] not in PHASES:
            raise ValueError(f"state.phase must be one of {PHASES}, got {values['phase']!r}")
        return cls(**values)


@dataclass
class FitResult:
    """How [`fit`][condgan_blocks.training.Training.fit] ended.

    Attributes:
        epoch: Finished epochs.
        global_step: Steps taken.
        interrupted_by: "SIGINT" or "SIGTERM" when a signal stopped the run ("a signal to
            another rank" on the ranks that did not get it), else None.
        checkpoint: The last checkpoint written, if any.

    Examples:
        >>> result = FitResult(epoch=2, global_step=10, interrupted_by=None, checkpoint=None)
        >>> result.interrupted_by is None, result.global_step
        (True, 10)

        [`fit`][condgan_blocks.training.Training.fit] returns one; see
        [`Training`][condgan_blocks.training.Training] for a run.
    """

    epoch: int
    global_step: int
    interrupted_by: str | None
    checkpoint: Path | None
