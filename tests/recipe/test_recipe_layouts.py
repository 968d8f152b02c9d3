"""examples/pix2pixhd.py end to end on the dataset layouts users have: a tiny tree in the
pix2pixHD folder layout (driven with the original's option names) and one in the Cityscapes
layout (gtFine/leftImg8bit): train, resume, generate and evaluate, checking what each writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from condgan_blocks.data import dataset_from_settings
from condgan_blocks.training import load_checkpoint
from tests._training_helpers import one_thread

from .._data_trees import make_cityscapes, make_pix2pixhd
from .._recipe_helpers import recipe_main

SIZE = (32, 64)  # (H, W) of every frame on disk
# Tiny networks and a one-epoch segmenter: the runs take seconds and check the plumbing.
TINY = [
    "--set", "training.generator.base_channels=4",
    "--set", "training.generator.num_downsamples=2",
    "--set", "training.generator.num_blocks=1",
    "--set", "training.discriminator.base_channels=4",
    "--set", "training.discriminator.num_layers=2",
    "--set", "training.discriminator.num_scales=2",
    "--set", "training.log_every_steps=1",
    "--set", "recipe.segmenter_epochs=1",
    "--set", "recipe.segmenter_base_channels=4",
    "--set", "recipe.num_generate=2",
]  # fmt: skip


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


def _state(path: Path) -> dict:
    return load_checkpoint(path)["state"]


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _picture(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "RGB", (path, image.mode)
        return np.asarray(image)


# ------------------------------------------------------------------------------- folders
@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """pix2pixHD's folder layout, trained with the original's train.py options: 3 training
    frames of 32x64, random 32x32 crops (scale_width_and_crop), 2 per batch, 1 epoch."""
    base = tmp_path_factory.mktemp("folders")
    root, checkpoints = base / "datasets" / "tiny", base / "checkpoints"
    make_pix2pixhd(root, "train", ("a", "b", "c"), SIZE)
    make_pix2pixhd(root, "test", ("d", "e"), SIZE, seed=1)
    original = ["--name", "tiny", "--checkpoints_dir", str(checkpoints), "--gpu_ids", "-1"]
    recipe_main(
        ["train", *original, "--dataroot", str(root), "--label_nc", "35",
         "--resize_or_crop", "scale_width_and_crop", "--loadSize", "64", "--fineSize", "32",
         "--niter", "1", "--niter_decay", "0", "--batchSize", "2", "--no_vgg_loss", *TINY]
    )  # fmt: skip
    return base, root, checkpoints / "tiny", original


def test_folder_layout_trains_with_the_original_options(folder_run):
    _, root, run, _ = folder_run
    saved = json.loads((run / "recipe.json").read_text())
    assert saved["preset"] == "folder"
    assert saved["data"] == {**saved["data"], "root": str(root), "width": 64, "crop": 32}
    assert saved["training"]["num_classes"] == saved["data"]["label_nc"] == 35
    assert saved["training"]["losses"]["vgg_weight"] == 0
    assert saved["training"]["device"] == "cpu"
    state = _state(run / "checkpoints" / "latest.pt")
    assert (state["epoch"], state["global_step"]) == (1, 2)  # 3 frames, 2 per batch
    assert (run / "checkpoints" / "epoch_0001.pt").is_file()
    logged = _metrics(run)
    assert [row["step"] for row in logged] == [1, 2]
    assert all(np.isfinite(row["g_gan"]) and np.isfinite(row["d_real"]) for row in logged)
    assert (run / "index.html").is_file()


def test_folder_training_samples_are_seeded_random_crops(folder_run):
    _, _, run, _ = folder_run
    data = json.loads((run / "recipe.json").read_text())["data"]
    crops = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        dataset = dataset_from_settings(data, "train", train=True)
        crops.append(dataset[0])
    first, again, other = crops
    assert first["image"].shape == (3, 32, 32)
    assert first["label"].shape == (1, 32, 32)
    assert first["instance"].shape == (1, 32, 32)
    for key in ("label", "instance", "image"):
        assert torch.equal(first[key], again[key])
    val = dataset_from_settings(data, "val")[0]
    assert val["image"].shape == (3, *SIZE)  # validation frames are not cropped
    # The same window in every member: the crop of the label is a window of the full label.
    full = dataset_from_settings({**data, "crop": None, "flip": False}, "train")[0]["label"][0]
    windows = full.unfold(0, 32, 1).unfold(1, 32, 1)  # (1, 33, 32, 32)
    label = first["label"][0]
    assert any(torch.equal(w, label) or torch.equal(w.flip(-1), label) for w in windows[0])
    assert other["image"].shape == (3, 32, 32)


def test_folder_run_resumes_with_continue_train(folder_run, tmp_path):
    _, _, run, _ = folder_run
    copy = tmp_path / "checkpoints"
    shutil.copytree(run, copy / "tiny")
    argv = ["train", "--name", "tiny", "--checkpoints_dir", str(copy), "--gpu_ids", "-1"]
    recipe_main([*argv, "--continue_train", "--niter", "2"])
    resumed = copy / "tiny"
    state = _state(resumed / "checkpoints" / "latest.pt")
    assert (state["epoch"], state["global_step"]) == (2, 4)
    assert (resumed / "checkpoints" / "epoch_0002.pt").is_file()
    assert [row["step"] for row in _metrics(resumed)] == [1, 2, 3, 4]
    assert json.loads((resumed / "recipe.json").read_text())["training"]["epochs"] == 2
    assert _state(run / "checkpoints" / "latest.pt")["epoch"] == 1  # the original run is kept
    # A changed architecture is refused on resume, naming the flag.
    with pytest.raises(SystemExit, match="cannot change on resume"):
        recipe_main([*argv, "--continue_train", "--label_nc", "20"])


def test_folder_run_generates_with_the_test_py_options(folder_run):
    base, root, _run, original = folder_run
    results = base / "results"
    recipe_main(
        ["generate", *original, "--dataroot", str(root), "--results_dir", str(results),
         "--resize_or_crop", "none", "--how_many", "2", "--netG", "global", "--ngf", "64"]
    )  # fmt: skip
    out = results / "tiny" / "test_latest"
    assert sorted(p.name for p in out.glob("*.png")) == ["d.png", "e.png", "grid.png"]
    for name in ("d", "e"):
        with Image.open(root / "test_label" / f"{name}.png") as label:
            height, width = label.height, label.width
        assert _picture(out / f"{name}.png").shape == (height, width, 3) == (*SIZE, 3)


# ------------------------------------------------------------------------------- Cityscapes
@pytest.fixture(scope="module")
def cityscapes_run(tmp_path_factory):
    """The Cityscapes layout (gtFine/leftImg8bit): the cityscapes-global preset at 64 wide."""
    base = tmp_path_factory.mktemp("cityscapes")
    root, run = base / "cityscapes", base / "runs" / "city"
    make_cityscapes(root, "train", {"aachen": 2, "bochum": 1}, SIZE)
    make_cityscapes(root, "val", {"frankfurt": 2}, SIZE, seed=1)
    recipe_main(
        ["train", "--preset", "cityscapes-global", "--data-root", str(root), "--loadSize", "64",
         "--niter", "1", "--niter_decay", "1", "--no_vgg_loss", "--output", str(run),
         "--device", "cpu", *TINY]
    )  # fmt: skip
    return root, run


def test_cityscapes_layout_trains_and_resumes(cityscapes_run):
    _, run = cityscapes_run
    saved = json.loads((run / "recipe.json").read_text())
    assert (saved["preset"], saved["data"]["kind"], saved["data"]["width"]) == (
        "cityscapes-global", "cityscapes", 64
    )  # fmt: skip
    assert _state(run / "checkpoints" / "latest.pt")["epoch"] == 2
    recipe_main(["train", "--output", str(run), "--resume", "--epochs", "2", "--device", "cpu"])
    state = _state(run / "checkpoints" / "latest.pt")
    assert (state["epoch"], state["global_step"]) == (3, 9)  # 3 frames, batch 1, 3 epochs
    assert {p.name for p in (run / "checkpoints").glob("epoch_*.pt")} == {
        "epoch_0001.pt", "epoch_0002.pt", "epoch_0003.pt"
    }  # fmt: skip


def test_cityscapes_run_generates_and_evaluates(cityscapes_run):
    _root, run = cityscapes_run
    recipe_main(["generate", "--run", str(run), "--num", "2", "--device", "cpu"])
    generated = sorted(p.name for p in (run / "generated").glob("*.png") if p.name != "grid.png")
    assert [name[:23] for name in generated] == [  # one image per validation frame
        "frankfurt_000000_000019", "frankfurt_000001_000019"
    ]  # fmt: skip
    for name in generated:
        assert _picture(run / "generated" / name).shape == (*SIZE, 3)
    assert (run / "generated" / "grid.png").is_file()
    checkpoints = str(run.parent)
    results = recipe_main(
        ["evaluate", "--name", run.name, "--checkpoints_dir", checkpoints, "--gpu_ids", "-1"]
    )
    metrics = json.loads((run / "evaluation" / "metrics.json").read_text())
    assert metrics["num_images"] == 2
    assert metrics["split"] == "val"
    for kind in ("generated", "real", "flat"):
        assert 0.0 <= metrics[kind]["mean_iou"] <= 1.0
        assert 0.0 <= metrics[kind]["pixel_accuracy"] <= 1.0
    assert results["generated"]["mean_iou"] == metrics["generated"]["mean_iou"]
    assert (run / "evaluation" / "segmenter.pt").is_file()
