"""The documentation site builds in strict mode and documents every public name.

Builds the site with ``mkdocs build --strict`` into a temporary folder (skipped when the ``docs``
extra is not installed) and looks for every name of the public ``__all__`` lists among the
anchors of the built HTML.
"""

from __future__ import annotations

import ast
import html
import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
PUBLIC_MODULES = (
    "condgan_blocks",
    "condgan_blocks.compat.pix2pixhd",
    "condgan_blocks.data",
    "condgan_blocks.editing",
    "condgan_blocks.editor",
    "condgan_blocks.synthesis",
    "condgan_blocks.training",
    "condgan_blocks.export",
    "condgan_blocks.evaluation",
    "condgan_blocks.synthesis",
    "condgan_blocks.visualization",
)
MISSING_DOCS_EXTRA = [
    name
    for name in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
    if importlib.util.find_spec(name.split(".")[0]) is None
    or (name.count(".") and importlib.util.find_spec(name) is None)
]
needs_mkdocs = pytest.mark.skipif(
    bool(MISSING_DOCS_EXTRA),
    reason=f'the docs extra is not installed (pip install -e ".[docs]"): no {MISSING_DOCS_EXTRA}',
)


def public_names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
    return sorted(names)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO_ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    warnings = [line for line in log.splitlines() if line.startswith("WARNING")]
    assert not warnings, "\n".join(warnings)
    return out


@pytest.fixture(scope="module")
def anchors(site) -> set[str]:
    ids: set[str] = set()
    for page in site.rglob("*.html"):
        ids.update(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))
    return ids


@needs_mkdocs
@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_has_an_anchor(anchors, module_name):
    missing = [
        name
        for name in public_names(module_name)
        if not any(anchor == name or anchor.endswith(f".{name}") for anchor in anchors)
    ]
    assert not missing, f"{module_name}: no anchor in the built site for {missing}"


@needs_mkdocs
def test_every_page_is_built(site):
    for page in DOCS.rglob("*.md"):
        relative = page.relative_to(DOCS).with_suffix("")
        folder = relative.parent if relative.name == "index" else relative
        assert (site / folder / "index.html").is_file(), f"{page} was not built"


@needs_mkdocs
def test_tutorial_pages_show_their_scripts(site):
    pages = "".join(
        html.unescape(re.sub(r"<[^>]+>", "", p.read_text(encoding="utf-8")))
        for p in (site / "tutorials").rglob("index.html")
    )
    for script in sorted((REPO_ROOT / "examples").glob("tutorial_*.py")):
        lines = script.read_text().splitlines()
        assert lines[0] in pages, script.name  # the docstring's first line, inside the code
        assert "def main(argv: list[str] | None = None)" in pages


# A Sphinx role (``:class:`X```) is not markup for mkdocstrings: the page shows it verbatim. In the
# built HTML the backticks have become <code>, so both forms are looked for.
SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|exc|data|obj|const):(?:`|<code>)")
ARTICLES = {"A", "An", "The"}


def _is_private(path: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in path.split("."))


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


@needs_mkdocs
def test_pages_show_no_sphinx_roles_or_private_bases(site):
    problems = []
    for page in sorted(site.rglob("*.html")):
        source = page.read_text(encoding="utf-8")
        name = page.relative_to(site).as_posix()
        problems += [f"{name}: {m.group(0)!r}" for m in SPHINX_ROLE.finditer(html.unescape(source))]
        for bases in re.findall(r'class="doc doc-class-bases">(.*?)</p>', source, re.DOTALL):
            shown = _text(bases)
            titles = re.findall(r'title="([^"]+)"', bases)
            if shown.startswith("Bases: _") or any(_is_private(path) for path in titles):
                problems.append(f"{name}: private base class shown: {shown} {titles}")
    assert not problems, "\n".join(problems)


@needs_mkdocs
def test_returns_sections_render_as_one_item(site):
    """A "Returns:" block is one item: no sentence split over rows, no name column reading "A"."""
    tables = 0
    problems = []
    section = re.compile(
        r'doc-section-title">(Returns|Yields):</span></p>\s*<table>(.*?)</table>', re.DOTALL
    )
    for page in sorted(site.rglob("*.html")):
        for kind, table in section.findall(page.read_text(encoding="utf-8")):
            tables += 1
            header = [_text(cell) for cell in re.findall(r"<th>(.*?)</th>", table, re.DOTALL)]
            rows = [
                [_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
                for row in re.findall(
                    r"<tr class=\"doc-section-item\">(.*?)</tr>", table, re.DOTALL
                )
            ]
            where = f"{page.relative_to(site).as_posix()} {kind}: {rows}"
            if len(rows) != 1:
                problems.append(f"{where}: {len(rows)} rows")
            if "Name" in header:
                names = {row[header.index("Name")] for row in rows if len(row) == len(header)}
                if names & ARTICLES:
                    problems.append(f"{where}: a name column reading {sorted(names & ARTICLES)}")
    assert tables > 20, f"only {tables} Returns tables found: did the section style change?"
    assert not problems, "\n".join(problems)


def _docstrings(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield getattr(node, "name", "<module>"), doc


def test_docstrings_and_pages_use_no_sphinx_roles():
    """Cheap twin of the built-site check, for a CI without the docs extra."""
    problems = []
    for path in sorted(
        [*(REPO_ROOT / "src").rglob("*.py"), *(REPO_ROOT / "examples").rglob("*.py")]
    ):
        for name, doc in _docstrings(path):
            problems += [
                f"{path.relative_to(REPO_ROOT)} ({name}): {m.group(0)}"
                for m in SPHINX_ROLE.finditer(doc)
            ]
    for page in sorted(DOCS.rglob("*.md")):
        prose = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
        problems += [
            f"{page.relative_to(REPO_ROOT)}: {m.group(0)}" for m in SPHINX_ROLE.finditer(prose)
        ]
    assert not problems, "use [`Name`][condgan_blocks.path.Name] instead:\n" + "\n".join(problems)


def test_the_sphinx_role_check_finds_roles():
    assert SPHINX_ROLE.search("see :class:`GlobalGenerator`")
    assert SPHINX_ROLE.search("see :func:<code>~condgan_blocks.gan_loss</code>")
    assert not SPHINX_ROLE.search("see [`GlobalGenerator`][condgan_blocks.GlobalGenerator]")


def test_concepts_diagram_names_the_classes():
    diagram = re.search(r"```mermaid\n(.*?)```", (DOCS / "concepts.md").read_text(), re.DOTALL)
    assert diagram is not None
    for name in (
        "GlobalGenerator",
        "LocalEnhancer",
        "EnhancerStage",
        "MultiscaleDiscriminator",
        "NLayerDiscriminator",
        "GANLoss",
        "FeatureMatchingLoss",
        "VGGPerceptualLoss",
        "InstanceFeatureEncoder",
        "FeatureBank",
    ):
        assert name in diagram.group(1), name


def test_migration_guide_maps_the_original_options():
    guide = (DOCS / "migration.md").read_text()
    options = [
        "label_nc",
        "input_nc",
        "output_nc",
        "ngf",
        "n_downsample_global",
        "n_blocks_global",
        "n_local_enhancers",
        "n_blocks_local",
        "netG",
        "ndf",
        "n_layers_D",
        "num_D",
        "no_lsgan",
        "no_ganFeat_loss",
        "no_vgg_loss",
        "lambda_feat",
        "niter",
        "niter_decay",
        "niter_fix_global",
        "pool_size",
        "instance_feat",
        "label_feat",
        "feat_num",
        "nef",
        "n_downsample_E",
        "no_instance",
        "norm",
        "fp16",
        "batchSize",
        "lr",
        "beta1",
    ]
    first_cells = re.findall(r"^\| ([^|]*) \|", guide, flags=re.MULTILINE)
    mapped = {name for cell in first_cells for name in re.findall(r"`(?:--)?(\w+)", cell)}
    assert not [option for option in options if option not in mapped]
    from condgan_blocks.training import TrainingConfig

    for field in ("epochs", "decay_epochs", "freeze_global_epochs", "batch_size", "precision"):
        assert field in TrainingConfig.__dataclass_fields__
        assert f"`{field}" in guide, field
    for topic in ("features_clustered_", "from_pix2pixhd_npy", "eval mode", "imagenet", "zeros"):
        assert topic in guide, topic


def test_home_page_links_only_existing_pictures():
    for page in DOCS.rglob("*.md"):
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text()):
            assert (page.parent / target).resolve().is_file(), f"{page.name}: {target}"


def test_security_page_covers_every_untrusted_input():
    page = (DOCS / "security.md").read_text()
    for needle in (".pt2", ".npz", "opt.txt", "features_clustered_", ".onnx", "weights_only=True",
                   "allow_pickle=False", "127.0.0.1", "Host", "Origin", "X-Editor-Token",
                   "CheckpointError", "Training checkpoints"):  # fmt: skip
        assert needle in page, needle
    assert "security.md" in (DOCS.parent / "mkdocs.yml").read_text()
