"""Data-parallel training over ``torch.distributed``: same start, averaged gradients.

Why not ``DistributedDataParallel``'s wrapper: its reducer assumes that every forward is
followed by one backward that reaches every parameter, and reduces gradients from hooks as
that backward runs. The fused step breaks that on purpose: D runs twice (fake, real) before
any backward, and the two backwards are restricted with ``inputs=`` (the G backward runs
through D without touching D's weights, the D backward never enters G), so DDP's hooks would
fire for a subset of its parameters, or not at all, and its reducer would wait or raise.

So the modules stay unwrapped and this module does what DDP does, explicitly:

- `broadcast_module` copies rank 0's parameters and buffers to every rank at the start,
  so all ranks begin from the same weights;
- after the backward passes of a step, `average_gradients` all-reduces the gradients of
  the parameters that got one, flattened into buckets (one collective per ~25 MiB), and
  divides them by the world size.

Each rank's loss is a mean over its own batch, so the averaged gradient of ``W`` ranks with
batch ``B`` equals the gradient of one process on the ``W * B`` samples, and identical
gradients on every rank keep the weights identical. That holds for instance norm (per-sample
statistics, the pix2pixHD default); with ``norm="batch"`` every rank normalises with its own
batch statistics (no ``SyncBatchNorm``), so results differ from a single large batch. The
gradient communication does not overlap the backward as DDP's does: the price of a backward
pattern DDP cannot express.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

BUCKET_BYTES = 25 * 2**20


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a distributed run.

    Attributes:
        rank: This process's rank (0 when not distributed).
        world_size: Number of processes (1 when not distributed).
        local_rank: This process's rank on its node (picks its GPU).

    Examples:
        >>> DistributedContext()
        DistributedContext(rank=0, world_size=1, local_rank=0)
        >>> context = DistributedContext(rank=1, world_size=4, local_rank=1)
        >>> context.enabled, context.is_main
        (True, False)
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True with more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only rank that writes checkpoints, logs and images."""
        return self.rank == 0

    @classmethod
    def current(cls) -> DistributedContext:
        """The context of the initialised process group, or a single-process context.

        Examples:
            >>> DistributedContext.current().world_size  # no process group here
            1
        """
        if not (dist.is_available() and dist.is_initialized()):
            return cls()
        local_rank = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
        return cls(dist.get_rank(), dist.get_world_size(), local_rank)


def init_distributed(backend: str | None = None) -> DistributedContext:
    """Join the process group ``torchrun`` describes (``RANK``, ``WORLD_SIZE``, ``MASTER_*``).

    Without those variables (a plain ``python`` run) nothing happens and a single-process context
    is returned. With CUDA, the process's GPU becomes ``cuda:LOCAL_RANK``.

    Args:
        backend: "nccl" or "gloo"; defaults to "nccl" with CUDA, else "gloo".

    Returns:
        The [`DistributedContext`][condgan_blocks.training.DistributedContext].

    Examples:
        Without ``torchrun``'s variables it is a disabled single-process context:

        >>> from unittest import mock
        >>> with mock.patch.dict(os.environ):
        ...     _ = os.environ.pop("WORLD_SIZE", None)
        ...     context = init_distributed()
        >>> context.enabled, context.is_main, context.world_size
        (False, True, 1)
    """
    if dist.is_available() and dist.is_initialized():
        return DistributedContext.current()
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return DistributedContext()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend)
    return DistributedContext.current()


def resolve_device(device: str, context: DistributedContext) -> torch.device:
    """``device`` as a ``torch.device``; a bare "cuda" means ``cuda:local_rank``.

    Raises:
        ValueError: If the device is not present on this machine (CUDA or MPS unavailable, or
            a CUDA index beyond the GPUs there are), before anything is built on it.
    """
    resolved = torch.device(device)
    if resolved.type == "cuda":
        if resolved.index is None:
            resolved = torch.device("cuda", context.local_rank if context.enabled else 0)
        if not torch.cuda.is_available():
            why = "is built without CUDA" if torch.version.cuda is None else "finds no GPU"
            raise ValueError(
                f"device={device!r} needs CUDA, but this torch {torch.__version__} {why} "
                "(torch.cuda.is_available() is False); use device='cpu'"
            )
        count = torch.cuda.device_count()
        if resolved.index >= count:
            raise ValueError(
                f"device={device!r} resolves to {resolved}, but this machine has {count} CUDA "
                f"device(s): cuda:0 to cuda:{count - 1}"
            )
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} needs Apple's MPS backend, which is not available here; "
            "use device='cpu'"
        )
    return resolved


@torch.no_grad()
def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s parameters and buffers into every rank's ``module`` (collective)."""
    tensors = [t.data for t in module.parameters()] + [b for b in module.buffers()]
    for bucket in _buckets(tensors):
        flat = _flatten_dense_tensors(bucket)
        dist.broadcast(flat, src)
        for tensor, value in zip(bucket, _unflatten_dense_tensors(flat, bucket), strict=True):
            tensor.copy_(value)


@torch.no_grad()
def average_gradients(parameters: list[nn.Parameter], world_size: int) -> None:
    """Replace every gradient by its mean over the ranks (collective).

    Parameters without a gradient are skipped; every rank must pass the same parameters with
    the same gradients present, which holds when all ranks run the same step.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    for bucket in _buckets(grads):
        flat = _flatten_dense_tensors(bucket)
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat.div_(world_size)
        for grad, value in zip(bucket, _unflatten_dense_tensors(flat, bucket), strict=True):
            grad.copy_(value)


def all_reduce_mean(values: Tensor, world_size: int) -> Tensor:
    """Mean of ``values`` over the ranks (collective), returned as a new tensor."""
    values = values.clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values.div_(world_size)


def gather_to_main(value: Any, context: DistributedContext) -> list[Any] | None:
    """Every rank's ``value`` as a list on rank 0 (None on the others); collective.

    Single-process runs get ``[value]``.
    """
    if not context.enabled:
        return [value]
    gathered: list[Any] | None = [None] * context.world_size if context.is_main else None
    dist.gather_object(value, gathered, dst=0)
    return gathered


def _buckets(tensors: list[Tensor]) -> list[list[Tensor]]:
    """Consecutive groups of tensors of one device and dtype, each up to ~25 MiB."""
    buckets: list[list[Tensor]] = []
    size = 0
    for tensor in tensors:
        same_kind = bool(buckets) and (
            buckets[-1][0].dtype == tensor.dtype and buckets[-1][0].device == tensor.device
        )
        nbytes = tensor.numel() * tensor.element_size()
        if not same_kind or size + nbytes > BUCKET_BYTES:
            buckets.append([])
            size = 0
        buckets[-1].append(tensor)
        size += nbytes
    return buckets
