"""Watch a training run: progress, a JSONL loss log, TensorBoard scalars and PNG grids."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import IO, Any

from torch import Tensor

from .._files.atomic import atomic_path
from ..visualization import image_grid, image_picture, label_picture, save_png

PROGRESS_MODES = ("auto", "bar", "lines", "none")
# The losses shown on the progress bar and in the progress lines (the optional ones when on).
SHOWN_LOSSES = ("g_gan", "g_feat", "g_l1", "g_texture", "d_fake", "d_real")
METRICS_FILE = "metrics.jsonl"
GRIDS_FOLDER = "grids"


def _open_for_append(path: Path) -> IO[str]:
    """``open(path, "a")``, after giving ``path`` its own copy if it is a hard link.

    Every other file of a run is replaced atomically (a new file renamed over the old name), so
    a run folder copied with hard links (``cp -al``) never writes into its original; an append
    would, so a shared file is copied first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.stat().st_nlink > 1:
        with atomic_path(path) as temporary:
            shutil.copyfile(path, temporary)
    return open(path, "a", encoding="utf-8")  # closed by TrainingMonitor.close


class TrainingMonitor:
    """An ``on_step`` callback for [`Training.fit`][condgan_blocks.training.Training.fit] that
    shows and records a run.

    Every step it advances the progress display; every ``log_every_steps`` steps of the
    training config it appends the losses to ``run_dir/metrics.jsonl`` (one JSON object per
    line with ``step``, ``epoch`` (from 1) and ``time`` in seconds) and to TensorBoard
    (``run_dir/tensorboard``, when ``torch.utils.tensorboard`` imports); every ``grid_every``
    steps it writes ``run_dir/grids/step_NNNNNN.png``: one row per preview sample with the
    coloured labels, the generated image and the real image. ``metrics.jsonl`` is appended
    to, so a resumed run continues its log; a hard-linked copy of the file gets its own copy
    first, so a run folder copied with ``cp -al`` never writes into its original.

    Progress is a tqdm bar on a terminal and, when stderr is not a terminal (a log file, CI),
    a plain line every ``log_every_steps`` steps instead of a bar redrawn every step.

    Args:
        run_dir: The folder the log, TensorBoard events and grids go to (created).
        training: The [`Training`][condgan_blocks.training.Training] being watched.
        num_samples: Samples in the training set (for the number of steps of the run).
        preview: A batch (``label``, ``image``, optional ``instance``) drawn in the grids; for
            image-to-image runs (``num_classes=0``) ``input`` instead of ``label``, drawn as it
            is.
        palette: (K, 3) uint8 class colours for the labels of the grids; ids without a colour
            are drawn black. Required with a labelled ``preview`` and ``grid_every > 0``.
        grid_every: Write a grid every this many steps (0: never).
        progress: "auto" (a bar on a terminal, else lines), "bar" (needs tqdm), "lines" or
            "none".
        tensorboard: Also log to TensorBoard when it is installed.

    Raises:
        ValueError: For a bad ``progress``, a negative ``num_samples`` or ``grid_every``, or
            grids without a preview batch or palette.

    Examples:
        >>> import tempfile
        >>> from condgan_blocks.data import SyntheticScenes
        >>> from condgan_blocks.training import TrainingConfig, build_training
        >>> config = TrainingConfig.from_dict({
        ...     "num_classes": 7, "epochs": 1, "decay_epochs": 0, "batch_size": 2,
        ...     "log_every_steps": 1, "losses": {"vgg_weight": 0},
        ...     "generator": {"base_channels": 4, "num_downsamples": 1, "num_blocks": 1},
        ...     "discriminator": {"base_channels": 4, "num_scales": 1, "num_layers": 1}})
        >>> training = build_training(config)
        >>> scenes = SyntheticScenes(4, size=(16, 16))
        >>> run = Path(tempfile.mkdtemp())
        >>> with TrainingMonitor(run, training, num_samples=len(scenes), progress="none",
        ...                      tensorboard=False) as monitor:
        ...     _ = training.fit(scenes, on_step=monitor)
        >>> monitor.total_steps
        2
        >>> [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
        [1, 2]
    """

    def __init__(
        self,
        run_dir: str | os.PathLike,
        training: Any,
        *,
        num_samples: int,
        preview: dict[str, Any] | None = None,
        palette: Tensor | None = None,
        grid_every: int = 0,
        progress: str = "auto",
        tensorboard: bool = True,
    ) -> None:
        if progress not in PROGRESS_MODES:
            raise ValueError(f"progress must be one of {PROGRESS_MODES}, got {progress!r}")
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 0:
            raise ValueError(f"num_samples must be an int >= 0, got {num_samples!r}")
        if isinstance(grid_every, bool) or not isinstance(grid_every, int) or grid_every < 0:
            raise ValueError(f"grid_every must be an int >= 0 (0: no grids), got {grid_every!r}")
        if grid_every and (preview is None or (palette is None and "label" in preview)):
            raise ValueError(
                f"grid_every={grid_every} needs a preview batch and a palette to draw the grids"
            )
        config = training.config
        self.run_dir = Path(run_dir)
        self.preview, self.palette, self.grid_every = preview, palette, grid_every
        self.log_every = max(1, config.log_every_steps or 1)
        self.line_every = config.log_every_steps or 0
        per_step = config.batch_size * training.context.world_size
        if config.drop_last:
            steps_per_epoch = num_samples // per_step
        else:
            steps_per_epoch = math.ceil(num_samples / per_step)
        self.total_steps = config.total_epochs * steps_per_epoch
        self.started = time.perf_counter()
        self.log = _open_for_append(self.run_dir / METRICS_FILE)
        self.bar = None
        if progress == "bar" or (progress == "auto" and sys.stderr.isatty()):
            try:
                from tqdm.auto import tqdm
            except ImportError:
                if progress == "bar":
                    self.log.close()
                    raise
            else:
                self.bar = tqdm(
                    total=self.total_steps, initial=training.state.global_step, unit="step"
                )
        self.lines = progress == "lines" or (progress == "auto" and self.bar is None)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # TensorBoard is optional
                pass
            else:
                self.writer = SummaryWriter(str(self.run_dir / "tensorboard"))

    def __call__(self, training: Any, losses: dict[str, float]) -> None:
        """Record one finished step (the ``on_step`` signature)."""
        step = training.state.global_step
        epoch = training.state.epoch + 1
        total_epochs = training.config.total_epochs
        shown = {key: losses[key] for key in SHOWN_LOSSES if key in losses}
        if self.bar is not None:
            self.bar.set_description(f"epoch {epoch}/{total_epochs}")
            self.bar.set_postfix({key: f"{value:.3f}" for key, value in shown.items()})
            self.bar.update(1)
        elif self.lines and self.line_every and step % self.line_every == 0:
            text = " ".join(f"{key}={value:.3f}" for key, value in shown.items())
            elapsed = time.perf_counter() - self.started
            print(
                f"epoch {epoch}/{total_epochs} step {step}/{self.total_steps}: {text} "
                f"({elapsed:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        if step % self.log_every == 0:
            record = {"step": step, "epoch": epoch, "time": time.perf_counter() - self.started}
            self.log.write(json.dumps({**record, **losses}) + "\n")
            self.log.flush()
            if self.writer is not None:
                for name, value in losses.items():
                    self.writer.add_scalar(f"train/{name}", value, step)
        if self.grid_every and step % self.grid_every == 0:
            self.write_grid(training, step)

    def write_grid(self, training: Any, step: int) -> Path:
        """Write ``grids/step_NNNNNN.png`` of the preview batch (labels | generated | real).

        Returns:
            The path of the PNG.

        Raises:
            ValueError: The monitor has no preview batch or palette.
        """
        if self.preview is None or (self.palette is None and "label" in self.preview):
            raise ValueError("write_grid needs the monitor's preview batch and palette")
        batch = self.preview
        fake = training.generate(batch)
        if "label" in batch:
            firsts = [label_picture(label, self.palette) for label in batch["label"]]
        else:  # image to image (num_classes=0): the input image itself
            firsts = [image_picture(image) for image in batch["input"]]
        rows = [
            [first, image_picture(generated), image_picture(real)]
            for first, generated, real in zip(firsts, fake, batch["image"], strict=True)
        ]
        return save_png(image_grid(rows), self.run_dir / GRIDS_FOLDER / f"step_{step:06d}.png")

    def close(self) -> None:
        """Close the progress bar, the TensorBoard writer and the log file."""
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
        self.log.close()

    def __enter__(self) -> TrainingMonitor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
