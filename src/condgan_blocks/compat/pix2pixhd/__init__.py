"""Build our blocks from the original pix2pixHD's options and load its checkpoints.

The original (NVIDIA/pix2pixHD) stores plain ``state_dict()`` s under its own key layout
(``model.10.conv_block.1.weight``, ``scale0_layer2.0.weight``, ...). This module rebuilds the same
network from our blocks and translates keys both ways, strictly, so a checkpoint trained with the
original gives the same outputs here.

Examples:
    >>> from condgan_blocks.compat import pix2pixhd
    >>> net = pix2pixhd.build("global_generator", {"input_nc": 36, "ngf": 8,
    ...                                             "n_downsample_global": 2, "n_blocks_global": 1})
    >>> sorted(pix2pixhd.to_original_state_dict(net))[:2]
    ['model.1.bias', 'model.1.weight']
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from torch import nn

# Importing these modules registers their kinds with ``build`` and their key maps.
from . import _instance, _losses, _networks  # noqa: F401
from ._experiment import Pix2PixHDExperiment, load_experiment, parse_options
from ._registry import BUILDERS
from ._state_dict import load_state_dict, read_state_dict, to_original_state_dict


def kinds() -> tuple[str, ...]:
    """The kinds :func:`build` knows, sorted.

    Examples:
        >>> from condgan_blocks.compat import pix2pixhd
        >>> "global_generator" in pix2pixhd.kinds()
        True
        >>> list(pix2pixhd.kinds()) == sorted(pix2pixhd.kinds())
        True
    """
    return tuple(sorted(BUILDERS))


def build(kind: str, options: Mapping[str, Any] | None = None) -> nn.Module:
    """Build the module equivalent to the original's ``kind``, from the ORIGINAL option names.

    Keys of ``options`` that the kind does not use are ignored; missing ones take the
    original's defaults. Quirks are reproduced: with ``getIntermFeat`` the original never
    applies its sigmoid, so neither does the module built here.

    Args:
        kind: One of :func:`kinds`, e.g. "global_generator", "local_enhancer",
            "nlayer_discriminator", "multiscale_discriminator".
        options: Original option names and values, e.g. ``{"input_nc": 36, "ngf": 64}``.

    Raises:
        ValueError: If ``kind`` is unknown.

    Examples:
        >>> import torch
        >>> from condgan_blocks.compat import pix2pixhd
        >>> options = {"input_nc": 4, "ngf": 4, "n_downsample_global": 1, "n_blocks_global": 1}
        >>> net = pix2pixhd.build("global_generator", options)
        >>> type(net).__name__
        'GlobalGenerator'
        >>> net(torch.zeros(1, 4, 8, 8)).shape
        torch.Size([1, 3, 8, 8])
    """
    if kind not in BUILDERS:
        raise ValueError(f"kind must be one of {kinds()}, got {kind!r}")
    return BUILDERS[kind](dict(options or {}))


def load_checkpoint(
    path: str | os.PathLike,
    kind: str,
    options: Mapping[str, Any] | None = None,
    *,
    map_location="cpu",
) -> nn.Module:
    """Build ``kind`` from ``options`` and load an original checkpoint such as ``latest_net_G.pth``.

    The file is read with ``torch.load(weights_only=True)``: it is never unpickled as code.

    The module is returned in eval mode. Note that the original ``test.py`` never called
    ``.eval()``: with ``norm=batch`` its inference used batch statistics. Call ``.train()`` on the
    result to reproduce those numbers exactly.

    Examples:
        >>> import os, tempfile, torch
        >>> from condgan_blocks.compat import pix2pixhd
        >>> options = {"input_nc": 4, "ngf": 4, "n_downsample_global": 1, "n_blocks_global": 1}
        >>> net = pix2pixhd.build("global_generator", options)
        >>> path = os.path.join(tempfile.mkdtemp(), "latest_net_G.pth")
        >>> torch.save(pix2pixhd.to_original_state_dict(net), path)
        >>> loaded = pix2pixhd.load_checkpoint(path, "global_generator", options)
        >>> loaded.training
        False
        >>> torch.equal(loaded.stem.conv.weight, net.stem.conv.weight)
        True
    """
    module = build(kind, options)
    load_state_dict(module, read_state_dict(path, map_location=map_location))
    return module.eval()


__all__ = [
    "Pix2PixHDExperiment",
    "build",
    "kinds",
    "load_checkpoint",
    "load_experiment",
    "load_state_dict",
    "parse_options",
    "to_original_state_dict",
]
