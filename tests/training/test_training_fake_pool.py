"""FakePool: pix2pixHD's ImagePool semantics, seeded and resumable."""

from __future__ import annotations

import pytest
import torch

from condgan_blocks.training import FakePool


def _images(start, count):
    return torch.arange(start, start + count, dtype=torch.float32).view(count, 1, 1, 1)


def test_size_zero_returns_the_batch_itself():
    images = _images(0, 3)
    assert FakePool(0).query(images) is images


def test_filling_returns_the_new_images_and_stores_them():
    pool = FakePool(3, seed=0)
    out = pool.query(_images(0, 2))
    assert out.flatten().tolist() == [0, 1]
    out = pool.query(_images(2, 2))  # the third fills the pool, the fourth may swap
    assert out.flatten().tolist()[0] == 2
    assert len(pool) == 3


def test_full_pool_returns_either_the_new_image_or_a_stored_one_it_replaces():
    pool = FakePool(4, seed=1)
    pool.query(_images(0, 4))
    swapped = kept = 0
    for step in range(200):
        value = 100.0 + step
        stored_before = sorted(float(t) for t in pool.images)
        out = float(pool.query(torch.full((1, 1, 1, 1), value)))
        stored_after = sorted(float(t) for t in pool.images)
        if out == value:
            kept += 1
            assert stored_after == stored_before
        else:
            swapped += 1
            assert out in stored_before
            assert value in stored_after
            assert len(stored_after) == 4
    assert 70 < swapped < 130  # probability 1/2
    assert kept + swapped == 200


def test_seeded_pools_draw_the_same_and_the_state_resumes():
    first, second = FakePool(2, seed=5), FakePool(2, seed=5)
    for start in range(0, 10, 2):
        assert torch.equal(first.query(_images(start, 2)), second.query(_images(start, 2)))
    state = first.state_dict()
    restored = FakePool(2, seed=99)
    restored.load_state_dict(state)
    for start in range(10, 30, 2):
        assert torch.equal(first.query(_images(start, 2)), restored.query(_images(start, 2)))


def test_stored_images_are_copies():
    pool = FakePool(1)
    images = _images(0, 1)
    pool.query(images)
    images.add_(10)
    assert float(pool.images[0]) == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="size must be an int >= 0"):
        FakePool(-1)
    with pytest.raises(ValueError, match="the saved fake pool has size 2"):
        FakePool(3).load_state_dict(FakePool(2).state_dict())
