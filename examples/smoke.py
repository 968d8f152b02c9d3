"""A short smoke run of the blocks: a tiny pix2pixHD trained for a few steps on random data.

    python examples/smoke.py [--steps 5] [--seed 0]

It composes the public blocks the way the reference recipe does (label one-hot + instance
boundaries -> generator; multi-scale discriminator; LSGAN + feature matching) and prints the
losses of each step. Seeded runs print the same numbers.
"""

from __future__ import annotations

import argparse
import time

import torch

from condgan_blocks import (
    FeatureMatchingLoss,
    GANLoss,
    LocalEnhancer,
    MultiscaleDiscriminator,
    init_weights,
    instance_boundary,
    one_hot_labels,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=64, help="image height; width is twice that")
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    num_classes, height, width = 8, args.size, 2 * args.size
    labels = torch.randint(0, num_classes, (1, 1, height // 8, width // 8))
    labels = labels.repeat_interleave(8, dim=2).repeat_interleave(8, dim=3)
    instances = labels * 1000 + (torch.arange(width) >= width // 2)  # two instances per class
    real = torch.rand(1, 3, height, width) * 2 - 1
    condition = torch.cat([one_hot_labels(labels, num_classes), instance_boundary(instances)], 1)

    generator = init_weights(
        LocalEnhancer(
            num_classes + 1, base_channels=8, num_downsamples_global=2, num_blocks_global=2
        )
    )
    discriminator = init_weights(MultiscaleDiscriminator(num_classes + 1 + 3, base_channels=16))
    gan_loss, feature_matching = GANLoss("lsgan"), FeatureMatchingLoss(weight=10.0)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))

    print(
        f"generator {sum(p.numel() for p in generator.parameters()):,} parameters, "
        f"discriminator {sum(p.numel() for p in discriminator.parameters()):,}"
    )
    for step in range(1, args.steps + 1):
        start = time.perf_counter()
        fake = generator(condition)
        pred_fake = discriminator(torch.cat([condition, fake.detach()], 1))
        pred_real = discriminator(torch.cat([condition, real], 1))
        loss_d = 0.5 * (gan_loss(pred_fake, False) + gan_loss(pred_real, True))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        pred_fake = discriminator(torch.cat([condition, fake], 1))
        loss_g_gan = gan_loss(pred_fake, True, for_discriminator=False)
        loss_g_fm = feature_matching(pred_fake, pred_real)
        opt_g.zero_grad(set_to_none=True)
        (loss_g_gan + loss_g_fm).backward()
        opt_g.step()
        print(
            f"step {step}: D {loss_d.item():.4f}  G_GAN {loss_g_gan.item():.4f}  "
            f"G_FM {loss_g_fm.item():.4f}  ({time.perf_counter() - start:.2f} s)"
        )
    print(f"output {tuple(fake.shape)} in [{fake.min().item():.3f}, {fake.max().item():.3f}]")


if __name__ == "__main__":
    main()
