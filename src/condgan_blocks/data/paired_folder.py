"""The original pix2pixHD folders: ``<phase>_label`` / ``_inst`` / ``_img``, or ``_A`` / ``_B``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._checks import check_bool, check_optional_bool, check_positive_int
from ._file_dataset import (
    ARRAY_EXTENSIONS,
    IMAGE_EXTENSIONS,
    FileDataset,
    missing_folder_error,
    pair_records,
)
from .validation import DatasetError

# Stripped from file stems before pairing, so the Cityscapes-named files of pix2pixHD's
# datasets/cityscapes folder (..._gtFine_labelIds.png next to ..._leftImg8bit.png) pair up.
PAIRING_SUFFIXES = (
    "_gtFine_instanceIds",
    "_gtFine_labelIds",
    "_instanceIds",
    "_labelIds",
    "_leftImg8bit",
)


def sample_key(path: Path, folder: Path) -> str:
    """The name a file is paired by: its path under ``folder`` without extension or known suffix.

    Examples:
        >>> sample_key(Path("d/train_img/a/x_leftImg8bit.png"), Path("d/train_img"))
        'a/x'
    """
    stem = path.relative_to(folder).with_suffix("").as_posix()
    for suffix in PAIRING_SUFFIXES:
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def _layout(root: Path, phase: str, image_to_image: bool) -> str:
    if image_to_image:
        return "\n".join(
            [
                f"  {root}/{phase}_A/<name>.<png|jpg|...|npy>   inputs, any channel count",
                f"  {root}/{phase}_inst/<name>.png              instance ids (optional), 8- or "
                "16-bit",
                f"  {root}/{phase}_B/<name>.<png|jpg|...|npy>   targets, any channel count",
            ]
        )
    return "\n".join(
        [
            f"  {root}/{phase}_label/<name>.png          label ids, 8- or 16-bit single channel",
            f"  {root}/{phase}_inst/<name>.png           instance ids (optional), 8- or 16-bit",
            f"  {root}/{phase}_img/<name>.<png|jpg|...>  images",
            "  (files pair by <name>, in subfolders too; suffixes such as _gtFine_labelIds and "
            "_leftImg8bit are ignored)",
        ]
    )


class PairedFolderDataset(FileDataset):
    """Folders in the layout of the original pix2pixHD code.

    With ``label_nc > 0`` it reads label maps from ``<root>/<phase>_label``, instance maps
    from ``<root>/<phase>_inst`` and images from ``<root>/<phase>_img``. With ``label_nc=0``
    (the original ``--label_nc 0``) it reads image-to-image pairs from ``<phase>_A`` (inputs)
    and ``<phase>_B`` (targets), keeping their channels: grayscale stays one channel, RGBA four,
    and ``.npy`` arrays of shape (H, W, C) may have any C; instance maps from ``<phase>_inst``
    too, as in the original, when that folder exists. Train on these pairs with
    [`TrainingConfig`][condgan_blocks.training.TrainingConfig] ``num_classes=0`` and
    ``input_channels`` C_A.

    Unlike the original, which zipped two sorted lists, files are paired by name (their path
    under the folder, without extension and without the suffixes in
    `PAIRING_SUFFIXES`), and every file without a partner is reported at once.

    Args:
        root: The folder that holds the ``<phase>_*`` folders.
        phase: "train", "test", ... (the folder prefix).
        label_nc: Number of label classes (the original's ``--label_nc``); ids must be below
            it. 0 selects the ``_A``/``_B`` image-to-image layout.
        load_instances: Read ``<phase>_inst``: None reads it when the folder exists, True
            requires it, False ignores it (with either layout).
        load_images: Read the images (``_img`` or ``_B``); False for inference on labels only.
        transform: Optional callable applied to each sample dict.

    Each sample is a dict: ``label`` int64 (1, H, W) when ``label_nc > 0``, or ``input``
    float32 (C_A, H, W) in [-1, 1] when ``label_nc=0``; ``instance`` int64 (1, H, W) when
    instance maps are read;
    ``image`` float32 (C, H, W) in [-1, 1] when ``load_images``; and ``path``, the label (or
    input) file.

    Raises:
        FileNotFoundError: If ``root`` or a needed folder is missing, or the first folder holds
            no file (the message prints the expected layout).
        DatasetError: If files do not pair up (every unpaired or duplicated file is listed).

    Shape:
        - label: (1, H, W), int64 (``label_nc > 0``)
        - instance: (1, H, W), int64 (when read)
        - input: (C_A, H, W), float32 in [-1, 1] (``label_nc=0``)
        - image: (C, H, W), float32 in [-1, 1]

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> import numpy as np
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "train_label").mkdir()
        >>> (root / "train_img").mkdir()
        >>> label = np.eye(4, 6, dtype=np.uint8)  # ids 0 and 1
        >>> Image.fromarray(label).save(root / "train_label" / "a.png")
        >>> rgb = np.zeros((4, 6, 3), dtype=np.uint8)
        >>> Image.fromarray(rgb).save(root / "train_img" / "a.png")
        >>> dataset = PairedFolderDataset(root, "train", label_nc=2)
        >>> sample = dataset[0]
        >>> sorted(sample)
        ['image', 'label', 'path']
        >>> sample["label"].shape, sample["label"].dtype, sample["image"].shape
        (torch.Size([1, 4, 6]), torch.int64, torch.Size([3, 4, 6]))
        >>> try:
        ...     PairedFolderDataset(root, "test", label_nc=2)
        ... except FileNotFoundError as error:
        ...     print("test_label" in str(error))
        True
        >>> import shutil
        >>> shutil.rmtree(root)
    """

    def __init__(
        self,
        root: str | Path,
        phase: str = "train",
        *,
        label_nc: int,
        load_instances: bool | None = None,
        load_images: bool = True,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.root, self.phase = Path(root), phase
        check_positive_int("label_nc", label_nc, minimum=0)
        check_optional_bool("load_instances", load_instances)
        check_bool("load_images", load_images)
        image_to_image = label_nc == 0
        layout = _layout(self.root, phase, image_to_image)
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"pix2pixHD dataset root {self.root} does not exist\nexpected layout:\n{layout}"
            )
        if image_to_image:
            roles = {"input": "A", "instance": "inst", "image": "B"}
        else:
            roles = {"label": "label", "instance": "inst", "image": "img"}
        inst_dir = self.root / f"{phase}_inst"
        if load_instances is False or (load_instances is None and not inst_dir.is_dir()):
            del roles["instance"]
        if not load_images:
            del roles["image"]
        folders = {}
        for role, suffix in roles.items():
            folder = self.root / f"{phase}_{suffix}"
            if not folder.is_dir():
                raise missing_folder_error(
                    f"pix2pixHD dataset, phase {phase!r}", folder, layout, self.root
                )
            folders[role] = self._listing(role, folder)
        primary = next(iter(roles))
        records, problems = pair_records(folders, primary=primary)
        if problems:
            raise DatasetError(problems, repr(self))
        if not records:
            raise FileNotFoundError(
                f"{self!r}: no image files in {folders[primary][0]}\nexpected layout:\n{layout}"
            )
        super().__init__(records, num_classes=label_nc, transform=transform)

    @staticmethod
    def _listing(role: str, folder: Path):
        extensions = IMAGE_EXTENSIONS
        if role in ("input", "image"):
            extensions += ARRAY_EXTENSIONS
        files = [p for p in folder.rglob("*") if p.suffix.lower() in extensions and p.is_file()]
        shown = ", ".join(extensions)
        return (
            folder,
            files,
            lambda path: sample_key(path, folder),
            lambda key: f"a file {key}.<ext> in {folder} (<ext> one of {shown})",
        )

    def __repr__(self) -> str:
        return f"PairedFolderDataset(root={str(self.root)!r}, phase={self.phase!r})"
