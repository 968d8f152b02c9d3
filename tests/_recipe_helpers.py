"""Load the reference recipe script (examples/pix2pixhd.py) as a module for the recipe tests."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from .conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "examples" / "pix2pixhd.py"


def load_recipe(module_name: str) -> ModuleType:
    """A fresh module object of the recipe script, registered under no package."""
    spec = importlib.util.spec_from_file_location(module_name, SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
