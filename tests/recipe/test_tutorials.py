"""The tutorial scripts under examples/ run on tiny sizes and write what their pages show."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from PIL import Image

from .._data_trees import make_cityscapes, save_image, save_instance, save_label, scene_arrays
from .._training_helpers import one_thread
from ..conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
DOCS = REPO_ROOT / "docs"


def load_script(name: str) -> ModuleType:
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_tutorial_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def run(name: str, *args: str):
    with one_thread():
        return load_script(name).main(list(args))


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.load()
        return image.size


def test_every_tutorial_script_has_a_test_and_a_page():
    scripts = sorted(p.stem for p in EXAMPLES.glob("tutorial_*.py"))
    tested = set(re.findall(r'run\(\s*"(tutorial_\w+)"', Path(__file__).read_text()))
    assert set(scripts) == tested
    pages = "".join(p.read_text() for p in (DOCS / "tutorials").glob("*.md"))
    for script in scripts:  # each page includes its script, so the page shows tested code
        assert f'--8<-- "examples/{script}.py"' in pages, script


def test_compose_trains_and_writes_before_and_after(tmp_path):
    losses = run("tutorial_compose", "--output", str(tmp_path), "--steps", "2")
    assert set(losses) == {"d", "g_gan", "g_feat"}
    assert all(np.isfinite(v) for v in losses.values())
    for name in ("label", "real", "before", "after"):
        assert png_size(tmp_path / f"{name}.png") == (64, 32)
    before = np.asarray(Image.open(tmp_path / "before.png"))
    after = np.asarray(Image.open(tmp_path / "after.png"))
    assert not np.array_equal(before, after)  # training changed the generator


def test_load_original_builds_a_fake_experiment_and_reproduces_it(tmp_path):
    image = run("tutorial_load_original", "--output", str(tmp_path))
    folder = tmp_path / "label2city_tiny"
    opt = (folder / "opt.txt").read_text().splitlines()
    assert opt[0].startswith("---")
    assert opt[-1].startswith("---")
    assert "netG: local" in opt
    assert "label_nc: 7" in opt
    state = torch.load(folder / "latest_net_G.pth", weights_only=True)
    assert "model.1.weight" in state
    assert "model1_1.1.weight" in state
    assert image.shape == (1, 3, 32, 64)
    assert png_size(tmp_path / "generated.png") == (64, 32)

    # Pointing it at an existing original folder loads that one instead of writing a new one.
    again = run(
        "tutorial_load_original", "--output", str(tmp_path / "b"), "--experiment", str(folder)
    )
    torch.testing.assert_close(again, image)
    assert not (tmp_path / "b" / "label2city_tiny").exists()


def test_stages_grows_the_global_checkpoint(tmp_path):
    checkpoints = run("tutorial_stages", "--output", str(tmp_path))
    assert checkpoints["global"].parent == tmp_path / "global"
    assert checkpoints["local"].parent == tmp_path / "local"
    stage2 = torch.load(tmp_path / "local" / "latest.pt", weights_only=True)
    assert any(k.startswith("stages.0.") for k in stage2["models"]["generator"])
    assert png_size(tmp_path / "stage1.png") == (32, 16)
    assert png_size(tmp_path / "stage2.png") == (64, 32)


def test_editing_writes_before_and_after_for_every_edit(tmp_path):
    written = run("tutorial_editing", "--output", str(tmp_path))
    assert {"relabel", "add", "remove", "car_style_0"} <= set(written)
    afters = {}
    for name in written:
        before = np.asarray(Image.open(tmp_path / f"{name}_before.png"))
        afters[name] = np.asarray(Image.open(tmp_path / f"{name}_after.png"))
        assert before.shape == afters[name].shape == (64, 64, 3)  # label map above the image
        if not name.startswith("car_style_"):  # a car style may be the one "before" drew
            assert not np.array_equal(before, afters[name]), name
    styles = [afters[name].tobytes() for name in written if name.startswith("car_style_")]
    assert len(set(styles)) == len(styles) > 1  # every style gives another car
    from condgan_blocks import FeatureBank

    bank = FeatureBank.load(tmp_path / "bank.npz", feature_channels=3)
    assert 5 in bank.centers  # the car class has styles


def test_train_on_a_cityscapes_tree(tmp_path):
    make_cityscapes(tmp_path / "cityscapes", cities={"aachen": 2}, size=(32, 64))
    args = ["--dataroot", str(tmp_path / "cityscapes"), "--output", str(tmp_path / "run")]
    checkpoint = run("tutorial_train_cityscapes", *args, "--tiny", "--validate")
    assert checkpoint == tmp_path / "run" / "epoch_0001.pt"
    state = torch.load(tmp_path / "run" / "latest.pt", weights_only=True)
    assert state["config"]["num_classes"] == 35
    assert state["config"]["use_instances"]
    # Running the same command again resumes the finished run: nothing more to do.
    assert run("tutorial_train_cityscapes", *args, "--tiny").parent == tmp_path / "run"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["epoch_0001.pt", "latest.pt"]


def test_train_on_your_own_folders(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "own"
    for name in ("a", "b"):
        label, instance, image = scene_arrays(rng, (32, 64))
        save_label(root / "labels" / f"{name}.png", label)
        save_instance(root / "instances" / f"{name}.png", instance)
        save_image(root / "images" / f"{name}.png", image)
    args = ["--layout", "folders", "--dataroot", str(root), "--output", str(tmp_path / "run")]
    checkpoint = run("tutorial_train_cityscapes", *args, "--label-nc", "34", "--tiny")
    assert checkpoint is not None
    assert checkpoint.is_file()
