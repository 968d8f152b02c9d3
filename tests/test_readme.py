"""The README's example code runs as written, and CI runs the README's test command."""

from __future__ import annotations

import re

import torch

from .conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def _code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_composing_example_runs_and_gives_a_loss():
    example = next(block for block in _code_blocks("python") if "LocalEnhancer" in block)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    assert namespace["fake"].shape == (1, 3, 64, 128)
    assert namespace["loss_G"].ndim == 0
    assert torch.isfinite(namespace["loss_G"])


def test_ci_runs_the_readme_test_command():
    commands = [line for block in _code_blocks("bash") for line in block.splitlines()]
    test_command = next(line for line in commands if "pytest" in line)
    assert test_command in (REPO_ROOT / ".ci" / "run").read_text()
