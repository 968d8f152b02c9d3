"""train --dry-run of examples/pix2pixhd.py through its command line: the presets' networks
timed on synthetic scenes, here at a reduced size with tiny networks (the full-size run is for
a GPU). The measurement itself is tested in tests/training/test_training_preflight.py."""

from __future__ import annotations

import json

import pytest

from condgan_blocks.training import TrainingConfig
from tests._training_helpers import one_thread

from .._recipe_helpers import recipe_main

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
    result = recipe_main([*argv, "--device", "cpu", *TINY, *extra])
    assert _files(out) == kept
    saved = json.loads((out / "dry_run.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert (saved["preset"], saved["stage"], saved["resolution"]) == (preset, stage, [32, 64])
    assert (saved["device"], saved["precision"], saved["batch_size"]) == ("cpu", "fp32", 1)
    assert saved["steps"] == len(saved["step_seconds"]) == 3
    config = TrainingConfig.from_dict(saved["config"])
    assert config.output_dir is None
    assert config.channels_last is (stage == "global")
    assert (config.generator.base_channels, config.losses.vgg_weight) == (4, 0.0)  # the --set
    if stage == "local":
        assert saved["global_checkpoint"] == str(out / "dry_run_stage1" / "latest.pt")
        assert config.discriminator.num_scales == 3
        assert saved["parameters"]["encoder"] > 0
    else:
        assert saved["parameters"]["encoder"] is None
    printed = capsys.readouterr().out
    for text in (preset, "s/step (median)", "dry_run.json"):
        assert text in printed


def test_dry_run_size_and_precision_flags(tmp_path):
    out = tmp_path / "dry"
    result = recipe_main(
        ["train", "--preset", "cityscapes-global", "--dry-run", "1", "--dry-run-size", "16", "48",
         "--precision", "bf16", "--output", str(out), "--device", "cpu", *TINY]
    )  # fmt: skip
    assert result["resolution"] == [16, 48]
    assert result["precision"] == "bf16"
    assert result["steps"] == 1
    assert result["median_step_s"] is None


def test_dry_run_refusals_write_nothing(tmp_path):
    argv = ["train", "--preset", "cityscapes-global", "--dry-run", "1", "--dry-run-size",
            "30", "64", "--output", str(tmp_path / "a"), "--device", "cpu", *TINY]  # fmt: skip
    with pytest.raises(ValueError, match="multiple of 4"):
        recipe_main(argv)
    with pytest.raises(SystemExit, match="--resume"):
        recipe_main(["train", "--dry-run", "2", "--resume", "--output", str(tmp_path / "b")])
    with pytest.raises(ValueError, match="at least 1 step"):
        recipe_main(["train", "--dry-run", "0", "--output", str(tmp_path / "c")])
    with pytest.raises(SystemExit, match="only applies to --dry-run"):
        recipe_main(["train", "--dry-run-size", "32", "64", "--output", str(tmp_path / "d")])
    assert list(tmp_path.iterdir()) == []
