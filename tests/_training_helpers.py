"""Tiny training configurations and comparisons shared by the training tests."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from typing import Any

import torch

from condgan_blocks.data import SyntheticScenes, collate
from condgan_blocks.training import (
    DiscriminatorConfig,
    EncoderConfig,
    GeneratorConfig,
    LossConfig,
    TrainingConfig,
)

SIZE = (32, 64)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread: the tiny networks gain nothing from more, and OpenMP threads
    that wait on each other slow a step a hundredfold when other processes share the cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def tiny_config(**overrides: Any) -> TrainingConfig:
    """A pix2pixHD small enough to train a step in milliseconds (VGG off unless asked)."""
    values: dict[str, Any] = {
        "num_classes": SyntheticScenes.num_classes,
        "generator": GeneratorConfig(
            base_channels=4, num_downsamples=2, num_blocks=1, num_blocks_local=1
        ),
        "discriminator": DiscriminatorConfig(base_channels=4, num_scales=2, num_layers=2),
        "losses": LossConfig(vgg_weight=0.0, vgg_weights=None),
        "epochs": 2,
        "decay_epochs": 1,
        "log_every_steps": 0,
    }
    values.update(overrides)
    return TrainingConfig(**values)


def tiny_encoder() -> EncoderConfig:
    return EncoderConfig(base_channels=2, num_downsamples=2)


def batch_of(dataset, indices) -> dict[str, Any]:
    return collate([dataset[i] for i in indices])


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as one dict of leaves keyed by their path."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}/{key}"))
        return out
    if isinstance(value, (list, tuple)):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def differing_leaves(first: Any, second: Any) -> list[str]:
    """Paths where two nested structures differ (tensors compared with torch.equal)."""
    a, b = flatten(first), flatten(second)
    paths = sorted(set(a) | set(b))
    bad = []
    for path in paths:
        if path not in a or path not in b:
            bad.append(f"{path} (only one side)")
        elif isinstance(a[path], torch.Tensor):
            if not (isinstance(b[path], torch.Tensor) and torch.equal(a[path], b[path])):
                bad.append(path)
        elif a[path] != b[path]:
            bad.append(f"{path}: {a[path]!r} vs {b[path]!r}")
    return bad


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ddp_worker(
    rank: int, world_size: int, port: int, config: dict, batches: list, out_dir: str
) -> None:
    """One rank of the DDP test: steps on its share of every batch, saves its weights."""
    import torch.distributed as dist

    from condgan_blocks.training import TrainingConfig, build_training

    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        training = build_training(TrainingConfig.from_dict(config))
        per_rank = batches[0]["image"].shape[0] // world_size
        for batch in batches:
            mine = {
                k: v[rank * per_rank : (rank + 1) * per_rank]
                for k, v in batch.items()
                if isinstance(v, torch.Tensor)
            }
            training.step(mine)
        training.save()
        torch.save(
            {
                "generator": training.models.generator.state_dict(),
                "discriminator": training.models.discriminator.state_dict(),
                "optimizer_g": training.models.optimizer_g.state_dict(),
                "optimizer_d": training.models.optimizer_d.state_dict(),
            },
            os.path.join(out_dir, f"rank{rank}.pt"),
        )
    finally:
        dist.destroy_process_group()
