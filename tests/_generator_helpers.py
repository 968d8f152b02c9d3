"""Tiny generators shared by the generator, export and compile tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

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


def assert_new_modules_start_neutral(
    plain: nn.Module,
    extended: nn.Module,
    added: set[str],
    randomise: Callable[[nn.Module], None],
    x: torch.Tensor,
) -> None:
    """``extended`` is ``plain`` plus modules under the keys ``added`` (their names after
    ``<list>.<index>.``): with ``plain``'s weights it computes ``plain``'s output exactly, and
    once ``randomise`` has moved the new modules, another output."""
    plain, extended = plain.eval(), extended.eval()
    missing = extended.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert {key.split(".", 2)[2] for key in missing} == added
    with torch.no_grad():
        torch.testing.assert_close(extended(x), plain(x), rtol=0, atol=0)
        randomise(extended)
        assert (extended(x) - plain(x)).abs().amax() > 1e-3
