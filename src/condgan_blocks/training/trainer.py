"""The training loop: steps, epochs, checkpoints, exact resume, signals and distributed runs."""

from __future__ import annotations

import itertools
import logging
import math
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from .._seeding import SEED_FAKE_POOL, SEED_GLOBAL, derive_seed
from ..data import SeededDataLoader, make_dataloader
from ..data.sampler import batches_per_epoch
from . import distributed
from ._snapshot_checks import check_snapshot, first_non_finite
from .checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    LATEST_NAME,
    check_checkpoint_header,
    epoch_checkpoint_name,
    load_checkpoint,
    prune_checkpoints,
    publish_copy,
    resolve_checkpoint_path,
    save_checkpoint,
)
from .config import TrainingConfig, architecture_differences
from .distributed import DistributedContext
from .ema import ExponentialMovingAverage
from .fake_pool import FakePool
from .inputs import StepInputs, prepare_batch
from .models import TrainingModels, build_models
from .precision import make_grad_scaler, resolve_precision
from .rng import capture_rng_state, restore_rng_state, seed_everything
from .schedule import apply_generator_phase, generator_phase, lr_factor
from .signals import StopRequest
from .state import FitResult, NonFiniteLossError, TrainingState
from .step import StepHooks, fused_step, naive_step

logger = logging.getLogger("condgan_blocks.training")

StepCallback = Callable[["Training", dict[str, float]], None]


def _to_cpu(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_cpu(v) for v in value]
    return value


def _progress(iterable: Iterable, total: int, description: str, enabled: bool) -> Iterable:
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is an optional dependency ("recipe" extra)
        return iterable
    return tqdm(iterable, total=total, desc=description, dynamic_ncols=True, leave=False)


class Training:
    """A pix2pixHD run: models, optimizers, schedule, EMA, fake pool, checkpoints.

    Build it with [`build_training`][condgan_blocks.training.build_training].
    [`step`][condgan_blocks.training.Training.step] runs one G and one D update on a batch;
    [`fit`][condgan_blocks.training.Training.fit] runs the whole schedule over a dataset with
    checkpoints, exact resume and signal handling. Under ``torch.distributed`` every rank builds
    one; only rank 0 writes checkpoints and logs, and
    [`save`][condgan_blocks.training.Training.save] is collective (every rank must call it).

    Every step synchronises with the host once, after the forward pass, to read the losses:
    a non-finite loss raises [`NonFiniteLossError`][condgan_blocks.training.NonFiniteLossError]
    before any weight changes, and the same small all-reduce carries a pending stop signal to
    every rank. It also carries whether the previous step's update left every weight finite
    (one fused norm over the weights, computed on the device after each update): a step whose
    losses were finite but whose update wrote NaN or infinite weights raises
    [`NonFiniteLossError`][condgan_blocks.training.NonFiniteLossError] naming that step and the
    first bad weight, at the next step or at the next save, whichever comes first. Nothing is
    saved after such a step, so every checkpoint holds finite weights.

    Distributed runs are data parallel without the ``DistributedDataParallel`` wrapper, whose
    reducer cannot follow the fused step's restricted backwards: rank 0's weights are broadcast
    at the start and gradients are averaged after every backward (see
    `condgan_blocks.training.distributed`). The fake pool and the random streams are per
    rank, and every rank's are saved.

    Args:
        config: The run's configuration.
        models: From [`build_models`][condgan_blocks.training.build_models].
        context: The distributed context; defaults to the initialised process group's.

    Attributes:
        precision: The precision the steps run in: ``config.precision`` with "auto" resolved
            on this process's device ("bf16" or "fp32", see
            [`resolve_precision`][condgan_blocks.training.resolve_precision]).

    Shape:
        - [`generate`][condgan_blocks.training.Training.generate]: a batch of (N, 1, H, W) label
          maps gives float32 (N, C, H, W) images.

    Examples:
        >>> import tempfile
        >>> from condgan_blocks.data import SyntheticScenes, collate
        >>> from condgan_blocks.training import (DiscriminatorConfig, GeneratorConfig,
        ...                                      LossConfig, TrainingConfig)
        >>> folder = tempfile.mkdtemp()
        >>> config = TrainingConfig(
        ...     num_classes=7,
        ...     generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1),
        ...     discriminator=DiscriminatorConfig(base_channels=4, num_scales=1),
        ...     losses=LossConfig(vgg_weight=0.0),
        ...     epochs=1, decay_epochs=0, output_dir=folder, log_every_steps=0)
        >>> dataset = SyntheticScenes(2, size=(16, 16))
        >>> training = build_training(config)
        >>> training.generate(collate([dataset[0]])).shape
        torch.Size([1, 3, 16, 16])
        >>> result = training.fit(dataset)
        >>> result.epoch, result.global_step, result.interrupted_by, result.checkpoint.name
        (1, 2, None, 'epoch_0001.pt')
        >>> resumed = build_training(config, resume=folder)
        >>> resumed.state.epoch, resumed.state.global_step
        (1, 2)
    """

    def __init__(
        self,
        config: TrainingConfig,
        models: TrainingModels,
        *,
        context: DistributedContext | None = None,
    ) -> None:
        self.config = config
        self.models = models
        self.context = DistributedContext.current() if context is None else context
        self.device = distributed.resolve_device(config.device, self.context)
        self.dtype = getattr(torch, config.param_dtype)
        self.state = TrainingState(stage=config.stage)
        self.precision = resolve_precision(config.precision, self.device)  # "auto" -> concrete
        self.scaler = make_grad_scaler(self.precision, self.device)
        self.fake_pool = (
            FakePool(
                config.pool_size, seed=derive_seed(SEED_FAKE_POOL, config.seed, self.context.rank)
            )
            if config.pool_size > 0
            else None
        )
        if self.context.enabled:
            for net in models.networks().values():
                distributed.broadcast_module(net)
        self.ema = (
            None
            if config.ema_decay is None
            else ExponentialMovingAverage(models.generator, config.ema_decay)
        )
        self.last_checkpoint: Path | None = None
        self._stop: StopRequest | None = None
        self._stopping: str | None = None
        # The weights checked after every update: parameters and floating buffers of G, D, E.
        self._weights = {
            f"{net_name}.{name}": tensor
            for net_name, net in models.networks().items()
            for name, tensor in itertools.chain(net.named_parameters(), net.named_buffers())
            if tensor.is_floating_point()
        }
        self._weights_dtypes = {tensor.dtype for tensor in self._weights.values()}
        # Whether the last update left the weights finite: a device tensor read at the next
        # host synchronisation (the next step's loss read-out, or a save).
        self._pending_finite: Tensor | None = None
        self._pending_step: tuple[int, int, int] = (0, 0, 0)  # step, epoch, batch
        self._last_losses: dict[str, float] = {}
        self.set_epoch(0)

    @property
    def is_main(self) -> bool:
        """True on the rank that writes checkpoints and logs."""
        return self.context.is_main

    @property
    def lr(self) -> float:
        """The current learning rate."""
        return float(self.models.optimizer_g.param_groups[0]["lr"])

    @property
    def generator(self) -> nn.Module:
        """The generator used for generation: the EMA average when there is one."""
        return self.models.generator if self.ema is None else self.ema.module

    def set_epoch(self, epoch: int) -> None:
        """Set the learning rate and the generator phase of ``epoch`` (from 0)."""
        config = self.config
        factor = lr_factor(epoch, config.epochs, config.decay_epochs)
        for optimizer, lr in (
            (self.models.optimizer_g, config.optimizer.lr),
            (self.models.optimizer_d, config.optimizer.discriminator_lr),
        ):
            for group in optimizer.param_groups:
                group["lr"] = lr * factor
        phase = generator_phase(config.stage, epoch, config.freeze_global_epochs)
        if phase != self.state.phase and self.is_main:
            logger.info("epoch %d: training generator parameters %r", epoch + 1, phase)
        apply_generator_phase(self.models.generator, phase)
        self.state.phase = phase

    # ---------------------------------------------------------------- one step
    def step(self, batch: dict[str, Any], *, naive: bool = False) -> dict[str, float]:
        """One G update and one D update on ``batch``; returns the losses and the lr.

        Args:
            batch: A collated batch dict (``label``, ``image``, ``instance``).
            naive: Run the original's three-pass step instead of the fused one (reference).

        Raises:
            NonFiniteLossError: If a loss is NaN or infinite (the weights are left unchanged),
                or if the previous step's update wrote NaN or infinite weights (``parameter``
                names the first one).
            ValueError: If the batch misses a tensor, or a tensor has the wrong shape or
                range (see [`prepare_batch`][condgan_blocks.training.prepare_batch]).
            TypeError: If a tensor has the wrong dtype.
        """
        config = self.config
        self.models.train()
        inputs = self._prepare(batch, channels_last=config.channels_last)
        hooks = StepHooks(self._reduce_losses, self._sync_gradients)
        run = naive_step if naive else fused_step
        values = run(
            self.models,
            inputs,
            fake_pool=self.fake_pool,
            precision=self.precision,
            scaler=self.scaler,
            hooks=hooks,
        )
        self._pending_finite = self._weights_finite()
        state = self.state
        self._pending_step = (state.global_step + 1, state.epoch + 1, state.batch_in_epoch + 1)
        self._last_losses = dict(values)
        if self.ema is not None:
            self.ema.update(self.models.generator)
        self.state.global_step += 1
        values["lr"] = self.lr
        return values

    def _prepare(self, batch: dict[str, Any], *, channels_last: bool = False) -> StepInputs:
        """The batch as step inputs on this run's device and dtype."""
        config = self.config
        return prepare_batch(
            batch,
            num_classes=config.num_classes,
            image_channels=config.image_channels,
            input_channels=config.input_channels,
            use_instances=config.use_instances,
            use_encoder=config.encoder is not None,
            ignore_index=config.ignore_index,
            device=self.device,
            dtype=self.dtype,
            channels_last=channels_last,
        )

    @torch.no_grad()
    def _weights_finite(self) -> Tensor:
        """A 0-dim bool tensor on the device: every weight is finite (no host sync).

        One fused norm per weight tensor: a NaN or an infinity makes its norm non-finite. A
        finite weight too large to square (|w| > 1e19 in float32) overflows the norm too; the
        exact check in `_fail_on_non_finite_weights` then clears it.
        """
        norms = torch._foreach_norm(list(self._weights.values()))
        if len(self._weights_dtypes) > 1:
            norms = [norm.float() for norm in norms]
        return torch.stack(norms).isfinite().all()

    def _check_weights(self) -> None:
        """Raise if a weight is NaN or infinite now: one fused check and one host sync.

        Run before every save (whatever made a weight non-finite) and at the end of ``fit``.
        """
        self._pending_finite = None
        self._fail_on_non_finite_weights()

    def _fail_on_non_finite_weights(self) -> None:
        name = first_non_finite(self._weights)
        if name is None:  # only an overflowing norm: the weights are finite
            return
        step, epoch, batch = self._pending_step
        if step == 0:
            raise NonFiniteLossError(
                f"non-finite weights before any step: {name} is NaN or infinite; nothing was "
                f"saved; {self._kept_checkpoint()}",
                step=0,
                losses={},
                parameter=name,
            )
        raise NonFiniteLossError(
            f"non-finite weights after step {step} (epoch {epoch}, batch {batch}): its losses "
            f"were finite, but after its update {name} is NaN or infinite (learning rate "
            f"{self.lr:g}; lower optimizer.lr, or check the gradients); stopped, and nothing "
            f"was saved after that step; {self._kept_checkpoint()}",
            step=step,
            losses=self._last_losses,
            parameter=name,
        )

    def _kept_checkpoint(self) -> str:
        where = self.last_checkpoint
        if where is not None and where.is_file():
            return f"the last good checkpoint {where} is left in place"
        if self.config.output_dir is None:
            return "no checkpoint (output_dir is None)"
        return "this run saved no checkpoint before it, so none holds its weights"

    def _reduce_losses(self, losses: dict[str, Tensor]) -> dict[str, float]:
        requested = 1.0 if self._stop is not None and self._stop.requested else 0.0
        vector = torch.stack([v.float() for v in losses.values()])
        finite = self._pending_finite
        finite = vector.new_ones(1) if finite is None else finite.reshape(1).to(vector.dtype)
        vector = torch.cat([vector, vector.new_tensor([requested]), finite])
        if self.context.enabled:
            vector = distributed.all_reduce_mean(vector, self.context.world_size)
        *numbers, requested, finite = vector.tolist()
        self._pending_finite = None
        if finite < 1:  # the previous step wrote a non-finite weight (on some rank)
            self._fail_on_non_finite_weights()
        if requested > 0 and self._stopping is None:
            local = self._stop.requested if self._stop is not None else None
            self._stopping = local or "a signal to another rank"
        values = dict(zip(losses, numbers, strict=True))
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            step = self.state.global_step + 1
            shown = ", ".join(f"{k}={v}" for k, v in bad.items())
            raise NonFiniteLossError(
                f"non-finite loss at step {step} (epoch {self.state.epoch + 1}, batch "
                f"{self.state.batch_in_epoch + 1}): {shown}; stopped before updating the "
                f"weights; {self._kept_checkpoint()}",
                step=step,
                losses=values,
            )
        return values

    def _sync_gradients(self, parameters: list[nn.Parameter]) -> None:
        if self.context.enabled:
            distributed.average_gradients(parameters, self.context.world_size)

    @torch.no_grad()
    def generate(self, batch: dict[str, Any]) -> Tensor:
        """Images for ``batch`` from [`generator`][condgan_blocks.training.Training.generator] (the
        EMA average when present).

        Runs the one inference path,
        [`Synthesizer.from_training`][condgan_blocks.synthesis.Synthesizer.from_training]:
        maps of any size are padded to the generator's size multiple and cropped back. The
        encoder, when used, encodes the batch's real images.

        Args:
            batch: A collated batch dict: ``label`` (``input`` with ``num_classes=0``), and
                ``instance`` or ``image`` where the boundary map or the encoder need them.

        Returns:
            Float32 images (N, C, H, W) on the device of the batch's maps.

        Raises:
            ValueError: If the batch misses a map the run needs, or a map is invalid.
        """
        from ..synthesis import Synthesizer  # synthesis imports this package: import late

        config = self.config
        use_encoder = self.models.encoder is not None
        needed = ["input" if config.image_input else "label"]
        needed += ["instance"] if config.use_instances or use_encoder else []
        needed += ["image"] if use_encoder else []
        missing = [key for key in needed if key not in batch]
        if missing:
            raise ValueError(f"the batch has no {missing}, needed here; it has {sorted(batch)}")
        return Synthesizer.from_training(self).generate(
            batch[needed[0]],
            batch["instance"] if "instance" in needed else None,
            image=batch["image"] if use_encoder else None,
        )

    # ---------------------------------------------------------------- epochs
    def make_loader(self, dataset: Dataset, epoch: int, *, start: int = 0) -> SeededDataLoader:
        """The batches of ``epoch`` for this rank, from sample ``start`` of its share on.

        A [`make_dataloader`][condgan_blocks.data.make_dataloader] loader with this run's
        settings. The order comes from [`EpochSampler`][condgan_blocks.training.EpochSampler], so
        a resumed run skips the consumed batches without loading them. Random transforms draw
        from the global torch state with ``num_workers=0`` (saved in checkpoints: resume is
        exact); worker processes are seeded per (seed, rank, epoch), so with workers a resumed
        epoch repeats the order but not the random transforms of the interrupted one.

        Examples:
            >>> from condgan_blocks.data import SyntheticScenes
            >>> from condgan_blocks.training import (DiscriminatorConfig, GeneratorConfig,
            ...                                      LossConfig, TrainingConfig)
            >>> config = TrainingConfig(
            ...     num_classes=7, batch_size=2,
            ...     generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1),
            ...     discriminator=DiscriminatorConfig(base_channels=4, num_scales=1),
            ...     losses=LossConfig(vgg_weight=0.0))
            >>> loader = build_training(config).make_loader(SyntheticScenes(6), epoch=0, start=2)
            >>> len(loader)  # 2 of the 6 samples were read before: 2 batches left
            2
        """
        config = self.config
        return make_dataloader(
            dataset,
            config.batch_size,
            shuffle=config.shuffle,
            seed=config.seed,
            epoch=epoch,
            start=start,
            world_size=self.context.world_size,
            rank=self.context.rank,
            num_workers=config.num_workers,
            drop_last=config.drop_last,
            pin_memory=self.device.type == "cuda",
        )

    def train_epoch(self, dataset: Dataset, *, on_step: StepCallback | None = None) -> str | None:
        """Train the rest of the current epoch, then save the per-epoch checkpoint.

        A stop signal ends the epoch early after the current step and saves ``latest.pt``.

        Args:
            dataset: A map-style dataset of sample dicts.
            on_step: Called on rank 0 after every step with this object and the losses.

        Returns:
            The name of the stop signal that ended the epoch early, else None.
        """
        config, state = self.config, self.state
        self.set_epoch(state.epoch)
        loader = self.make_loader(
            dataset, state.epoch, start=state.batch_in_epoch * config.batch_size
        )
        total = config.total_epochs
        batches = _progress(
            loader,
            len(loader),
            f"epoch {state.epoch + 1}/{total}",
            self.is_main and sys.stderr.isatty(),
        )
        for batch in batches:
            losses = self.step(batch)
            state.batch_in_epoch += 1
            if on_step is not None and self.is_main:
                on_step(self, losses)
            if (
                self.is_main
                and config.log_every_steps
                and state.global_step % config.log_every_steps == 0
            ):
                shown = " ".join(f"{k}={v:.4g}" for k, v in losses.items())
                logger.info(
                    "epoch %d/%d batch %d step %d: %s",
                    state.epoch + 1,
                    total,
                    state.batch_in_epoch,
                    state.global_step,
                    shown,
                )
            stopping = self._stop_requested()
            if stopping is not None:
                return stopping
            if config.save_every_steps and state.global_step % config.save_every_steps == 0:
                self.save()
        state.epoch += 1
        state.batch_in_epoch = 0
        self.set_epoch(state.epoch)  # the checkpoint holds the next epoch's lr and phase
        self.save(epoch_end=True)
        return None

    def _stop_requested(self) -> str | None:
        """The pending stop signal. Distributed ranks act on the flag all-reduced in the last
        step, so that all of them stop after the same step."""
        if not self.context.enabled and self._stop is not None and self._stop.requested:
            return self._stop.requested
        return self._stopping

    def fit(self, dataset: Dataset, *, on_step: StepCallback | None = None) -> FitResult:
        """Train until ``config.total_epochs``, from wherever the run stands.

        SIGINT and SIGTERM finish the current step, save ``latest.pt`` and return with
        ``interrupted_by`` set (a second SIGINT raises ``KeyboardInterrupt`` at once). A
        non-finite loss, or an update that wrote non-finite weights, raises
        [`NonFiniteLossError`][condgan_blocks.training.NonFiniteLossError] without saving, so
        the last good checkpoint stays.

        A run that has already trained ``config.total_epochs`` epochs trains nothing (a warning
        says so); to extend a finished run, resume it with larger ``epochs`` or
        ``decay_epochs`` (see [`resume`][condgan_blocks.training.Training.resume]).

        Args:
            dataset: A map-style dataset of sample dicts (the same on every rank).
            on_step: Called on rank 0 after every step with this object and the losses.

        Returns:
            A [`FitResult`][condgan_blocks.training.FitResult].
        """
        if len(dataset) == 0:
            raise ValueError("the dataset is empty")
        per_epoch = batches_per_epoch(
            len(dataset), self.config.batch_size, self.context.world_size, self.config.drop_last
        )
        if per_epoch == 0:
            raise ValueError(
                f"an epoch has no batch: {len(dataset)} samples over {self.context.world_size} "
                f"rank(s) with batch_size={self.config.batch_size} and drop_last=True"
            )
        self._stopping = None
        if self.state.epoch >= self.config.total_epochs and self.is_main:
            logger.warning(
                "nothing to train: the run has finished %d of %d epochs (step %d); extend it "
                "with larger epochs or decay_epochs",
                self.state.epoch,
                self.config.total_epochs,
                self.state.global_step,
            )
        with StopRequest() as stop:
            self._stop = stop
            try:
                while self.state.epoch < self.config.total_epochs:
                    stopped_by = self.train_epoch(dataset, on_step=on_step)
                    if stopped_by is not None:
                        path = self.save()
                        if self.is_main:
                            logger.warning(
                                "stopping on %s: finished step %d (epoch %d/%d, batch %d) and "
                                "saved %s; resume with build_training(config, resume=...)",
                                stopped_by,
                                self.state.global_step,
                                self.state.epoch + 1,
                                self.config.total_epochs,
                                self.state.batch_in_epoch,
                                path or "nothing (no output_dir)",
                            )
                        return FitResult(self.state.epoch, self.state.global_step, stopped_by, path)
            finally:
                self._stop = None
        self._check_weights()
        return FitResult(self.state.epoch, self.state.global_step, None, self.last_checkpoint)

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any] | None:
        """Everything needed to continue the run, as tensors and plain values; None off rank 0.

        This is the checkpoint [`save`][condgan_blocks.training.Training.save] writes (it loads
        with ``torch.load(weights_only=True)``) and
        [`load_state_dict`][condgan_blocks.training.Training.load_state_dict] reads:

        - ``format``, ``version``: ``"condgan_blocks.training"``, 1.
        - ``config``: ``TrainingConfig.to_dict()``.
        - ``state``: [`TrainingState`][condgan_blocks.training.TrainingState] as a dict (epoch,
          batch in epoch, step, stage, phase).
        - ``models``: ``generator``, ``discriminator``, ``encoder``, ``ema``: state dicts (None
          for a part the run does not have).
        - ``optimizers``: ``generator`` (with the encoder), ``discriminator``: Adam state dicts.
        - ``schedule``: ``{"lr": the current learning rate}``.
        - ``scaler``: the gradient scaler's state dict (float16 precision) or None.
        - ``world_size``, ``ranks``: per rank, the torch / CUDA / Python / numpy random states
          and the fake pool.

        As with ``nn.Module.state_dict``, the weight and optimizer tensors are the live ones:
        copy the dict (``copy.deepcopy``) to keep it while training goes on. Collective under
        ``torch.distributed``: it gathers every rank's random states and fake pool.

        Returns:
            The checkpoint dict on rank 0, None on the other ranks.

        Raises:
            NonFiniteLossError: If the last update wrote NaN or infinite weights: such
                weights are never put into a checkpoint.

        Examples:
            >>> import copy
            >>> from condgan_blocks.data import SyntheticScenes, collate
            >>> from condgan_blocks.training import (DiscriminatorConfig, GeneratorConfig,
            ...                                      LossConfig, TrainingConfig)
            >>> config = TrainingConfig(
            ...     num_classes=7,
            ...     generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1),
            ...     discriminator=DiscriminatorConfig(base_channels=4, num_scales=1),
            ...     losses=LossConfig(vgg_weight=0.0))
            >>> training = build_training(config)
            >>> _ = training.step(collate([SyntheticScenes(1, size=(16, 16))[0]]))
            >>> state = copy.deepcopy(training.state_dict())
            >>> sorted(state["models"]), state["state"]["global_step"]
            (['discriminator', 'ema', 'encoder', 'generator'], 1)
            >>> fresh = build_training(config)
            >>> fresh.load_state_dict(state)
            >>> fresh.state.global_step
            1
        """
        self._check_weights()
        ranks = distributed.gather_to_main(self._rank_state(), self.context)
        if not self.is_main:
            return None
        models = self.models
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "config": self.config.to_dict(),
            "state": self.state.to_dict(),
            "models": {
                "generator": models.generator.state_dict(),
                "discriminator": models.discriminator.state_dict(),
                "encoder": None if models.encoder is None else models.encoder.state_dict(),
                "ema": None if self.ema is None else self.ema.module.state_dict(),
            },
            "optimizers": {
                "generator": models.optimizer_g.state_dict(),
                "discriminator": models.optimizer_d.state_dict(),
            },
            "schedule": {"lr": self.lr},
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "world_size": self.context.world_size,
            "ranks": ranks,
        }

    def _rank_state(self) -> dict[str, Any]:
        """This rank's random states and fake pool, on the CPU."""
        pool = None if self.fake_pool is None else self.fake_pool.state_dict()
        return _to_cpu({"rng": capture_rng_state(), "fake_pool": pool})

    def load_state_dict(self, state: dict[str, Any], *, source: object = None) -> None:
        """Continue from ``state``, a dict from ``state_dict`` (or a loaded checkpoint).

        Loads the weights, the EMA average (a state without one starts it from the generator),
        the optimizer and scaler states, the position in the schedule, and this rank's random
        states and fake pool; then sets the learning rate and the generator phase of the loaded
        epoch from this object's ``config`` (see
        [`resume`][condgan_blocks.training.Training.resume]). Settings come from ``config``,
        not from ``state``; only the architecture must match. A state written by another
        number of processes loads all but the random states and fake pools (a warning says so).

        The whole state is checked before anything changes: the kind of every record, the
        state-dict keys and shapes, that every weight is finite, the optimizers' parameter
        groups and per-parameter state shapes, the scaler, the random states and the fake pool.

        Args:
            state: The checkpoint dict (see ``state_dict`` for its contents and an example).
            source: Where ``state`` comes from (a checkpoint path), named in messages.

        Raises:
            TypeError: If ``state`` is not a dict.
            CheckpointError: If ``state`` is not a training checkpoint of a readable version,
                or any record is malformed or does not fit the run; the message names the record
                (config fields, keys, shapes). This object is then left unchanged.
        """
        if not isinstance(state, dict):
            raise TypeError(
                f"state must be a dict from Training.state_dict(), got {type(state).__name__}"
            )
        where = "the state dict" if source is None else source
        check_checkpoint_header(state, where)
        position = check_snapshot(self, state, where)
        main = self.is_main
        changed = architecture_differences(state["config"], self.config.to_dict())
        if changed and main:
            logger.info("loading %s with config changes (checkpoint vs now): %s", where, changed)
        models = self.models
        for name, net in models.networks().items():
            net.load_state_dict(state["models"][name])
        if self.ema is not None:
            if state["models"].get("ema") is not None:
                self.ema.module.load_state_dict(state["models"]["ema"])
            else:
                if main:
                    logger.warning("%s has no EMA; the average starts from the generator", where)
                self.ema.module.load_state_dict(models.generator.state_dict())
        models.optimizer_g.load_state_dict(state["optimizers"]["generator"])
        models.optimizer_d.load_state_dict(state["optimizers"]["discriminator"])
        if self.scaler is not None and state.get("scaler") is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.state = position
        self._load_rank_state(state, where)
        self.set_epoch(self.state.epoch)
        self._pending_finite = None

    def _load_rank_state(self, state: dict[str, Any], where: object) -> None:
        """Restore this rank's random states and fake pool, when ``state`` has them."""
        ranks = state.get("ranks") or []
        rank = self.context.rank
        if state.get("world_size") != self.context.world_size or len(ranks) <= rank:
            if self.is_main:
                logger.warning(
                    "%s was written by %s process(es), this run has %d: random states and fake "
                    "pools start afresh, so the run does not continue exactly",
                    where,
                    state.get("world_size"),
                    self.context.world_size,
                )
            return
        if self.fake_pool is not None and ranks[rank].get("fake_pool") is not None:
            self.fake_pool.load_state_dict(ranks[rank]["fake_pool"])
        restore_rng_state(ranks[rank]["rng"])

    def checkpoint(self) -> dict[str, Any] | None:
        """The same as [`state_dict`][condgan_blocks.training.Training.state_dict]."""
        return self.state_dict()

    def save(self, *, epoch_end: bool = False) -> Path | None:
        """Write ``latest.pt`` (and, with ``epoch_end``, ``epoch_NNNN.pt``) atomically.

        Collective under ``torch.distributed``; only rank 0 writes. Returns the path written,
        or None without ``config.output_dir`` or off rank 0.
        """
        if self.config.output_dir is None:
            return None
        checkpoint = self.checkpoint()
        if checkpoint is None:
            return None
        folder = Path(self.config.output_dir)
        if epoch_end:
            path = save_checkpoint(checkpoint, folder / epoch_checkpoint_name(self.state.epoch))
            publish_copy(path, folder / LATEST_NAME)
            if self.config.keep_last is not None:
                prune_checkpoints(folder, self.config.keep_last)
        else:
            path = save_checkpoint(checkpoint, folder / LATEST_NAME)
        self.last_checkpoint = path
        logger.info("saved %s (step %d)", path, self.state.global_step)
        return path

    def resume(self, path: str | os.PathLike) -> None:
        """Continue from a checkpoint of this run (a file, or a run folder's ``latest.pt``).

        Only the weights, optimizer and scaler states, the position in the schedule, the
        random states and the fake pool come from the checkpoint; every setting comes from
        this object's ``config``, and checkpoints go to its ``output_dir`` (the folder stored in
        the checkpoint is ignored, so a copied run folder resumes into itself).

        The learning rate of every remaining epoch follows ``config``'s ``epochs`` and
        ``decay_epochs``, exactly as if the run had been started with them: growing
        ``epochs`` of a finished run trains the new epochs at the initial rate again, then
        decays over ``decay_epochs``; growing ``decay_epochs`` stretches the decay, so the rate
        goes back up to where the longer decay stands. A warning names the rate when it
        differs from the one the checkpoint was going to use.

        Raises:
            CheckpointError: If the file is corrupt or truncated, was written for another
                architecture, or any record is malformed or holds non-finite weights (the
                message names the fields, keys and shapes). Everything is checked before
                anything is loaded: on an error this object is unchanged.
        """
        path = resolve_checkpoint_path(path)
        checkpoint = load_checkpoint(path, map_location=self.device)
        self.load_state_dict(checkpoint, source=path)
        self.last_checkpoint = path
        schedule = checkpoint.get("schedule")
        saved_lr = schedule.get("lr") if isinstance(schedule, dict) else None
        if (
            self.is_main
            and isinstance(saved_lr, (int, float))
            and not math.isclose(saved_lr, self.lr, rel_tol=1e-6, abs_tol=1e-12)
        ):
            logger.warning(
                "resuming %s at epoch %d/%d with learning rate %g (the checkpoint's schedule "
                "had %g): epochs=%d and decay_epochs=%d set the rate of the remaining epochs",
                path,
                self.state.epoch + 1,
                self.config.total_epochs,
                self.lr,
                saved_lr,
                self.config.epochs,
                self.config.decay_epochs,
            )


def build_training(
    config: TrainingConfig,
    *,
    resume: str | os.PathLike | None = None,
    context: DistributedContext | None = None,
) -> Training:
    """Build a [`Training`][condgan_blocks.training.Training] from ``config``, optionally resuming a
    checkpoint.

    Seeds torch, Python and numpy with ``config.seed`` before building (the same weights on
    every rank, and rank 0's are broadcast anyway), then with a seed derived from
    ``(seed, rank)`` for whatever the run draws later.

    Args:
        config: The run's configuration.
        resume: A checkpoint of this run to continue from (file or run folder). Stage "local"
            then does not read ``global_checkpoint``.
        context: The distributed context; defaults to the initialised process group's.

    Returns:
        A [`Training`][condgan_blocks.training.Training] whose ``step(batch)`` runs one full G and D
        update.

    Examples:
        >>> from condgan_blocks.data import SyntheticScenes, collate
        >>> from condgan_blocks.training import (DiscriminatorConfig, GeneratorConfig,
        ...                                      LossConfig, TrainingConfig)
        >>> config = TrainingConfig(
        ...     num_classes=7,
        ...     generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1),
        ...     discriminator=DiscriminatorConfig(base_channels=4, num_scales=1),
        ...     losses=LossConfig(vgg_weight=0.0))
        >>> training = build_training(config)
        >>> losses = training.step(collate([SyntheticScenes(1, size=(16, 16))[0]]))
        >>> sorted(losses)
        ['d_fake', 'd_real', 'd_total', 'g_feat', 'g_gan', 'g_total', 'g_vgg', 'lr']
    """
    if not isinstance(config, TrainingConfig):
        raise TypeError(f"config must be a TrainingConfig, got {type(config).__name__}")
    context = DistributedContext.current() if context is None else context
    seed_everything(config.seed)
    device = distributed.resolve_device(config.device, context)
    models = build_models(config, device=device, load_global=resume is None)
    training = Training(config, models, context=context)
    seed_everything(derive_seed(SEED_GLOBAL, config.seed, context.rank))
    if resume is not None:
        training.resume(resume)
    return training
