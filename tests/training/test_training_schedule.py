"""Learning-rate schedule and the two stages (global, then local with a frozen global)."""

from __future__ import annotations

import pytest
import torch

from condgan_blocks import GlobalGenerator, LocalEnhancer
from condgan_blocks.data import SyntheticScenes
from condgan_blocks.training import (
    CheckpointError,
    GeneratorConfig,
    apply_generator_phase,
    build_training,
    generator_phase,
    load_checkpoint,
    lr_factor,
)
from tests._training_helpers import SIZE, one_thread, tiny_config


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


DATA = SyntheticScenes(4, size=SIZE, seed=2)


def _original_lrs(lr, niter, niter_decay):
    """The lr of each epoch as pix2pixHD's train.py / update_learning_rate compute it."""
    lrs, old_lr = [], lr
    for epoch in range(1, niter + niter_decay + 1):
        lrs.append(old_lr)
        if epoch > niter:
            old_lr = old_lr - lr / niter_decay
    return lrs


@pytest.mark.parametrize(("epochs", "decay_epochs"), [(3, 4), (0, 2), (2, 0), (100, 100)])
def test_lr_factor_matches_the_original(epochs, decay_epochs):
    ours = [2e-4 * lr_factor(e, epochs, decay_epochs) for e in range(epochs + decay_epochs)]
    assert ours == pytest.approx(_original_lrs(2e-4, epochs, decay_epochs), abs=1e-12)


def test_lr_factor_reaches_zero_after_the_last_epoch():
    assert lr_factor(7, 3, 4) == 0.0
    assert lr_factor(3, 3, 4) == 1.0
    assert lr_factor(4, 3, 4) == 0.75
    with pytest.raises(ValueError, match="epoch must be an int >= 0"):
        lr_factor(-1, 3, 4)


def test_training_sets_the_lr_of_each_epoch():
    training = build_training(tiny_config(epochs=1, decay_epochs=2))
    lrs = []
    for epoch in range(3):
        training.set_epoch(epoch)
        lrs.append(training.models.optimizer_d.param_groups[0]["lr"])
    assert lrs == pytest.approx([2e-4, 2e-4, 1e-4])


def test_two_timescale_rates_follow_the_same_schedule():
    from condgan_blocks.training import OptimizerConfig

    optimizer = OptimizerConfig(lr=1e-4, d_lr=4e-4)
    training = build_training(tiny_config(epochs=1, decay_epochs=2, optimizer=optimizer))
    rates = []
    for epoch in range(3):
        training.set_epoch(epoch)
        rates.append(
            (
                training.models.optimizer_g.param_groups[0]["lr"],
                training.models.optimizer_d.param_groups[0]["lr"],
            )
        )
    assert rates == [
        pytest.approx((1e-4, 4e-4)),
        pytest.approx((1e-4, 4e-4)),
        pytest.approx((0.5e-4, 2e-4)),
    ]


@pytest.mark.parametrize(
    ("d_lr", "error", "match"),
    [(0.0, ValueError, "optimizer.d_lr must be > 0 or None"), ("1e-3", TypeError, "d_lr")],
)
def test_discriminator_rate_is_checked(d_lr, error, match):
    from condgan_blocks.training import OptimizerConfig

    with pytest.raises(error, match=match):
        OptimizerConfig(d_lr=d_lr)


def test_generator_phase():
    assert [generator_phase("local", e, 2) for e in range(4)] == [
        "finest",
        "finest",
        "all",
        "all",
    ]
    assert generator_phase("global", 0, 5) == "all"
    assert generator_phase("local", 0, 0) == "all"


def test_phase_finest_needs_a_local_enhancer():
    with pytest.raises(ValueError, match="needs a LocalEnhancer"):
        apply_generator_phase(GlobalGenerator(3, num_downsamples=1, num_blocks=0), "finest")


def test_finest_phase_trains_only_the_finest_enhancer():
    net = LocalEnhancer(
        3, base_channels=2, num_enhancers=2, num_downsamples_global=1, num_blocks_global=1
    )
    apply_generator_phase(net, "finest")
    trainable = {name for name, p in net.named_parameters() if p.requires_grad}
    assert trainable == {name for name, _ in net.named_parameters() if name.startswith("stages.1.")}
    apply_generator_phase(net, "all")
    assert all(p.requires_grad for p in net.parameters())


@pytest.fixture(scope="module")
def stage_one(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stage1")
    training = build_training(tiny_config(epochs=1, decay_epochs=0, output_dir=str(folder)))
    training.fit(DATA)
    return folder, training.models.generator.state_dict()


def _local_config(stage_one_folder, output_dir, **overrides):
    values = {
        "stage": "local",
        "global_checkpoint": str(stage_one_folder),
        "freeze_global_epochs": 1,
        "epochs": 2,
        "decay_epochs": 0,
        "output_dir": str(output_dir),
    }
    values.update(overrides)
    return tiny_config(**values)


def test_local_stage_grows_the_stage_one_generator(stage_one, tmp_path):
    folder, weights = stage_one
    training = build_training(_local_config(folder, tmp_path))
    generator = training.models.generator
    assert isinstance(generator, LocalEnhancer)
    grown = generator.global_generator.state_dict()
    assert grown.keys() == {k for k in weights if not k.startswith("head.")}
    assert all(torch.equal(grown[k], weights[k]) for k in grown)
    assert training.state.stage == "local"
    assert training.state.phase == "finest"


def test_stage_switch_freezes_then_unfreezes_the_global_generator(stage_one, tmp_path):
    folder, _ = stage_one
    training = build_training(_local_config(folder, tmp_path))
    generator = training.models.generator

    def snapshot(module):
        return {k: v.clone() for k, v in module.state_dict().items()}

    global_before, finest_before = (
        snapshot(generator.global_generator),
        snapshot(generator.stages[-1]),
    )
    training.train_epoch(DATA)  # epoch 1: finest enhancer only
    global_mid, finest_mid = snapshot(generator.global_generator), snapshot(generator.stages[-1])
    assert all(torch.equal(global_before[k], global_mid[k]) for k in global_before)
    assert not all(torch.equal(finest_before[k], finest_mid[k]) for k in finest_before)
    # the epoch-1 checkpoint records the stage and where it stands: epoch 2 trains everything
    saved = load_checkpoint(tmp_path / "epoch_0001.pt")["state"]
    assert (saved["stage"], saved["phase"], saved["epoch"]) == ("local", "all", 1)

    training.train_epoch(DATA)  # epoch 2: everything
    global_after = snapshot(generator.global_generator)
    assert not all(torch.equal(global_mid[k], global_after[k]) for k in global_mid)


def test_local_stage_resumes_without_the_stage_one_file(stage_one, tmp_path):
    folder, _ = stage_one
    training = build_training(_local_config(folder, tmp_path))
    training.train_epoch(DATA)
    config = _local_config(folder, tmp_path, global_checkpoint=None)
    resumed = build_training(config, resume=tmp_path)
    assert resumed.state.phase == "all"
    assert all(p.requires_grad for p in resumed.models.generator.parameters())
    for a, b in zip(
        training.models.generator.parameters(), resumed.models.generator.parameters(), strict=True
    ):
        assert torch.equal(a, b)


def test_local_stage_needs_a_global_checkpoint():
    with pytest.raises(ValueError, match="needs global_checkpoint"):
        build_training(tiny_config(stage="local"))


def test_local_stage_rejects_a_stage_one_of_another_width(stage_one, tmp_path):
    folder, _ = stage_one
    config = _local_config(folder, tmp_path, generator=GeneratorConfig(base_channels=8))
    with pytest.raises(CheckpointError, match=r"generator\.base_channels: 4 vs 8"):
        build_training(config)


def test_local_stage_grows_a_stage_one_with_condition_skips(tmp_path):
    skips = GeneratorConfig(**{**tiny_config().generator.to_dict(), "condition_skips": True})
    first = tmp_path / "stage1"
    training = build_training(
        tiny_config(epochs=1, decay_epochs=0, output_dir=str(first), generator=skips)
    )
    training.fit(DATA)
    weights = training.models.generator.state_dict()
    grown = build_training(_local_config(first, tmp_path / "stage2", generator=skips))
    generator = grown.models.generator
    assert generator.condition_skips
    assert all(s.condition_skips for s in generator.stages)
    state = generator.global_generator.state_dict()
    assert all(torch.equal(state[k], weights[k]) for k in state)
    grown.train_epoch(DATA)
    without = _local_config(first, tmp_path / "other", generator=tiny_config().generator)
    with pytest.raises(CheckpointError, match=r"generator\.condition_skips: True vs False"):
        build_training(without)
