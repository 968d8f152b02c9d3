from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import instance_to_class
from condgan_blocks.instance.ids import (
    as_int64_ids,
    check_instance_map,
    id_table,
    key_segments,
)


def test_instance_to_class_cityscapes_convention():
    ids = torch.tensor([0, 7, 33, 999, 1000, 24001, 24002, 26000], dtype=torch.int32)
    expected = torch.tensor([0, 7, 33, 999, 1, 24, 24, 26], dtype=torch.int32)
    assert torch.equal(instance_to_class(ids), expected)
    assert instance_to_class(24001) == 24
    assert instance_to_class(7) == 7
    assert torch.equal(instance_to_class(torch.tensor([5, 12]), divisor=10), torch.tensor([5, 1]))


def test_instance_to_class_bad_arguments():
    with pytest.raises(ValueError, match="divisor must be a positive int"):
        instance_to_class(torch.tensor([1]), divisor=0)
    with pytest.raises(TypeError, match="instances must be an int or a tensor"):
        instance_to_class(1.5)


def test_check_instance_map_accepts_three_dims_and_rejects_others():
    assert check_instance_map(torch.zeros(2, 5, 6, dtype=torch.long)).shape == (2, 1, 5, 6)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\) or \(N, H, W\), got \(2, 3, 5, 6\)"):
        check_instance_map(torch.zeros(2, 3, 5, 6))
    with pytest.raises(TypeError, match=r"must be a torch\.Tensor"):
        check_instance_map([[0]])


def test_as_int64_ids_checks_values():
    ids, low, high = as_int64_ids(torch.tensor([[[[2.0, 7.0]]]]))
    assert ids.dtype == torch.int64
    assert (low, high) == (2, 7)
    with pytest.raises(ValueError, match="must hold integer values; 1 pixel"):
        as_int64_ids(torch.tensor([[[[2.0, 7.5]]]]))
    with pytest.raises(ValueError, match="must hold integer values"):
        as_int64_ids(torch.tensor([[[[2.0, float("nan")]]]]))
    with pytest.raises(ValueError, match="non-negative ids, found -3"):
        as_int64_ids(torch.tensor([[[[2, -3]]]]))


@pytest.mark.parametrize("high", [5, 34000, 10**9, 2**40])
def test_id_table_columns_give_back_the_ids(high):
    instances = torch.tensor([[[[0, high], [3, 3]]], [[[high, 1], [1, 1]]]])
    table = id_table(instances)
    assert torch.equal(table.ids[table.columns], instances.reshape(2, 4))
    assert table.ids.tolist() == sorted(table.ids.tolist())
    counts = table.counts()
    assert counts.shape == (2, table.num_columns)
    assert counts.sum(1).tolist() == [4, 4]
    # Ids beyond max(1024, H * W) are compacted instead of indexing a huge table.
    assert table.num_columns == (high + 1 if high < 1024 else 4)


@settings(deadline=None, max_examples=25)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=40))
def test_key_segments_matches_the_nonzero_loop(keys):
    keys_t = torch.tensor(keys)
    segment_keys, counts, middle = key_segments(keys_t, 7)
    expected = []
    for key in sorted(set(keys)):
        positions = (keys_t == key).nonzero().squeeze(1)
        expected.append((key, positions.numel(), int(positions[positions.numel() // 2])))
    assert (
        list(zip(segment_keys.tolist(), counts.tolist(), middle.tolist(), strict=True)) == expected
    )
