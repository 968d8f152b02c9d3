"""The editor on a trained recipe run: its classes, generator, feature bank and one scene.

``python examples/pix2pixhd.py edit --run RUN`` serves
[`session_for_run`][condgan_blocks.editor.session_for_run]'s session with an
[`EditorServer`][condgan_blocks.editor.EditorServer]. The session generates through the run's
[`Synthesizer`][condgan_blocks.synthesis.Synthesizer], so it shows exactly the images that
``generate --choices`` writes for the same maps and styles.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..data.cityscapes_labels import CITYSCAPES_LABELS
from ..data.dataset_settings import dataset_from_settings, palette_from_settings
from ..data.synthetic_scenes import SYNTHETIC_CLASSES
from ..synthesis import Synthesizer
from ..training.run_config import RunConfigError
from ..training.run_folder import load_run, load_run_bank
from .session import EditorClass, EditorSession


def editor_classes(data: Mapping[str, Any], num_classes: int) -> list[EditorClass]:
    """The classes the editor offers for a dataset's settings: id, name, thing or stuff, colour.

    Synthetic scenes and Cityscapes have named classes (Cityscapes' ids below
    ``num_classes``); folder data gets ``class 0`` ... ``class K-1`` in the colours of
    [`palette_from_settings`][condgan_blocks.data.palette_from_settings], all stuff.

    Args:
        data: Dataset settings (the ``data`` section of a run configuration).
        num_classes: The number of label classes of the run.

    Examples:
        >>> [c.name for c in editor_classes({"kind": "synthetic"}, 7)][:3]
        ['sky', 'building', 'vegetation']
        >>> editor_classes({"kind": "folder"}, 2)[1][:3]
        (1, 'class 1', False)
    """
    palette = palette_from_settings(data, num_classes)
    if data["kind"] == "synthetic":
        return [EditorClass(c.id, c.name, c.is_thing, c.color) for c in SYNTHETIC_CLASSES]
    if data["kind"] == "cityscapes":
        return [
            EditorClass(c.id, c.name, c.has_instances, c.color)
            for c in CITYSCAPES_LABELS
            if 0 <= c.id < num_classes
        ]
    return [
        EditorClass(k, f"class {k}", False, tuple(rgb)) for k, rgb in enumerate(palette.tolist())
    ]


def session_for_run(
    run: str | os.PathLike, *, split: str = "val", index: int = 0, device: str | None = None
) -> EditorSession:
    """An editor session on scene ``index`` of ``split`` of a trained run's data.

    The session generates with the run's generator and the feature bank of
    ``encode-features`` (when the run has an encoder), through its
    [`Synthesizer`][condgan_blocks.synthesis.Synthesizer].

    Args:
        run: The run folder.
        split: The dataset split of the scene.
        index: The scene's index in the split.
        device: Where the generator runs (``"auto"`` or None: CUDA when present).

    Returns:
        A new [`EditorSession`][condgan_blocks.editor.EditorSession].

    Raises:
        RunConfigError: ``run`` is not a run folder, its encoder has no bank yet, or it
            trains image to image (there are no label maps to edit).
        IndexError: ``index`` is outside the split.

    Examples:
        >>> session_for_run("runs/none")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        condgan_blocks.training.run_config.RunConfigError: runs/none is not a run folder: ...
    """
    config, training = load_run(run, device=device)
    if training.config.image_input:
        raise RunConfigError(f"edit paints label maps; {run} trains image to image (num_classes=0)")
    dataset = dataset_from_settings(config["data"], split)
    if not 0 <= index < len(dataset):
        raise IndexError(f"index {index} is outside the {len(dataset)} samples of split {split!r}")
    sample = dataset[index]
    labels, instances = sample["label"], sample.get("instance", sample["label"])
    synthesizer = Synthesizer.from_training(training, bank=load_run_bank(run, training))
    classes = editor_classes(config["data"], training.config.num_classes)
    return EditorSession(labels, instances, classes=classes, generate=synthesizer)
