"""Registries behind ``build`` and the key mapping: one entry per original kind and per block."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from torch import nn

from ._options import checked_option

Options = Mapping[str, Any]
Builder = Callable[[Options], nn.Module]
# A key map gives, for every sub-module of ours that holds state, the original's module path.
# It receives the original keys when loading (to recognise the layout) and None when saving.
KeyMap = Callable[[nn.Module, Collection[str] | None], dict[str, str]]

BUILDERS: dict[str, Builder] = {}
KEY_MAPS: dict[type, KeyMap] = {}


def register_kind(kind: str) -> Callable[[Builder], Builder]:
    """Decorator: register ``builder`` as the way to build the original's ``kind``."""

    def decorate(builder: Builder) -> Builder:
        BUILDERS[kind] = builder
        return builder

    return decorate


def register_key_map(module_type: type) -> Callable[[KeyMap], KeyMap]:
    """Decorator: register how ``module_type``'s state-dict keys map to the original's."""

    def decorate(key_map: KeyMap) -> KeyMap:
        KEY_MAPS[module_type] = key_map
        return key_map

    return decorate


def module_key_map(module: nn.Module, original_keys: Collection[str] | None) -> dict[str, str]:
    """The key map of ``module``'s class (or its nearest registered base class)."""
    for cls in type(module).__mro__:
        if cls in KEY_MAPS:
            return KEY_MAPS[cls](module, original_keys)
    supported = sorted(cls.__name__ for cls in KEY_MAPS)
    raise TypeError(
        f"no pix2pixHD key mapping for {type(module).__name__}; supported modules: {supported}"
    )


def option(options: Options, name: str, default: Any) -> Any:
    """``options[name]`` if present, else the original's default; kind and range checked."""
    return checked_option(options, name, default)
