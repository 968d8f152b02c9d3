"""train --dry-run of examples/pix2pixhd.py: the presets' networks timed on synthetic scenes,
here at a reduced size with tiny networks (the full-size run is for a GPU)."""

from __future__ import annotations

import json

import pytest
import torch

from condgan_blocks.training import TrainingConfig, build_models
from tests._training_helpers import one_thread

from .._recipe_helpers import load_recipe

TINY = [
    "--set", "data.width=64",  # 32x64
    "--set", "training.generator.base_channels=4",
    "--set", "training.generator.num_downsamples=2",
    "--set", "training.generator.num_blocks=1",
    "--set", "training.generator.num_blocks_local=1",
    "--set", "training.discriminator.base_channels=4",
    "--set", "training.discriminator.num_layers=2",
    "--set", "training.losses.vgg_weight=0",  # a full-width VGG19 costs seconds per step
]  # fmt: skip


recipe = load_recipe("pix2pixhd_recipe_dry_run")


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("preset", "stage", "extra", "kept"),
    [
        ("cityscapes-global", "global", ["--channels-last"], ["dry_run.json"]),
        (
            "cityscapes-local",
            "local",
            ["--instance-features", "--set", "training.encoder.base_channels=2"],
            ["dry_run.json", "dry_run_stage1/latest.pt"],
        ),
    ],
)
def test_dry_run_times_the_preset_and_keeps_only_its_report(
    tmp_path, capsys, preset, stage, extra, kept
):
    out = tmp_path / "dry"
    argv = ["train", "--preset", preset, "--dry-run", "3", "--output", str(out)]
    result = recipe.main([*argv, "--device", "cpu", *TINY, *extra])
    assert _files(out) == kept
    saved = json.loads((out / "dry_run.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert saved["preset"] == preset
    assert saved["stage"] == stage
    assert saved["resolution"] == [32, 64]
    assert saved["device"] == "cpu"
    assert saved["precision"] == "fp32"
    assert saved["batch_size"] == 1  # the preset's
    assert saved["steps"] == 3
    assert len(saved["step_seconds"]) == 3
    assert saved["first_step_s"] > 0
    assert saved["median_step_s"] > 0
    assert saved["median_step_s"] == pytest.approx(
        sorted(saved["step_seconds"][1:])[0] / 2 + sorted(saved["step_seconds"][1:])[1] / 2
    )
    assert saved["peak_memory_mib"] > 0
    config = TrainingConfig.from_dict(saved["config"])
    assert config.output_dir is None
    assert config.channels_last is (stage == "global")
    models = build_models(config, device="cpu", load_global=False)
    for name, net in models.networks().items():
        assert saved["parameters"][name] == sum(p.numel() for p in net.parameters()), name
    if stage == "local":
        assert saved["global_checkpoint"] == str(out / "dry_run_stage1" / "latest.pt")
        assert config.discriminator.num_scales == 3
    else:
        assert saved["parameters"]["encoder"] is None
    printed = capsys.readouterr().out
    for text in (preset, "s/step (median)", "dry_run.json"):
        assert text in printed


def test_dry_run_size_and_precision_flags(tmp_path):
    out = tmp_path / "dry"
    result = recipe.main(
        ["train", "--preset", "cityscapes-global", "--dry-run", "1", "--dry-run-size", "16", "48",
         "--precision", "bf16", "--output", str(out), "--device", "cpu", *TINY]
    )  # fmt: skip
    assert result["resolution"] == [16, 48]
    assert result["precision"] == "bf16"
    assert result["steps"] == 1
    assert result["median_step_s"] is None


def test_dry_run_refuses_sizes_the_generator_cannot_take(tmp_path):
    argv = ["train", "--preset", "cityscapes-global", "--dry-run", "1", "--dry-run-size",
            "30", "64", "--output", str(tmp_path), "--device", "cpu", *TINY]  # fmt: skip
    with pytest.raises(SystemExit, match="multiple of 4"):
        recipe.main(argv)


def test_dry_run_refuses_resume_and_zero_steps(tmp_path):
    with pytest.raises(SystemExit, match="--resume"):
        recipe.main(["train", "--dry-run", "2", "--resume", "--output", str(tmp_path)])
    with pytest.raises(SystemExit, match="at least 1 step"):
        recipe.main(["train", "--dry-run", "0", "--output", str(tmp_path)])
    with pytest.raises(SystemExit, match="only applies to --dry-run"):
        recipe.main(["train", "--dry-run-size", "32", "64", "--output", str(tmp_path)])


def test_full_resolution_of_the_presets():
    parser = recipe.build_parser()
    sizes = {}
    for preset in ("cityscapes-global", "cityscapes-local", "folder", "demo"):
        args = parser.parse_args(["train", "--preset", preset, "--device", "cpu"])
        sizes[preset] = recipe.dry_run_size(recipe.resolve_recipe(args))
    assert sizes == {
        "cityscapes-global": (512, 1024),
        "cityscapes-local": (1024, 2048),
        "folder": (512, 1024),
        "demo": (64, 128),
    }


def test_random_vgg_weights_only_when_the_imagenet_file_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    values = {"num_classes": 35}
    note = recipe._dry_run_vgg(values)
    assert values["losses"]["vgg_weights"] is None
    assert "random weights" in note
    assert "the same" in note
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / recipe.VGG19_IMAGENET_FILE).write_bytes(b"")
    values = {"num_classes": 35}
    assert recipe._dry_run_vgg(values) is None
    assert "losses" not in values
    off = {"num_classes": 35, "losses": {"vgg_weight": 0.0}}
    assert recipe._dry_run_vgg(off) is None
