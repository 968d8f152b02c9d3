"""Segmentation scores against hand-computed values, and invariants."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks.evaluation import (
    ConfusionMatrix,
    confusion_matrix,
    mean_iou,
    per_class_iou,
    pixel_accuracy,
)


def _loop_confusion(prediction, target, num_classes, ignore_index=None):
    out = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for p, t in zip(prediction.reshape(-1).tolist(), target.reshape(-1).tolist(), strict=True):
        if t == ignore_index or not 0 <= t < num_classes:
            continue
        out[t, p] += 1
    return out


def test_tiny_case_by_hand():
    # target:      prediction:
    # 0 0 1        0 1 1
    # 2 2 255      2 0 1
    target = torch.tensor([[[[0, 0, 1], [2, 2, 255]]]])
    prediction = torch.tensor([[[[0, 1, 1], [2, 0, 1]]]])
    confusion = confusion_matrix(prediction, target, 3, ignore_index=255)
    assert confusion.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert pixel_accuracy(confusion) == pytest.approx(3 / 5)
    # IoU: class 0: 1 / (2 + 2 - 1) = 1/3; class 1: 1 / (1 + 2 - 1) = 1/2; class 2: 1 / 2
    assert per_class_iou(confusion).tolist() == pytest.approx([1 / 3, 1 / 2, 1 / 2])
    assert mean_iou(confusion) == pytest.approx((1 / 3 + 1 / 2 + 1 / 2) / 3)


def test_absent_class_is_left_out_of_the_mean():
    confusion = confusion_matrix(torch.tensor([0, 0, 1]), torch.tensor([0, 0, 1]), 4)
    iou = per_class_iou(confusion)
    assert iou[:2].tolist() == [1.0, 1.0]
    assert torch.isnan(iou[2:]).all()
    assert mean_iou(confusion) == 1.0


def test_empty_confusion_gives_nan():
    confusion = torch.zeros(3, 3, dtype=torch.int64)
    assert math.isnan(pixel_accuracy(confusion))
    assert math.isnan(mean_iou(confusion))


@settings(deadline=None, max_examples=30)
@given(
    num_classes=st.integers(1, 6),
    size=st.integers(1, 40),
    seed=st.integers(0, 1000),
    ignore=st.booleans(),
)
def test_matches_loop_reference(num_classes, size, seed, ignore):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, num_classes + 1, (size,), generator=g)  # id K: out of range
    prediction = torch.randint(0, num_classes, (size,), generator=g)
    ignore_index = 0 if ignore else None
    expected = _loop_confusion(prediction, target, num_classes, ignore_index)
    got = confusion_matrix(prediction, target, num_classes, ignore_index=ignore_index)
    assert torch.equal(got, expected)


def test_accumulator_equals_one_matrix():
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 5, (4, 1, 8, 8), generator=g)
    prediction = torch.randint(0, 5, (4, 1, 8, 8), generator=g)
    scores = ConfusionMatrix(5)
    for p, t in zip(prediction, target, strict=True):
        scores.update(p, t)
    assert torch.equal(scores.matrix, confusion_matrix(prediction, target, 5))
    whole = confusion_matrix(prediction, target, 5)
    assert scores.compute() == {
        "pixel_accuracy": pixel_accuracy(whole),
        "mean_iou": mean_iou(whole),
    }


def test_perfect_prediction_scores_one():
    target = torch.randint(0, 4, (2, 1, 6, 6))
    assert ConfusionMatrix(4).compute()["pixel_accuracy"] != 1.0  # NaN before any update
    scores = ConfusionMatrix(4)
    scores.update(target.clone(), target)
    assert scores.compute() == {"pixel_accuracy": 1.0, "mean_iou": 1.0}


def test_bad_arguments():
    with pytest.raises(ValueError, match="same shape"):
        confusion_matrix(torch.zeros(3, dtype=torch.long), torch.zeros(4, dtype=torch.long), 2)
    with pytest.raises(ValueError, match=r"prediction ids must lie in 0\.\.1"):
        confusion_matrix(torch.tensor([2]), torch.tensor([0]), 2)
    with pytest.raises(TypeError, match="integer tensor"):
        confusion_matrix(torch.zeros(3), torch.zeros(3, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        ConfusionMatrix(0)
    with pytest.raises(ValueError, match=r"shape \(K, K\)"):
        pixel_accuracy(torch.zeros(2, 3))
