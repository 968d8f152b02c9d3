from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import OneHotLabels, one_hot_labels


@settings(deadline=None, max_examples=20)
@given(num_classes=st.integers(1, 6), height=st.integers(1, 8), width=st.integers(1, 8))
def test_matches_torch_one_hot(num_classes, height, width):
    labels = torch.randint(0, num_classes, (2, 1, height, width))
    out = one_hot_labels(labels, num_classes)
    expected = F.one_hot(labels[:, 0], num_classes).permute(0, 3, 1, 2).float()
    assert out.shape == (2, num_classes, height, width)
    assert out.dtype == torch.float32
    assert torch.equal(out, expected)


def test_module_equals_function_and_accepts_three_dims():
    labels = torch.randint(0, 5, (2, 6, 7), dtype=torch.int32)
    module = OneHotLabels(5, ignore_index=4, dtype=torch.float64)
    out = module(labels)
    assert out.dtype == torch.float64
    assert torch.equal(
        out, one_hot_labels(labels.unsqueeze(1), 5, ignore_index=4, dtype=torch.float64)
    )


@pytest.mark.parametrize("ignore_index", [0, 255])
def test_ignore_index_gives_zeros(ignore_index):
    labels = torch.tensor([[[[1, ignore_index, 2]]]])
    out = one_hot_labels(labels, 3, ignore_index=ignore_index)
    assert out[0, :, 0, 1].sum() == 0
    assert out[0, :, 0, 0].tolist() == [0, 1, 0]
    assert out[0, :, 0, 2].tolist() == [0, 0, 1]


def test_float_labels_with_integer_values():
    labels = torch.tensor([[[[0.0, 2.0]]]])
    assert torch.equal(one_hot_labels(labels, 3), one_hot_labels(labels.long(), 3))
    with pytest.raises(ValueError, match="integer values"):
        one_hot_labels(torch.tensor([[[[0.5]]]]), 3)


def test_out_of_range_ids_are_named_with_their_batch_index():
    labels = torch.zeros(3, 1, 4, 4, dtype=torch.long)
    labels[1, 0, 0, 0] = 7
    labels[2, 0, 1, 1] = -1
    with pytest.raises(ValueError, match=r"found ids \[-1, 7\] in batch index \[1, 2\]"):
        one_hot_labels(labels, 5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        one_hot_labels(torch.zeros(1, 1, 2, 2, dtype=torch.long), 0)
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        OneHotLabels(3, ignore_index=1.5)
    with pytest.raises(TypeError, match="floating dtype"):
        one_hot_labels(torch.zeros(1, 1, 2, 2, dtype=torch.long), 3, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\) or \(N, H, W\)"):
        one_hot_labels(torch.zeros(1, 2, 2, 2, dtype=torch.long), 3)
