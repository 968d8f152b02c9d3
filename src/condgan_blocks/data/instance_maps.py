"""Instance maps for data that has only class labels: connected components of the thing classes.

The ids follow the Cityscapes convention that the instance blocks read back with
[`instance_to_class`][condgan_blocks.instance.ids.instance_to_class]: a "stuff" pixel keeps its
class id (below 1000), the ``k``-th object of a "thing" class ``c`` gets ``c * 1000 + k`` with
``k`` from 0, as in Cityscapes' ``*_gtFine_instanceIds.png``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor

# The multiplier of the Cityscapes encoding, the default ``divisor`` of instance_to_class.
INSTANCE_DIVISOR = 1000
_CONNECTIVITIES = (4, 8)


def check_thing_classes(thing_classes: object) -> tuple[int, ...]:
    """Return the thing classes, sorted and without repeats, after checking each one.

    Raises:
        TypeError: If ``thing_classes`` is not an iterable of ints.
        ValueError: If a class lies outside 1..999 (class 0 would give ids below 1000, which
            read back as stuff classes).
    """
    if isinstance(thing_classes, (str, bytes)) or not isinstance(thing_classes, Iterable):
        raise TypeError(
            f"thing_classes must be an iterable of int class ids, got {thing_classes!r:.60}"
        )
    classes = []
    for value in thing_classes:
        if isinstance(value, np.integer):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(
                f"thing_classes must hold int class ids, got {type(value).__name__} {value!r}"
            )
        if not 1 <= value < INSTANCE_DIVISOR:
            raise ValueError(
                f"thing classes must lie in 1..{INSTANCE_DIVISOR - 1} (instance ids are "
                f"class * {INSTANCE_DIVISOR} + k; class 0 would read back as stuff), got {value}"
            )
        classes.append(value)
    return tuple(sorted(set(classes)))


def check_connectivity(connectivity: object) -> int:
    """Return ``connectivity`` if it is 4 or 8, else raise a TypeError or ValueError."""
    if isinstance(connectivity, bool) or not isinstance(connectivity, int):
        raise TypeError(
            f"connectivity must be an int, 4 or 8, got {type(connectivity).__name__} "
            f"{connectivity!r}"
        )
    if connectivity not in _CONNECTIVITIES:
        raise ValueError(
            f"connectivity must be 4 (edge neighbours) or 8 (edge and corner neighbours), got "
            f"{connectivity}"
        )
    return connectivity


def _as_batch(labels: object) -> np.ndarray:
    """``labels`` as an int64 numpy array of shape (N, H, W), after checking kind and shape."""
    if isinstance(labels, np.ndarray):
        if labels.dtype.kind not in "iu":
            raise TypeError(f"labels must hold integer class ids, got numpy dtype {labels.dtype}")
        if labels.ndim != 2:
            raise ValueError(f"expected a numpy label map of shape (H, W), got {labels.shape}")
        return labels.astype(np.int64)[None]
    if isinstance(labels, Tensor):
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise TypeError(f"labels must hold integer class ids, got dtype {labels.dtype}")
        shape = tuple(labels.shape)
        if labels.ndim == 2:
            labels = labels[None]
        elif labels.ndim == 3 and shape[0] == 1:
            pass
        elif labels.ndim == 4 and shape[1] == 1:
            labels = labels[:, 0]
        else:
            raise ValueError(
                f"expected labels of shape (H, W), (1, H, W) or (N, 1, H, W), got {shape}"
            )
        return labels.detach().to("cpu", torch.int64).numpy()
    raise TypeError(f"labels must be a numpy array or a torch tensor, got {type(labels).__name__}")


def instances_from_labels(
    labels: np.ndarray | Tensor,
    thing_classes: Iterable[int],
    *,
    connectivity: int = 8,
) -> np.ndarray | Tensor:
    """Derive an instance map from a label map: every connected blob of a thing class is one object.

    Each thing class is split into connected components (``scipy.ndimage.label``), per image.
    The ids follow the Cityscapes convention that
    [`instance_to_class`][condgan_blocks.instance.ids.instance_to_class] reads back: the
    ``k``-th component of thing class ``c`` gets ``c * 1000 + k``, with ``k`` from 0 in the
    raster order of each component's first pixel; every other ("stuff") pixel keeps its class
    id. Objects of one class that touch become one instance, which is all a label map can tell.

    Args:
        labels: Class ids, all in 0..999: a numpy array (H, W), or a tensor (H, W), (1, H, W) or
            (N, 1, H, W); any integer dtype.
        thing_classes: The class ids that are countable objects (each in 1..999), e.g.
            [`cityscapes_thing_ids()`][condgan_blocks.data.cityscapes_thing_ids].
        connectivity: 4 joins pixels that share an edge; 8 also pixels that share a corner.

    Returns:
        The instance map, int64, of the input's kind, shape and device.

    Raises:
        TypeError: If ``labels`` is not an integer numpy array or tensor, a thing class is not
            an int, or ``connectivity`` is not an int.
        ValueError: On a bad shape, a class id outside 0..999, a thing class outside 1..999,
            a connectivity other than 4 or 8, or more than 1000 objects of one class in one
            image (their ids would reach the next class).

    Shape:
        - labels: (H, W), (1, H, W) or (N, 1, H, W)
        - Output: same as ``labels``

    Examples:
        >>> import numpy as np
        >>> labels = np.array([[7, 26, 7, 26],
        ...                    [7, 26, 7, 7],
        ...                    [24, 7, 7, 26]])
        >>> instances_from_labels(labels, [24, 26])
        array([[    7, 26000,     7, 26001],
               [    7, 26000,     7,     7],
               [24000,     7,     7, 26002]])
        >>> import torch
        >>> diagonal = torch.tensor([[[[26, 0], [0, 26]]]])
        >>> instances_from_labels(diagonal, [26], connectivity=4).flatten().tolist()
        [26000, 0, 0, 26001]
        >>> instances_from_labels(diagonal, [26], connectivity=8).flatten().tolist()
        [26000, 0, 0, 26000]
    """
    batch = _as_batch(labels)
    classes = check_thing_classes(thing_classes)
    check_connectivity(connectivity)
    if batch.size:
        low, high = int(batch.min()), int(batch.max())
        if low < 0:
            raise ValueError(f"labels must be non-negative class ids, found {low}")
        if high >= INSTANCE_DIVISOR:
            raise ValueError(
                f"labels must be class ids below {INSTANCE_DIVISOR} (larger ids are read as "
                f"instance ids class * {INSTANCE_DIVISOR} + k), found {high}"
            )
    instances = batch.copy()
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    present = np.bincount(batch.ravel(), minlength=INSTANCE_DIVISOR) > 0
    for cls in classes:
        if not present[cls]:
            continue
        for index, image in enumerate(batch):
            mask = image == cls
            components, count = ndimage.label(mask, structure=structure)
            if count > INSTANCE_DIVISOR:
                where = f" of image {index}" if batch.shape[0] > 1 else ""
                raise ValueError(
                    f"class {cls} has {count} separate objects in the label map{where}, more "
                    f"than the {INSTANCE_DIVISOR} ids {cls * INSTANCE_DIVISOR}.."
                    f"{cls * INSTANCE_DIVISOR + INSTANCE_DIVISOR - 1} it can use; leave it out "
                    "of thing_classes or clean up isolated pixels"
                )
            instances[index][mask] = cls * INSTANCE_DIVISOR + components[mask] - 1
    if isinstance(labels, np.ndarray):
        return instances[0]
    out = torch.from_numpy(instances).to(labels.device)
    return out.reshape(labels.shape)
