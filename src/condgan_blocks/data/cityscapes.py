"""Cityscapes read straight from the official download, with no preprocessing step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import Tensor

from .._checks import check_bool, check_positive_int
from ._file_dataset import FileDataset, missing_folder_error, pair_records
from .cityscapes_labels import CITYSCAPES_LABELS, CITYSCAPES_NUM_CLASSES, cityscapes_palette
from .label_colours import colorize
from .validation import DatasetError

LABEL_SUFFIX = "_gtFine_labelIds.png"
INSTANCE_SUFFIX = "_gtFine_instanceIds.png"
IMAGE_SUFFIX = "_leftImg8bit.png"


def _layout(root: Path, split: str) -> str:
    stem = "<city>/<city>_<seq>_<frame>"
    return "\n".join(
        [
            f"  {root}/gtFine/{split}/{stem}{LABEL_SUFFIX}     label ids, 8-bit",
            f"  {root}/gtFine/{split}/{stem}{INSTANCE_SUFFIX}  instance ids, 16-bit",
            f"  {root}/leftImg8bit/{split}/{stem}{IMAGE_SUFFIX}       images, 8-bit RGB",
            "  (gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip unpacked into root)",
        ]
    )


class CityscapesDataset(FileDataset):
    """Cityscapes in its official layout: label ids, instance ids and images, as downloaded.

    Reads ``gtFine/<split>/<city>/<stem>_gtFine_labelIds.png`` (8-bit label ids 0..33),
    ``gtFine/<split>/<city>/<stem>_gtFine_instanceIds.png`` (16-bit; ``id * 1000 + k`` for
    things, the label id for stuff, kept exactly) and
    ``leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png`` (RGB). Samples are sorted by city
    and stem. Nothing is resized; pass a transform such as ``ScaleWidth(1024)`` for that.

    Files are paired when the dataset is built: a label without an image, an image without a
    label and a missing instance map are all reported at once, in one
    [`DatasetError`][condgan_blocks.data.DatasetError].
    [`validate`][condgan_blocks.data.CityscapesDataset.validate] then decodes every file and checks
    ids and sizes.

    Args:
        root: The folder holding ``gtFine`` and ``leftImg8bit``.
        split: "train", "val", "test" or any folder under ``gtFine``.
        num_classes: Label ids must be below this; 35 as in the pix2pixHD recipe.
        load_instances: Read the instance maps (``sample["instance"]``).
        transform: Optional callable applied to each sample dict.

    Each sample is a dict: ``label`` int64 (1, H, W), ``instance`` int64 (1, H, W) (when
    ``load_instances``), ``image`` float32 (3, H, W) in [-1, 1], and ``path``, the label file.

    Raises:
        FileNotFoundError: If ``root`` or a split folder is missing, or holds no label file
            (the message prints the expected layout).
        DatasetError: If files do not pair up (every unpaired file is listed).

    Shape:
        - label: (1, H, W), int64
        - instance: (1, H, W), int64
        - image: (3, H, W), float32 in [-1, 1]

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> import numpy as np
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> gt = root / "gtFine" / "train" / "aachen"
        >>> gt.mkdir(parents=True)
        >>> left = root / "leftImg8bit" / "train" / "aachen"
        >>> left.mkdir(parents=True)
        >>> stem = "aachen_000000_000019"
        >>> label = np.full((4, 8), 7, dtype=np.uint8)  # road (8-bit label ids)
        >>> label[1:3, 2:4] = 26  # one car
        >>> Image.fromarray(label).save(gt / f"{stem}_gtFine_labelIds.png")
        >>> instance = label.astype(np.uint16)  # 16-bit: id * 1000 + k for things
        >>> instance[label == 26] = 26000
        >>> Image.fromarray(instance).save(gt / f"{stem}_gtFine_instanceIds.png")
        >>> rgb = np.zeros((4, 8, 3), dtype=np.uint8)
        >>> Image.fromarray(rgb).save(left / f"{stem}_leftImg8bit.png")
        >>> dataset = CityscapesDataset(root, "train")
        >>> len(dataset)
        1
        >>> sample = dataset[0]
        >>> sample["label"].shape, sample["label"].dtype, sample["image"].shape
        (torch.Size([1, 4, 8]), torch.int64, torch.Size([3, 4, 8]))
        >>> sample["instance"].unique().tolist()
        [7, 26000]
        >>> try:
        ...     CityscapesDataset(root / "missing")
        ... except FileNotFoundError as error:
        ...     print(str(error).splitlines()[0].endswith("does not exist"))
        True
        >>> import shutil
        >>> shutil.rmtree(root)
    """

    label_table = CITYSCAPES_LABELS

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        *,
        num_classes: int = CITYSCAPES_NUM_CLASSES,
        load_instances: bool = True,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.root, self.split = Path(root), split
        check_positive_int("num_classes", num_classes)
        check_bool("load_instances", load_instances)
        layout = _layout(self.root, split)
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"Cityscapes root {self.root} does not exist\nexpected layout:\n{layout}"
            )
        labels_dir = self.root / "gtFine" / split
        images_dir = self.root / "leftImg8bit" / split
        for folder in (labels_dir, images_dir):
            if not folder.is_dir():
                raise missing_folder_error(
                    f"Cityscapes split {split!r}", folder, layout, folder.parent
                )

        def key_of(suffix: str) -> Callable[[Path], str]:
            return lambda path: f"{path.parent.name}/{path.name[: -len(suffix)]}"

        def expected(folder: Path, suffix: str) -> Callable[[str], Path]:
            return lambda key: folder / f"{key}{suffix}"

        folders = {
            "label": (
                labels_dir,
                labels_dir.glob(f"*/*{LABEL_SUFFIX}"),
                key_of(LABEL_SUFFIX),
                expected(labels_dir, LABEL_SUFFIX),
            )
        }
        if load_instances:
            folders["instance"] = (
                labels_dir,
                labels_dir.glob(f"*/*{INSTANCE_SUFFIX}"),
                key_of(INSTANCE_SUFFIX),
                expected(labels_dir, INSTANCE_SUFFIX),
            )
        folders["image"] = (
            images_dir,
            images_dir.glob(f"*/*{IMAGE_SUFFIX}"),
            key_of(IMAGE_SUFFIX),
            expected(images_dir, IMAGE_SUFFIX),
        )
        records, problems = pair_records(folders, primary="label")
        if problems:
            raise DatasetError(problems, repr(self))
        if not records:
            raise FileNotFoundError(
                f"{self!r}: no *{LABEL_SUFFIX} files in the city folders of {labels_dir}\n"
                f"expected layout:\n{layout}"
            )
        super().__init__(records, num_classes=num_classes, transform=transform)

    def __repr__(self) -> str:
        return f"CityscapesDataset(root={str(self.root)!r}, split={self.split!r})"

    def colorize(self, label: Tensor) -> Tensor:
        """Colour a label map with the official Cityscapes colours (uint8, (3, H, W))."""
        return colorize(label, cityscapes_palette(max(self.num_classes, 34)))
