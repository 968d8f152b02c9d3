"""Run the reference recipe script (examples/pix2pixhd.py) through its command line.

Tests exercise the recipe as a user does: ``recipe_main(argv)`` is ``python
examples/pix2pixhd.py ARGV`` in this process (its ``main``). What the recipe is built from is
tested in the library, not through the script.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from .conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "examples" / "pix2pixhd.py"
PRESETS_DIR = REPO_ROOT / "examples" / "presets"


@functools.cache
def _script() -> ModuleType:
    """The recipe script as a module object, registered under no package: only its ``main``
    is used (tests/recipe/test_recipe_config.py checks that no test reaches further)."""
    spec = importlib.util.spec_from_file_location("pix2pixhd_recipe_cli", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recipe_main(argv: Sequence[str]) -> Any:
    """``python examples/pix2pixhd.py *argv``, in this process: returns what ``main`` returns
    (the run folder, the results dict, ...) and raises what it raises (``SystemExit`` for
    refused flags, ``ValueError`` for bad values)."""
    return _script().main(list(argv))
