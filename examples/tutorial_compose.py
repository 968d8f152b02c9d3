"""Tutorial: compose your own pix2pixHD from the blocks, in about 50 lines, and train it.

    python examples/tutorial_compose.py --output runs/compose [--steps 200] [--size 64]

Trains G1 + one local enhancer against a 2-scale discriminator with the LSGAN and
feature-matching losses on the built-in synthetic street scenes, then writes ``label.png``,
``real.png``, ``before.png`` (the untrained generator) and ``after.png`` under ``--output``.
The defaults finish in seconds on a CPU; ``--steps 2000 --size 128`` starts to look like streets.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from condgan_blocks import (
    FeatureMatchingLoss,
    GANLoss,
    LocalEnhancer,
    MultiscaleDiscriminator,
    Synthesizer,
    init_weights,
    instance_boundary,
    one_hot_labels,
)
from condgan_blocks.data import SyntheticScenes, collate


def save_png(image: torch.Tensor, path: Path) -> None:
    """Write a (3, H, W) image in [-1, 1] as an 8-bit PNG."""
    array = ((image.detach().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(np.ascontiguousarray(array)).save(path)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True, help="folder for the PNGs")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--size", type=int, default=32, help="image height; width is twice that")
    parser.add_argument("--width", type=int, default=8, help="base channels of the networks")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    args.output.mkdir(parents=True, exist_ok=True)
    scenes = SyntheticScenes(16, size=(args.size, 2 * args.size), seed=args.seed)
    num_classes = scenes.num_classes

    # --- the model: 50 lines from here to the end of the loop ----------------------------------
    def condition(batch):  # one-hot labels + instance boundaries, as in the paper
        labels, instances = batch["label"], batch["instance"]
        return torch.cat([one_hot_labels(labels, num_classes), instance_boundary(instances)], 1)

    in_channels = num_classes + 1
    generator = LocalEnhancer(  # G1 + one enhancer G2
        in_channels,
        base_channels=args.width,
        num_enhancers=1,
        num_blocks_local=1,
        num_downsamples_global=2,
        num_blocks_global=2,
    )
    discriminator = MultiscaleDiscriminator(  # D1, D2 on (label, image) pairs
        in_channels + 3, num_scales=2, base_channels=args.width, num_layers=2
    )
    init_weights(generator), init_weights(discriminator)  # N(0, 0.02)
    gan_loss, feature_matching = GANLoss("lsgan"), FeatureMatchingLoss(weight=10.0)
    # Add VGGPerceptualLoss(10.0, weights="imagenet") to the G loss for the paper's full objective.
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))

    fixed = collate([scenes[0]])
    # Generation: eval mode, no gradients, any size (padded and cropped back), the same input.
    synthesizer = Synthesizer(generator, num_classes)
    before = synthesizer(fixed["label"], fixed["instance"])[0]

    losses = {}
    for step in range(args.steps):
        batch = collate([scenes[(2 * step) % len(scenes)], scenes[(2 * step + 1) % len(scenes)]])
        x, real = condition(batch), batch["image"]
        fake = generator(x)
        # D: real pairs -> 1, fake pairs -> 0 (fakes detached: no gradient to G here).
        pred_real = discriminator(torch.cat([x, real], 1))
        pred_fake = discriminator(torch.cat([x, fake.detach()], 1))
        loss_d = 0.5 * (gan_loss(pred_real, True) + gan_loss(pred_fake, False))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # G: fool D, and match D's features of the real pair (real features are detached).
        pred_fake = discriminator(torch.cat([x, fake], 1))
        loss_g_gan = gan_loss(pred_fake, True, for_discriminator=False)
        loss_g_feat = feature_matching(pred_fake, pred_real)
        opt_g.zero_grad(set_to_none=True)
        (loss_g_gan + loss_g_feat).backward()
        opt_g.step()
        losses = {"d": loss_d.item(), "g_gan": loss_g_gan.item(), "g_feat": loss_g_feat.item()}
        print(f"step {step + 1}: " + "  ".join(f"{k} {v:.4f}" for k, v in losses.items()))
    # --- end of the model -----------------------------------------------------------------------

    after = synthesizer(fixed["label"], fixed["instance"])[0]
    label_rgb = SyntheticScenes.colorize(fixed["label"][0]).float() / 127.5 - 1
    for name, image in (("label", label_rgb), ("real", fixed["image"][0])):
        save_png(image, args.output / f"{name}.png")
    save_png(before, args.output / "before.png")
    save_png(after, args.output / "after.png")
    print(f"wrote label.png, real.png, before.png and after.png to {args.output}")
    return losses


if __name__ == "__main__":
    main()
