"""The EMA of the generator: its math, and that generation uses it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from condgan_blocks.data import SyntheticScenes
from condgan_blocks.training import ExponentialMovingAverage, build_training, condition_map
from tests._training_helpers import SIZE, batch_of, one_thread, tiny_config


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


def test_update_is_an_exponential_moving_average():
    net = nn.Linear(3, 2)
    ema = ExponentialMovingAverage(net, decay=0.75)
    history = [[p.detach().clone() for p in net.parameters()]]
    for _ in range(3):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        history.append([p.detach().clone() for p in net.parameters()])
        ema.update(net)
    for index, average in enumerate(ema.module.parameters()):
        expected = history[0][index]
        for weights in history[1:]:
            expected = 0.75 * expected + 0.25 * weights[index]
        torch.testing.assert_close(average, expected)


def test_buffers_are_copied_and_the_average_is_frozen():
    net = nn.BatchNorm1d(2)
    ema = ExponentialMovingAverage(net, decay=0.9)
    net(torch.randn(8, 2) + 3)
    ema.update(net)
    assert torch.equal(ema.module.running_mean, net.running_mean)
    assert not any(p.requires_grad for p in ema.module.parameters())
    assert not ema.train().module.training


def test_bad_decay():
    with pytest.raises(ValueError, match=r"decay must be in \[0, 1\)"):
        ExponentialMovingAverage(nn.Linear(1, 1), decay=1.0)


def test_training_updates_the_ema_and_generates_with_it():
    data = SyntheticScenes(2, size=SIZE)
    training = build_training(tiny_config(ema_decay=0.5))
    before = [p.detach().clone() for p in training.models.generator.parameters()]
    training.step(batch_of(data, [0]))
    after = list(training.models.generator.parameters())
    for average, old, new in zip(training.ema.module.parameters(), before, after, strict=True):
        torch.testing.assert_close(average, 0.5 * old + 0.5 * new.detach())
    assert training.generator is training.ema.module
    batch = batch_of(data, [1])
    images = training.generate(batch)
    condition = condition_map(batch["label"], 7, instance=batch["instance"])
    with torch.no_grad():
        torch.testing.assert_close(images, training.ema.module(condition))
        assert not torch.allclose(images, training.models.generator(condition))


def test_without_ema_generation_uses_the_generator():
    training = build_training(tiny_config())
    assert training.ema is None
    assert training.generator is training.models.generator
