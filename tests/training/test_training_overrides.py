"""KEY=VALUE overrides of nested configurations, merging, checked JSON config files, and the
override API of TrainingConfig."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks.training import (
    EncoderConfig,
    TrainingConfig,
    apply_overrides,
    check_config_key,
    get_nested,
    merge_nested,
    parse_override,
    read_config_file,
)

SCHEMAS = {"training": TrainingConfig}
NAMES = st.text("abcdefghij_", min_size=1, max_size=6)
JSON_VALUES = st.one_of(
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 9), max_size=3),
)


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("training.generator.num_blocks=6", ("training", "generator", "num_blocks"), 6),
        ("training.ema_decay=0.999", ("training", "ema_decay"), 0.999),
        ("training.compile=true", ("training", "compile"), True),
        ("training.keep_last=null", ("training", "keep_last"), None),
        ("data.size=[32, 64]", ("data", "size"), [32, 64]),
        ("training.device=cuda:1", ("training", "device"), "cuda:1"),  # not JSON: a string
        ("data.root=a=b", ("data", "root"), "a=b"),  # split at the first "="
        (" data . root =x", ("data", "root"), "x"),
    ],
)
def test_parse_override_reads_json_values_else_strings(text, path, value):
    assert parse_override(text) == (path, value)


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("epochs", ValueError, "needs KEY=VALUE"),
        ("training..epochs=3", ValueError, "empty part"),
        ("=3", ValueError, "empty part"),
        (3, TypeError, "KEY=VALUE string, got int"),
    ],
)
def test_parse_override_refuses_malformed_text(text, error, match):
    with pytest.raises(error, match=match):
        parse_override(text)


@settings(deadline=None, max_examples=30)
@given(path=st.lists(NAMES, min_size=1, max_size=4), value=JSON_VALUES)
def test_an_override_reads_back_and_leaves_the_input_alone(path, value):
    config = {"section": {"kept": 1}}
    before = copy.deepcopy(config)
    text = f"section.{'.'.join(path)}={json.dumps(value)}"
    out = apply_overrides(config, [text])
    assert get_nested(out, ("section", *path)) == value
    assert config == before
    if path[0] != "kept":
        assert out["section"]["kept"] == 1  # siblings stay


def test_overrides_apply_in_order_and_accept_pairs():
    out = apply_overrides(
        {"training": {"num_classes": 7}},
        ["training.epochs=3", (("training", "epochs"), 5), ("training.seed", 2)],
        schemas=SCHEMAS,
    )
    assert out == {"training": {"num_classes": 7, "epochs": 5, "seed": 2}}


def test_unknown_sections_and_keys_name_the_valid_ones():
    config = {"training": {"num_classes": 7}, "data": {"kind": "synthetic"}}
    with pytest.raises(ValueError, match=r"unknown section 'trainig'.*\['data', 'training'\]"):
        apply_overrides(config, ["trainig.epochs=3"], schemas=SCHEMAS)
    with pytest.raises(ValueError, match=r"override training.epoch: unknown config key 'epoch'"):
        apply_overrides(config, ["training.epoch=3"], schemas=SCHEMAS)
    with pytest.raises(ValueError, match=r"valid keys in 'generator': \['base_channels'"):
        apply_overrides(config, ["training.generator.blocks=3"], schemas=SCHEMAS)
    # sections without a schema take new keys
    assert apply_overrides(config, ["data.seed=4"], schemas=SCHEMAS)["data"]["seed"] == 4


def test_an_override_cannot_go_below_a_value():
    with pytest.raises(ValueError, match=r"goes below training\.epochs, which is the value 3"):
        apply_overrides({"training": {"epochs": 3}}, ["training.epochs.x=1"])
    with pytest.raises(ValueError, match="goes below 'epochs', which is a value"):
        apply_overrides({"training": {}}, ["training.epochs.x=1"], schemas=SCHEMAS)


def test_a_missing_or_null_section_becomes_a_dict():
    out = apply_overrides({"training": {"encoder": None}}, ["training.encoder.base_channels=2"])
    assert out["training"]["encoder"] == {"base_channels": 2}


def test_check_config_key_walks_optional_sections():
    check_config_key(TrainingConfig, ("encoder", "feature_channels"))
    check_config_key(TrainingConfig, ("encoder",))
    check_config_key(TrainingConfig, ())
    with pytest.raises(ValueError, match=r"key 'losses\.vgg'; valid keys in 'losses'"):
        check_config_key(TrainingConfig, ("losses", "vgg"))


def test_merge_nested_merges_dicts_key_by_key():
    base = {"a": {"x": 1, "y": {"z": 2}}, "b": [1]}
    update = {"a": {"y": {"w": 3}}, "b": [2], "c": None}
    before = copy.deepcopy(base), copy.deepcopy(update)
    merged = merge_nested(base, update)
    assert merged == {"a": {"x": 1, "y": {"z": 2, "w": 3}}, "b": [2], "c": None}
    assert (base, update) == before
    merged["b"].append(5)
    assert update["b"] == [2]  # copies, not shared lists


def test_get_nested_of_missing_paths():
    assert get_nested({"a": {"b": 1}}, ("a", "b", "c")) is None
    assert get_nested({"a": 1}, ("b",), default=0) == 0
    assert get_nested({"a": 1}, ()) == {"a": 1}


def _write(tmp_path, text):
    path = tmp_path / "preset.json"
    path.write_text(text)
    return path


def test_read_config_file_round_trip(tmp_path):
    values = {"training": {"num_classes": 7, "generator": {"num_blocks": 2}}, "data": {"x": 1}}
    path = _write(tmp_path, json.dumps(values))
    assert read_config_file(path, sections=["training", "data"], schemas=SCHEMAS) == values


def test_read_config_file_errors_name_the_file_and_the_problem(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(FileNotFoundError, match=r"config file .*nope\.json does not exist"):
        read_config_file(missing)
    path = _write(tmp_path, '{"training": {"epochs": 2,}}')
    with pytest.raises(ValueError, match=r"preset\.json is not valid JSON: .* line 1, column 27"):
        read_config_file(path)
    path = _write(tmp_path, "[1, 2]")
    with pytest.raises(TypeError, match="must hold a JSON object of sections, got list"):
        read_config_file(path)
    path = _write(tmp_path, json.dumps({"training": {}, "dta": {}}))
    with pytest.raises(ValueError, match=r"unknown keys \['dta'\]; valid keys: \['data'"):
        read_config_file(path, sections=["training", "data"])
    path = _write(tmp_path, json.dumps({"training": {"generator": {"num_blok": 2}}}))
    with pytest.raises(ValueError, match=r"section 'training': unknown config key 'generator\."):
        read_config_file(path, schemas=SCHEMAS)
    path = _write(tmp_path, json.dumps({"training": [1]}))
    with pytest.raises(TypeError, match="'training' must be a JSON object"):
        read_config_file(path, schemas=SCHEMAS)


def test_training_config_parse_override_checks_the_key():
    assert TrainingConfig.parse_override("encoder.feature_channels=3") == (
        ("encoder", "feature_channels"),
        3,
    )
    with pytest.raises(ValueError, match=r"unknown config key 'epoch'; valid keys: \[.*'epochs'"):
        TrainingConfig.parse_override("epoch=3")


def test_with_overrides_is_a_checked_copy():
    config = TrainingConfig(num_classes=7)
    new = config.with_overrides(["epochs=3", (("generator", "num_blocks"), 2)])
    assert (new.epochs, new.generator.num_blocks) == (3, 2)
    assert (config.epochs, config.generator.num_blocks) == (100, 9)
    expected = config.to_dict()
    expected["epochs"], expected["generator"]["num_blocks"] = 3, 2
    assert new == TrainingConfig.from_dict(expected)
    with_encoder = config.with_overrides(["encoder.feature_channels=2"])
    assert with_encoder.encoder == EncoderConfig(feature_channels=2)
    assert with_encoder.with_overrides(["encoder=null"]).encoder is None
    with pytest.raises(ValueError, match=r"generator\.num_blocks must be >= 0, got -1"):
        config.with_overrides(["generator.num_blocks=-1"])
    with pytest.raises(TypeError, match="compile must be"):
        config.with_overrides(['compile="yes"'])
    with pytest.raises(ValueError, match=r"unknown config key 'generator\.width'"):
        config.with_overrides([("generator.width", 3)])
