"""A tiny editor session for tests: a synthetic scene, a random 3x3 generator, random styles."""

from __future__ import annotations

import torch

from condgan_blocks.data import SYNTHETIC_CLASSES, SyntheticScenes
from condgan_blocks.editor import EditorClass, EditorSession
from condgan_blocks.synthesis import generator_input_from_labels

CLASSES = [EditorClass(c.id, c.name, c.is_thing, c.color) for c in SYNTHETIC_CLASSES]
NUM_STYLES = 3
CAR, PERSON, ROAD, SKY = 5, 6, 3, 0


def scene(size=(32, 64)):
    """The first validation scene of this size holding a car: (labels, instances)."""
    dataset = SyntheticScenes(20, size=size, split="val")
    for index in range(len(dataset)):
        sample = dataset[index]
        if (sample["label"] == CAR).any():
            return sample["label"], sample["instance"]
    raise AssertionError("no scene with a car")


def tiny_generate(num_classes=7, calls=None):
    """A random (seeded) one-layer generator over one-hot labels, boundaries and styles."""
    generator = torch.Generator().manual_seed(0)
    centers = torch.randn(num_classes, NUM_STYLES, 3, generator=generator) * 2
    conv = torch.nn.Conv2d(num_classes + 1 + 3, 3, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator))

    @torch.no_grad()
    def generate(labels, instances, choices):
        if calls is not None:
            calls.append(dict(choices))
        features = torch.zeros(1, 3, *labels.shape[-2:])
        for instance_id, cluster in choices.items():
            mask = instances[0, 0] == instance_id
            class_id = int(labels[0, 0][mask][0])
            features[0][:, mask] = centers[class_id, cluster][:, None]
        x = generator_input_from_labels(labels, num_classes, instances=instances, features=features)
        return torch.tanh(conv(x))[0]

    return generate


def make_session(size=(32, 64), **kwargs):
    labels, instances = scene(size)
    options = {"num_styles": dict.fromkeys(range(len(CLASSES)), NUM_STYLES), **kwargs}
    return EditorSession(labels, instances, classes=CLASSES, generate=tiny_generate(), **options)


def car_of(session):
    """The id and centre (x, y) of the largest car."""
    instances, labels = session.instances[0, 0], session.labels[0, 0]
    ids, counts = instances[labels == CAR].unique(return_counts=True)
    car = int(ids[counts.argmax()])
    rows, cols = (instances == car).nonzero(as_tuple=True)
    middle = len(rows) // 2
    order = torch.argsort(rows * 10_000 + cols)
    return car, (int(cols[order[middle]]), int(rows[order[middle]]))
