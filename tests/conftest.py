"""Shared test fixtures: where the reference tensors live, small deterministic seeds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIR = REPO_ROOT.parent / "shared" / "fixtures" / "pix2pixhd"

settings.register_profile("ci", deadline=None, max_examples=20, derandomize=True)
settings.register_profile("dev", deadline=None, max_examples=20)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


def fixture_paths() -> list[Path]:
    """Every reference case; under CI=true a missing folder is an error, elsewhere a skip."""
    if not FIXTURE_DIR.is_dir():
        if os.environ.get("CI") == "true":
            raise FileNotFoundError(f"reference fixtures missing under CI: {FIXTURE_DIR}")
        return []
    return sorted(FIXTURE_DIR.glob("*.pt"))


def load_case(path: Path) -> dict:
    return torch.load(path, weights_only=True)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
