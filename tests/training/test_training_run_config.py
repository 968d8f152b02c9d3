"""The run configuration of a recipe run: reading presets, applying settings, the folder-data
keys derived from the data section, the resume checks, and the data channel check."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks.training import (
    RESUME_SETTINGS,
    RUN_CHECKPOINTS,
    RunConfigError,
    TrainingConfig,
    check_data_channels,
    read_run_config,
    resolve_device,
    resolve_run_config,
    run_config_value,
)
from tests._data_trees import make_image_pairs, save_instance

from .._recipe_helpers import PRESETS_DIR


def _preset(**training) -> dict:
    return {
        "training": {"num_classes": 7, **training},
        "data": {"kind": "synthetic", "size": [32, 64], "num_train": 4, "num_val": 2},
        "recipe": {"grid_every": 0},
        "preset": "mine",
        "smoke": False,
    }


def _folder(root, **data) -> dict:
    config = _preset()
    config["data"] = {"kind": "folder", "root": str(root), "label_nc": 35, **data}
    return config


# ------------------------------------------------------------------------------- reading
def test_every_preset_file_reads_and_resolves():
    for path in sorted(PRESETS_DIR.glob("*.json")):
        preset = read_run_config(path)
        resolved = resolve_run_config(preset)
        assert resolved["training"]["output_dir"] == RUN_CHECKPOINTS == "checkpoints"
        TrainingConfig.from_dict(resolved["training"])


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        (None, FileNotFoundError, "does not exist"),
        ("[1]", TypeError, "must hold a JSON object"),
        ('{"training": {}, "data": {}, "recipe": {}, "extra": 1}', ValueError, r"\['extra'\]"),
        ('{"training": {"epoch": 1}, "data": {}, "recipe": {}}', ValueError, "'epoch'"),
        ('{"training": {}, "recipe": {}}', ValueError, r"missing \['data'\]"),
    ],
)
def test_bad_run_config_files_are_refused(tmp_path, content, error, match):
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(error, match=match):
        read_run_config(path)


# ------------------------------------------------------------------------------- settings
def test_settings_apply_in_order_and_leave_the_input_alone():
    preset = _preset()
    before = copy.deepcopy(preset)
    resolved = resolve_run_config(
        preset,
        ["training.epochs=3", (("training", "epochs"), 5, "--epochs"), ("data.num_val", 1)],
    )
    assert resolved["training"]["epochs"] == 5
    assert resolved["data"]["num_val"] == 1
    assert resolved["training"]["output_dir"] == "checkpoints"
    assert preset == before


@pytest.mark.parametrize(
    ("setting", "error", "match"),
    [
        ("training.output_dir=/x", RunConfigError, "always RUN/checkpoints"),
        ("training.generator.blocks=2", ValueError, r"unknown config key 'generator\.blocks'"),
        ("trainig.epochs=2", ValueError, "unknown section 'trainig'"),
        ("training.epochs=-1", ValueError, "epochs"),
        ("training.epochs", ValueError, "needs KEY=VALUE"),
        (3, TypeError, "KEY=VALUE string or a"),
    ],
)
def test_bad_settings_are_refused_before_anything_changes(setting, error, match):
    with pytest.raises(error, match=match):
        resolve_run_config(_preset(), [setting])


def test_a_config_without_its_sections_is_refused():
    with pytest.raises(ValueError, match=r"missing \['recipe'\]"):
        resolve_run_config({"training": {}, "data": {}})
    with pytest.raises(TypeError, match="dict of sections"):
        resolve_run_config([("training", {})])


def test_run_config_value_fills_in_the_training_defaults():
    preset = _preset(batch_size=4)
    assert run_config_value(preset, ("training", "batch_size")) == 4
    assert run_config_value(preset, ("training", "seed")) == TrainingConfig(num_classes=7).seed
    default = TrainingConfig(num_classes=7).generator.num_blocks
    assert run_config_value(preset, ("training", "generator", "num_blocks")) == default
    assert run_config_value(preset, ("data", "size")) == [32, 64]
    assert run_config_value(preset, ("data", "root")) is None
    assert run_config_value(preset, ("preset",)) == "mine"


def test_resolve_device():
    assert resolve_device("cuda:1") == "cuda:1"
    assert resolve_device(None) == resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(TypeError, match="device must be a string"):
        resolve_device(0)


# ------------------------------------------------------------------------------- resume
@pytest.mark.parametrize(
    ("setting", "source"),
    [
        ((("training", "batch_size"), 3, "--batch-size"), "--batch-size"),
        ("training.generator.num_blocks=3", "--set training.generator.num_blocks"),
        ((("preset",), "folder", "--preset"), "--preset"),
        ((("data", "size"), [16, 16]), "data.size"),
    ],
)
def test_resume_refuses_what_would_change_the_trained_run(setting, source):
    stored = resolve_run_config(_preset())
    with pytest.raises(RunConfigError, match=f"^{source} cannot change on resume: runs/a was"):
        resolve_run_config(stored, [setting], resume_of="runs/a")
    resolve_run_config(stored, [setting])  # a new run may change it


def test_resume_accepts_unchanged_values_and_the_resume_settings():
    stored = resolve_run_config(_preset())
    default_seed = TrainingConfig(num_classes=7).seed
    same = [(("training", "seed"), default_seed, "--seed"), (("training", "num_classes"), 7)]
    changes = ["training.epochs=9", "training.device=cpu", "recipe.grid_every=5", "data.root=x"]
    resumed = resolve_run_config(stored, [*same, *changes], resume_of="runs/a")
    assert resumed["training"]["epochs"] == 9
    assert resumed["recipe"]["grid_every"] == 5
    assert resumed["training"]["seed"] == default_seed


@given(key=st.sampled_from([name for name in RESUME_SETTINGS if not name.endswith(".")]))
@settings(deadline=None, max_examples=20)
def test_every_resume_setting_may_change(key):
    stored = resolve_run_config(_preset())
    values = {"training.device": "cpu", "training.precision": "bf16", "data.root": "elsewhere"}
    value = values.get(key, True if key.endswith(("compile", "channels_last")) else 3)
    if key == "training.compile_backend":
        value = "eager"
    resumed = resolve_run_config(stored, [(key, value)], resume_of="runs/a")
    section, name = key.split(".")
    assert resumed[section][name] == value


# ------------------------------------------------------------------------------- folder data
def test_folder_data_derives_the_training_channels(tmp_path):
    resolved = resolve_run_config(_folder(tmp_path, label_nc=20, output_nc=1))
    assert (resolved["training"]["num_classes"], resolved["training"]["image_channels"]) == (20, 1)
    assert "input_channels" not in resolved["training"]
    pairs = resolve_run_config(_folder(tmp_path, label_nc=0, input_nc=2))
    assert (pairs["training"]["num_classes"], pairs["training"]["input_channels"]) == (0, 2)
    assert pairs["training"]["use_instances"] is False  # no train_inst folder
    save_instance(tmp_path / "train_inst" / "a.png", np.zeros((4, 4), np.uint16))
    assert resolve_run_config(_folder(tmp_path, label_nc=0))["training"]["use_instances"] is True
    off = resolve_run_config(_folder(tmp_path, label_nc=0), ["training.use_instances=false"])
    assert off["training"]["use_instances"] is False
    # a resumed run keeps what it was trained with
    resumed = resolve_run_config(pairs, ["training.epochs=3"], resume_of=tmp_path)
    assert resumed["training"]["use_instances"] is False


def test_a_derived_training_key_set_to_another_value_is_refused(tmp_path):
    with pytest.raises(RunConfigError, match=r"data\.label_nc sets training\.num_classes"):
        resolve_run_config(_folder(tmp_path), ["training.num_classes=7"])
    same = resolve_run_config(_folder(tmp_path), ["training.num_classes=35"])
    assert same["training"]["num_classes"] == 35
    with pytest.raises(RunConfigError, match=r"data\.output_nc sets training\.image_channels"):
        resolve_run_config(_folder(tmp_path, output_nc=3), ["training.image_channels=1"])


def test_data_channels_are_checked_against_the_files(tmp_path):
    make_image_pairs(tmp_path, "train", ("a",), size=(16, 16), mode_a="L", mode_b="RGB")
    good = resolve_run_config(_folder(tmp_path, label_nc=0, input_nc=1))
    check_data_channels(good)
    bad = resolve_run_config(_folder(tmp_path, label_nc=0, input_nc=3))
    message = r"data\.input_nc=3, but .*train_A have 1 channel: use --set data\.input_nc=1"
    with pytest.raises(RunConfigError, match=message):
        check_data_channels(bad)
    check_data_channels(resolve_run_config(_preset()))  # label maps: nothing to read


def test_a_resolved_config_is_json(tmp_path):
    resolved = resolve_run_config(_folder(tmp_path, label_nc=0), ["training.seed=2"])
    assert json.loads(json.dumps(resolved)) == resolved
