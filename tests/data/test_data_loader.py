"""collate and make_dataloader: batching, seeded order, ranks, mid-epoch resume."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from PIL import Image
from torch.utils.data import Dataset, DistributedSampler

from condgan_blocks.data import (
    Compose,
    DatasetError,
    PairedFolderDataset,
    RandomCrop,
    RandomHorizontalFlip,
    SyntheticScenes,
    collate,
    make_dataloader,
)


class Indexed(Dataset):
    """Sample i holds i, so batches show which samples they contain."""

    def __init__(self, size: int = 10) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict:
        return {"label": torch.full((1, 2, 2), index), "index": index, "path": f"s{index}"}


def _order(loader) -> list[int]:
    return [i for batch in loader for i in batch["index"].tolist()]


def test_collate_stacks_tensors_and_lists_paths():
    batch = collate([Indexed()[i] for i in range(3)])
    assert batch["label"].shape == (3, 1, 2, 2)
    assert batch["label"].dtype == torch.int64
    assert batch["index"].tolist() == [0, 1, 2]
    assert batch["path"] == ["s0", "s1", "s2"]


def test_collate_errors_name_the_samples():
    first = {"image": torch.zeros(3, 4, 4), "path": "a.png"}
    with pytest.raises(
        ValueError, match=r"shapes differ \(a\.png: \(3, 4, 4\), b\.png: \(3, 4, 6\)\)"
    ):
        collate([first, {"image": torch.zeros(3, 4, 6), "path": "b.png"}])
    with pytest.raises(ValueError, match="same keys"):
        collate([first, {"image": torch.zeros(3, 4, 4)}])
    with pytest.raises(ValueError, match="at least one sample"):
        collate([])


def test_batches_and_seeded_shuffle():
    loader = make_dataloader(Indexed(10), batch_size=4, seed=1)
    assert [len(b["index"]) for b in loader] == [4, 4, 2]
    order = _order(make_dataloader(Indexed(10), batch_size=4, seed=1))
    assert sorted(order) == list(range(10))
    assert order == _order(make_dataloader(Indexed(10), batch_size=4, seed=1))
    assert order != _order(make_dataloader(Indexed(10), batch_size=4, seed=2))
    assert _order(make_dataloader(Indexed(10), shuffle=False)) == list(range(10))
    assert [len(b["index"]) for b in make_dataloader(Indexed(10), 4, drop_last=True)] == [4, 4]


def test_set_epoch_makes_epochs_differ_and_resumable():
    loader = make_dataloader(Indexed(10), batch_size=5, seed=0)
    epochs = []
    for epoch in range(3):
        loader.set_epoch(epoch)
        epochs.append(_order(loader))
    assert epochs[0] != epochs[1]
    resumed = make_dataloader(Indexed(10), batch_size=5, seed=0)
    resumed.set_epoch(2)
    assert _order(resumed) == epochs[2]


def test_explicit_ranks_split_the_data():
    orders = []
    for rank in range(2):
        loader = make_dataloader(Indexed(10), batch_size=2, seed=3, world_size=2, rank=rank)
        assert (loader.sampler.rank, loader.sampler.world_size) == (rank, 2)
        loader.set_epoch(1)
        orders.append(_order(loader))
    assert len(orders[0]) == len(orders[1]) == 5
    assert sorted(orders[0] + orders[1]) == list(range(10))


@pytest.mark.parametrize(("size", "world_size", "epoch"), [(10, 1, 0), (10, 2, 3), (7, 3, 1)])
def test_order_is_distributed_samplers(size, world_size, epoch):
    """The same samples, in the same order, as DistributedSampler on every rank."""
    for rank in range(world_size):
        loader = make_dataloader(
            Indexed(size), seed=5, epoch=epoch, world_size=world_size, rank=rank
        )
        reference = DistributedSampler(Indexed(size), world_size, rank, shuffle=True, seed=5)
        reference.set_epoch(epoch)
        assert _order(loader) == list(reference)


def test_start_resumes_mid_epoch_and_set_epoch_starts_over():
    full = _order(make_dataloader(Indexed(10), batch_size=3, seed=2, epoch=4))
    resumed = make_dataloader(Indexed(10), batch_size=3, seed=2, epoch=4, start=6)
    assert _order(resumed) == full[6:]
    resumed.set_epoch(4)
    assert _order(resumed) == full
    with pytest.raises(ValueError, match="the dataset is empty"):
        make_dataloader(Indexed(0))
    with pytest.raises(ValueError, match="start must be >= 0"):
        make_dataloader(Indexed(), start=-1)


def test_the_training_loop_reads_from_make_dataloader():
    from condgan_blocks.data import SeededDataLoader
    from condgan_blocks.training import build_training
    from tests._training_helpers import tiny_config

    config = tiny_config(batch_size=2, seed=9)
    loader = build_training(config).make_loader(Indexed(7), epoch=2, start=2)
    assert isinstance(loader, SeededDataLoader)
    expected = make_dataloader(Indexed(7), batch_size=2, seed=9, epoch=2, start=2)
    assert _order(loader) == _order(expected)
    assert torch.equal(loader.generator.get_state(), expected.generator.get_state())


def test_splits_over_the_ranks_of_an_initialised_group(tmp_path):
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    try:
        loader = make_dataloader(Indexed(6), batch_size=3, seed=0)
        assert (loader.sampler.rank, loader.sampler.world_size) == (0, 1)
        assert sorted(_order(loader)) == list(range(6))
        plain = make_dataloader(Indexed(6), batch_size=3, seed=0, distributed=False)
        assert _order(plain) == _order(loader)
    finally:
        dist.destroy_process_group()


def test_distributed_errors():
    with pytest.raises(ValueError, match=r"needs an initialised torch\.distributed process group"):
        make_dataloader(Indexed(), distributed=True)
    with pytest.raises(ValueError, match="rank must be below world_size=2"):
        make_dataloader(Indexed(), world_size=2, rank=2)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        make_dataloader(Indexed(), batch_size=0)


def test_workers_reproduce_random_transforms():
    scenes = SyntheticScenes(
        4, size=(32, 64), transform=Compose([RandomCrop((16, 16)), RandomHorizontalFlip()])
    )

    def run():
        loader = make_dataloader(scenes, batch_size=2, seed=7, num_workers=2)
        loader.set_epoch(0)
        return [batch["image"] for batch in loader]

    first, second = run(), run()
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert first[0].shape == (2, 3, 16, 16)


def test_worker_errors_keep_the_message(tmp_path):
    """A worker re-raises DatasetError from its message; the file and the ids survive."""
    for folder in ("train_label", "train_img"):
        (tmp_path / folder).mkdir()
    Image.fromarray(torch.full((4, 4), 50, dtype=torch.uint8).numpy()).save(
        tmp_path / "train_label" / "a.png"
    )
    Image.fromarray(torch.zeros(4, 4, 3, dtype=torch.uint8).numpy()).save(
        tmp_path / "train_img" / "a.png"
    )
    loader = make_dataloader(PairedFolderDataset(tmp_path, label_nc=35), num_workers=1)
    with pytest.raises(DatasetError, match=r"a\.png: label ids \[50\]"):
        next(iter(loader))
