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
from ._command_line import translate_command_line
from ._experiment import Pix2PixHDExperiment, load_experiment, parse_options
from ._registry import BUILDERS
from ._state_dict import load_state_dict, read_state_dict, to_original_state_dict


def kinds() -> tuple[str, ...]:
    """The kinds [`build`][condgan_blocks.compat.pix2pixhd.build] knows, sorted.

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
        kind: One of [`kinds`][condgan_blocks.compat.pix2pixhd.kinds], e.g.
            "global_generator", "local_enhancer", "nlayer_discriminator",
            "multiscale_discriminator".
        options: Original option names and values, e.g. ``{"input_nc": 36, "ngf": 64}``.

    Raises:
        ValueError: If ``kind`` is unknown, or an option is out of range: channel counts must
            lie in [1, 65536], downsampling counts in [0, 10], and the widths they imply (such
            as ``ngf * 2**n_downsample_global``) within 65536; the message names the option.
        TypeError: If an option the kind reads has the wrong kind (``ngf`` not an int, ...).

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

    The file is checked before it is read: a zip file (``torch.save`` since torch 1.6) must pass
    the CRC32 check of every record, so a damaged or truncated file is refused instead of
    loading wrong weights; a legacy file (torch < 1.6, a pickle stream without checksums) is
    accepted as it is. Both are read with ``torch.load(weights_only=True)``, which rebuilds only
    tensors and plain containers: no code from the file runs. The options are checked by kind
    and range before anything is built (see
    [`parse_options`][condgan_blocks.compat.pix2pixhd.parse_options]).

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

    Raises:
        FileNotFoundError: If there is no file at ``path``.
        TypeError: If an option has the wrong kind.
        ValueError: If an option is out of range, or the file is empty, truncated, not a torch
            file, damaged (the message names the record whose CRC32 does not match), holds
            objects that ``weights_only=True`` refuses, or does not match ``kind`` and
            ``options``.
    """
    state = read_state_dict(path, map_location=map_location)
    module = build(kind, options)
    load_state_dict(module, state)
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
    "translate_command_line",
]
