"""The official Cityscapes label table, as data.

The rows follow ``cityscapesscripts/helpers/labels.py`` of the Cityscapes benchmark suite:
``id`` is what ``*_gtFine_labelIds.png`` stores (0..33), ``train_id`` the 19-class training
id (255 = ignored in evaluation), ``category`` and ``category_id`` the 8 coarse groups,
``has_instances`` marks the "thing" classes whose pixels get ``id * 1000 + k`` in
``*_gtFine_instanceIds.png``, ``ignore_in_eval`` the classes left out of the benchmark, and
``color`` the official colour. "license plate" (id -1) is drawn in no label image: its pixels
keep the id of the car around them.

pix2pixHD feeds the 0..33 ids one-hot with ``label_nc = 35`` channels (one more than needed);
[`CITYSCAPES_NUM_CLASSES`][condgan_blocks.data.CITYSCAPES_NUM_CLASSES] keeps that count.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

CITYSCAPES_NUM_CLASSES = 35
"""Label channels of the reference recipe (``--label_nc 35``); ids 0..33 are used."""


class CityscapesLabel(NamedTuple):
    """One row of the official Cityscapes label table.

    Examples:
        >>> car = next(row for row in CITYSCAPES_LABELS if row.name == "car")
        >>> car.id, car.train_id, car.has_instances, car.color
        (26, 13, True, (0, 0, 142))
    """

    name: str
    id: int
    train_id: int
    category: str
    category_id: int
    has_instances: bool
    ignore_in_eval: bool
    color: tuple[int, int, int]


_L = CityscapesLabel

# fmt: off
CITYSCAPES_LABELS: tuple[CityscapesLabel, ...] = (
    # name                 id  train category        cat has_inst ignore color
    _L("unlabeled",            0, 255, "void",         0, False, True,  (0, 0, 0)),
    _L("ego vehicle",          1, 255, "void",         0, False, True,  (0, 0, 0)),
    _L("rectification border", 2, 255, "void",         0, False, True,  (0, 0, 0)),
    _L("out of roi",           3, 255, "void",         0, False, True,  (0, 0, 0)),
    _L("static",               4, 255, "void",         0, False, True,  (0, 0, 0)),
    _L("dynamic",              5, 255, "void",         0, False, True,  (111, 74, 0)),
    _L("ground",               6, 255, "void",         0, False, True,  (81, 0, 81)),
    _L("road",                 7,   0, "flat",         1, False, False, (128, 64, 128)),
    _L("sidewalk",             8,   1, "flat",         1, False, False, (244, 35, 232)),
    _L("parking",              9, 255, "flat",         1, False, True,  (250, 170, 160)),
    _L("rail track",          10, 255, "flat",         1, False, True,  (230, 150, 140)),
    _L("building",            11,   2, "construction", 2, False, False, (70, 70, 70)),
    _L("wall",                12,   3, "construction", 2, False, False, (102, 102, 156)),
    _L("fence",               13,   4, "construction", 2, False, False, (190, 153, 153)),
    _L("guard rail",          14, 255, "construction", 2, False, True,  (180, 165, 180)),
    _L("bridge",              15, 255, "construction", 2, False, True,  (150, 100, 100)),
    _L("tunnel",              16, 255, "construction", 2, False, True,  (150, 120, 90)),
    _L("pole",                17,   5, "object",       3, False, False, (153, 153, 153)),
    _L("polegroup",           18, 255, "object",       3, False, True,  (153, 153, 153)),
    _L("traffic light",       19,   6, "object",       3, False, False, (250, 170, 30)),
    _L("traffic sign",        20,   7, "object",       3, False, False, (220, 220, 0)),
    _L("vegetation",          21,   8, "nature",       4, False, False, (107, 142, 35)),
    _L("terrain",             22,   9, "nature",       4, False, False, (152, 251, 152)),
    _L("sky",                 23,  10, "sky",          5, False, False, (70, 130, 180)),
    _L("person",              24,  11, "human",        6, True,  False, (220, 20, 60)),
    _L("rider",               25,  12, "human",        6, True,  False, (255, 0, 0)),
    _L("car",                 26,  13, "vehicle",      7, True,  False, (0, 0, 142)),
    _L("truck",               27,  14, "vehicle",      7, True,  False, (0, 0, 70)),
    _L("bus",                 28,  15, "vehicle",      7, True,  False, (0, 60, 100)),
    _L("caravan",             29, 255, "vehicle",      7, True,  True,  (0, 0, 90)),
    _L("trailer",             30, 255, "vehicle",      7, True,  True,  (0, 0, 110)),
    _L("train",               31,  16, "vehicle",      7, True,  False, (0, 80, 100)),
    _L("motorcycle",          32,  17, "vehicle",      7, True,  False, (0, 0, 230)),
    _L("bicycle",             33,  18, "vehicle",      7, True,  False, (119, 11, 32)),
    _L("license plate",       -1,  -1, "vehicle",      7, False, True,  (0, 0, 142)),
)
# fmt: on
del _L


def cityscapes_palette(num_classes: int = CITYSCAPES_NUM_CLASSES) -> Tensor:
    """Official colours as a uint8 tensor of shape (num_classes, 3), row ``k`` for label id ``k``.

    Ids without a row (34 with the default 35 classes) are black.

    Examples:
        >>> cityscapes_palette()[26]
        tensor([  0,   0, 142], dtype=torch.uint8)
    """
    palette = torch.zeros(num_classes, 3, dtype=torch.uint8)
    for label in CITYSCAPES_LABELS:
        if 0 <= label.id < num_classes:
            palette[label.id] = torch.tensor(label.color, dtype=torch.uint8)
    return palette


def cityscapes_train_ids(label: Tensor) -> Tensor:
    """Map label ids (0..33) to the 19 training ids, 255 for classes ignored in evaluation.

    Args:
        label: Integer tensor of Cityscapes label ids, any shape.

    Returns:
        Tensor of the same shape and dtype holding train ids.

    Examples:
        >>> cityscapes_train_ids(torch.tensor([0, 7, 26, 33]))
        tensor([255,   0,  13,  18])
    """
    if label.is_floating_point():
        raise TypeError(f"label must be an integer tensor, got {label.dtype}")
    table = torch.full((34,), 255, dtype=label.dtype, device=label.device)
    for row in CITYSCAPES_LABELS:
        if row.id >= 0:
            table[row.id] = row.train_id
    if label.numel() and (int(label.min()) < 0 or int(label.max()) > 33):
        raise ValueError(
            f"Cityscapes label ids lie in 0..33, got ids from {int(label.min())} to "
            f"{int(label.max())}"
        )
    return table[label.long()]


def cityscapes_thing_ids() -> tuple[int, ...]:
    """Label ids of the classes with instances (person, rider, car, ..., bicycle).

    Examples:
        >>> cityscapes_thing_ids()
        (24, 25, 26, 27, 28, 29, 30, 31, 32, 33)
    """
    return tuple(label.id for label in CITYSCAPES_LABELS if label.has_instances)
