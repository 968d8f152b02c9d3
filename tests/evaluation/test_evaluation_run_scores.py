"""What a run's evaluation is built from: the image-pair meter of image-to-image runs, the
cached segmenter trained on real images, and the spread of one object's feature-bank styles."""

from __future__ import annotations

import math

import pytest
import torch

from condgan_blocks import FeatureBank, GlobalGenerator, Synthesizer
from condgan_blocks.data import SyntheticScenes, collate
from condgan_blocks.evaluation import (
    ImagePairMeter,
    load_or_train_segmenter,
    masked_mean_colour,
    psnr,
    render_instance_styles,
    ssim,
)
from tests._training_helpers import one_thread

CAR = 5  # the synthetic scenes' car class


# ------------------------------------------------------------------------------- image pairs
@pytest.mark.parametrize("size", [(16, 16), (7, 9)])
def test_pair_meter_averages_l1_psnr_ssim_over_batches(size):
    generator = torch.Generator().manual_seed(0)
    fake = torch.rand(5, 3, *size, generator=generator) * 2 - 1
    real = torch.rand(5, 3, *size, generator=generator) * 2 - 1
    meter = ImagePairMeter()
    meter.update(fake[:2], real[:2])
    meter.update(fake[2:], real[2:])
    scores = meter.compute()
    window = min(11, *size)  # smaller images get a smaller SSIM window
    assert scores["num_images"] == 5
    assert scores["l1"] == pytest.approx(float((fake - real).abs().mean()))
    assert scores["psnr"] == pytest.approx(float(psnr(fake, real).mean()))
    assert scores["ssim"] == pytest.approx(float(ssim(fake, real, window_size=window).mean()))


def test_pair_meter_reports_an_infinite_psnr_as_none_and_refuses_bad_input():
    meter = ImagePairMeter()
    meter.update(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    scores = meter.compute()
    assert scores["psnr"] is None
    assert (scores["l1"], scores["ssim"]) == (0.0, pytest.approx(1.0))
    with pytest.raises(ValueError, match="same shape"):
        meter.update(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(TypeError, match="floating image"):
        meter.update(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="needs at least one update"):
        ImagePairMeter().compute()


# ------------------------------------------------------------------------------- segmenter
def test_the_segmenter_is_trained_once_then_read_from_its_cache(tmp_path):
    path = tmp_path / "evaluation" / "segmenter.pt"
    scenes = SyntheticScenes(2, size=(16, 16))
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with one_thread():
        first = load_or_train_segmenter(path, scenes, 7, base_channels=4, epochs=1, seed=3)
        again = load_or_train_segmenter(path, scenes, 7, base_channels=4, epochs=1, seed=3)
        stamp = path.stat().st_mtime_ns
        cached = load_or_train_segmenter(path, SyntheticScenes(0, size=(16, 16)), 7)
        assert path.stat().st_mtime_ns == stamp  # read, not trained on the empty set
        retrained = load_or_train_segmenter(
            path, scenes, 7, base_channels=4, epochs=1, seed=4, retrain=True
        )
    assert not first.training
    assert torch.equal(first(x), again(x))
    assert torch.equal(first(x), cached(x))
    assert not torch.equal(first(x), retrained(x))  # another seed, trained again


# ------------------------------------------------------------------------------- styles
@pytest.fixture(scope="module")
def styled():
    scenes = SyntheticScenes(3, size=(32, 64), split="val")
    bank = FeatureBank(3)
    for index in range(len(scenes)):
        sample = scenes[index]
        features = torch.rand(1, 3, 32, 64, generator=torch.Generator().manual_seed(index))
        bank.add(features, sample["instance"][None], sample["label"][None])
    bank.fit(3, min_area=0.0)
    torch.manual_seed(0)
    generator = GlobalGenerator(7 + 1 + 3, base_channels=4, num_downsamples=1, num_blocks=1)
    return Synthesizer(generator, 7, bank=bank), scenes


def test_the_largest_object_is_rendered_with_every_cluster(styled):
    synthesizer, scenes = styled
    sample, images, styles = render_instance_styles(synthesizer, scenes, CAR)
    areas = {}
    for index in range(len(scenes)):
        scene = scenes[index]
        ids, counts = scene["instance"][scene["label"] == CAR].unique(return_counts=True)
        areas.update({(index, int(i)): int(c) for i, c in zip(ids, counts, strict=True)})
    index, car = max(areas, key=areas.get)
    assert (styles["scene"], styles["instance_id"], styles["class"]) == (
        scenes[index]["path"], car, CAR
    )  # fmt: skip
    clusters = synthesizer.bank.centers[CAR].shape[0]
    assert images.shape == (clusters, 3, 32, 64) == (styles["num_styles"], 3, 32, 64)
    batch = collate([scenes[index]])
    assert torch.equal(sample["label"], batch["label"])
    for k in range(clusters):
        expected = synthesizer(batch["label"], batch["instance"], {car: k})
        assert torch.equal(images[k : k + 1], expected)
    colours = (masked_mean_colour(images, batch["instance"] == car) + 1) / 2
    assert styles["mean_colours"] == [[round(v, 4) for v in c] for c in colours.tolist()]
    distances = torch.pdist(colours)
    assert styles["max_difference"] == pytest.approx(float(distances.max()))
    assert styles["mean_difference"] == pytest.approx(float(distances.mean()))
    assert math.isfinite(styles["max_difference"])


def test_styles_need_a_bank_with_the_class_and_an_object_of_it(styled):
    synthesizer, scenes = styled
    plain = Synthesizer(synthesizer.generator, 7, feature_channels=3)
    with pytest.raises(ValueError, match="needs a synthesizer with a feature bank"):
        render_instance_styles(plain, scenes, CAR)
    with pytest.raises(ValueError, match="no clusters of class 99"):
        render_instance_styles(synthesizer, scenes, 99)
    empty = SyntheticScenes(0, size=(32, 64))
    with pytest.raises(ValueError, match=f"no sample .* holds an object of class {CAR}"):
        render_instance_styles(synthesizer, empty, CAR)
