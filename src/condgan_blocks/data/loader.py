"""Batching samples, and a seeded DataLoader that also works with DistributedSampler."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Number
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from .._checks import check_bool, check_optional_bool, check_positive_int


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


def _derived_seed(*numbers: int) -> int:
    """A 63-bit seed mixed from ``numbers`` (so rank 1 does not reuse rank 0's stream)."""
    return int(np.random.SeedSequence(list(numbers)).generate_state(1, dtype=np.uint64)[0] >> 1)


class SeededDataLoader(DataLoader):
    """A DataLoader whose shuffling and worker seeds depend only on (seed, rank, epoch).

    Built by :func:`make_dataloader`; call :meth:`set_epoch` at the start of every epoch.

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

    def __init__(self, *args: Any, seed: int, rank: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seed, self.rank, self.epoch = seed, rank, 0

    def set_epoch(self, epoch: int) -> None:
        """Make epoch ``epoch`` reproducible: reseed the shuffle and the workers, tell the sampler.

        Resuming a run at epoch ``e`` then sees the same order and the same worker seeds as an
        uninterrupted run.
        """
        self.epoch = check_positive_int("epoch", epoch, minimum=0)
        self.generator.manual_seed(_derived_seed(self.seed, self.rank, self.epoch))
        if isinstance(self.sampler, DistributedSampler):
            self.sampler.set_epoch(self.epoch)


def make_dataloader(
    dataset: Dataset,
    batch_size: int = 1,
    *,
    shuffle: bool = True,
    seed: int = 0,
    distributed: bool | None = None,
    world_size: int | None = None,
    rank: int | None = None,
    num_workers: int = 0,
    drop_last: bool = False,
    pin_memory: bool = False,
    persistent_workers: bool = False,
) -> SeededDataLoader:
    """A DataLoader with :func:`collate`, seeded shuffling, and DistributedSampler when needed.

    With ``distributed=None`` the loader is distributed when ``world_size`` is given or a
    ``torch.distributed`` process group is initialised; each rank then reads its own
    ``1 / world_size`` share of every epoch. The shuffle order and the seeds of the worker
    processes (torch seeds ``random``, numpy and torch in each worker from them, which is what
    random transforms draw from) come from ``seed`` and the rank; with ``num_workers=0``
    transforms draw from the main process's global torch random state. Call
    ``loader.set_epoch(epoch)`` at the start of each epoch (with ``persistent_workers`` the
    workers keep the seeds they were started with).

    Args:
        dataset: A map-style dataset of sample dicts.
        batch_size: Samples per batch.
        shuffle: Shuffle each epoch.
        seed: Seed of the shuffle order and the worker seeds.
        distributed: True: use a DistributedSampler; False: never; None: decide as above.
        world_size: Number of processes; defaults to the process group's.
        rank: This process's rank; defaults to the process group's.
        num_workers: Worker processes (0 loads in the main process).
        drop_last: Drop the last incomplete batch (and, distributed, the uneven tail).
        pin_memory: Passed to the DataLoader.
        persistent_workers: Keep workers between epochs (needs ``num_workers > 0``).

    Raises:
        ValueError: If ``distributed=True`` but there is no process group and no
            ``world_size``/``rank``, or ``rank`` is not below ``world_size``.

    Examples:
        >>> from condgan_blocks.data import SyntheticScenes
        >>> loader = make_dataloader(SyntheticScenes(4, size=(16, 32)), batch_size=2, seed=0)
        >>> loader.set_epoch(0)
        >>> next(iter(loader))["image"].shape
        torch.Size([2, 3, 16, 32])
    """
    check_positive_int("batch_size", batch_size)
    check_positive_int("seed", seed, minimum=0)
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
    sampler = None
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
        sampler = DistributedSampler(
            dataset,
            num_replicas=world_size,
            rank=rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=drop_last,
        )
    rank = rank or 0
    generator = torch.Generator()
    generator.manual_seed(_derived_seed(seed, rank, 0))
    return SeededDataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        drop_last=drop_last,
        generator=generator,
        persistent_workers=persistent_workers and num_workers > 0,
        seed=seed,
        rank=rank,
    )
