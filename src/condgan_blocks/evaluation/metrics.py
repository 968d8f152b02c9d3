"""Segmentation scores: confusion matrix, pixel accuracy, per-class and mean IoU."""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_positive_int


def _check_confusion(confusion: object) -> Tensor:
    if not isinstance(confusion, Tensor):
        raise TypeError(f"confusion must be a torch.Tensor, got {type(confusion).__name__}")
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion must have shape (K, K), got {tuple(confusion.shape)}")
    return confusion


def confusion_matrix(
    prediction: Tensor, target: Tensor, num_classes: int, *, ignore_index: int | None = None
) -> Tensor:
    """Count (target, predicted) class pairs over all pixels with one ``bincount``.

    Pixels whose target is ``ignore_index``, or outside ``0 .. num_classes - 1``, are left out;
    a prediction outside that range is an error.

    Args:
        prediction: Integer class ids of any shape, e.g. (N, 1, H, W).
        target: Integer class ids of the same shape.
        num_classes: Number of classes K.
        ignore_index: A target id to leave out.

    Returns:
        int64 tensor of shape (K, K): row = target class, column = predicted class.

    Raises:
        ValueError: If the shapes differ or a prediction is not a class id.

    Examples:
        >>> confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
        tensor([[1, 0, 0],
                [0, 1, 0],
                [0, 1, 1]])
    """
    check_positive_int("num_classes", num_classes)
    for name, value in (("prediction", prediction), ("target", target)):
        if not isinstance(value, Tensor) or value.is_floating_point() or value.is_complex():
            raise TypeError(f"{name} must be an integer tensor, got {value!r:.60}")
    if prediction.shape != target.shape:
        raise ValueError(
            f"prediction and target must have the same shape, got {tuple(prediction.shape)} "
            f"and {tuple(target.shape)}"
        )
    prediction = prediction.reshape(-1).long()
    target = target.reshape(-1).long().to(prediction.device)
    keep = (target >= 0) & (target < num_classes)
    if ignore_index is not None:
        keep &= target != ignore_index
    prediction, target = prediction[keep], target[keep]
    if prediction.numel() and (int(prediction.min()) < 0 or int(prediction.max()) >= num_classes):
        raise ValueError(
            f"prediction ids must lie in 0..{num_classes - 1}, got ids from "
            f"{int(prediction.min())} to {int(prediction.max())}"
        )
    counts = torch.bincount(target * num_classes + prediction, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


def pixel_accuracy(confusion: Tensor) -> float:
    """Fraction of counted pixels whose predicted class is right (NaN when none is counted).

    Examples:
        >>> pixel_accuracy(torch.tensor([[3, 1], [0, 4]]))
        0.875
    """
    confusion = _check_confusion(confusion)
    total = int(confusion.sum())
    return float(confusion.diagonal().sum()) / total if total else float("nan")


def per_class_iou(confusion: Tensor) -> Tensor:
    """Intersection over union of every class: TP / (TP + FP + FN).

    Returns:
        float64 tensor of shape (K,); NaN for a class absent from both target and prediction.

    Examples:
        >>> per_class_iou(torch.tensor([[3, 1, 0], [0, 4, 0], [0, 0, 0]]))
        tensor([0.7500, 0.8000,    nan], dtype=torch.float64)
    """
    confusion = _check_confusion(confusion).to(torch.float64)
    intersection = confusion.diagonal()
    union = confusion.sum(0) + confusion.sum(1) - intersection
    return torch.where(union > 0, intersection / union.clamp_min(1), float("nan"))


def mean_iou(confusion: Tensor) -> float:
    """Mean of [`per_class_iou`][condgan_blocks.evaluation.per_class_iou] over the classes present
    in target or prediction.

    Examples:
        >>> mean_iou(torch.tensor([[3, 1, 0], [0, 4, 0], [0, 0, 0]]))
        0.775
    """
    iou = per_class_iou(confusion)
    valid = ~torch.isnan(iou)
    return float(iou[valid].mean()) if bool(valid.any()) else float("nan")


class ConfusionMatrix:
    """Accumulate a [`confusion_matrix`][condgan_blocks.evaluation.confusion_matrix] over batches
    and read the scores.

    Args:
        num_classes: Number of classes K.
        ignore_index: A target id to leave out.

    Examples:
        >>> scores = ConfusionMatrix(2)
        >>> scores.update(torch.tensor([0, 1]), torch.tensor([0, 0]))
        >>> scores.update(torch.tensor([1]), torch.tensor([1]))
        >>> scores.compute()
        {'pixel_accuracy': 0.6666666666666666, 'mean_iou': 0.5}
    """

    def __init__(self, num_classes: int, *, ignore_index: int | None = None) -> None:
        self.num_classes = check_positive_int("num_classes", num_classes)
        if ignore_index is not None:
            check_positive_int("ignore_index", ignore_index, minimum=None)
        self.ignore_index = ignore_index
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def update(self, prediction: Tensor, target: Tensor) -> None:
        """Add the pixels of a batch (see
        [`confusion_matrix`][condgan_blocks.evaluation.confusion_matrix])."""
        counts = confusion_matrix(
            prediction, target, self.num_classes, ignore_index=self.ignore_index
        )
        self.matrix += counts.cpu()

    def compute(self) -> dict[str, float]:
        """``{"pixel_accuracy": ..., "mean_iou": ...}`` over everything added."""
        return {"pixel_accuracy": pixel_accuracy(self.matrix), "mean_iou": mean_iou(self.matrix)}
