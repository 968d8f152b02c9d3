"""Tutorial: train pix2pixHD on Cityscapes or on your own dataset, on one or several GPUs.

    # Cityscapes as downloaded (gtFine + leftImg8bit), stage 1 at 1024x512, one GPU:
    python examples/tutorial_train_cityscapes.py --dataroot datasets/cityscapes \\
        --output runs/city_global
    # the same on 4 GPUs of one machine (each process reads a quarter of every epoch):
    torchrun --nproc_per_node=4 examples/tutorial_train_cityscapes.py \\
        --dataroot datasets/cityscapes --output runs/city_global
    # the original pix2pixHD folders (train_label, train_inst, train_img):
    python examples/tutorial_train_cityscapes.py --layout pix2pixhd --dataroot datasets/mine \\
        --label-nc 35 --output runs/mine
    # your own layout: <dataroot>/labels/<name>.png, <dataroot>/images/<name>.png and,
    # optionally, <dataroot>/instances/<name>.png (see FolderPairs below):
    python examples/tutorial_train_cityscapes.py --layout folders --dataroot datasets/own \\
        --label-nc 20 --output runs/own
    # a few seconds on a CPU, for trying it out: --tiny

Without ``--tiny`` the networks, losses and schedule are the paper's stage 1 (G1 with 64
channels, 2 discriminator scales, LSGAN + feature matching + VGG with lambda 10, Adam 2e-4,
100 + 100 epochs); the VGG loss downloads torchvision's VGG19 weights once. Stop it at any time
(Ctrl-C saves ``latest.pt``) and run the same command to continue exactly where it stopped.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from condgan_blocks.data import (
    CityscapesDataset,
    Compose,
    PairedFolderDataset,
    RandomHorizontalFlip,
    ScaleWidth,
)
from condgan_blocks.training import (
    DiscriminatorConfig,
    GeneratorConfig,
    LossConfig,
    TrainingConfig,
    build_training,
    init_distributed,
    latest_checkpoint,
)


class FolderPairs(Dataset):
    """Your own layout: ``labels/<name>.png`` (class ids), ``images/<name>.png`` (RGB), and
    optionally ``instances/<name>.png`` (instance ids). Any Dataset works if it returns the same
    dict: ``label`` int64 (1, H, W), ``image`` float32 (3, H, W) in [-1, 1], ``instance`` int64
    (1, H, W) when instance maps are used, and ``path``."""

    def __init__(self, root: Path, transform=None) -> None:
        self.root, self.transform = Path(root), transform
        self.names = sorted(p.stem for p in (self.root / "labels").glob("*.png"))
        if not self.names:
            raise FileNotFoundError(f"no labels/*.png under {self.root}")
        self.with_instances = (self.root / "instances").is_dir()

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> dict[str, Any]:
        from PIL import Image

        name = self.names[index]

        def read(folder: str) -> np.ndarray:
            with Image.open(self.root / folder / f"{name}.png") as file:
                return np.array(file.convert("RGB") if folder == "images" else file)

        image = torch.from_numpy(read("images")).permute(2, 0, 1).float() / 127.5 - 1
        sample = {
            "label": torch.from_numpy(read("labels").astype(np.int64))[None],
            "image": image,
            "path": str(self.root / "labels" / f"{name}.png"),
        }
        if self.with_instances:
            sample["instance"] = torch.from_numpy(read("instances").astype(np.int64))[None]
        return self.transform(sample) if self.transform else sample


def make_dataset(args: argparse.Namespace) -> Dataset:
    # pix2pixHD's --resize_or_crop scale_width --loadSize <width>, and random flips.
    transform = Compose([ScaleWidth(args.width), RandomHorizontalFlip()])
    if args.layout == "cityscapes":
        return CityscapesDataset(args.dataroot, "train", transform=transform)
    if args.layout == "pix2pixhd":
        return PairedFolderDataset(
            args.dataroot, "train", label_nc=args.label_nc, transform=transform
        )
    return FolderPairs(args.dataroot, transform=transform)


def make_config(args: argparse.Namespace, use_instances: bool) -> TrainingConfig:
    device = "cuda" if torch.cuda.is_available() else "cpu"  # under torchrun: this rank's GPU
    if args.tiny:
        return TrainingConfig(
            num_classes=args.label_nc,
            use_instances=use_instances,
            generator=GeneratorConfig(base_channels=4, num_downsamples=2, num_blocks=1),
            discriminator=DiscriminatorConfig(base_channels=4, num_scales=2, num_layers=2),
            losses=LossConfig(vgg_weight=0.0),
            epochs=args.epochs,
            decay_epochs=0,
            device=device,
            output_dir=str(args.output),
            log_every_steps=1,
        )
    return TrainingConfig(  # the paper's stage 1; every field has the paper's default
        num_classes=args.label_nc,
        use_instances=use_instances,
        epochs=args.epochs,
        decay_epochs=args.epochs,
        batch_size=args.batch_size,
        precision=args.precision,
        device=device,
        output_dir=str(args.output),
    )


def main(argv: list[str] | None = None) -> Path | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataroot", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True, help="run folder (checkpoints)")
    parser.add_argument("--layout", choices=("cityscapes", "pix2pixhd", "folders"))
    parser.add_argument("--label-nc", type=int, default=35, help="label classes (Cityscapes: 35)")
    parser.add_argument("--width", type=int, default=1024, help="images are scaled to this width")
    parser.add_argument("--epochs", type=int, default=100, help="epochs at constant lr (niter)")
    parser.add_argument("--batch-size", type=int, default=1, help="per process")
    parser.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32")
    parser.add_argument("--validate", action="store_true", help="check every file first")
    parser.add_argument("--tiny", action="store_true", help="tiny networks, no VGG, 1 epoch")
    parser.set_defaults(layout="cityscapes")
    args = parser.parse_args(argv)
    if args.tiny:
        args.width, args.epochs = min(args.width, 64), 1

    context = init_distributed()  # a no-op without torchrun
    dataset = make_dataset(args)
    if args.validate and context.is_main and hasattr(dataset, "validate"):
        print(dataset.validate())  # decodes every file once; raises listing every problem
    if context.is_main:
        print(f"{len(dataset)} samples, {context.world_size} process(es)")
    use_instances = "instance" in dataset[0]
    config = make_config(args, use_instances)
    resume = latest_checkpoint(args.output) if args.output.is_dir() else None
    training = build_training(config, resume=resume)  # continues a stopped run
    result = training.fit(dataset)
    if context.is_main:
        print(f"finished {result.epoch} epochs, {result.global_step} steps: {result.checkpoint}")
    return result.checkpoint


if __name__ == "__main__":
    main()
