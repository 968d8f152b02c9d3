"""The package tree: subpackages that follow the paper, modules that are modules, a stable API.

Every file of ``condgan_blocks`` imports as a module and its parent package's attribute of the
same name is that module (a module named like a function it re-exports would be shadowed:
``import condgan_blocks.gan_loss`` used to give the function). The public names of
``condgan_blocks.__all__`` before the reorganisation are all still there, and every
subpackage has its folder of tests.
"""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import condgan_blocks

from .conftest import REPO_ROOT

# condgan_blocks.__all__ as of 0.1.0; names may be added, never removed silently.
PUBLIC_NAMES_0_1 = (
    "EnhancerStage",
    "FeatureBank",
    "FeatureMatchingLoss",
    "GANLoss",
    "GlobalGenerator",
    "InstanceAveragePool",
    "InstanceBoundary",
    "InstanceFeatureEncoder",
    "LocalEnhancer",
    "MultiscaleDiscriminator",
    "NLayerDiscriminator",
    "OneHotLabels",
    "ResnetBlock",
    "VGG19Features",
    "VGGPerceptualLoss",
    "__version__",
    "crop_padding",
    "downsample",
    "editing",
    "evaluation",
    "feature_matching_loss",
    "gan_loss",
    "image_pyramid",
    "init_weights",
    "instance_average_pool",
    "instance_boundary",
    "instance_to_class",
    "one_hot_labels",
    "pad_to_multiple",
    "vgg_perceptual_loss",
    "visualization",
)
PAPER_SUBPACKAGES = ("layers", "generators", "discriminators", "losses", "instance")
MODULES = sorted(m.name for m in pkgutil.walk_packages(condgan_blocks.__path__, "condgan_blocks."))


def test_every_module_is_found():
    assert len(MODULES) > 50
    assert {f"condgan_blocks.{name}" for name in PAPER_SUBPACKAGES} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_import_gives_a_module_and_the_parent_attribute_is_that_module(name):
    module = importlib.import_module(name)
    assert isinstance(module, types.ModuleType)
    parent, _, leaf = name.rpartition(".")
    assert getattr(importlib.import_module(parent), leaf) is module, (
        f"{parent}.{leaf} is shadowed by {getattr(importlib.import_module(parent), leaf)!r}"
    )


def test_public_names_are_kept_and_sorted():
    assert set(PUBLIC_NAMES_0_1) <= set(condgan_blocks.__all__)
    assert list(condgan_blocks.__all__) == sorted(condgan_blocks.__all__)
    for name in condgan_blocks.__all__:
        assert hasattr(condgan_blocks, name), name


def test_no_public_block_module_sits_flat_in_the_package():
    top = REPO_ROOT / "src" / "condgan_blocks"
    flat = sorted(p.stem for p in top.glob("*.py") if not p.stem.startswith("_"))
    assert flat == ["editing", "synthesis", "visualization"]


def test_tests_mirror_the_source_tree():
    source = REPO_ROOT / "src" / "condgan_blocks"
    packages = sorted(
        p.name for p in source.iterdir() if (p / "__init__.py").is_file() and p.name[0] != "_"
    )
    missing = [name for name in packages if not (REPO_ROOT / "tests" / name).is_dir()]
    assert not missing, f"no tests/<name>/ folder for {missing}"
