"""Import the optional ``onnx`` extra inside the functions that need it."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_extra(module: str, needed_by: str) -> ModuleType:
    """Import ``module`` or raise an ImportError that says how to install the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{needed_by} needs {module}, part of the optional 'onnx' extra: "
            'pip install "condgan-blocks[onnx]"'
        ) from error
