"""The editor generates through the one inference path: its images are the Synthesizer's."""

from __future__ import annotations

import pytest
import torch

from condgan_blocks import FeatureBank, GlobalGenerator, Synthesizer
from condgan_blocks.editor import EditorSession
from condgan_blocks.visualization import to_uint8_image

from .._editor_helpers import CAR, CLASSES, car_of, scene

FEATURES = 2


@pytest.fixture(scope="module")
def synthesizer():
    """A random generator and a bank of three random styles for every class present."""
    torch.manual_seed(0)
    generator = GlobalGenerator(
        len(CLASSES) + 1 + FEATURES, base_channels=4, num_downsamples=2, num_blocks=1
    )
    bank = FeatureBank(FEATURES)
    labels, instances = scene((32, 64))
    for seed in range(3):
        draws = torch.rand(1, FEATURES, 32, 64, generator=torch.Generator().manual_seed(seed))
        bank.add(draws * 2 - 1, instances, labels)
    return Synthesizer(generator, len(CLASSES), bank=bank.fit(3, min_area=0))


def expected_image(synthesizer, session):
    """What the Synthesizer makes of the session's maps and styles, as the editor shows it."""
    image = synthesizer(session.labels, session.instances, session.choices)
    return to_uint8_image(image[0])


def test_editor_images_are_the_synthesizers(synthesizer):
    labels, instances = scene((29, 61))  # an odd size: padded and cropped on both paths
    session = EditorSession(labels, instances, classes=CLASSES, generate=synthesizer)
    assert session.num_styles == synthesizer.num_styles  # taken from the Synthesizer's bank
    populations = synthesizer.bank.populations  # and its random styles' weights
    assert {k: v.tolist() for k, v in session.style_weights.items()} == {
        k: v.float().tolist() for k, v in populations.items()
    }
    assert session.generated().shape == (3, 29, 61)
    assert torch.equal(session.generated(), expected_image(synthesizer, session))
    car, _ = car_of(session)
    before = session.generated().clone()
    other = (session.choices[car] + 1) % synthesizer.num_styles[CAR]
    session.set_style(car, other)
    assert session.choices[car] == other
    assert torch.equal(session.generated(), expected_image(synthesizer, session))
    assert not torch.equal(session.generated(), before)
    session.relabel(car, 6)  # the car becomes a person: a new id, a new style
    assert torch.equal(session.generated(), expected_image(synthesizer, session))


def test_thumbnails_crop_the_synthesizers_image(synthesizer):
    labels, instances = scene((32, 64))
    session = EditorSession(labels, instances, classes=CLASSES, generate=synthesizer)
    car, _ = car_of(session)
    x0, y0, x1, y1 = session.instance_info(car)["bbox"]
    thumbnail = session.thumbnail(car, 2, margin=0)
    full = synthesizer(session.labels, session.instances, {**session.choices, car: 2})
    assert torch.equal(thumbnail, to_uint8_image(full[0, :, y0:y1, x0:x1]))
