"""The order of the samples in an epoch: seeded, split over ranks, resumable mid-epoch."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochSampler(Sampler[int]):
    """The sample indices one rank reads in one epoch, from position ``start`` on.

    The order depends only on ``(seed, epoch)``: a permutation drawn from a generator seeded
    with ``seed + epoch`` (as ``DistributedSampler`` does), padded by repeating its head to a
    multiple of ``world_size``, of which rank ``r`` reads every ``world_size``-th index from
    ``r``. A run resumed at batch ``b`` of an epoch passes ``start = b * batch_size`` and reads
    exactly what the uninterrupted run would have read next, without loading the skipped
    samples. [`make_dataloader`][condgan_blocks.data.make_dataloader] builds its loaders on it,
    and so does the training loop.

    Args:
        num_samples: Length of the dataset.
        epoch: The epoch, from 0.
        seed: Seed of the run.
        shuffle: Permute (True) or keep the dataset order.
        rank: This process's rank.
        world_size: Number of processes.
        start: Position in this rank's list to start from.

    Examples:
        >>> list(EpochSampler(5, epoch=0, shuffle=False, rank=1, world_size=2))
        [1, 3, 0]
        >>> full = list(EpochSampler(8, epoch=3, seed=1))
        >>> list(EpochSampler(8, epoch=3, seed=1, start=5)) == full[5:]
        True
    """

    def __init__(
        self,
        num_samples: int,
        *,
        epoch: int,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        start: int = 0,
    ) -> None:
        for name, value, minimum in (
            ("num_samples", num_samples, 1),
            ("epoch", epoch, 0),
            ("seed", seed, 0),
            ("world_size", world_size, 1),
            ("rank", rank, 0),
            ("start", start, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
        if rank >= world_size:
            raise ValueError(f"rank must be below world_size={world_size}, got {rank}")
        self.num_samples = num_samples
        self.epoch, self.seed, self.shuffle = epoch, seed, shuffle
        self.rank, self.world_size, self.start = rank, world_size, start

    def indices(self) -> list[int]:
        """This rank's whole list for the epoch, ignoring ``start``."""
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.num_samples, generator=generator).tolist()
        else:
            order = list(range(self.num_samples))
        total = -(-self.num_samples // self.world_size) * self.world_size
        while len(order) < total:
            order += order[: total - len(order)]
        return order[self.rank : total : self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices()[self.start :])

    def __len__(self) -> int:
        return max(0, -(-self.num_samples // self.world_size) - self.start)


def batches_per_epoch(num_samples: int, batch_size: int, world_size: int, drop_last: bool) -> int:
    """Steps per epoch of one rank.

    Examples:
        >>> batches_per_epoch(10, 3, 1, False), batches_per_epoch(10, 3, 1, True)
        (4, 3)
    """
    per_rank = -(-num_samples // world_size)
    return per_rank // batch_size if drop_last else -(-per_rank // batch_size)
