"""Save one built-in synthetic street scene as three PNGs: colour-coded labels, instance
boundaries and the rendered image.

    python examples/render_synthetic_sample.py [--index 0] [--seed 0] [--size 256x512]
                                               [--out docs/assets]

Writes ``synthetic_label.png``, ``synthetic_boundary.png`` and ``synthetic_image.png`` under
``--out`` and prints how long the sample took to generate. Needs Pillow
(``pip install "condgan-blocks[recipe]"``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from condgan_blocks.data import SyntheticScenes


def boundary(instance: torch.Tensor) -> torch.Tensor:
    """1 where a pixel's instance id differs from one of its 4 neighbours, else 0; (H, W)."""
    edge = torch.zeros_like(instance, dtype=torch.bool)
    horizontal = instance[:, 1:] != instance[:, :-1]
    vertical = instance[1:, :] != instance[:-1, :]
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    return edge.to(torch.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", default="256x512", help="HEIGHTxWIDTH")
    parser.add_argument("--out", type=Path, default=Path("docs/assets"))
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))

    scenes = SyntheticScenes(args.index + 1, size=(height, width), seed=args.seed)
    scenes.generate(args.index)  # warm up (imports, caches)
    start = time.perf_counter()
    sample = scenes.generate(args.index)
    seconds = time.perf_counter() - start

    label = SyntheticScenes.colorize(sample["label"]).permute(1, 2, 0).numpy()
    edges = boundary(sample["instance"][0]).numpy() * 255
    image = ((sample["image"].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, array in (("label", label), ("boundary", edges), ("image", image)):
        path = args.out / f"synthetic_{name}.png"
        Image.fromarray(array).save(path)
        print(f"wrote {path}")
    instances = sample["instance"].unique()
    print(
        f"{sample['path']}: {height}x{width}, {int((instances >= 1000).sum())} thing instances, "
        f"generated in {seconds * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
