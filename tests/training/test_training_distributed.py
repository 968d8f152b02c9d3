"""Data-parallel training: 2 ranks x batch 1 equal 1 process x batch 2; the sampler's split."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.multiprocessing as mp

from condgan_blocks.data import SyntheticScenes
from condgan_blocks.data.sampler import batches_per_epoch
from condgan_blocks.training import (
    DistributedContext,
    EpochSampler,
    LossConfig,
    build_training,
    init_distributed,
    load_checkpoint,
)
from condgan_blocks.training.distributed import _buckets
from tests._training_helpers import (
    SIZE,
    batch_of,
    ddp_worker,
    free_port,
    one_thread,
    tiny_config,
)


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    with one_thread():
        yield


def test_two_ranks_of_batch_one_equal_one_process_of_batch_two(tmp_path):
    # float64 so that the comparison is not blurred by Adam normalising float32 rounding
    # noise in gradients that are 0 in exact arithmetic (biases before instance norm).
    config = tiny_config(
        param_dtype="float64",
        losses=LossConfig(vgg_weight=10.0, vgg_weights=None),
        output_dir=str(tmp_path / "run"),
    )
    data = SyntheticScenes(4, size=SIZE, seed=6)
    batches = [batch_of(data, [0, 1]), batch_of(data, [2, 3])]
    batches = [{k: v for k, v in b.items() if isinstance(v, torch.Tensor)} for b in batches]
    mp.spawn(
        ddp_worker,
        args=(2, free_port(), config.to_dict(), batches, str(tmp_path)),
        nprocs=2,
        join=True,
    )
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]

    single = build_training(dataclasses.replace(config, output_dir=None))
    initial = single.models.generator.head.conv.weight.detach().clone()
    for batch in batches:
        single.step(batch)
    assert (single.models.generator.head.conv.weight - initial).abs().max() > 1e-4

    for key in ("generator", "discriminator"):
        ours = getattr(single.models, key).state_dict()
        for name, value in ranks[0][key].items():
            assert torch.equal(value, ranks[1][key][name]), f"ranks differ: {key}.{name}"
            # Weights move by ~4e-4 in two steps; 1e-9 is float64 noise amplified by Adam in
            # the biases that instance norm cancels (their true gradient is 0).
            torch.testing.assert_close(value, ours[name], rtol=0, atol=1e-9, msg=name)
    for key, optimizer in (
        ("optimizer_g", single.models.optimizer_g),
        ("optimizer_d", single.models.optimizer_d),
    ):
        state = optimizer.state_dict()["state"]
        for index, entry in ranks[0][key]["state"].items():
            assert torch.equal(entry["step"], state[index]["step"])
            torch.testing.assert_close(entry["exp_avg"], state[index]["exp_avg"])
    # only rank 0 wrote the checkpoint, holding both ranks' random states
    checkpoint = load_checkpoint(tmp_path / "run")
    assert checkpoint["world_size"] == 2
    assert len(checkpoint["ranks"]) == 2
    assert not torch.equal(
        checkpoint["ranks"][0]["rng"]["torch"], checkpoint["ranks"][1]["rng"]["torch"]
    )


def test_sampler_splits_every_epoch_over_the_ranks():
    ranks = [EpochSampler(7, epoch=2, seed=1, rank=r, world_size=3).indices() for r in range(3)]
    assert all(len(r) == 3 for r in ranks)  # 7 padded to 9
    interleaved = [ranks[i % 3][i // 3] for i in range(9)]
    order = interleaved[:7]
    assert sorted(order) == list(range(7))  # every sample once per epoch ...
    assert interleaved[7:] == order[:2]  # ... plus the padding, repeated from the head
    assert order == EpochSampler(7, epoch=2, seed=1).indices()  # the single-process order


def test_sampler_order_depends_on_seed_and_epoch_only():
    first = EpochSampler(10, epoch=0, seed=3).indices()
    assert first == EpochSampler(10, epoch=0, seed=3).indices()
    assert first != EpochSampler(10, epoch=1, seed=3).indices()
    assert sorted(first) == list(range(10))
    assert list(EpochSampler(10, epoch=0, seed=3, start=4)) == first[4:]
    assert len(EpochSampler(10, epoch=0, seed=3, start=4)) == 6


def test_sampler_bad_arguments():
    with pytest.raises(ValueError, match="rank must be below world_size=2"):
        EpochSampler(4, epoch=0, rank=2, world_size=2)
    with pytest.raises(ValueError, match="num_samples must be an int >= 1"):
        EpochSampler(0, epoch=0)


def test_batches_per_epoch():
    assert batches_per_epoch(7, 2, 2, drop_last=False) == 2
    assert batches_per_epoch(7, 3, 1, drop_last=True) == 2


def test_resumed_loader_skips_the_consumed_batches():
    training = build_training(tiny_config(batch_size=2))
    data = SyntheticScenes(6, size=SIZE)
    full = [b["path"] for b in training.make_loader(data, 1)]
    rest = [b["path"] for b in training.make_loader(data, 1, start=2)]
    assert rest == full[1:]


def test_init_distributed_without_torchrun_is_single_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert init_distributed() == DistributedContext()


def test_single_process_context():
    context = DistributedContext.current()
    assert (context.rank, context.world_size, context.is_main, context.enabled) == (
        0,
        1,
        True,
        False,
    )


def test_gradient_buckets_group_by_dtype_and_size():
    tensors = [torch.zeros(10), torch.zeros(10), torch.zeros(10, dtype=torch.float64)]
    assert [len(b) for b in _buckets(tensors)] == [2, 1]
    big = [torch.zeros(4 * 2**20), torch.zeros(4 * 2**20)]  # 16 MiB each
    assert [len(b) for b in _buckets(big)] == [1, 1]
