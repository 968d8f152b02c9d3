"""Capture and restore the random states of torch, Python and numpy as plain values.

The states are stored as tensors, ints and lists, so a checkpoint holding them loads with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def capture_rng_state() -> dict[str, Any]:
    """The global random states: torch (CPU, current CUDA device), ``random`` and numpy.

    Returns:
        A dict of tensors and plain values.

    Examples:
        >>> state = capture_rng_state()
        >>> first = torch.rand(1), random.random(), np.random.rand()
        >>> restore_rng_state(state)
        >>> (torch.rand(1), random.random(), np.random.rand()) == first
        True
    """
    version, python_state, gauss_next = random.getstate()
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()  # noqa: NPY002
    # Only the current CUDA device: asking for all would create a context on every GPU of
    # a distributed node from every process.
    cuda = (
        torch.cuda.get_rng_state()
        if torch.cuda.is_available() and torch.cuda.is_initialized()
        else None
    )
    return {
        "torch": torch.get_rng_state(),
        "cuda": cuda,
        "python": {
            "version": version,
            "state": torch.tensor(python_state, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore what [`capture_rng_state`][condgan_blocks.training.capture_rng_state] returned.

    A CUDA state is restored on the current CUDA device when this machine has one.

    Raises:
        ValueError: If ``state`` lacks one of the entries.

    Examples:
        >>> state = capture_rng_state()
        >>> first = torch.randint(100, (3,)).tolist()
        >>> restore_rng_state(state)
        >>> torch.randint(100, (3,)).tolist() == first
        True
        >>> restore_rng_state({"torch": state["torch"]})
        Traceback (most recent call last):
        ...
        ValueError: the random state misses ['cuda', 'python', 'numpy']
    """
    missing = [key for key in ("torch", "cuda", "python", "numpy") if key not in state]
    if missing:
        raise ValueError(f"the random state misses {missing}")
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"].cpu())
    python = state["python"]
    random.setstate(
        (python["version"], tuple(int(v) for v in python["state"].tolist()), python["gauss_next"])
    )
    numpy = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            numpy["kind"],
            numpy["keys"].numpy().astype(np.uint32),
            numpy["position"],
            numpy["has_gauss"],
            numpy["cached_gaussian"],
        )
    )


def seed_everything(seed: int) -> None:
    """Seed torch (all devices), ``random`` and numpy's global generator with ``seed``."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002
