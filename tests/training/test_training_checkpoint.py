"""Checkpoints: contents load with weights_only, atomic files, pruning, clear errors."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from condgan_blocks.data import SyntheticScenes
from condgan_blocks.training import (
    CheckpointError,
    GeneratorConfig,
    build_training,
    capture_rng_state,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    restore_rng_state,
    save_checkpoint,
)
from tests._training_helpers import (
    SIZE,
    batch_of,
    differing_leaves,
    one_thread,
    tiny_config,
    tiny_encoder,
)


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


DATA = SyntheticScenes(4, size=SIZE, seed=4)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished 3-epoch run with every optional part: EMA, encoder, fake pool."""
    folder = tmp_path_factory.mktemp("run")
    config = tiny_config(
        output_dir=str(folder),
        batch_size=2,
        ema_decay=0.9,
        pool_size=2,
        encoder=tiny_encoder(),
        keep_last=2,
    )
    training = build_training(config)
    training.fit(DATA)
    return folder, config, training


def test_checkpoint_holds_everything_and_loads_with_weights_only(run):
    folder, config, training = run
    checkpoint = torch.load(folder / "latest.pt", weights_only=True)
    assert checkpoint["config"] == config.to_dict()
    assert checkpoint["state"] == {
        "epoch": 3,
        "batch_in_epoch": 0,
        "global_step": 6,
        "stage": "global",
        "phase": "all",
    }
    assert set(checkpoint["models"]) == {"generator", "discriminator", "encoder", "ema"}
    assert set(checkpoint["optimizers"]) == {"generator", "discriminator"}
    assert checkpoint["schedule"]["lr"] == 0.0  # after the last decay epoch
    assert checkpoint["scaler"] is None
    (rank,) = checkpoint["ranks"]
    assert set(rank["rng"]) == {"torch", "cuda", "python", "numpy"}
    assert len(rank["fake_pool"]["images"]) == 2
    assert not differing_leaves(checkpoint["models"]["ema"], training.ema.module.state_dict())


def test_resume_restores_every_tensor(run):
    folder, config, training = run
    resumed = build_training(config, resume=folder)
    assert resumed.state == training.state
    assert not differing_leaves(resumed.checkpoint()["models"], training.checkpoint()["models"])
    assert not differing_leaves(
        resumed.checkpoint()["optimizers"], training.checkpoint()["optimizers"]
    )
    assert resumed.fake_pool.state_dict()["images"][0].shape == (1, 11, *SIZE)


def test_latest_equals_newest_epoch_file_and_keep_last_prunes(run):
    folder, _, _ = run
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["epoch_0002.pt", "epoch_0003.pt", "latest.pt"]  # no temporary files
    assert (folder / "latest.pt").read_bytes() == (folder / "epoch_0003.pt").read_bytes()
    assert latest_checkpoint(folder) == folder / "latest.pt"


def test_prune_keeps_the_newest(tmp_path):
    for epoch in (1, 2, 10):
        save_checkpoint({"epoch": epoch}, tmp_path / f"epoch_{epoch:04d}.pt")
    deleted = prune_checkpoints(tmp_path, keep_last=1)
    assert sorted(p.name for p in deleted) == ["epoch_0001.pt", "epoch_0002.pt"]
    assert [p.name for p in tmp_path.iterdir()] == ["epoch_0010.pt"]


def test_atomic_write_keeps_the_old_file_when_saving_fails(tmp_path):
    path = save_checkpoint({"x": torch.ones(1)}, tmp_path / "latest.pt")

    class Unsaveable:
        pass

    with pytest.raises(Exception):  # noqa: B017, PT011 (whatever torch raises)
        save_checkpoint({"x": Unsaveable()}, path)
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.ones(1))
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]


def test_truncated_checkpoint(run, tmp_path):
    folder, config, _ = run
    data = (folder / "latest.pt").read_bytes()
    broken = tmp_path / "latest.pt"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"is truncated or not a checkpoint \(\d+ bytes"):
        build_training(config, resume=broken)
    broken.write_bytes(b"")
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(broken)


def test_corrupt_checkpoint_names_the_damaged_record(run, tmp_path):
    folder, config, _ = run
    data = bytearray((folder / "latest.pt").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    broken = tmp_path / "latest.pt"
    broken.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"is corrupt: the checksum of its record '.+'"):
        build_training(config, resume=broken)


def test_not_a_training_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"stem.conv.weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match=r"not a condgan_blocks\.training checkpoint"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")


def test_another_architecture_names_the_differing_fields(run):
    folder, config, _ = run
    other = tiny_config(
        output_dir=config.output_dir,
        ema_decay=0.9,
        pool_size=2,
        encoder=None,
        generator=GeneratorConfig(base_channels=8, num_downsamples=2, num_blocks=1),
    )
    with pytest.raises(CheckpointError, match="another architecture") as info:
        build_training(other, resume=folder)
    message = str(info.value)
    assert "generator.base_channels: 4 vs 8" in message
    assert "encoder: {'feature_channels': 3, 'base_channels': 2" in message
    assert "vs None" in message


def test_mismatched_state_dict_names_keys_and_shapes(run, tmp_path):
    folder, config, _ = run
    checkpoint = load_checkpoint(folder)
    state = checkpoint["models"]["generator"]
    state["stem.conv.weight"] = torch.zeros(1, 2, 3, 3)
    del state["head.conv.bias"]
    state["extra.weight"] = torch.zeros(1)
    save_checkpoint(checkpoint, tmp_path / "edited.pt")
    training = build_training(config)
    before = [p.clone() for p in training.models.generator.parameters()]
    with pytest.raises(CheckpointError) as info:
        training.resume(tmp_path / "edited.pt")
    message = str(info.value)
    assert "generator: missing keys: 'head.conv.bias'" in message
    assert "generator: unexpected keys: 'extra.weight'" in message
    assert "'stem.conv.weight' (1, 2, 3, 3) in the checkpoint, (4, 11, 7, 7) in the model" in (
        message
    )
    # checked before loading: nothing changed
    after = list(training.models.generator.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_rng_state_round_trip_through_a_weights_only_file(tmp_path):
    torch.manual_seed(1)
    random.seed(2)
    np.random.seed(3)  # noqa: NPY002
    save_checkpoint({"rng": capture_rng_state()}, tmp_path / "rng.pt")
    expected = torch.rand(3), random.random(), np.random.rand()  # noqa: NPY002
    torch.manual_seed(7)
    random.seed(7)
    restore_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True)["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert random.random() == expected[1]
    assert np.random.rand() == expected[2]  # noqa: NPY002


def _first_key(state: dict) -> int:
    return next(iter(state))


def _set(path: tuple, value):
    def edit(checkpoint):
        node = checkpoint
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value(node[path[-1]]) if callable(value) else value

    return edit


def _drop_params(checkpoint):
    del checkpoint["optimizers"]["generator"]["param_groups"][0]["params"]


def _reshape_adam_moment(checkpoint):
    state = checkpoint["optimizers"]["discriminator"]["state"]
    entry = state[_first_key(state)]
    entry["exp_avg"] = torch.zeros(3)


def _state_of_unknown_parameter(checkpoint):
    state = checkpoint["optimizers"]["generator"]["state"]
    state[10_000] = state[_first_key(state)]


def _nan_weight(checkpoint):
    weights = checkpoint["models"]["encoder"]
    key = next(k for k, v in weights.items() if v.is_floating_point())
    weights[key] = torch.full_like(weights[key], float("nan"))


CRAFTED = {
    "version is a string": (_set(("version",), "1"), r"format version of '1' \(str\)"),
    "models is a list": (_set(("models",), []), "the models entry is a list, not a dict"),
    "optimizers is a list": (_set(("optimizers",), []), "the optimizers entry is a list"),
    "config is a list": (_set(("config",), []), "the config is a list, not a dict"),
    "state epoch is a string": (_set(("state", "epoch"), "3"), r"state\.epoch must be an int"),
    "ema is a list": (_set(("models", "ema"), []), "ema: a list instead of a state dict"),
    "group without params": (_drop_params, r"generator optimizer group 0: 'params' must be"),
    "Adam moment of another shape": (
        _reshape_adam_moment,
        r"discriminator optimizer: state\[\d+\]\['exp_avg'\] has shape \(3,\), its parameter",
    ),
    "state of no parameter": (_state_of_unknown_parameter, "state for parameter id 10000"),
    "betas of another kind": (
        _set(("optimizers", "generator", "param_groups", 0, "betas"), "fast"),
        r"generator optimizer group 0: 'betas' is 'fast'",
    ),
    "NaN weight": (_nan_weight, r"encoder: '.+' holds NaN or infinite values"),
    "torch random state too short": (
        _set(("ranks", 0, "rng", "torch"), torch.zeros(10, dtype=torch.uint8)),
        r"ranks\[0\]\['rng'\]\['torch'\] is not a torch random state",
    ),
    "torch random state of floats": (
        _set(("ranks", 0, "rng", "torch"), lambda state: state.float()),
        r"\['torch'\] is not a torch random state \(expected a uint8 tensor",
    ),
    "python random state is a string": (
        _set(("ranks", 0, "rng", "python", "state"), "abc"),
        r"\['python'\] is not a Python random state",
    ),
    "numpy keys too short": (
        _set(("ranks", 0, "rng", "numpy", "keys"), lambda keys: keys[:5]),
        r"\['numpy'\] is not a numpy random state",
    ),
    "ranks is a dict": (_set(("ranks",), {}), "the ranks entry is a dict, not a list"),
    "fake pool image of another shape": (
        _set(("ranks", 0, "fake_pool", "images"), [torch.zeros(3, 3)]),
        r"fake_pool'\]\['images'\]\[0\] is a torch.float32 tensor of shape \(3, 3\)",
    ),
    "world size is a string": (_set(("world_size",), "1"), "world_size is '1', not an int"),
}


@pytest.mark.parametrize("variant", sorted(CRAFTED))
def test_crafted_checkpoints_raise_checkpoint_error_and_change_nothing(run, tmp_path, variant):
    folder, config, _ = run
    edit, message = CRAFTED[variant]
    checkpoint = load_checkpoint(folder)
    edit(checkpoint)
    path = save_checkpoint(checkpoint, tmp_path / "crafted.pt")  # valid checksums
    training = build_training(config)
    training.step(batch_of(DATA, [0, 1]))  # Adam state, a filled fake pool, a moved EMA
    before = training.checkpoint()
    rng = torch.get_rng_state()
    with pytest.raises(CheckpointError, match=message):
        training.resume(path)
    after = training.checkpoint()
    assert differing_leaves(before, after) == []  # weights, optimizers, state, pool, EMA
    assert torch.equal(torch.get_rng_state(), rng)
    assert training.last_checkpoint is None


@pytest.mark.parametrize(
    ("field", "other"),
    [("upsample", "resize"), ("condition_skips", True), ("label_modulation", 8)],
)
def test_a_checkpoint_written_before_a_generator_field_resumes(run, tmp_path, field, other):
    """Configs stored before `generator.upsample` / `generator.condition_skips` /
    `generator.label_modulation` existed meant transposed convolutions / no skips / plain norms:
    they resume; the other value is another architecture."""
    folder, config, training = run
    checkpoint = load_checkpoint(folder)
    del checkpoint["config"]["generator"][field]
    path = save_checkpoint(checkpoint, tmp_path / "old.pt")
    resumed = build_training(config)
    resumed.resume(path)
    for name, value in training.models.generator.state_dict().items():
        assert torch.equal(resumed.models.generator.state_dict()[name], value), name
    checkpoint["config"]["generator"][field] = other
    with pytest.raises(CheckpointError, match=rf"generator\.{field}"):
        build_training(config).resume(save_checkpoint(checkpoint, tmp_path / "other.pt"))
