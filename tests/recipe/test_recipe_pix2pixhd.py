"""The reference recipe examples/pix2pixhd.py: the smoke pipeline end to end, the CLI, styles,
any-size generation and the metrics it writes."""

from __future__ import annotations

import html
import json
import math
import re
import subprocess
import sys

import pytest
import torch

from condgan_blocks import Synthesizer
from condgan_blocks.data import SyntheticScenes, collate, dataset_from_settings
from condgan_blocks.evaluation import SMOKE_RUN_WARNING, format_fid_kid, format_noise
from condgan_blocks.training import load_run, load_run_bank

from .._recipe_helpers import SCRIPT, recipe_main

COMMANDS = ("train", "encode-features", "generate", "evaluate", "edit", "demo")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The demo's four steps at smoke size, run once for the module (a few seconds)."""
    out = tmp_path_factory.mktemp("recipe") / "demo"
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = recipe_main(["demo", "--smoke", "--output", str(out), "--device", "cpu"])
    finally:
        torch.set_num_threads(previous)
    return out, results


def test_import_has_no_side_effects(tmp_path):
    code = f"import runpy; runpy.run_path({str(SCRIPT)!r}, run_name='not_main')"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        recipe_main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert f"pix2pixhd.py {command}" in text
    # Every option says what it does: its help follows on its line or on the next lines.
    options = text.split("\noptions:\n", 1)[1].splitlines()
    entries = [i for i, line in enumerate(options) if re.match(r"  -", line)]
    assert len(entries) > 1
    for i in entries:
        same_line = re.match(r"  \S.*?\s{2,}\S", options[i])
        next_line = i + 1 < len(options) and re.match(r" {3,}\S", options[i + 1])
        assert same_line or next_line, f"{command}: {options[i].strip()} has no help"


def test_smoke_pipeline_writes_every_artefact(smoke_run):
    out, results = smoke_run
    for name in (
        "recipe.json",
        "metrics.jsonl",
        "checkpoints/latest.pt",
        "checkpoints/feature_bank.npz",
        "car_styles.png",
        "car_styles.json",
        "generated/grid.png",
        "evaluation/metrics.json",
        "evaluation/segmenter.pt",
        "index.html",
        "timings.json",
    ):
        assert (out / name).is_file(), name
    assert list((out / "grids").glob("step_*.png"))
    saved = json.loads((out / "recipe.json").read_text())
    assert saved["training"]["generator"]["base_channels"] == 4  # the smoke sizes, resolved
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert all({"step", "g_gan", "d_real"} <= set(json.loads(line)) for line in lines)
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    for key in ("generated", "real", "flat"):
        assert 0.0 <= metrics[key]["pixel_accuracy"] <= 1.0
    assert metrics["miou_ratio"] == pytest.approx(
        metrics["generated"]["mean_iou"] / metrics["real"]["mean_iou"]
    )
    page = (out / "index.html").read_text()
    for link in ("car_styles.png", "generated/grid.png", "evaluation/metrics.json", "grids/"):
        assert link in page
    assert results["timings"]["total"] > 0


def test_car_styles_are_measured(smoke_run):
    out, _ = smoke_run
    styles = json.loads((out / "car_styles.json").read_text())
    assert styles["num_styles"] >= 2
    colours = torch.tensor(styles["mean_colours"])
    assert colours.shape == (styles["num_styles"], 3)
    assert styles["max_difference"] == pytest.approx(float(torch.pdist(colours).max()), abs=1e-3)
    assert styles["max_difference"] > 0


def _run_and_scene(smoke_run):
    out, _ = smoke_run
    saved, training = load_run(out, device="cpu")
    bank = load_run_bank(out, training)
    val = dataset_from_settings(saved["data"], "val")
    for index in range(len(val)):
        sample = val[index]
        ids = sample["instance"][sample["label"] == 5].unique()
        if ids.numel():
            return training, bank, collate([sample]), int(ids[0])
    pytest.skip("no car in the smoke validation scenes")


def test_explicit_choices_change_only_the_chosen_instance(smoke_run):
    training, bank, batch, car = _run_and_scene(smoke_run)
    label, instance = batch["label"], batch["instance"]
    clusters = bank.centers[5].shape[0]
    synthesizer = Synthesizer.from_training(training, bank=bank)
    maps = [synthesizer.style_features(label, instance, {car: k}) for k in range(clusters)]
    inside = (instance == car).expand_as(maps[0])
    for k in range(1, clusters):
        # The features G sees differ only inside the chosen car ...
        assert torch.equal(maps[k][~inside], maps[0][~inside])
        assert not torch.equal(maps[k][inside], maps[0][inside])
    # ... and G's output changes most there (G is global: elsewhere it may change a little).
    first = synthesizer(label, instance, {car: 0})
    last = synthesizer(label, instance, {car: clusters - 1})
    assert torch.equal(first, synthesizer(label, instance, features=maps[0]))
    change = (last - first).abs().mean(1, keepdim=True)
    mask = instance == car
    assert change[mask].mean() > change[~mask].mean()


@pytest.mark.parametrize(("height", "width"), [(37, 75), (20, 31)])
def test_generate_any_size_returns_the_input_size(smoke_run, height, width):
    training, bank, _, _ = _run_and_scene(smoke_run)
    scenes = SyntheticScenes(1, size=(height, width), split="val")
    batch = collate([scenes[0]])
    synthesizer = Synthesizer.from_training(training, bank=bank)
    fake = synthesizer(batch["label"], batch["instance"])
    assert fake.shape == (1, 3, height, width)
    encoded = synthesizer.encode(batch["image"], batch["instance"])
    assert encoded.shape == (1, 3, height, width)
    bf16 = Synthesizer.from_training(training, bank=bank, precision="bf16")(
        batch["label"], batch["instance"]
    )
    assert bf16.shape == (1, 3, height, width)
    assert (bf16 - fake).abs().mean() < 0.1


def test_generate_command_with_choices_and_size(smoke_run, tmp_path):
    out, _ = smoke_run
    choices = tmp_path / "choices.json"
    choices.write_text(json.dumps({"5000": 0}))
    target = recipe_main(
        ["generate", "--run", str(out), "--num", "1", "--size", "33", "70", "--choices",
         str(choices), "--output", str(tmp_path / "gen"), "--device", "cpu"]
    )  # fmt: skip
    from PIL import Image

    (picture,) = [p for p in target.glob("*.png") if p.name != "grid.png"]
    assert Image.open(picture).size == (70, 33)


def test_generate_folder_writes_one_extension(smoke_run, tmp_path):
    from PIL import Image

    out, _ = smoke_run
    folder = tmp_path / "scenes"
    for kind in ("label", "inst"):
        (folder / f"test_{kind}").mkdir(parents=True)
    for name in ("0000", "0001"):
        label = torch.zeros(20, 36, dtype=torch.uint8)
        label[5:15, 10:30] = 5  # one car on the road
        Image.fromarray(label.numpy()).save(folder / "test_label" / f"{name}.png")
        Image.fromarray(label.numpy()).save(folder / "test_inst" / f"{name}.png")
    target = recipe_main(
        ["generate", "--run", str(out), "--folder", str(folder), "--output",
         str(tmp_path / "gen"), "--device", "cpu"]
    )  # fmt: skip
    assert sorted(p.name for p in target.iterdir()) == ["0000.png", "0001.png", "grid.png"]


def test_a_smoke_run_says_it_measures_nothing(smoke_run, capsys):
    out, _ = smoke_run
    assert json.loads((out / "recipe.json").read_text())["smoke"] is True
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert metrics["smoke"] is True
    assert metrics["warnings"][0] == SMOKE_RUN_WARNING
    page = (out / "index.html").read_text()
    assert format_fid_kid(metrics["fid_kid"]) in html.unescape(page)  # scores or why not
    assert page.index("measure nothing") < page.index("<h2>Evaluation</h2>")  # on top
    assert '<p class="warning"><strong>Warning:</strong> This is a --smoke run' in page
    recipe_main(["evaluate", "--run", str(out), "--device", "cpu"])  # the cached segmenter
    printed = capsys.readouterr().out
    assert f"WARNING: {SMOKE_RUN_WARNING}" in printed


def test_evaluation_measures_high_frequency_energy(smoke_run, capsys):
    out, _ = smoke_run
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    for kind in ("generated", "real", "flat"):
        for key in ("chroma_hf", "luminance_hf"):
            value = metrics[kind][key]
            assert isinstance(value, float), (kind, key)
            assert math.isfinite(value), (kind, key)
            assert value >= 0, (kind, key)
    for key in ("chroma_hf", "luminance_hf"):
        assert metrics["real"][key] > 0
        assert metrics[f"{key}_ratio"] == pytest.approx(
            metrics["generated"][key] / metrics["real"][key]
        )
    page = (out / "index.html").read_text()
    for text in ("chroma HF", "luminance HF", "High-frequency energy"):
        assert text in page
    assert f"{metrics['generated']['chroma_hf']:.4f}" in page
    assert f"chroma {metrics['chroma_hf_ratio']:.1f}x real" in page
    line = format_noise(metrics)
    assert line.startswith(
        f"chroma high-frequency: generated {metrics['generated']['chroma_hf']:.3f}, "
        f"real {metrics['real']['chroma_hf']:.3f} ({metrics['chroma_hf_ratio']:.1f}x real); "
        "luminance: generated "
    )
    results = recipe_main(["evaluate", "--run", str(out), "--device", "cpu"])
    assert line in capsys.readouterr().out
    assert results["luminance_hf_ratio"] == pytest.approx(metrics["luminance_hf_ratio"])


def test_evaluate_pools_style_draws_and_checks_their_number(smoke_run, capsys):
    out, _ = smoke_run
    command = ["evaluate", "--run", str(out), "--device", "cpu"]
    one = recipe_main([*command, "--style-draws", "1"])
    three = recipe_main([*command, "--style-draws", "3"])
    assert (one["style_draws"], three["style_draws"]) == (1, 3)
    assert len(three["miou_ratio_per_draw"]) == 3
    # draw 0 uses the seeds of a one-draw evaluation; the real and flat images are scored once
    assert three["miou_ratio_per_draw"][0] == pytest.approx(one["miou_ratio"])
    assert three["real"] == one["real"]
    assert three["flat"] == one["flat"]
    assert "(3 style draws pooled; per draw " in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"style draws must be an int in \[1, 64\].*got 0"):
        recipe_main([*command, "--style-draws", "0"])
    recipe = json.loads((out / "recipe.json").read_text())
    default = recipe_main(command)  # the preset's style_draws, and the fixture's metrics again
    assert default["style_draws"] == recipe["recipe"].get("style_draws", 1)
