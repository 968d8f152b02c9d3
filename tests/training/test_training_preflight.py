"""Dry runs (condgan_blocks.training.dry_run): timed steps of a configuration, the stage-1
checkpoint a stage-2 dry run grows from, random VGG weights offline, and the report table."""

from __future__ import annotations

import json
import statistics

import pytest
import torch

from condgan_blocks.training import (
    TrainingConfig,
    build_models,
    dry_run,
    dry_run_size,
    format_dry_run,
)
from condgan_blocks.training.preflight import VGG19_IMAGENET_FILE, _random_vgg_if_missing
from tests._recipe_helpers import PRESETS_DIR
from tests._training_helpers import one_thread, tiny_config


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_dry_run_times_the_configuration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tiny_config(output_dir="checkpoints")  # ignored: a dry run saves nothing
    result = dry_run(config, steps=3, size=(16, 32))
    assert _files(tmp_path) == []
    assert json.loads(json.dumps(result)) == result  # JSON-ready
    assert result["resolution"] == [16, 32]
    assert (result["stage"], result["device"], result["batch_size"]) == ("global", "cpu", 1)
    assert result["steps"] == len(result["step_seconds"]) == 3
    assert result["first_step_s"] == result["step_seconds"][0] > 0
    assert result["median_step_s"] == statistics.median(result["step_seconds"][1:])
    assert result["peak_memory_mib"] > 0
    assert result["peak_memory_kind"] == "process peak RSS"
    measured = TrainingConfig.from_dict(result["config"])
    assert measured.output_dir is None
    assert measured == config.with_overrides([("output_dir", None)])
    models = build_models(measured, device="cpu", load_global=False)
    for name, net in models.networks().items():
        assert result["parameters"][name] == sum(p.numel() for p in net.parameters()), name
    assert result["parameters"]["encoder"] is None
    assert result["notes"] == []


def test_one_step_has_no_median():
    result = dry_run(tiny_config(), steps=1, size=(16, 16))
    assert result["median_step_s"] is None
    assert "-" in format_dry_run(result).splitlines()[-1]


def test_a_stage_two_dry_run_grows_from_saved_initial_weights(tmp_path):
    config = tiny_config(stage="local")
    result = dry_run(config, steps=1, size=(16, 32), folder=tmp_path)
    assert _files(tmp_path) == ["dry_run_stage1/latest.pt"]
    assert result["global_checkpoint"] == str(tmp_path / "dry_run_stage1" / "latest.pt")
    assert result["stage"] == "local"
    assert "stage-1 checkpoint (initial weights) kept at" in result["notes"][0]
    with pytest.raises(ValueError, match="needs a folder to save the stage-1 weights"):
        dry_run(config, steps=1, size=(16, 32))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 0}, "at least 1 step, got steps=0"),
        ({"steps": True}, "at least 1 step"),
        ({"size": (30, 64)}, "30x64 must be a multiple of 4"),
        ({"size": (32,)}, "two positive ints"),
        ({"size": (32, 64), "config": tiny_config(stage="local")}, "needs a folder"),
        ({"size": (20, 40), "config": tiny_config(stage="local")}, "20x40 .* multiple of 8"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(tmp_path, monkeypatch, kwargs, match):
    monkeypatch.chdir(tmp_path)
    arguments = {"config": tiny_config(), "steps": 1, "size": (32, 64), **kwargs}
    with pytest.raises(ValueError, match=match):
        dry_run(**arguments)
    assert _files(tmp_path) == []
    with pytest.raises(TypeError, match="config must be a TrainingConfig"):
        dry_run(tiny_config().to_dict(), steps=1, size=(32, 64))


def test_random_vgg_weights_only_when_the_imagenet_file_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    config = TrainingConfig(num_classes=35)  # VGG loss with the ImageNet weights
    changed, note = _random_vgg_if_missing(config)
    assert changed.losses.vgg_weights is None
    assert changed.with_overrides([("losses.vgg_weights", "imagenet")]) == config
    assert "random weights" in note
    assert "the same" in note
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / VGG19_IMAGENET_FILE).write_bytes(b"")
    assert _random_vgg_if_missing(config) == (config, None)
    off = config.with_overrides(["losses.vgg_weight=0"])
    assert _random_vgg_if_missing(off) == (off, None)


def test_full_resolution_of_the_presets():
    sizes = {
        path.stem: dry_run_size(json.loads(path.read_text())["data"])
        for path in PRESETS_DIR.glob("*.json")
    }
    assert sizes == {
        "cityscapes-global": (512, 1024),
        "cityscapes-local": (1024, 2048),
        "folder": (512, 1024),
        "demo": (64, 128),
    }
    assert dry_run_size({"kind": "folder"}) == (512, 1024)  # 1024 wide when unset


def test_format_dry_run_is_a_table_of_one_row():
    result = {
        "stage": "local", "resolution": [1024, 2048], "batch_size": 1, "device": "cuda",
        "precision": "fp16", "median_step_s": 0.51234, "first_step_s": 3.0,
        "parameters": {"generator": 182_500_000, "discriminator": 8_300_000, "encoder": None},
        "peak_memory_mib": 20480.4, "peak_memory_kind": "CUDA allocated",
    }  # fmt: skip
    header, rule, row = format_dry_run(result).splitlines()
    assert header.startswith("preset | stage | resolution")
    assert set(rule) <= {"-", "+"}
    cells = [cell.strip() for cell in row.split("|")]
    assert cells == ["-", "local", "1024x2048, batch 1", "cuda", "fp16", "182.50", "8.30", "-",
                     "0.512", "3.000", "20480 (CUDA allocated)"]  # fmt: skip
    named = format_dry_run({**result, "preset": "cityscapes-local"})
    assert named.splitlines()[2].startswith("cityscapes-local | local")
