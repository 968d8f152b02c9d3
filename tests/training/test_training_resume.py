"""Faults: a SIGKILLed run resumes exactly, SIGINT/SIGTERM save and exit, NaN stops cleanly."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from condgan_blocks.data import SyntheticScenes
from condgan_blocks.training import (
    NonFiniteLossError,
    OptimizerConfig,
    build_training,
    load_checkpoint,
    lr_factor,
)
from condgan_blocks.training.signals import StopRequest
from tests._training_helpers import SIZE, batch_of, differing_leaves, one_thread, tiny_config


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


SCRIPT = Path(__file__).parent.parent / "_training_run.py"
TOTAL_STEPS = 12  # 3 epochs of 4 batches (see _training_run.py)


def _start(out_dir: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(out_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for_step(process: subprocess.Popen, step: int) -> None:
    for line in process.stdout:
        if line.strip() == f"step {step}":
            return
    raise AssertionError(f"the run ended before step {step}: {process.communicate()[1]}")


def _finish(process: subprocess.Popen) -> tuple[str, str]:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    return stdout, stderr


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted")
    stdout, _ = _finish(_start(folder))
    assert stdout.splitlines()[-1] == "done None"
    return load_checkpoint(folder)


def _comparable(checkpoint):
    return {
        "models": checkpoint["models"],
        "optimizers": checkpoint["optimizers"],
        "schedule": checkpoint["schedule"],
        "state": checkpoint["state"],
        "ranks": checkpoint["ranks"],
    }


@pytest.mark.parametrize("delay", [0.0, 0.07])
def test_sigkill_then_resume_equals_the_uninterrupted_run(uninterrupted, tmp_path, delay):
    # Killed at a moment in epoch 2 (steps 5-8): right after step 6 is reported, or a little
    # later, wherever that lands (mid-step, mid-save). Checkpoints are written every step.
    process = _start(tmp_path, "--sleep", "0.05")
    _wait_for_step(process, 6)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    killed_at = load_checkpoint(tmp_path)["state"]
    assert 5 <= killed_at["global_step"] < TOTAL_STEPS
    assert killed_at["batch_in_epoch"] > 0 or killed_at["epoch"] == 2  # mid-epoch (or its end)

    stdout, _ = _finish(_start(tmp_path, "--resume"))
    first = int(stdout.splitlines()[0].split()[1])
    assert first == killed_at["global_step"] + 1  # no step repeated, none skipped
    resumed = load_checkpoint(tmp_path)
    assert resumed["state"]["global_step"] == TOTAL_STEPS
    assert differing_leaves(_comparable(resumed), _comparable(uninterrupted)) == []
    for name in ("generator", "discriminator"):
        lr = resumed["optimizers"][name]["param_groups"][0]["lr"]
        assert lr == uninterrupted["optimizers"][name]["param_groups"][0]["lr"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_finishes_the_step_saves_and_exits(tmp_path, signum):
    process = _start(tmp_path, "--sleep", "0.5")
    _wait_for_step(process, 3)
    process.send_signal(signum)
    stdout, stderr = _finish(process)
    name = signal.Signals(signum).name
    assert stdout.splitlines()[-1] == f"done {name}"
    saved = load_checkpoint(tmp_path)["state"]
    assert saved["global_step"] in (3, 4)  # the step running when the signal came finished
    assert f"stopping on {name}: finished step {saved['global_step']} " in stderr
    assert f"saved {tmp_path / 'latest.pt'}" in stderr


class _PoisonedScenes(SyntheticScenes):
    """The ``poison_at``-th sample read has a NaN image."""

    def __init__(self, *args, poison_at: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reads, self.poison_at = 0, poison_at

    def __getitem__(self, index):
        sample = super().__getitem__(index)
        self.reads += 1
        if self.reads == self.poison_at:
            sample["image"] = torch.full_like(sample["image"], math.nan)
        return sample


def test_non_finite_loss_stops_and_leaves_the_last_good_checkpoint(tmp_path):
    training = build_training(tiny_config(output_dir=str(tmp_path), save_every_steps=1))
    dataset = _PoisonedScenes(4, size=SIZE, poison_at=6)  # step 6: epoch 2, batch 2
    with pytest.raises(
        NonFiniteLossError, match=r"non-finite loss at step 6 \(epoch 2, batch 2\)"
    ) as info:
        training.fit(dataset)
    assert f"the last good checkpoint {tmp_path / 'latest.pt'} is left in place" in str(info.value)
    saved = load_checkpoint(tmp_path)
    assert saved["state"]["global_step"] == 5
    # the weights in memory were not touched by the bad step: they equal the checkpoint's
    current = training.models.generator.state_dict()
    assert differing_leaves(saved["models"]["generator"], current) == []
    assert all(torch.isfinite(v).all() for v in current.values())


def test_non_finite_error_names_the_losses():
    training = build_training(tiny_config())
    dataset = _PoisonedScenes(1, size=SIZE, poison_at=1)
    batch = {k: v.unsqueeze(0) for k, v in dataset[0].items() if k != "path"}
    with pytest.raises(NonFiniteLossError) as info:
        training.step(batch)
    assert "d_real=nan" in str(info.value)
    assert "g_gan" not in str(info.value)  # finite: only the fake branch
    assert info.value.step == 1
    assert math.isnan(info.value.losses["d_total"])
    assert training.state.global_step == 0


def test_stop_request_sets_a_flag_and_a_second_sigint_interrupts():
    previous = signal.getsignal(signal.SIGINT)
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested == "SIGINT"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is previous


def _all_finite(checkpoint) -> bool:
    models = checkpoint["models"]
    return all(
        bool(torch.isfinite(value).all())
        for state in models.values()
        if state is not None
        for value in state.values()
        if value.is_floating_point()
    )


@pytest.mark.parametrize("save_every_steps", [0, 1])
def test_an_update_that_writes_non_finite_weights_is_never_saved(tmp_path, save_every_steps):
    # lr=1e10: step 1 has finite losses, and its update leaves weights that overflow at step 2,
    # whose losses are finite too but whose update writes NaN weights (issue 13).
    config = tiny_config(
        output_dir=str(tmp_path),
        optimizer=OptimizerConfig(lr=1e10),
        batch_size=2,
        save_every_steps=save_every_steps,
    )
    training = build_training(config)
    dataset = SyntheticScenes(4, size=SIZE)
    with pytest.raises(NonFiniteLossError, match=r"non-finite weights after step 2 \(epoch 1, "
                       r"batch 2\): its losses were finite") as info:  # fmt: skip
        training.fit(dataset)
    error = info.value
    assert error.step == 2
    assert all(math.isfinite(value) for value in error.losses.values())
    module, _, name = error.parameter.partition(".")
    net = getattr(training.models, module)
    weight = {**dict(net.named_parameters()), **dict(net.named_buffers())}[name]
    assert not torch.isfinite(weight).all()
    assert error.parameter in str(error)
    saved = sorted(p.name for p in tmp_path.iterdir())
    if save_every_steps:
        # step 1 was saved, with finite weights, and the message names it
        assert saved == ["latest.pt"]
        assert f"the last good checkpoint {tmp_path / 'latest.pt'} is left in place" in str(error)
        checkpoint = load_checkpoint(tmp_path)
        assert checkpoint["state"]["global_step"] == 1
        assert _all_finite(checkpoint)
        resumed = build_training(config, resume=tmp_path)  # and it resumes
        assert resumed.state.global_step == 1
    else:
        assert saved == []  # the epoch-end save refused the NaN weights
        assert "this run saved no checkpoint before it, so none holds its weights" in str(error)


def test_saving_checks_the_weights_whatever_made_them_non_finite(tmp_path):
    training = build_training(tiny_config(output_dir=str(tmp_path)))
    training.step(batch_of(SyntheticScenes(1, size=SIZE), [0]))
    path = training.save()
    name, weight = list(training.models.discriminator.named_parameters())[3]
    with torch.no_grad():
        weight.view(-1)[0] = math.inf
    with pytest.raises(NonFiniteLossError, match=r"non-finite weights after step 1 ") as info:
        training.save()
    assert info.value.parameter == f"discriminator.{name}"
    assert f"the last good checkpoint {path} is left in place" in str(info.value)
    assert _all_finite(load_checkpoint(path))


def test_extending_a_finished_run_trains_the_new_epochs(tmp_path, caplog):
    dataset = SyntheticScenes(2, size=SIZE)
    config = tiny_config(output_dir=str(tmp_path), batch_size=2, epochs=1, decay_epochs=1)
    first = build_training(config)
    first.fit(dataset)
    assert first.lr == 0.0  # the decay ended
    finished = build_training(config, resume=tmp_path)
    with caplog.at_level(logging.WARNING, logger="condgan_blocks.training"):
        result = finished.fit(dataset)
    assert result.global_step == 2
    assert "nothing to train: the run has finished 2 of 2 epochs" in caplog.text
    # epochs 1 -> 3: the two new epochs run at the initial rate, then the decay epoch follows
    longer = dataclasses.replace(config, epochs=3)
    with caplog.at_level(logging.WARNING, logger="condgan_blocks.training"):
        extended = build_training(longer, resume=tmp_path)
    assert "with learning rate 0.0002 (the checkpoint's schedule had 0)" in caplog.text
    rates = []
    extended.fit(dataset, on_step=lambda training, losses: rates.append(losses["lr"]))
    lr = config.optimizer.lr
    assert rates == [lr * lr_factor(e, 3, 1) for e in (2, 3)] == [lr, lr]
    assert extended.state.epoch == 4
    assert load_checkpoint(tmp_path)["state"]["global_step"] == 4
