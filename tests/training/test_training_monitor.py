"""TrainingMonitor: progress lines off a terminal, the JSONL log, grids, and appending safely."""

from __future__ import annotations

import contextlib
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from condgan_blocks.data import SyntheticScenes, collate
from condgan_blocks.training import LossConfig, TrainingMonitor, build_training
from tests._training_helpers import SIZE, one_thread, tiny_config

NUM_SAMPLES = 4


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


def _training(**overrides):
    values = {"epochs": 1, "decay_epochs": 1, "batch_size": 2, "log_every_steps": 2}
    return build_training(tiny_config(**{**values, **overrides}))


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_lines_show_the_offline_terms_only_when_they_are_on(tmp_path):
    lines = {}
    for name, weights in (("off", {}), ("on", {"l1_weight": 30.0, "texture_weight": 10.0})):
        losses = LossConfig(vgg_weight=0.0, vgg_weights=None, **weights)
        training = _training(losses=losses)
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            monitor = TrainingMonitor(
                tmp_path / name, training, num_samples=NUM_SAMPLES, progress="lines",
                tensorboard=False,
            )  # fmt: skip
            with monitor:
                training.fit(SyntheticScenes(NUM_SAMPLES, size=SIZE), on_step=monitor)
        lines[name] = [x for x in stderr.getvalue().splitlines() if x.startswith("epoch ")][-1]
    assert "g_l1=" in lines["on"]
    assert "g_texture=" in lines["on"]
    assert "g_l1=" not in lines["off"]
    assert "g_texture=" not in lines["off"]
    assert "g_gan=" in lines["off"]


def test_lines_log_and_grids_follow_their_intervals(tmp_path):
    scenes = SyntheticScenes(NUM_SAMPLES, size=SIZE)
    preview = collate([scenes[0], scenes[1]])
    training = _training()
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        monitor = TrainingMonitor(
            tmp_path, training, num_samples=NUM_SAMPLES, preview=preview,
            palette=SyntheticScenes.palette(), grid_every=3, progress="auto", tensorboard=False,
        )  # fmt: skip
        with monitor:
            result = training.fit(scenes, on_step=monitor)
    assert monitor.total_steps == result.global_step == 4  # 2 epochs of 2 steps
    lines = [line for line in stderr.getvalue().splitlines() if line.startswith("epoch ")]
    assert [line.split()[:4] for line in lines] == [
        ["epoch", "1/2", "step", "2/4:"],
        ["epoch", "2/2", "step", "4/4:"],
    ]
    assert "g_gan=" in lines[0]
    assert "d_real=" in lines[0]
    records = _records(tmp_path)
    assert [(r["step"], r["epoch"]) for r in records] == [(2, 1), (4, 2)]
    assert {"g_gan", "g_feat", "d_fake", "d_real", "time"} <= set(records[0])
    assert sorted(p.name for p in (tmp_path / "grids").iterdir()) == ["step_000003.png"]
    with Image.open(tmp_path / "grids" / "step_000003.png") as grid:
        # two rows of (labels | generated | real), 2 pixels of padding around every cell
        assert grid.size == (3 * SIZE[1] + 4 * 2, 2 * SIZE[0] + 3 * 2)
    assert monitor.log.closed


def test_no_lines_and_every_step_logged_when_log_every_is_zero(tmp_path):
    training = _training(log_every_steps=0)
    stderr = io.StringIO()
    monitor = TrainingMonitor(
        tmp_path, training, num_samples=NUM_SAMPLES, progress="lines", tensorboard=False
    )
    with contextlib.redirect_stderr(stderr), monitor:
        training.fit(SyntheticScenes(NUM_SAMPLES, size=SIZE), on_step=monitor)
    assert stderr.getvalue() == ""
    assert [r["step"] for r in _records(tmp_path)] == [1, 2, 3, 4]
    assert not (tmp_path / "grids").exists()


def test_the_log_is_appended_and_a_hard_linked_copy_leaves_its_original(tmp_path):
    original, copy = tmp_path / "a", tmp_path / "b"
    original.mkdir()
    (original / "metrics.jsonl").write_text('{"step": 1}\n')
    copy.mkdir()
    os.link(original / "metrics.jsonl", copy / "metrics.jsonl")
    training = _training(epochs=1, decay_epochs=0, log_every_steps=1)
    with TrainingMonitor(
        copy, training, num_samples=NUM_SAMPLES, progress="none", tensorboard=False
    ) as monitor:
        monitor(training, {"g_gan": 1.0})
    assert (original / "metrics.jsonl").read_text() == '{"step": 1}\n'
    assert [r["step"] for r in _records(copy)] == [1, 0]
    assert (copy / "metrics.jsonl").stat().st_nlink == 1


@pytest.mark.parametrize(("drop_last", "steps"), [(False, 2), (True, 1)])
def test_total_steps_counts_the_last_incomplete_batch_unless_dropped(tmp_path, drop_last, steps):
    training = _training(epochs=1, decay_epochs=0, drop_last=drop_last)
    with TrainingMonitor(
        tmp_path, training, num_samples=3, progress="none", tensorboard=False
    ) as monitor:
        assert monitor.total_steps == steps


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"progress": "bars"}, "progress must be one of"),
        ({"num_samples": -1}, "num_samples must be an int >= 0"),
        ({"grid_every": -2}, "grid_every must be an int >= 0"),
        ({"grid_every": 5}, "needs a preview batch and a palette"),
    ],
)
def test_bad_arguments_are_refused_before_any_file(tmp_path, kwargs, match):
    training = _training()
    with pytest.raises(ValueError, match=match):
        TrainingMonitor(tmp_path / "run", training, **{"num_samples": 4, **kwargs})
    assert not (tmp_path / "run").exists()


def test_write_grid_without_preview_is_refused(tmp_path):
    training = _training()
    monitor = TrainingMonitor(tmp_path, training, num_samples=4, progress="none")
    with monitor, pytest.raises(ValueError, match="needs the monitor's preview batch and palette"):
        monitor.write_grid(training, 1)


def test_labels_outside_the_palette_are_drawn_black(tmp_path):
    scenes = SyntheticScenes(2, size=SIZE)
    preview = collate([scenes[0]])
    preview["label"][..., :4, :4] = 255  # an ignore id
    training = _training(ignore_index=255)
    with TrainingMonitor(
        tmp_path, training, num_samples=2, preview=preview, palette=SyntheticScenes.palette(),
        progress="none", tensorboard=False,
    ) as monitor:  # fmt: skip
        path = monitor.write_grid(training, 7)
    with Image.open(path) as grid:
        corner = np.asarray(grid)[2:6, 2:6]  # the first label picture's top-left corner
    assert not corner.any()
