"""Recipe run folders through the library: the stored configuration, the checkpoints found
where the folder is now, the trained networks and the feature bank."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from condgan_blocks import Synthesizer
from condgan_blocks.data import SyntheticScenes, collate
from condgan_blocks.training import (
    FEATURE_BANK_FILE,
    RUN_CHECKPOINTS,
    RUN_CONFIG_FILE,
    RunConfigError,
    load_run,
    load_run_bank,
    load_run_config,
    run_training_config,
    save_run_config,
)
from tests._run_folders import train_run_folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_run_folder(tmp_path_factory.mktemp("run_folder") / "run")


def test_the_configuration_round_trips_and_older_folders_read(tmp_path):
    config = {"training": {"num_classes": 7}, "data": {}, "recipe": {}, "smoke": True}
    path = save_run_config(tmp_path / "new", config)
    assert path == tmp_path / "new" / RUN_CONFIG_FILE
    assert load_run_config(tmp_path / "new") == config
    del config["smoke"]  # written before runs were labelled
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / RUN_CONFIG_FILE).write_text(json.dumps(config))
    assert load_run_config(tmp_path / "old")["smoke"] is False


def test_a_folder_without_a_configuration_is_not_a_run(tmp_path):
    with pytest.raises(RunConfigError, match=r"is not a run folder: no recipe\.json"):
        load_run_config(tmp_path)
    with pytest.raises(RunConfigError, match="is not a run folder"):
        load_run(tmp_path, device="cpu")
    (tmp_path / RUN_CONFIG_FILE).write_text("[1, 2]")
    with pytest.raises(ValueError, match="must hold a JSON object"):
        load_run_config(tmp_path)


def test_checkpoints_live_in_the_run_folder_wherever_it_is():
    stored = {"training": {"num_classes": 7, "output_dir": "/an/old/absolute/checkpoints"}}
    assert run_training_config(stored, "runs/b").output_dir == f"runs/b/{RUN_CHECKPOINTS}"
    assert run_training_config(stored).output_dir is None
    assert stored["training"]["output_dir"] == "/an/old/absolute/checkpoints"  # not changed


def test_load_run_restores_the_trained_networks_and_saves_nothing(trained, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    before = sorted(p.relative_to(copy) for p in copy.rglob("*"))
    config, training = load_run(copy, device="cpu")
    assert config == load_run_config(trained)
    assert training.state.epoch == 1
    assert training.config.output_dir is None
    assert not training.generator.training  # eval mode
    saved = torch.load(copy / RUN_CHECKPOINTS / "latest.pt", weights_only=True)
    for name, value in training.models.generator.state_dict().items():
        assert torch.equal(value, saved["models"]["generator"][name]), name
    assert sorted(p.relative_to(copy) for p in copy.rglob("*")) == before
    bf16 = load_run(copy, device="cpu", precision="bf16")[1]
    assert bf16.config.precision == "bf16"


def test_the_bank_of_a_run(trained, tmp_path):
    _, training = load_run(trained, device="cpu")
    bank = load_run_bank(trained, training)
    assert bank.feature_channels == 3
    assert bank.centers
    batch = collate([SyntheticScenes(1, size=(32, 64), split="val")[0]])
    image = Synthesizer.from_training(training, bank=bank)(batch["label"], batch["instance"])
    assert image.shape == (1, 3, 32, 64)
    shutil.copytree(trained, tmp_path / "no_bank")
    (tmp_path / "no_bank" / RUN_CHECKPOINTS / FEATURE_BANK_FILE).unlink()
    with pytest.raises(RunConfigError, match=r"run encode-features --run .*no_bank first"):
        load_run_bank(tmp_path / "no_bank", training)


def test_a_run_without_checkpoints_cannot_be_loaded(tmp_path):
    save_run_config(tmp_path, {"training": {"num_classes": 7}, "data": {}, "recipe": {}})
    with pytest.raises(FileNotFoundError):
        load_run(tmp_path, device="cpu")


def test_load_run_of_one_epoch_reads_that_checkpoint(trained, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    checkpoints = copy / RUN_CHECKPOINTS
    latest = torch.load(checkpoints / "latest.pt", weights_only=True)
    older = {**latest, "models": {**latest["models"], "generator": {
        k: v + 1 if v.is_floating_point() else v
        for k, v in latest["models"]["generator"].items()}}}  # fmt: skip
    torch.save(older, checkpoints / "epoch_0007.pt")
    _, training = load_run(copy, device="cpu", epoch=7)
    for name, value in training.models.generator.state_dict().items():
        assert torch.equal(value, older["models"]["generator"][name]), name
    with pytest.raises(FileNotFoundError, match=r"epoch_0003\.pt does not exist.*epochs \[.*7\]"):
        load_run(copy, device="cpu", epoch=3)
    with pytest.raises(ValueError, match="epoch must be 1 or more, got 0"):
        load_run(copy, device="cpu", epoch=0)
    with pytest.raises(TypeError, match="epoch must be an int"):
        load_run(copy, device="cpu", epoch="7")
