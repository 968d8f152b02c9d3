"""Every core dependency in pyproject.toml is imported somewhere in the library."""

from __future__ import annotations

import re

from .conftest import REPO_ROOT

SOURCE = REPO_ROOT / "src" / "condgan_blocks"
# Distributions whose import name is not their name with "-" replaced by "_".
IMPORT_NAMES = {"scikit-learn": "sklearn", "pillow": "PIL"}


def core_dependencies() -> list[str]:
    """The distribution names of [project] dependencies (a regex: Python 3.10 has no tomllib)."""
    text = (REPO_ROOT / "pyproject.toml").read_text()
    project = re.search(r"^\[project\]\n(.*?)(?=^\[)", text, flags=re.DOTALL | re.MULTILINE)
    assert project is not None, "pyproject.toml has no [project] table"
    listed = re.search(r"^dependencies\s*=\s*\[(.*?)\]", project.group(1), flags=re.S | re.M)
    assert listed is not None, "[project] has no dependencies list"
    requirements = re.findall(r"[\"']([^\"']+)[\"']", listed.group(1))
    return [re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0) for requirement in requirements]


def imported_modules() -> set[str]:
    """Top-level names imported by the library's modules (at the top or inside a function)."""
    pattern = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", flags=re.MULTILINE)
    names: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        names.update(pattern.findall(path.read_text(encoding="utf-8")))
    return names


def test_the_parser_reads_the_dependency_list():
    dependencies = core_dependencies()
    assert "torch" in dependencies
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+", name) for name in dependencies)


def test_every_core_dependency_is_imported():
    imported = imported_modules()
    unused = [
        name
        for name in core_dependencies()
        if IMPORT_NAMES.get(name.lower(), name.lower().replace("-", "_")) not in imported
    ]
    assert not unused, (
        f"core dependencies {unused} are listed in pyproject.toml but never imported under "
        "src/condgan_blocks: use them or drop them from [project] dependencies"
    )
