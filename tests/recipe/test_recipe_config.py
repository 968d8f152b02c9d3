"""The configuration of examples/pix2pixhd.py train, through its command line (--print-config):
presets as JSON files, --config FILE, the flags and --set, and their errors."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from condgan_blocks.data import CITYSCAPES_NUM_CLASSES, SyntheticScenes
from condgan_blocks.training import TrainingConfig, merge_nested, read_config_file

from .._recipe_helpers import PRESETS_DIR, recipe_main

PRESETS = sorted(path.stem for path in PRESETS_DIR.glob("*.json"))


def _config(*argv: str) -> dict:
    return recipe_main(["train", "--device", "cpu", "--print-config", *argv])


def test_the_presets_are_the_json_files():
    assert PRESETS == ["cityscapes-global", "cityscapes-local", "demo", "folder"]
    classes = {"demo": SyntheticScenes.num_classes, "folder": 35}
    for name in PRESETS:
        path = PRESETS_DIR / f"{name}.json"
        preset = read_config_file(path, schemas={"training": TrainingConfig})
        assert sorted(preset) == ["data", "recipe", "training"], name
        config = TrainingConfig.from_dict(preset["training"])
        assert config.num_classes == classes.get(name, CITYSCAPES_NUM_CLASSES), name
        # the paper's presets keep the original layout (their checkpoints load in the
        # original's code); the demo and folder presets modulate every norm (docs/quality.md)
        generator = config.generator
        modulated = (generator.label_modulation > 0, generator.label_modulation_blocks)
        assert modulated == ((False, False) if name.startswith("cityscapes") else (True, True))


@pytest.mark.parametrize("name", PRESETS)
def test_a_preset_resolves_to_its_file_plus_the_run_settings(name, capsys):
    resolved = _config("--preset", name)
    assert json.loads(capsys.readouterr().out) == resolved  # printed as JSON
    preset = json.loads((PRESETS_DIR / f"{name}.json").read_text())
    assert sorted(resolved) == ["data", "preset", "recipe", "smoke", "training"]
    assert (resolved["preset"], resolved["smoke"]) == (name, False)
    assert (resolved["data"], resolved["recipe"]) == (preset["data"], preset["recipe"])
    run = {"device": "cpu", "output_dir": "checkpoints"}
    # (folder data may derive further training keys from the data section)
    assert resolved["training"].items() >= {**preset["training"], **run}.items()


def test_smoke_merges_the_overlay_over_the_demo_preset():
    resolved = _config("--smoke")
    overlay = json.loads((PRESETS_DIR / "overlays" / "smoke.json").read_text())
    demo = json.loads((PRESETS_DIR / "demo.json").read_text())
    expected = merge_nested(demo, overlay)
    expected["training"].update(device="cpu", output_dir="checkpoints")
    assert resolved == {**expected, "preset": "demo", "smoke": True}
    with pytest.raises(SystemExit, match="--smoke uses the synthetic data"):
        _config("--smoke", "--preset", "folder")


def test_a_config_file_is_read_like_a_preset(tmp_path):
    values = json.loads((PRESETS_DIR / "demo.json").read_text())
    values["training"]["epochs"] = 3
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(values))
    resolved = _config("--config", str(path), "--set", "training.seed=4")
    assert resolved["preset"] == "mine"
    assert (resolved["training"]["epochs"], resolved["training"]["seed"]) == (3, 4)
    assert resolved["data"] == values["data"]
    # a run's recipe.json is such a file too, and keeps its preset name
    path.write_text(json.dumps({**values, "preset": "demo", "smoke": False}))
    assert _config("--config", str(path))["preset"] == "demo"


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        (None, FileNotFoundError, r"config file .*mine\.json does not exist"),
        ('{"training": {', ValueError, r"mine\.json is not valid JSON: .* line 1, column 15"),
        ('{"training": {"num_classes": 7}, "dataa": {}}', ValueError, r"unknown keys \['dataa'\]"),
        ('{"training": {"num_classes": 7}}', ValueError, r"missing \['data', 'recipe'\]"),
        (
            '{"training": {"generator": {"blocks": 2}}, "data": {}, "recipe": {}}',
            ValueError,
            r"section 'training': unknown config key 'generator\.blocks'; valid keys",
        ),
    ],
)
def test_bad_config_files_are_refused_clearly(tmp_path, content, error, match):
    path = tmp_path / "mine.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(error, match=match):
        _config("--config", str(path))


def test_config_and_preset_do_not_combine(tmp_path):
    with pytest.raises(SystemExit, match="--config and --preset both choose"):
        _config("--config", str(tmp_path / "a.json"), "--preset", "demo")


def test_flags_and_set_reach_the_resolved_config(tmp_path):
    resolved = _config(
        "--smoke", "--ema", "0.9", "--fake-pool", "3", "--no-instance-boundary",
        "--no-instance-features", "--set", "training.generator.num_blocks=2",
        "--set", "data.num_train=5", "--set", "recipe.grid_every=0",
    )  # fmt: skip
    training = resolved["training"]
    assert (training["ema_decay"], training["pool_size"]) == (0.9, 3)
    assert training["use_instances"] is False
    assert training["encoder"] is None
    assert training["generator"]["num_blocks"] == 2
    assert (resolved["data"]["num_train"], resolved["recipe"]["grid_every"]) == (5, 0)
    assert _config("--preset", "folder", "--instance-features")["training"]["encoder"] == {
        "feature_channels": 3
    }
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("override", "error", "match"),
    [
        ("training.generator.num_blocks=-1", ValueError, r"generator\.num_blocks must be >= 0"),
        ("training.generator.blocks=2", ValueError, r"unknown config key 'generator\.blocks'"),
        ("training.epoch=2", ValueError, r"valid keys: \[.*'epochs'"),
        ("trainig.epochs=2", ValueError, r"unknown section 'trainig'"),
        ("training.epochs", ValueError, "needs KEY=VALUE"),
        ("training.output_dir=/x", SystemExit, "training.output_dir is always RUN/checkpoints"),
    ],
)
def test_bad_overrides_are_refused_clearly(override, error, match):
    with pytest.raises(error, match=match):
        _config("--set", override)


# What a test may take from tests/_recipe_helpers.py: the command line and two paths.
_HELPER_NAMES = {"recipe_main", "SCRIPT", "PRESETS_DIR"}
# Calls that turn a file into a module object.
_LOADERS = {"spec_from_file_location", "run_path", "import_module", "load_script", "run"}


def _mentions_the_script(node: ast.AST) -> bool:
    return any(
        (isinstance(n, ast.Name) and n.id == "SCRIPT")
        or (isinstance(n, ast.Constant) and isinstance(n.value, str) and "pix2pixhd" in n.value)
        for n in ast.walk(node)
    )


def test_no_test_imports_from_the_recipe_script_but_main():
    """The recipe is tested through its command line only (``recipe_main``, which runs its
    ``main``, or a subprocess); what it is built from is public library code, tested there."""
    tests = Path(__file__).resolve().parents[1]
    helpers = tests / "_recipe_helpers.py"
    # The one place that loads the script uses nothing of it but main.
    tree = ast.parse(helpers.read_text())
    taken = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "_script"
    }
    assert taken == {"main"}
    problems = []
    for path in sorted(tests.rglob("*.py")):
        if path == helpers:
            continue
        where = path.relative_to(tests)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("recipe_helpers"):
                names = {alias.name for alias in node.names} - _HELPER_NAMES
                problems += [f"{where}: imports {name} from the recipe helpers" for name in names]
            elif isinstance(node, ast.ImportFrom) and "pix2pixhd_recipe" in (node.module or ""):
                problems.append(f"{where}: imports from {node.module}")
            elif isinstance(node, ast.Call) and _mentions_the_script(node):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in _LOADERS:
                    problems.append(f"{where}, line {node.lineno}: {name}() loads the script")
    assert not problems, "\n".join(problems)
