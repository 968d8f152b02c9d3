"""Scenes the recipe never saw, through the pix2pixHD folder layout, scored by an independent
segmenter: writes synthetic scenes of another seed as ``<phase>_label`` / ``_inst`` / ``_img``
PNGs and trains a wider, deeper segmenter than the recipe's on the real training images,
saved as TorchScript for ``evaluate --segmenter``.

    python benchmarks/folder_route.py datasets/synthetic_seed3 --seed 3
    python examples/pix2pixhd.py train --config benchmarks/results/folder_route/ours.json \\
        --output runs/folder_ours
    python examples/pix2pixhd.py encode-features --run runs/folder_ours
    python examples/pix2pixhd.py evaluate --run runs/folder_ours \\
        --segmenter datasets/synthetic_seed3/independent_segmenter.pt

and the same with ``original.json`` (the original's networks and losses at the demo's sizes).
See docs/quality.md, "Against the original networks".
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from condgan_blocks.data import SyntheticScenes
from condgan_blocks.evaluation import SegmentationNet, train_segmenter


def write_folders(root: Path, seed: int, size: tuple[int, int], counts: dict[str, int]) -> None:
    for phase, split in (("train", "train"), ("test", "val")):
        scenes = SyntheticScenes(counts[phase], size=size, seed=seed, split=split)
        for sub in ("label", "inst", "img"):
            (root / f"{phase}_{sub}").mkdir(parents=True, exist_ok=True)
        for index in range(len(scenes)):
            sample, name = scenes[index], f"{index:06d}.png"
            label = sample["label"][0].numpy().astype(np.uint8)
            instance = sample["instance"][0].numpy().astype(np.uint16)  # 16-bit ids
            image = (sample["image"].permute(1, 2, 0).numpy() + 1) * 127.5
            Image.fromarray(label).save(root / f"{phase}_label" / name)
            Image.fromarray(instance).save(root / f"{phase}_inst" / name)
            Image.fromarray(image.round().clip(0, 255).astype(np.uint8)).save(
                root / f"{phase}_img" / name
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--size", type=int, nargs=2, default=[64, 128])
    parser.add_argument("--num-train", type=int, default=400)
    parser.add_argument("--num-test", type=int, default=48)
    parser.add_argument("--segmenter-epochs", type=int, default=16)
    args = parser.parse_args()
    size = tuple(args.size)
    write_folders(args.root, args.seed, size, {"train": args.num_train, "test": args.num_test})
    train = SyntheticScenes(args.num_train, size=size, seed=args.seed, cache=True)
    torch.manual_seed(1)
    net = SegmentationNet(3, SyntheticScenes.num_classes, base_channels=32, num_downsamples=3)
    train_segmenter(net, train, epochs=args.segmenter_epochs, seed=1, channels_last=True)
    path = args.root / "independent_segmenter.pt"
    torch.jit.script(net.eval()).save(str(path))
    print(f"wrote {args.root}/{{train,test}}_{{label,inst,img}} and {path}")


if __name__ == "__main__":
    main()
