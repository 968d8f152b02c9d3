"""Strict translation between the original's state-dict keys and ours."""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from ..._files.archive import load_torch_file
from ._registry import module_key_map

_OPTIONAL_BUFFERS = ("num_batches_tracked",)  # absent from checkpoints of torch < 0.4.1


def _split(key: str) -> tuple[str, str]:
    module, _, leaf = key.rpartition(".")
    return module, leaf


def _ours_to_original(module: nn.Module, original_keys) -> dict[str, str]:
    """Map every key of ``module.state_dict()`` to the original's key."""
    prefixes = module_key_map(module, original_keys)
    mapping, unmapped = {}, []
    for key in module.state_dict():
        prefix, leaf = _split(key)
        if prefix in prefixes:
            mapping[key] = f"{prefixes[prefix]}.{leaf}"
        else:
            unmapped.append(key)
    if unmapped:
        raise ValueError(
            f"{type(module).__name__} has state the original pix2pixHD has no place for "
            f"(custom widths or spectral norm?): {unmapped}"
        )
    return mapping


def strip_data_parallel_prefix(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Drop a ``module.`` prefix that ``DataParallel`` adds to every key, if all keys have it."""
    if state_dict and all(key.startswith("module.") for key in state_dict):
        return {key[len("module.") :]: value for key, value in state_dict.items()}
    return dict(state_dict)


def load_state_dict(module: nn.Module, original_state_dict: Mapping[str, Tensor]) -> nn.Module:
    """Load a state dict saved by the original pix2pixHD into one of our modules, strictly.

    Args:
        module: A module built by [`build`][condgan_blocks.compat.pix2pixhd.build] (or an
            equivalent block of ours).
        original_state_dict: The original network's ``state_dict()``, e.g. the content of
            ``latest_net_G.pth``. A ``module.`` prefix from ``DataParallel`` is removed.

    Returns:
        ``module``, with the weights loaded.

    Raises:
        ValueError: If keys are missing or unexpected (every such key is named), or shapes
            differ. ``num_batches_tracked`` may be missing (checkpoints of torch < 0.4.1).
        TypeError: If ``module`` has no pix2pixHD key mapping.

    Examples:
        >>> import torch
        >>> from condgan_blocks.compat import pix2pixhd
        >>> options = {"input_nc": 4, "ngf": 4, "n_downsample_global": 1, "n_blocks_global": 1}
        >>> source = pix2pixhd.build("global_generator", options)
        >>> target = pix2pixhd.build("global_generator", options)
        >>> original = pix2pixhd.to_original_state_dict(source)
        >>> loaded = pix2pixhd.load_state_dict(target, original)
        >>> loaded is target, torch.equal(target.stem.conv.weight, source.stem.conv.weight)
        (True, True)
    """
    if not isinstance(original_state_dict, Mapping):
        raise TypeError(
            f"original_state_dict must be a mapping, got {type(original_state_dict).__name__}"
        )
    original = strip_data_parallel_prefix(original_state_dict)
    mapping = _ours_to_original(module, original.keys())
    expected = set(mapping.values())
    missing = sorted(
        o for o in expected if o not in original and _split(o)[1] not in _OPTIONAL_BUFFERS
    )
    unexpected = sorted(key for key in original if key not in expected)
    if missing or unexpected:
        raise ValueError(
            f"state dict does not match {type(module).__name__}: "
            f"missing keys {missing}, unexpected keys {unexpected}"
        )
    ours = module.state_dict()
    converted = {}
    for key, original_key in mapping.items():
        if original_key not in original:
            continue
        value = original[original_key]
        if not isinstance(value, Tensor) or value.shape != ours[key].shape:
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(
                f"{original_key!r} has shape {shape}, but {type(module).__name__} expects "
                f"{tuple(ours[key].shape)} at {key!r}; check the options used to build it"
            )
        converted[key] = value
    result = module.load_state_dict(converted, strict=False)
    if result.unexpected_keys or any(
        _split(k)[1] not in _OPTIONAL_BUFFERS for k in result.missing_keys
    ):
        raise ValueError(f"internal key mapping error: {result}")
    return module


def to_original_state_dict(module: nn.Module) -> dict[str, Tensor]:
    """Our module's state dict under the original pix2pixHD's keys (the reverse of loading).

    Discriminators use the ``getIntermFeat`` layout when built with ``return_features=True``.

    Returns:
        A new dict whose tensors are detached views of ``module``'s state.

    Examples:
        >>> from condgan_blocks.compat import pix2pixhd
        >>> options = {"input_nc": 4, "ngf": 4, "n_downsample_global": 1, "n_blocks_global": 1}
        >>> net = pix2pixhd.build("global_generator", options)
        >>> state = pix2pixhd.to_original_state_dict(net)
        >>> sorted(state)[:2], tuple(state["model.1.weight"].shape)
        (['model.1.bias', 'model.1.weight'], (4, 4, 7, 7))
    """
    mapping = _ours_to_original(module, None)
    state = module.state_dict()
    return {mapping[key]: value.detach() for key, value in state.items()}


def read_state_dict(path, *, map_location="cpu") -> dict[str, Tensor]:
    """Check and read a ``*_net_X.pth`` file; nothing in it is run.

    A zip file (``torch.save`` since torch 1.6) must pass its CRC32 checks; a legacy file of the
    original's era (a pickle stream, without checksums) is accepted as it is. Both are read with
    ``torch.load(weights_only=True)``, which only rebuilds tensors and plain containers.

    Raises:
        FileNotFoundError: If there is no file at ``path``.
        ValueError: If the file is empty, truncated, damaged, not a torch file, holds objects
            that ``weights_only=True`` refuses, or holds something other than a state dict.
    """
    state = load_torch_file(path, "pix2pixHD checkpoint", map_location=map_location)
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict")
    return dict(state)
