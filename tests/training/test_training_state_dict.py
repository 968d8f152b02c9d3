"""Training.state_dict / load_state_dict: an exact round trip, checked before anything changes."""

from __future__ import annotations

import copy

import pytest
import torch

from condgan_blocks.data import SyntheticScenes
from condgan_blocks.training import CheckpointError, build_training, restore_rng_state
from tests._training_helpers import (
    SIZE,
    batch_of,
    differing_leaves,
    one_thread,
    tiny_config,
    tiny_encoder,
)

DATA = SyntheticScenes(4, size=SIZE, seed=5)


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def trained():
    """A run with every optional part (EMA, encoder, fake pool) two steps in, and its state."""
    config = tiny_config(batch_size=2, ema_decay=0.9, pool_size=2, encoder=tiny_encoder())
    training = build_training(config)
    training.step(batch_of(DATA, [0, 1]))
    training.step(batch_of(DATA, [2, 3]))
    training.state.batch_in_epoch = 2
    return config, training, copy.deepcopy(training.state_dict())


def test_state_dict_has_the_checkpoint_keys(trained):
    _, _, state = trained
    assert set(state) == {
        "format",
        "version",
        "config",
        "state",
        "models",
        "optimizers",
        "schedule",
        "scaler",
        "world_size",
        "ranks",
    }
    assert state["state"]["global_step"] == 2
    assert set(state["ranks"][0]) == {"rng", "fake_pool"}


def test_load_into_a_fresh_training_restores_everything(trained):
    config, _, state = trained
    fresh = build_training(config)
    assert differing_leaves(fresh.state_dict()["models"], state["models"])  # not trained yet
    fresh.load_state_dict(state)
    # Weights, EMA, optimizer moments and steps, counters, lr, fake pool and random states.
    assert differing_leaves(fresh.state_dict(), state) == []
    assert fresh.state.to_dict() == state["state"]
    assert fresh.lr == state["schedule"]["lr"]
    assert len(fresh.fake_pool.state_dict()["images"]) == 2
    assert torch.equal(torch.get_rng_state(), state["ranks"][0]["rng"]["torch"])


def test_a_loaded_run_continues_exactly(trained):
    config, training, state = trained
    fresh = build_training(config)
    fresh.load_state_dict(copy.deepcopy(state))
    batch = batch_of(DATA, [1, 2])
    losses_fresh = fresh.step(batch)
    after_fresh = copy.deepcopy(fresh.state_dict())
    restore_rng_state(state["ranks"][0]["rng"])  # where the original run's streams stood
    losses_original = training.step(batch)
    assert losses_fresh == losses_original
    assert differing_leaves(after_fresh, training.state_dict()) == []


def test_load_state_dict_checks_before_changing_anything(trained):
    config, _, state = trained
    fresh = build_training(config)
    before = copy.deepcopy(fresh.state_dict())
    broken = copy.deepcopy(state)
    del broken["models"]["generator"][next(iter(broken["models"]["generator"]))]
    broken["optimizers"]["discriminator"]["state"] = []
    with pytest.raises(CheckpointError, match=r"the state dict does not fit this run: generator"):
        fresh.load_state_dict(broken)
    without_optimizers = {k: v for k, v in state.items() if k != "optimizers"}
    with pytest.raises(CheckpointError, match=r"run\.pt misses the entries \['optimizers'\]"):
        fresh.load_state_dict(without_optimizers, source="run.pt")
    with pytest.raises(CheckpointError, match=r"is not a condgan_blocks\.training checkpoint"):
        fresh.load_state_dict(state["models"])
    with pytest.raises(TypeError, match=r"state must be a dict from Training\.state_dict"):
        fresh.load_state_dict([state])
    assert differing_leaves(fresh.state_dict(), before) == []
