"""Tutorial: the instance feature bank and semantic editing, with before and after images.

    python examples/tutorial_editing.py --output runs/editing [--steps 300] [--size 64]

1. Train a pix2pixHD with the instance feature encoder E on the synthetic street scenes
   (whose cars come in six body colours, ``condgan_blocks.data.CAR_COLORS``).
2. Encode the training images, record one feature vector per instance in a ``FeatureBank`` and
   cluster every class with K-means: each centre is a "style".
3. Edit one scene and generate it again: give a car each of the car styles, relabel the car as
   a person, paint a new car on the road, remove the car.

Writes, under ``--output``: ``bank.npz`` (the bank, safe npz format) and for every edit
``<edit>_before.png`` and ``<edit>_after.png``, each the colour-coded label map above the
generated image. The defaults take seconds and the images are still noise; train longer
(``--steps 2000 --size 128``) to see the styles apart.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from condgan_blocks import FeatureBank, Synthesizer
from condgan_blocks.data import SYNTHETIC_CLASSES, SyntheticScenes, collate
from condgan_blocks.editing import paint_instance, relabel_instance, remove_instance
from condgan_blocks.training import (
    DiscriminatorConfig,
    EncoderConfig,
    GeneratorConfig,
    LossConfig,
    TrainingConfig,
    build_training,
)

CLASS = {c.name: c.id for c in SYNTHETIC_CLASSES}  # sky 0 ... car 5, person 6


def save_pair(labels: torch.Tensor, image: torch.Tensor, path: Path) -> None:
    """Write the colour-coded (1, H, W) label map above the (3, H, W) image as one PNG."""
    label_rgb = SyntheticScenes.colorize(labels).permute(1, 2, 0).numpy()
    rgb = ((image.detach().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(np.ascontiguousarray(np.concatenate([label_rgb, rgb], axis=0))).save(path)


def main(argv: list[str] | None = None) -> dict[str, Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=2, help="training steps of G, D and E")
    parser.add_argument("--size", type=int, default=32, help="height; the width is twice that")
    parser.add_argument("--scenes", type=int, default=8, help="scenes to train on and encode")
    parser.add_argument("--clusters", type=int, default=6, help="K, styles per class")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    size = (args.size, 2 * args.size)
    scenes = SyntheticScenes(args.scenes, size=size, seed=3)

    # 1. pix2pixHD with the encoder E (instance_feat in the original): G sees (labels, E(image)).
    config = TrainingConfig(
        num_classes=scenes.num_classes,
        generator=GeneratorConfig(base_channels=8, num_downsamples=2, num_blocks=2),
        discriminator=DiscriminatorConfig(base_channels=8, num_scales=2, num_layers=2),
        encoder=EncoderConfig(feature_channels=3, base_channels=4, num_downsamples=2),
        losses=LossConfig(vgg_weight=0.0),
        log_every_steps=0,
    )
    training = build_training(config)
    for step in range(args.steps):
        losses = training.step(collate([scenes[step % len(scenes)]]))
        print(f"step {step + 1}: g_total {losses['g_total']:.3f}  d_total {losses['d_total']:.3f}")

    # 2. The feature bank: one vector per instance, K-means per class. The Synthesizer is the
    # one inference path (E and G in eval mode, any image size, the training's condition).
    bank = FeatureBank(config.encoder.feature_channels)
    for index in range(len(scenes)):
        batch = collate([scenes[index]])
        features = Synthesizer.from_training(training).encode(batch["image"], batch["instance"])
        bank.add(features, batch["instance"], batch["label"])  # features: constant per instance
    bank.fit(n_clusters=args.clusters, min_area=1 / 256)
    bank.save(args.output / "bank.npz")
    print(f"{bank.num_instances} instances; centres per class:", end=" ")
    print({label: len(centres) for label, centres in bank.centers.items()})

    # 3. Edits on one scene: the largest car is the object we play with.
    sample = collate([scenes[0]])
    labels, instances = sample["label"], sample["instance"]
    ids, counts = instances.unique(return_counts=True)
    cars = (ids // 1000) == CLASS["car"]
    car = int(ids[cars][counts[cars].argmax()])
    car_styles = len(bank.centers.get(CLASS["car"], []))
    print(f"editing car {car} ({int(counts[cars].max())} pixels); {car_styles} car styles")
    seed = torch.Generator().manual_seed(0)
    styles = bank.sample(instances, labels, generator=seed)  # one random style per object

    synthesizer = Synthesizer.from_training(training, bank=bank)

    def generate(labels, instances, features):  # explicit features: the styles composed here
        return synthesizer(labels, instances, features=features)[0]

    before = generate(labels, instances, styles)
    written = {}

    def save(name, new_labels, new_instances, features):
        save_pair(labels[0], before, args.output / f"{name}_before.png")
        after = generate(new_labels, new_instances, features)
        save_pair(new_labels[0], after, args.output / f"{name}_after.png")
        written[name] = args.output / f"{name}_after.png"

    # Change the car's style: same maps, another centre of the car class for that one instance.
    for k in range(car_styles):
        chosen = bank.feature_map(instances, {car: k}, labels, generator=torch.Generator())
        # Keep every other object's style as in "before": only the car's pixels change.
        features = torch.where(instances == car, chosen, styles)
        save(f"car_style_{k}", labels, instances, features)

    # Relabel: the car becomes a person (a new id of the person class, Cityscapes-style).
    new_labels, new_instances = relabel_instance(
        labels, instances, car, CLASS["person"], class_divisor=1000
    )
    save("relabel", new_labels, new_instances, bank.sample(new_instances, new_labels))

    # Add an object: paint a car-shaped box on the road as a new car instance, style 0.
    height, width = labels.shape[-2:]
    box = torch.zeros(height, width, dtype=torch.bool)
    box[height * 3 // 4 : height - 1, width // 8 : width // 8 + width // 5] = True
    new_labels, new_instances, new_car = paint_instance(
        labels, instances, box, CLASS["car"], class_divisor=1000
    )
    features = torch.where(box, bank.feature_map(new_instances, {new_car: 0}, new_labels), styles)
    save("add", new_labels, new_instances, features)

    # Remove: the car's pixels become road (a "stuff" region, id = class).
    new_labels, new_instances = remove_instance(labels, instances, car, CLASS["road"])
    road_style = bank.sample(new_instances, new_labels, generator=torch.Generator())
    save("remove", new_labels, new_instances, torch.where(instances == car, road_style, styles))
    print(f"wrote {', '.join(sorted(written))} (before and after) to {args.output}")
    return written


if __name__ == "__main__":
    main()
