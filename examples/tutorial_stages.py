"""Tutorial: grow a trained G1 into G1 + enhancers and train in stages, as the paper does.

    python examples/tutorial_stages.py --output runs/stages [--samples 4] [--size 32]

Stage 1 trains the global generator G1 alone at half resolution. Stage 2 grows the stage-1
checkpoint into a ``LocalEnhancer`` (G1 + one enhancer G2, G1's weights kept), trains only the
new enhancer for ``freeze_global_epochs`` epochs, then everything together. The script writes
both runs' checkpoints (``global/`` and ``local/``) and ``stage1.png``, ``stage2.png`` (the
two generators on the same label map) and ``real.png`` under ``--output``. The first part does
the same growth by hand with ``LocalEnhancer.from_global`` and ``stage_parameters``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from condgan_blocks import GlobalGenerator, LocalEnhancer
from condgan_blocks.data import SyntheticScenes, collate
from condgan_blocks.training import (
    DiscriminatorConfig,
    GeneratorConfig,
    LossConfig,
    TrainingConfig,
    build_training,
)


def save_png(image: torch.Tensor, path: Path) -> None:
    """Write a (3, H, W) image in [-1, 1] as an 8-bit PNG."""
    array = ((image.detach().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(np.ascontiguousarray(array)).save(path)


def grow_by_hand() -> None:
    """The blocks behind stage 2: keep G1's weights, add an enhancer, choose what to train."""
    g1 = GlobalGenerator(8, base_channels=8, num_downsamples=2, num_blocks=1)  # trained in stage 1
    g = LocalEnhancer.from_global(g1, num_enhancers=1, num_blocks_local=1)  # width 8 // 2 = 4
    kept = g.global_generator.state_dict()  # G1 without its head lives inside G
    same = all(torch.equal(kept[k], v) for k, v in g1.state_dict().items() if k in kept)
    print(f"by hand: G1's weights kept in the LocalEnhancer: {same}")
    finest = torch.optim.Adam(g.stage_parameters("finest"), lr=2e-4, betas=(0.5, 0.999))
    everything = torch.optim.Adam(g.stage_parameters("all"), lr=2e-4, betas=(0.5, 0.999))
    frozen = sum(p.numel() for p in g.parameters()) - sum(
        p.numel() for group in finest.param_groups for p in group["params"]
    )
    print(
        f"by hand: G1 + 1 enhancer; {frozen:,} of "
        f"{sum(p.numel() for group in everything.param_groups for p in group['params']):,} "
        "parameters frozen while only the enhancer trains"
    )
    print(f"by hand: (1, 8, 32, 64) -> {tuple(g(torch.randn(1, 8, 32, 64)).shape)}")


def main(argv: list[str] | None = None) -> dict[str, Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=2, help="training scenes per epoch")
    parser.add_argument("--size", type=int, default=32, help="stage-2 height; width is twice it")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per stage at constant lr")
    parser.add_argument("--width", type=int, default=8, help="base channels of G1")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    grow_by_hand()

    full = (args.size, 2 * args.size)
    half = (args.size // 2, args.size)
    common = {
        "num_classes": SyntheticScenes.num_classes,
        "generator": GeneratorConfig(
            base_channels=args.width, num_downsamples=2, num_blocks=2, num_blocks_local=1
        ),
        "losses": LossConfig(vgg_weight=0.0),  # the paper adds vgg_weight=10 (VGG19 weights)
        "epochs": args.epochs,
        "decay_epochs": args.epochs,
        "log_every_steps": 1,
    }
    # Stage 1: G1 alone, at half resolution, with 2 discriminator scales.
    stage1 = TrainingConfig(
        **common,
        discriminator=DiscriminatorConfig(base_channels=args.width, num_scales=2, num_layers=2),
        output_dir=str(args.output / "global"),
    )
    training = build_training(stage1)
    training.fit(SyntheticScenes(args.samples, size=half, seed=1))
    print(f"stage 1 done: {training.last_checkpoint}")

    # Stage 2: G1 + enhancer at full resolution, 3 scales; G1 frozen for the first epoch(s).
    stage2 = TrainingConfig(
        **common,
        stage="local",
        global_checkpoint=str(args.output / "global"),
        freeze_global_epochs=args.epochs,
        discriminator=DiscriminatorConfig(base_channels=args.width, num_scales=3, num_layers=2),
        output_dir=str(args.output / "local"),
    )
    local = build_training(stage2)
    local.fit(SyntheticScenes(args.samples, size=full, seed=1))
    print(f"stage 2 done: {local.last_checkpoint}")

    batch = collate([SyntheticScenes(1, size=full, seed=2)[0]])
    save_png(batch["image"][0], args.output / "real.png")
    # Stage 1 generates at half resolution: every second pixel of the same maps.
    half_batch = {key: batch[key][..., ::2, ::2] for key in ("label", "instance", "image")}
    save_png(training.generate(half_batch)[0], args.output / "stage1.png")
    save_png(local.generate(batch)[0], args.output / "stage2.png")
    print(f"wrote real.png, stage1.png and stage2.png to {args.output}")
    return {"global": training.last_checkpoint, "local": local.last_checkpoint}


if __name__ == "__main__":
    main()
