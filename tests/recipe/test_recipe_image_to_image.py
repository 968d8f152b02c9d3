"""Image-to-image runs of examples/pix2pixhd.py (``--preset folder --set data.label_nc=0``, the
original's ``--label_nc 0``): train on ``_A`` / ``_B`` pairs, resume, generate, evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from condgan_blocks.training import load_checkpoint
from tests._data_trees import make_image_pairs, save_instance
from tests._training_helpers import one_thread

from .._recipe_helpers import recipe_main

SIZE = (32, 32)
TINY = [
    "--set",
    'training.generator={"base_channels": 4, "num_downsamples": 2, "num_blocks": 1}',
    "--set",
    'training.discriminator={"base_channels": 4, "num_scales": 2, "num_layers": 2}',
    "--set",
    "training.losses.vgg_weight=0",
    "--set",
    "recipe.grid_every=2",
    "--set",
    "recipe.num_generate=2",
]


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


def pairs_tree(root: Path) -> Path:
    """Grayscale inputs, RGB targets: 4 training pairs and 2 test pairs of 32x32."""
    make_image_pairs(root, "train", ("a", "b", "c", "d"), size=SIZE, mode_a="L", mode_b="RGB")
    make_image_pairs(root, "test", ("e", "f"), size=SIZE, mode_a="L", mode_b="RGB", seed=1)
    return root


def train_argv(root: Path, run: Path, *extra: str) -> list[str]:
    return [
        "train", "--preset", "folder", "--data-root", str(root), "--output", str(run),
        "--device", "cpu", "--set", "data.label_nc=0", "--set", "data.input_nc=1",
        "--epochs", "1", "--decay-epochs", "0", "--batch-size", "2", *TINY, *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train 1 epoch (2 steps), then resume for one more epoch."""
    base = tmp_path_factory.mktemp("image_to_image")
    root, run = pairs_tree(base / "data"), base / "run"
    recipe_main(train_argv(root, run))
    first = load_checkpoint(run / "checkpoints" / "latest.pt")
    recipe_main(["train", "--output", str(run), "--resume", "--epochs", "2", "--device", "cpu"])
    return root, run, first


def test_one_setting_drives_the_classes_and_the_channels(trained):
    _, run, first = trained
    saved = json.loads((run / "recipe.json").read_text())
    training = saved["training"]
    assert (training["num_classes"], training["input_channels"]) == (0, 1)
    assert training["image_channels"] == 3
    assert training["use_instances"] is False  # no train_inst folder
    assert first["config"]["num_classes"] == 0
    assert first["state"]["global_step"] == 2


def test_resume_continues_for_one_more_epoch(trained):
    _, run, _ = trained
    latest = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert (latest["state"]["epoch"], latest["state"]["global_step"]) == (2, 4)
    weight = latest["models"]["generator"]["stem.conv.weight"]
    assert weight.shape[1] == 1  # G reads the 1-channel input itself
    assert latest["models"]["discriminator"]["scales.0.layers.0.conv.weight"].shape[1] == 1 + 3
    grids = sorted((run / "grids").glob("step_*.png"))
    assert grids, "the monitor draws input | generated | real grids"


def test_generate_writes_an_image_per_input(trained, tmp_path):
    _, run, _ = trained
    out = recipe_main(["generate", "--run", str(run), "--device", "cpu"])
    names = sorted(p.name for p in Path(out).glob("*.png") if p.name != "grid.png")
    assert names == ["e.png", "f.png"]
    with Image.open(Path(out) / "e.png") as png:
        assert (png.size, png.mode) == (SIZE, "RGB")


def test_generate_from_a_folder_of_inputs_only(trained, tmp_path):
    _, run, _ = trained
    folder = tmp_path / "inputs"
    (folder / "test_A").mkdir(parents=True)
    Image.fromarray(np.zeros((24, 40), np.uint8)).save(folder / "test_A" / "x.png")
    out = recipe_main(
        ["generate", "--run", str(run), "--device", "cpu", "--folder", str(folder),
         "--output", str(tmp_path / "out")]
    )  # fmt: skip
    with Image.open(Path(out) / "x.png") as png:
        assert png.size == (40, 24)  # any size: padded, then cropped


def test_evaluate_scores_l1_psnr_ssim(trained):
    _, run, _ = trained
    results = recipe_main(["evaluate", "--run", str(run), "--device", "cpu"])
    saved = json.loads((run / "evaluation" / "metrics.json").read_text())
    for key in ("l1", "psnr", "ssim"):
        assert isinstance(saved[key], float), key
        assert saved[key] == pytest.approx(results[key])
    assert 0 < saved["l1"] < 2
    assert 0 < saved["psnr"] < 60
    assert -1 < saved["ssim"] < 1
    assert saved["num_images"] == 2
    assert "mean_iou" not in saved
    assert not (run / "evaluation" / "segmenter.pt").exists()
    assert "psnr" in (run / "index.html").read_text()


def test_instance_maps_turn_the_boundary_on(tmp_path):
    root = pairs_tree(tmp_path / "data")
    for name in ("a", "b", "c", "d"):
        save_instance(root / "train_inst" / f"{name}.png", np.zeros(SIZE, np.uint16))
    resolved = recipe_main(train_argv(root, tmp_path / "run", "--print-config"))
    assert resolved["training"]["use_instances"] is True
    argv = train_argv(root, tmp_path / "run", "--no-instance-boundary", "--print-config")
    assert recipe_main(argv)["training"]["use_instances"] is False


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "training.num_classes=7"], "data.label_nc sets training.num_classes"),
        (["--instance-features"], "encoder .* needs label maps"),
    ],
)
def test_conflicting_settings_are_refused(tmp_path, extra, message):
    root = pairs_tree(tmp_path / "data")
    with pytest.raises((SystemExit, ValueError), match=message):
        recipe_main(train_argv(root, tmp_path / "run", *extra))
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_wrong_input_channels_name_the_setting(tmp_path):
    root = pairs_tree(tmp_path / "data")
    argv = train_argv(root, tmp_path / "run", "--set", "data.input_nc=3")
    message = r"data\.input_nc=3, but .*train_A have 1 channel: use --set data\.input_nc=1"
    with pytest.raises(SystemExit, match=message):
        recipe_main(argv)


def test_dry_run_times_random_pairs_of_the_configured_channels(tmp_path):
    argv = train_argv(tmp_path / "nowhere", tmp_path / "dry", "--set", "data.output_nc=2")
    result = recipe_main([*argv, "--dry-run", "1", "--dry-run-size", "32", "32"])
    assert result["steps"] == 1
    saved = json.loads((tmp_path / "dry" / "dry_run.json").read_text())
    assert saved["config"]["input_channels"] == 1
    assert saved["config"]["image_channels"] == 2
