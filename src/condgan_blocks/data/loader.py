"""Batching samples, and the seeded, resumable DataLoader the training loop reads from."""

from __future__ import annotations

import signal
from collections.abc import Iterator, Mapping, Sequence
from numbers import Number
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from .._checks import check_bool, check_optional_bool, check_positive_int
from .._seeding import SEED_LOADER, derive_seed
from .sampler import EpochSampler


def collate(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Stack a list of sample dicts into one batch dict.

    Tensors are stacked along a new first dimension, numbers become a tensor, anything else
    (``path`` strings) becomes a list.

    Args:
        samples: Dicts with the same keys, e.g. dataset items.

    Returns:
        Dict with the same keys; a (C, H, W) member becomes (N, C, H, W).

    Raises:
        ValueError: If the samples have different keys, or tensors of different shapes (the
            message names the paths; crop or scale samples to one size, or use batch size 1).

    Examples:
        >>> batch = collate([{"label": torch.zeros(1, 2, 2), "path": "a"}] * 3)
        >>> batch["label"].shape, batch["path"]
        (torch.Size([3, 1, 2, 2]), ['a', 'a', 'a'])
    """
    if len(samples) == 0:
        raise ValueError("collate needs at least one sample")
    keys = list(samples[0])
    for sample in samples[1:]:
        if set(sample) != set(keys):
            raise ValueError(
                f"samples in a batch must have the same keys, got {sorted(keys)} and "
                f"{sorted(sample)} (sample {sample.get('path', '?')!r})"
            )
    batch: dict[str, Any] = {}
    for key in keys:
        values = [sample[key] for sample in samples]
        first = values[0]
        if isinstance(first, Tensor):
            shapes = [tuple(v.shape) for v in values]
            if len(set(shapes)) > 1:
                described = ", ".join(
                    f"{s.get('path', i)!s}: {shape}"
                    for i, (s, shape) in enumerate(zip(samples, shapes, strict=True))
                )
                raise ValueError(
                    f"cannot batch {key!r}: shapes differ ({described}); crop or scale the "
                    "samples to one size (RandomCrop, ScaleWidth) or use batch_size=1"
                )
            batch[key] = torch.stack(values)
        elif isinstance(first, Number) and not isinstance(first, bool):
            batch[key] = torch.tensor(values)
        else:
            batch[key] = values
    return batch


def first_batches(dataset: Dataset, count: int, batch_size: int) -> Iterator[dict[str, Any]]:
    """Batches of the first ``count`` samples of ``dataset``, in order, without a DataLoader.

    For evaluation and generation: no shuffling, no workers, nothing seeded; the last batch
    may be smaller.

    Args:
        dataset: A map-style dataset of sample dicts.
        count: How many samples (at most ``len(dataset)`` are read).
        batch_size: Samples per batch.

    Returns:
        An iterator of batches as [`collate`][condgan_blocks.data.collate] makes them (the
        arguments are checked at once, the samples read as it is consumed).

    Raises:
        ValueError: ``count`` is negative or ``batch_size`` is below 1.

    Examples:
        >>> from condgan_blocks.data import SyntheticScenes
        >>> batches = first_batches(SyntheticScenes(5, size=(16, 16)), 10, 2)
        >>> [len(batch["path"]) for batch in batches]
        [2, 2, 1]
    """
    count = min(check_positive_int("count", count, minimum=0), len(dataset))
    check_positive_int("batch_size", batch_size)
    return (
        collate([dataset[i] for i in range(start, min(start + batch_size, count))])
        for start in range(0, count, batch_size)
    )


def _ignore_sigint(worker_id: int) -> None:
    # Ctrl-C reaches the whole process group: workers keep serving the current epoch while the
    # main process finishes its step (and, in the training loop, saves).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class SeededDataLoader(DataLoader):
    """A DataLoader whose order and worker seeds depend only on (seed, rank, epoch).

    Built by [`make_dataloader`][condgan_blocks.data.make_dataloader] on an
    [`EpochSampler`][condgan_blocks.training.EpochSampler]; call
    [`set_epoch`][condgan_blocks.data.SeededDataLoader.set_epoch] at the start of every epoch.

    Shape:
        - Batch: each (C, H, W) tensor of a sample becomes (N, C, H, W); ``path`` a list

    Examples:
        >>> from condgan_blocks.data import SyntheticScenes
        >>> loader = make_dataloader(SyntheticScenes(4, size=(16, 32)), batch_size=2, seed=0)
        >>> isinstance(loader, SeededDataLoader)
        True
        >>> loader.set_epoch(1)
        >>> first = [path for batch in loader for path in batch["path"]]
        >>> loader.set_epoch(1)
        >>> first == [path for batch in loader for path in batch["path"]]
        True
        >>> batch = next(iter(loader))
        >>> batch["label"].shape, batch["image"].shape
        (torch.Size([2, 1, 16, 32]), torch.Size([2, 3, 16, 32]))
    """

    def __init__(self, *args: Any, seed: int, rank: int, epoch: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seed, self.rank, self.epoch = seed, rank, epoch

    def set_epoch(self, epoch: int) -> None:
        """Make epoch ``epoch`` reproducible: set the sampler's epoch, reseed the workers.

        The epoch is read from its first sample (a ``start`` given to
        [`make_dataloader`][condgan_blocks.data.make_dataloader] applies to its first epoch
        only). Resuming a run at epoch ``e`` then sees the same order and the same worker seeds
        as an uninterrupted run.

        Examples:
            >>> from condgan_blocks.data import SyntheticScenes
            >>> loader = make_dataloader(SyntheticScenes(4, size=(16, 16)), seed=0, start=3)
            >>> len(loader)
            1
            >>> loader.set_epoch(1)
            >>> len(loader)
            4
        """
        self.epoch = check_positive_int("epoch", epoch, minimum=0)
        self.generator.manual_seed(derive_seed(SEED_LOADER, self.seed, self.rank, self.epoch))
        if isinstance(self.sampler, EpochSampler):
            self.sampler.epoch, self.sampler.start = self.epoch, 0


def make_dataloader(
    dataset: Dataset,
    batch_size: int = 1,
    *,
    shuffle: bool = True,
    seed: int = 0,
    epoch: int = 0,
    start: int = 0,
    distributed: bool | None = None,
    world_size: int | None = None,
    rank: int | None = None,
    num_workers: int = 0,
    drop_last: bool = False,
    pin_memory: bool = False,
    persistent_workers: bool = False,
) -> SeededDataLoader:
    """A DataLoader with [`collate`][condgan_blocks.data.collate], seeded order, split over ranks.

    The training loop ([`Training.make_loader`][condgan_blocks.training.Training.make_loader])
    reads its batches from this loader. The order comes from an
    [`EpochSampler`][condgan_blocks.training.EpochSampler]: a permutation that depends only on
    ``(seed, epoch)`` (the one ``DistributedSampler`` draws), padded to a multiple of
    ``world_size``, of which each rank reads every ``world_size``-th sample, from its position
    ``start`` on: a run resumed in the middle of an epoch reads exactly the batches the
    uninterrupted run would have read next, without loading the skipped samples.

    With ``distributed=None`` the loader is split over ranks when ``world_size`` is given or a
    ``torch.distributed`` process group is initialised. The seeds of the worker processes (torch
    seeds ``random``, numpy and torch in each worker from them, which is what random transforms
    draw from) are derived from ``(seed, rank, epoch)``; with ``num_workers=0`` transforms draw
    from the main process's global torch random state. Workers ignore SIGINT, so that Ctrl-C
    reaches only the main process. Call ``loader.set_epoch(epoch)`` at the start of each epoch
    (with ``persistent_workers`` the workers keep the seeds they were started with).

    Args:
        dataset: A map-style dataset of sample dicts.
        batch_size: Samples per batch.
        shuffle: Permute each epoch (False: the dataset order).
        seed: Seed of the order and of the worker seeds.
        epoch: The first epoch to read (from 0).
        start: Position in this rank's share of ``epoch`` to start from (samples, not batches:
            ``batches_done * batch_size``).
        distributed: True: split over ranks; False: never; None: decide as above.
        world_size: Number of processes; defaults to the process group's.
        rank: This process's rank; defaults to the process group's.
        num_workers: Worker processes (0 loads in the main process).
        drop_last: Drop the last incomplete batch of each rank.
        pin_memory: Passed to the DataLoader.
        persistent_workers: Keep workers between epochs (needs ``num_workers > 0``).

    Returns:
        A [`SeededDataLoader`][condgan_blocks.data.SeededDataLoader] of batch dicts.

    Raises:
        ValueError: If the dataset is empty, ``distributed=True`` but there is no process group
            and no ``world_size``/``rank``, or ``rank`` is not below ``world_size``.
        TypeError: If a count is not an int or a flag not a bool.

    Examples:
        >>> from condgan_blocks.data import SyntheticScenes
        >>> scenes = SyntheticScenes(6, size=(16, 32))
        >>> loader = make_dataloader(scenes, batch_size=2, seed=0)
        >>> next(iter(loader))["image"].shape
        torch.Size([2, 3, 16, 32])
        >>> order = [path for batch in loader for path in batch["path"]]
        >>> resumed = make_dataloader(scenes, batch_size=2, seed=0, start=4)  # 2 batches done
        >>> [path for batch in resumed for path in batch["path"]] == order[4:]
        True
    """
    check_positive_int("batch_size", batch_size)
    check_positive_int("seed", seed, minimum=0)
    check_positive_int("epoch", epoch, minimum=0)
    check_positive_int("start", start, minimum=0)
    check_positive_int("num_workers", num_workers, minimum=0)
    for name, flag in (
        ("shuffle", shuffle),
        ("drop_last", drop_last),
        ("pin_memory", pin_memory),
        ("persistent_workers", persistent_workers),
    ):
        check_bool(name, flag)
    check_optional_bool("distributed", distributed)
    group = torch.distributed.is_available() and torch.distributed.is_initialized()
    if distributed is None:
        distributed = world_size is not None or group
    if distributed:
        if world_size is None or rank is None:
            if not group:
                raise ValueError(
                    "distributed=True needs an initialised torch.distributed process group, "
                    "or world_size and rank"
                )
            world_size = torch.distributed.get_world_size() if world_size is None else world_size
            rank = torch.distributed.get_rank() if rank is None else rank
        check_positive_int("world_size", world_size)
        check_positive_int("rank", rank, minimum=0)
        if rank >= world_size:
            raise ValueError(f"rank must be below world_size={world_size}, got {rank}")
    else:
        world_size, rank = 1, 0
    if len(dataset) == 0:
        raise ValueError("the dataset is empty: a loader needs at least one sample")
    sampler = EpochSampler(
        len(dataset),
        epoch=epoch,
        seed=seed,
        shuffle=shuffle,
        rank=rank,
        world_size=world_size,
        start=start,
    )
    generator = torch.Generator().manual_seed(derive_seed(SEED_LOADER, seed, rank, epoch))
    return SeededDataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        drop_last=drop_last,
        generator=generator,
        worker_init_fn=_ignore_sigint if num_workers > 0 else None,
        persistent_workers=persistent_workers and num_workers > 0,
        seed=seed,
        rank=rank,
        epoch=epoch,
    )
