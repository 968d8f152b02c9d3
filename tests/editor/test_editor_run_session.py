"""The editor on a trained run folder: its classes, its scene and the run's inference path."""

from __future__ import annotations

import copy

import pytest
import torch

from condgan_blocks import Synthesizer
from condgan_blocks.data import (
    CITYSCAPES_LABELS,
    SYNTHETIC_CLASSES,
    dataset_from_settings,
    palette_from_settings,
)
from condgan_blocks.editor import EditorSession, editor_classes, session_for_run
from condgan_blocks.training import (
    RunConfigError,
    build_training,
    load_run,
    load_run_bank,
    resolve_run_config,
    run_training_config,
    save_run_config,
)
from condgan_blocks.visualization import to_uint8_image
from tests._data_trees import make_image_pairs
from tests._run_folders import RUN_CONFIG, train_run_folder
from tests._training_helpers import one_thread


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_run_folder(tmp_path_factory.mktemp("editor_run") / "run")


def test_the_classes_of_each_kind_of_data():
    synthetic = editor_classes({"kind": "synthetic"}, 7)
    assert [(c.id, c.name, c.is_thing) for c in synthetic] == [
        (c.id, c.name, c.is_thing) for c in SYNTHETIC_CLASSES
    ]
    city = editor_classes({"kind": "cityscapes"}, 35)
    assert {c.id for c in city} == set(range(34))  # the license plate (-1) has no label id
    car = next(c for c in city if c.name == "car")
    assert (car.is_thing, car.color) == (
        True,
        next(c.color for c in CITYSCAPES_LABELS if c.id == 26),
    )
    assert len(editor_classes({"kind": "cityscapes"}, 20)) == 20
    folder = editor_classes({"kind": "folder"}, 3)
    palette = palette_from_settings({"kind": "folder"}, 3).tolist()
    assert [(c.id, c.name, c.is_thing, list(c.color)) for c in folder] == [
        (k, f"class {k}", False, palette[k]) for k in range(3)
    ]


def test_a_session_on_a_run_shows_its_scene_and_generates_like_generate(trained):
    with one_thread():
        session = session_for_run(trained, split="val", index=1, device="cpu")
        assert isinstance(session, EditorSession)
        scene = dataset_from_settings(RUN_CONFIG["data"], "val")[1]
        assert torch.equal(session.labels[0], scene["label"])
        assert torch.equal(session.instances[0], scene["instance"])
        _, training = load_run(trained, device="cpu")
        bank = load_run_bank(trained, training)
        assert session.num_styles == {k: len(v) for k, v in bank.centers.items()}
        synthesizer = Synthesizer.from_training(training, bank=bank)
        expected = synthesizer(session.labels, session.instances, session.choices)
        assert torch.equal(session.generated(), to_uint8_image(expected[0]))


def test_a_session_needs_a_run_with_label_maps_and_a_scene(trained, tmp_path):
    with pytest.raises(RunConfigError, match="is not a run folder"):
        session_for_run(tmp_path)
    with pytest.raises(IndexError, match="index 2 is outside the 2 samples of split 'val'"):
        session_for_run(trained, index=2, device="cpu")
    make_image_pairs(tmp_path / "pairs", "train", ("a", "b"), size=(16, 16))
    make_image_pairs(tmp_path / "pairs", "test", ("c",), size=(16, 16))
    config = copy.deepcopy(RUN_CONFIG)
    config["data"] = {
        "kind": "folder",
        "root": str(tmp_path / "pairs"),
        "label_nc": 0,
        "input_nc": 1,
    }
    del config["training"]["encoder"]
    config = resolve_run_config(config)
    run = tmp_path / "image_to_image"
    with one_thread():
        build_training(run_training_config(config, run)).fit(
            dataset_from_settings(config["data"], "train")
        )
    save_run_config(run, config)
    with pytest.raises(RunConfigError, match=r"edit paints label maps; .* trains image to image"):
        session_for_run(run, device="cpu")
