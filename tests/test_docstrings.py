"""Every public class and function is documented with a runnable example.

The examples themselves run as doctests (``--doctest-modules``); this test makes sure none is
missing, so the API reference shows an example for every public name.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

PUBLIC_MODULES = (
    "condgan_blocks",
    "condgan_blocks.compat.pix2pixhd",
    "condgan_blocks.data",
    "condgan_blocks.editing",
    "condgan_blocks.editor",
    "condgan_blocks.synthesis",
    "condgan_blocks.evaluation",
    "condgan_blocks.export",
    "condgan_blocks.training",
    "condgan_blocks.visualization",
)


def _public_callables(module_name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{module_name} has no __all__"
    objects = [(name, getattr(module, name)) for name in names]
    return [(n, o) for n, o in objects if inspect.isclass(o) or inspect.isfunction(o)]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_has_an_example(module_name):
    missing = [
        name
        for name, obj in _public_callables(module_name)
        if ">>>" not in (inspect.getdoc(obj) or "")
    ]
    assert not missing, f"{module_name}: no Examples in the docstrings of {missing}"
