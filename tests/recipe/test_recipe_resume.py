"""train --resume of examples/pix2pixhd.py through its command line: relocatable run folders,
the flags that may change, finished runs, and progress output off a terminal."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from condgan_blocks.training import load_checkpoint, lr_factor
from tests._training_helpers import one_thread

from .._recipe_helpers import recipe_main


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``train --smoke`` into a/ (8 steps, 2 epochs), with stderr that is not a terminal."""
    run = tmp_path_factory.mktemp("runs") / "a"
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        recipe_main(["train", "--smoke", "--output", str(run), "--device", "cpu"])
    return run, stderr.getvalue()


def _contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_copied_run_resumes_into_itself_and_leaves_the_original_alone(trained, tmp_path):
    original, _ = trained
    before = _contents(original)
    copy = tmp_path / "b"
    # Hard links (as cp -al or rsync --link-dest make): any write into an existing file of the
    # copy would change the original too.
    shutil.copytree(original, copy, copy_function=os.link)
    # Older versions stored the absolute checkpoint folder: the copy's recipe names a/.
    saved = json.loads((copy / "recipe.json").read_text())
    saved["training"]["output_dir"] = str(original / "checkpoints")
    (copy / "recipe.json").unlink()
    (copy / "recipe.json").write_text(json.dumps(saved))

    # --set, not --epochs: older versions ignored --epochs on resume but followed --set
    argv = ["train", "--output", str(copy), "--resume", "--set", "training.epochs=2"]
    recipe_main([*argv, "--device", "cpu"])

    assert _contents(original) == before  # byte for byte, no file added or removed
    checkpoints = copy / "checkpoints"
    # keep_last=1 (the demo preset) pruned the copy's own epoch_0002.pt, nothing else
    assert sorted(p.name for p in checkpoints.iterdir()) == ["epoch_0003.pt", "latest.pt"]
    state = load_checkpoint(checkpoints)["state"]
    assert (state["epoch"], state["global_step"]) == (3, 12)
    resumed = json.loads((copy / "recipe.json").read_text())
    assert resumed["training"]["output_dir"] == "checkpoints"  # relative to the run folder
    assert resumed["training"]["epochs"] == 2
    # The added epoch (index 2 of epochs=2, decay_epochs=1) runs at the initial rate again.
    lines = [json.loads(line) for line in (copy / "metrics.jsonl").read_text().splitlines()]
    lr = saved["training"].get("optimizer", {}).get("lr", 2e-4)
    assert [line["lr"] for line in lines if line["step"] > 8] == [lr * lr_factor(2, 2, 1)] * 2

    # The other commands read and write the copy only.
    out = recipe_main(
        ["generate", "--run", str(copy), "--num", "1", "--features", "encode", "--device", "cpu"]
    )
    assert out == copy / "generated"
    assert _contents(original) == before


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch-size", "3"], "--batch-size cannot change on resume"),
        (["--seed", "5"], "--seed cannot change on resume"),
        (["--ema", "0.9"], "--ema cannot change on resume"),
        (["--no-instance-boundary"], "--instance-boundary cannot change on resume"),
        # the value the run has: accepted (it changes nothing), and the run has finished
        (["--fake-pool", "0"], "has already finished"),
        (["--preset", "folder"], "--preset cannot change on resume"),
        (["--config", "other.json"], "--config cannot change on resume"),
        (["--set", "training.generator.num_blocks=3"], "--set training.generator.num_blocks"),
        (["--set", "training.output_dir=/elsewhere"], "training.output_dir is always"),
    ],
)
def test_resume_refuses_flags_that_would_change_the_run(trained, flags, message):
    run, _ = trained
    before = _contents(run)
    with pytest.raises(SystemExit, match=message.replace(".", r"\.")) as info:
        recipe_main(["train", "--output", str(run), "--resume", "--device", "cpu", *flags])
    text = str(info.value)
    assert "start a new run" in text or "--output" in text or "Extend it" in text
    assert _contents(run) == before


def test_resume_applies_the_flags_that_may_change(trained):
    run, _ = trained
    before = _contents(run)
    resolved = recipe_main(
        ["train", "--output", str(run), "--resume", "--epochs", "5", "--decay-epochs", "2",
         "--keep-last", "3", "--log-every", "1", "--grid-every", "0", "--precision", "bf16",
         "--device", "cpu", "--set", "recipe.num_generate=1", "--set", "training.num_workers=1",
         "--print-config"]
    )  # fmt: skip
    assert _contents(run) == before  # --print-config writes nothing
    training = resolved["training"]
    assert (training["epochs"], training["decay_epochs"], training["keep_last"]) == (5, 2, 3)
    assert (training["log_every_steps"], training["precision"]) == (1, "bf16")
    assert training["num_workers"] == 1
    assert resolved["recipe"]["grid_every"] == 0
    assert resolved["recipe"]["num_generate"] == 1
    assert training["batch_size"] == 2  # kept


def test_resuming_a_finished_run_says_so(trained):
    run, _ = trained
    before = _contents(run)
    with pytest.raises(SystemExit, match=r"has already finished: 2 of 2 epochs .* --epochs 2"):
        recipe_main(["train", "--output", str(run), "--resume", "--device", "cpu"])
    assert _contents(run) == before


def test_progress_off_a_terminal_is_a_line_every_log_steps(trained):
    _, stderr = trained
    assert "\r" not in stderr  # no progress bar redrawn into the log
    lines = [line for line in stderr.splitlines() if line.startswith("epoch ")]
    # log_every_steps=2 at smoke size: steps 2, 4, 6, 8
    assert [line.split()[3] for line in lines] == ["2/8:", "4/8:", "6/8:", "8/8:"]
    assert "g_gan=" in lines[0]


def test_run_folder_stores_no_absolute_path(trained):
    run, _ = trained
    text = (run / "recipe.json").read_text()
    assert str(run) not in text
    assert json.loads(text)["smoke"] is True
    assert torch.load(run / "checkpoints" / "latest.pt", weights_only=True)["state"]["epoch"] == 2
