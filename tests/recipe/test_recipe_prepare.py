"""The recipe's ``prepare`` subcommand: colour labels -> the folder layout -> ``train --preset
folder`` on the prepared tree."""

from __future__ import annotations

import json
import math
import re
import shlex

import numpy as np
import pytest
import torch

from condgan_blocks.data import PairedFolderDataset, cityscapes_palette

from .._data_trees import save_image
from .._recipe_helpers import recipe_main
from .._training_helpers import one_thread
from ..conftest import REPO_ROOT

TINY = [
    "--set",
    'training.generator={"base_channels": 4, "num_downsamples": 2, "num_blocks": 1}',
    "--set",
    'training.discriminator={"base_channels": 4, "num_scales": 1, "num_layers": 2}',
    "--set",
    'training.losses={"vgg_weight": 0.0, "vgg_weights": null}',
]


def _colour_tree(root, count=2):
    """Cityscapes-coloured labels in root/labels and JPEG photos in root/photos, 16x32."""
    palette = cityscapes_palette().numpy()
    for index in range(count):
        label = np.full((16, 32), 7)  # road
        label[:8] = 23  # sky
        label[10:14, 2 + index : 8 + index] = 26  # a car
        label[10:14, 20:24] = 26  # another car
        save_image(root / "labels" / f"scene{index}.png", palette[label])
        photo = np.random.default_rng(index).integers(0, 256, (16, 32, 3), dtype=np.uint8)
        save_image(root / "photos" / f"scene{index}.jpg", photo)


def test_prepare_has_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        recipe_main(["prepare", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--labels", "--images", "--palette", "--things", "--connectivity", "--overwrite"):
        assert flag in text


def test_prepare_then_train_one_step_on_the_prepared_tree(tmp_path, capsys):
    _colour_tree(tmp_path)
    data = tmp_path / "data"
    for phase in ("train", "test"):
        args = ["prepare", "--labels", str(tmp_path / "labels"), "--output", str(data)]
        recipe_main([*args, "--images", str(tmp_path / "photos"), "--phase", phase])
    printed = capsys.readouterr().out
    assert f"wrote 2 samples to {data}/train{{_label, _inst, _img}}" in printed
    assert f"--preset folder --data-root {data}" in printed
    assert "--set data.label_nc" not in printed  # the Cityscapes palette fits the preset
    dataset = PairedFolderDataset(data, "train", label_nc=35)
    sample = dataset[0]
    assert sample["image"].shape == (3, 16, 32)
    assert sorted(sample["instance"].unique().tolist()) == [7, 23, 26000, 26001]

    run = tmp_path / "run"
    with one_thread():
        recipe_main(
            ["train", "--preset", "folder", "--data-root", str(data), "--output", str(run),
             "--device", "cpu", "--epochs", "1", "--decay-epochs", "0", "--batch-size", "2",
             "--grid-every", "0", "--log-every", "1", *TINY]
        )  # fmt: skip
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1]  # 2 samples, batch 2: one step
    assert all(math.isfinite(lines[0][key]) for key in ("g_gan", "g_feat", "d_real", "d_fake"))
    checkpoint = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    assert checkpoint["state"]["global_step"] == 1
    saved = json.loads((run / "recipe.json").read_text())
    assert (saved["data"]["kind"], saved["data"]["root"]) == ("folder", str(data))
    assert saved["data"]["label_nc"] == 35


def test_prepare_custom_palette_prints_the_label_count_and_refuses_to_overwrite(tmp_path, capsys):
    palette = {"0": [0, 0, 0], "1": [255, 0, 0], "4": "#00ff00"}
    (tmp_path / "palette.json").write_text(json.dumps(palette))
    save_image(tmp_path / "labels" / "x.png", np.array([[[255, 0, 0], [0, 255, 0]]], np.uint8))
    args = ["prepare", "--labels", str(tmp_path / "labels"), "--output", str(tmp_path / "out")]
    args += ["--palette", str(tmp_path / "palette.json"), "--things", "1", "4"]
    result = recipe_main(args)
    assert result.num_classes == 5
    assert result.thing_classes == (1, 4)
    assert "--set data.label_nc=5 --set training.num_classes=5" in capsys.readouterr().out
    with pytest.raises(SystemExit, match=r"prepare: .*train_label.*not empty.*--overwrite"):
        recipe_main(args)
    assert recipe_main([*args, "--overwrite"]).num_samples == 1


def test_prepare_reports_unknown_colours_without_a_traceback(tmp_path):
    save_image(tmp_path / "labels" / "x.png", np.array([[[1, 2, 3]]], np.uint8))
    with pytest.raises(SystemExit, match=r"x\.png: .*\(1, 2, 3\) on 1 pixel\(s\), first at"):
        recipe_main(["prepare", "--labels", str(tmp_path / "labels"), "--output", str(tmp_path)])


def test_the_tutorial_commands_run(tmp_path, monkeypatch):
    """The bring-your-own-data page's commands, as written, on a tiny tree of its layout: the
    two prepare calls write the folder layout and train reads it (--print-config: no training)."""
    page = (REPO_ROOT / "docs" / "tutorials" / "own_data.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", page, flags=re.DOTALL)
    commands = [c for c in "".join(blocks).replace("\\\n", " ").splitlines() if c.strip()]
    assert len(commands) == 3
    palette = re.search(r"```json\n(.*?)```", page, flags=re.DOTALL).group(1)
    (tmp_path / "palette.json").write_text(palette)
    colours = np.array(
        [[0, 0, 0], [128, 64, 128], [70, 130, 180], [220, 20, 60], [0, 0, 142]], np.uint8
    )
    for split in ("train", "val"):
        label = np.ones((8, 16), np.int64)  # road
        label[:3] = 2  # sky
        label[4:7, 2:6], label[4:7, 9:13] = 3, 4  # a person and a car
        save_image(tmp_path / "my_data" / "labels" / split / "a.png", colours[label])
        photo = np.random.default_rng(0).integers(0, 256, (8, 16, 3), dtype=np.uint8)
        save_image(tmp_path / "my_data" / "photos" / split / "a.jpg", photo)
    monkeypatch.chdir(tmp_path)
    argvs = [shlex.split(command)[2:] for command in commands]
    assert [argv[0] for argv in argvs] == ["prepare", "prepare", "train"]
    for argv in argvs[:2]:
        recipe_main(argv)
    for phase in ("train", "test"):
        sample = PairedFolderDataset("datasets/my_data", phase, label_nc=5)[0]
        assert sorted(sample["label"].unique().tolist()) == [1, 2, 3, 4]
        assert sorted(sample["instance"].unique().tolist()) == [1, 2, 3000, 4000]  # --things 3 4
    config = recipe_main([*argvs[2], "--device", "cpu", "--print-config"])
    assert (config["data"]["root"], config["data"]["label_nc"]) == ("datasets/my_data", 5)
    assert config["training"]["num_classes"] == 5
    assert not (tmp_path / "runs").exists()
