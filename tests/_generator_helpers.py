"""Tiny generators shared by the generator, export and compile tests."""

from __future__ import annotations

from typing import Any

from condgan_blocks import LocalEnhancer


def tiny_local_enhancer(**overrides: Any) -> LocalEnhancer:
    """G1 and two enhancers on 3 input channels: size multiple 8, smallest input 16 x 16."""
    options: dict[str, Any] = {
        "base_channels": 2,
        "num_enhancers": 2,
        "num_blocks_local": 1,
        "num_downsamples_global": 1,
        "num_blocks_global": 1,
    }
    return LocalEnhancer(3, **{**options, **overrides})
