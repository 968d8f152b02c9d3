"""How far apart the feature bank's styles of one object are: one scene, every cluster.

The paper's instance-level control: the feature bank holds a few cluster centres per class,
and choosing another one restyles an object (Fig. 7). This renders the largest object of a
class in a dataset with each of its class's clusters, every other object keeping the same
features, and measures the object's mean colour in each image; a bank whose clusters give the
same colour offers no choice.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from .._checks import check_positive_int
from ..data.loader import collate
from .flat_colour import masked_mean_colour


def _largest_instance(dataset: Dataset, class_id: int) -> tuple[int, int] | None:
    best = None
    for index in range(len(dataset)):
        sample = dataset[index]
        ids, counts = sample["instance"][sample["label"] == class_id].unique(return_counts=True)
        if ids.numel() and (best is None or int(counts.max()) > best[2]):
            best = (index, int(ids[counts.argmax()]), int(counts.max()))
    return None if best is None else best[:2]


def render_instance_styles(
    synthesizer: Any, dataset: Dataset, class_id: int
) -> tuple[dict[str, Any], Tensor, dict[str, Any]]:
    """The largest object of ``class_id`` in ``dataset``, rendered with every cluster of its
    class in the synthesizer's feature bank.

    Args:
        synthesizer: A [`Synthesizer`][condgan_blocks.synthesis.Synthesizer] with a feature
            bank that has centres for ``class_id``.
        dataset: Samples with ``label`` and ``instance`` maps (and ``path``); the one with the
            largest object of the class is used.
        class_id: The class, e.g. 26 (car) in Cityscapes, 5 in the synthetic scenes.

    Returns:
        ``(sample, images, styles)``: the scene as a batch of one, the K images (K, C, H, W)
        (image k with cluster k for the object, the same features elsewhere), and a JSON-able
        summary: ``scene`` (its path), ``instance_id``, ``class``, ``num_styles`` (K),
        ``mean_colours`` (the object's mean RGB on [0, 1] in each image), ``max_difference``
        and ``mean_difference`` (RGB L2 distances between those colours, over all pairs).

    Raises:
        ValueError: The synthesizer has no bank, the bank no centres for the class, or no
            sample holds an object of the class.

    Examples:
        >>> from condgan_blocks import FeatureBank, GlobalGenerator, Synthesizer
        >>> from condgan_blocks.data import SyntheticScenes
        >>> scenes = SyntheticScenes(2, size=(32, 64))
        >>> bank = FeatureBank(3)
        >>> for index in range(2):
        ...     sample = scenes[index]
        ...     features = torch.rand(1, 3, 32, 64, generator=torch.Generator().manual_seed(index))
        ...     _ = bank.add(features, sample["instance"][None], sample["label"][None])
        >>> _ = bank.fit(2, min_area=0)
        >>> generator = GlobalGenerator(7 + 1 + 3, base_channels=4, num_downsamples=1,
        ...                             num_blocks=1)
        >>> sample, images, styles = render_instance_styles(
        ...     Synthesizer(generator, 7, bank=bank), scenes, 5)  # 5: the cars
        >>> images.shape, styles["num_styles"], styles["class"]
        (torch.Size([2, 3, 32, 64]), 2, 5)
    """
    check_positive_int("class_id", class_id, minimum=0)
    bank = getattr(synthesizer, "bank", None)
    if bank is None:
        raise ValueError("render_instance_styles needs a synthesizer with a feature bank")
    if class_id not in bank.centers:
        raise ValueError(
            f"the feature bank has no clusters of class {class_id}; it has {sorted(bank.centers)}"
        )
    found = _largest_instance(dataset, class_id)
    if found is None:
        raise ValueError(f"no sample of the dataset holds an object of class {class_id}")
    index, instance_id = found
    sample = collate([dataset[index]])
    label, instance = sample["label"], sample["instance"]
    images = torch.cat(
        [
            synthesizer(label, instance, {instance_id: cluster})
            for cluster in range(bank.centers[class_id].shape[0])
        ]
    )
    colours = (masked_mean_colour(images, instance == instance_id) + 1) / 2  # RGB on [0, 1]
    distances = torch.cdist(colours, colours)
    pairs = distances[torch.triu_indices(len(colours), len(colours), 1).unbind()]
    styles = {
        "scene": sample["path"][0],
        "instance_id": instance_id,
        "class": class_id,
        "num_styles": len(colours),
        "mean_colours": [[round(v, 4) for v in c] for c in colours.tolist()],
        "max_difference": float(pairs.max()) if pairs.numel() else 0.0,
        "mean_difference": float(pairs.mean()) if pairs.numel() else 0.0,
    }
    return sample, images, styles
