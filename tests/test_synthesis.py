"""The one inference path: Synthesizer pads, conditions, generates and crops like training does."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import (
    FeatureBank,
    GlobalGenerator,
    InstanceFeatureEncoder,
    LocalEnhancer,
    Synthesizer,
    pad_to_multiple,
)
from condgan_blocks.data import SyntheticScenes, collate
from condgan_blocks.synthesis import generator_input_from_labels
from condgan_blocks.training import build_training, condition_map

from ._training_helpers import one_thread, tiny_config, tiny_encoder

NUM_CLASSES = SyntheticScenes.num_classes  # 7
FEATURES = 2


def scene(height=13, width=21, index=0):
    """(labels, instances, image) of one synthetic scene of any size (cropped below 16)."""
    size = (max(height, 16), max(width, 16))
    batch = collate([SyntheticScenes(index + 1, size=size, split="val")[index]])
    return tuple(batch[key][..., :height, :width] for key in ("label", "instance", "image"))


def tiny_generator(features=0, *, seed=0, **options):
    torch.manual_seed(seed)
    options = {"base_channels": 4, "num_downsamples": 2, "num_blocks": 1, **options}
    return GlobalGenerator(NUM_CLASSES + 1 + features, **options)


def tiny_encoder_module(seed=0):
    torch.manual_seed(seed)
    return InstanceFeatureEncoder(feature_channels=FEATURES, base_channels=2, num_downsamples=2)


@pytest.fixture(scope="module")
def bank():
    """A bank with up to three random centres for every class of the synthetic scenes."""
    bank = FeatureBank(FEATURES)
    generator = torch.Generator().manual_seed(0)
    for index in range(4):
        labels, instances, _ = scene(16, 32, index)
        features = torch.rand(1, FEATURES, 16, 32, generator=generator) * 2 - 1
        bank.add(features, instances, labels)  # records each instance's middle-pixel vector
    return bank.fit(3, min_area=0, seed=0)


@pytest.fixture(scope="module")
def synthesizer(bank):
    return Synthesizer(tiny_generator(FEATURES), NUM_CLASSES, bank=bank)


# -- sizes and padding ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(13, 21), (3, 5), (16, 32), (1, 1), (9, 40)])
@pytest.mark.parametrize("kind", ["global", "local"])
def test_output_has_the_input_size(size, kind):
    if kind == "global":
        generator = tiny_generator()
    else:
        torch.manual_seed(0)
        generator = LocalEnhancer(
            NUM_CLASSES + 1, base_channels=4, num_downsamples_global=1, num_blocks_global=1,
            num_blocks_local=1,
        )  # fmt: skip
    labels = torch.randint(0, NUM_CLASSES, (2, 1, *size))
    out = Synthesizer(generator, NUM_CLASSES)(labels, labels)
    assert out.shape == (2, 3, *size)
    assert out.dtype == torch.float32
    assert bool(out.abs().max() <= 1)


@given(height=st.integers(1, 20), width=st.integers(1, 20), multiple=st.sampled_from([1, 2, 4]))
@settings(deadline=None, max_examples=15)
def test_padding_reaches_the_multiple_and_min_size_and_splits_like_pad_to_multiple(
    height, width, multiple
):
    generator = tiny_generator(num_downsamples={1: 0, 2: 1, 4: 2}[multiple])
    synthesizer = Synthesizer(generator, NUM_CLASSES)
    left, right, top, bottom = synthesizer.padding(height, width)
    padded_h, padded_w = height + top + bottom, width + left + right
    assert padded_h % multiple == 0
    assert padded_w % multiple == 0
    assert min(padded_h, padded_w) >= generator.min_size
    assert 0 <= right - left <= 1
    assert 0 <= bottom - top <= 1
    if min(height, width) >= generator.min_size:
        _, expected = pad_to_multiple(torch.zeros(1, 1, height, width), multiple, "replicate")
        assert (left, right, top, bottom) == expected


def test_result_equals_generating_a_manually_padded_input_then_cropping(synthesizer, bank):
    labels, instances, _ = scene(13, 21)
    out = synthesizer(labels, instances, seed=3)
    padding = synthesizer.padding(13, 21)
    left, _, top, _ = padding
    # Ids padded by replication (exact), the bank's features at the input size, replicated.
    padded_labels = F.pad(labels, padding, mode="replicate")
    padded_instances = F.pad(instances, padding, mode="replicate")
    features = bank.sample(instances, labels, generator=torch.Generator().manual_seed(3))
    padded_features = F.pad(features, padding, mode="replicate")
    x = torch.cat([condition_map(padded_labels, NUM_CLASSES, instance=padded_instances)], 1)
    x = torch.cat([x, padded_features], 1)
    generator = synthesizer.generator.eval()
    with torch.no_grad():
        expected = generator(x)[..., top : top + 13, left : left + 21]
    assert torch.equal(out, expected)
    # Replicated ids carry their instance's features: padding the features is the same as
    # looking the padded ids up (with every instance chosen, no draw depends on the size).
    choices = {i: 0 for i in instances.unique().tolist()}
    chosen = bank.feature_map(instances, choices, labels)
    padded_lookup = bank.feature_map(padded_instances, choices, padded_labels)
    assert torch.equal(F.pad(chosen, padding, mode="replicate"), padded_lookup)


def test_ids_beyond_float_precision_stay_exact():
    generator = tiny_generator()
    instances = torch.full((1, 1, 5, 6), 2**53 + 1)
    instances[..., 3:] = 2**53 + 2  # float64 would round both ids to 2**53
    labels = torch.zeros(1, 1, 5, 6, dtype=torch.long)
    out = Synthesizer(generator, NUM_CLASSES)(labels, instances)
    padding = Synthesizer(generator, NUM_CLASSES).padding(5, 6)
    left, _, top, _ = padding
    small = torch.where(instances == 2**53 + 1, 1, 2)  # the same boundaries, small ids
    x = condition_map(F.pad(labels, padding, mode="replicate"), NUM_CLASSES,
                      instance=F.pad(small, padding, mode="replicate"))  # fmt: skip
    with torch.no_grad():
        expected = generator.eval()(x)[..., top : top + 5, left : left + 6]
    assert torch.equal(out, expected)


# -- styles -----------------------------------------------------------------------------------


def test_bank_sampling_is_reproducible_with_a_seed(synthesizer):
    labels, instances, _ = scene()
    first = synthesizer(labels, instances, seed=5)
    assert torch.equal(first, synthesizer(labels, instances, seed=5))
    assert not torch.equal(first, synthesizer(labels, instances, seed=6))
    # The same seed draws the same centres for the instances not chosen.
    car = int(instances[labels == 5][0]) if bool((labels == 5).any()) else None
    if car is not None:
        features = synthesizer.style_features(labels, instances, {car: 1}, seed=5)
        drawn = synthesizer.style_features(labels, instances, seed=5)
        outside = (instances != car).expand_as(features)
        assert torch.equal(features[outside], drawn[outside])


def test_explicit_choices_equal_explicit_features(synthesizer, bank):
    labels, instances, _ = scene()
    choices = {i: 1 for i in instances.unique().tolist() if len(bank.centers[i % 1000]) > 1}
    features = bank.feature_map(instances, choices, labels, generator=torch.Generator())
    by_choice = synthesizer(labels, instances, choices, seed=9)
    assert torch.equal(by_choice, synthesizer(labels, instances, features=features))


def test_encoded_features_path():
    encoder = tiny_encoder_module()
    synthesizer = Synthesizer(tiny_generator(FEATURES), NUM_CLASSES, encoder=encoder)
    labels, instances, image = scene(13, 21)
    features = synthesizer.encode(image, instances)
    assert features.shape == (1, FEATURES, 13, 21)
    for instance_id in instances.unique().tolist():  # pooled: constant inside every instance
        values = features[0][:, instances[0, 0] == instance_id]
        assert torch.equal(values, values[:, :1].expand_as(values))
    padding = pad_to_multiple(image, encoder.size_multiple, "replicate")[1]
    left, _, top, _ = padding
    with torch.no_grad():
        manual = encoder.eval()(
            F.pad(image, padding, mode="replicate"), F.pad(instances, padding, mode="replicate")
        )[..., top : top + 13, left : left + 21]
    assert torch.equal(features, manual)
    by_image = synthesizer(labels, instances, image=image)
    assert torch.equal(by_image, synthesizer(labels, instances, features=features))


def test_generator_and_encoder_modes_are_restored():
    encoder = tiny_encoder_module().train()
    generator = tiny_generator(FEATURES).train()
    labels, instances, image = scene(8, 8)
    Synthesizer(generator, NUM_CLASSES, encoder=encoder)(labels, instances, image=image)
    assert generator.training
    assert encoder.training
    generator.eval()
    generator.blocks.train()  # mixed modes come back as they were, submodule by submodule
    Synthesizer(generator, NUM_CLASSES, encoder=encoder)(labels, instances, image=image)
    assert not generator.training
    assert generator.blocks[0].training
    assert encoder.training


class _Backend:
    """A network behind a callable, as OnnxGenerator is: no parameters, a size multiple."""

    def __init__(self, module):
        self.module = module.eval()
        self.size_multiple = module.size_multiple
        self.min_size = module.min_size
        self.in_channels = module.in_channels
        self.dtype = torch.float32
        self.calls = []

    def __call__(self, x):
        self.calls.append(tuple(x.shape))
        return self.module(x)


def test_a_callable_backend_gets_the_same_input(synthesizer):
    labels, instances, _ = scene(13, 21)
    backend = _Backend(synthesizer.generator)
    other = synthesizer.with_generator(backend)
    assert torch.equal(other(labels, instances, seed=2), synthesizer(labels, instances, seed=2))
    assert backend.calls == [(1, NUM_CLASSES + 1 + FEATURES, 16, 24)]


def test_float64_generators_get_float64_inputs():
    generator = tiny_generator().double()
    labels = torch.randint(0, NUM_CLASSES, (1, 1, 8, 8))
    synthesizer = Synthesizer(generator, NUM_CLASSES)
    assert synthesizer.dtype == torch.float64
    x = generator_input_from_labels(labels, NUM_CLASSES, instances=labels, dtype=torch.float64)
    with torch.no_grad():
        assert torch.equal(synthesizer(labels, labels), generator.eval()(x).float())


# -- Training ---------------------------------------------------------------------------------


def test_training_generate_runs_the_synthesizer_at_any_size():
    with one_thread():
        training = build_training(tiny_config())
        labels, instances, image = scene(13, 21)
        batch = {"label": labels, "instance": instances, "image": image}
        fake = training.generate(batch)
        assert fake.shape == (1, 3, 13, 21)
        assert torch.equal(fake, Synthesizer.from_training(training)(labels, instances))
        assert training.models.generator.training  # generate leaves the mode alone
        with pytest.raises(ValueError, match=r"no \['instance'\]"):
            training.generate({"label": labels, "image": image})


def test_from_checkpoint_matches_from_training(tmp_path):
    with one_thread():
        config = tiny_config(output_dir=str(tmp_path), encoder=tiny_encoder())
        training = build_training(config)
        training.save()
        labels, instances, image = scene(13, 21)
        bank = FeatureBank(config.encoder.feature_channels)
        bank.add(Synthesizer.from_training(training).encode(image, instances), instances, labels)
        bank.fit(2, min_area=0).save(tmp_path / "bank.npz")
        expected = Synthesizer.from_training(training, bank=bank)
        loaded = Synthesizer.from_checkpoint(tmp_path, bank=tmp_path / "bank.npz")
        assert loaded.num_styles == expected.num_styles
        for style in ({"image": image}, {"seed": 4}):
            got = loaded(labels, instances, **style)
            assert torch.equal(got, expected(labels, instances, **style))
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        Synthesizer.from_checkpoint(tmp_path / "missing")


# -- errors -----------------------------------------------------------------------------------


def bad_calls(labels, instances, image):
    """``{case: (error, message, args, kwargs)}`` of calls that must fail, and how."""
    features = {"two": torch.zeros(1, 2, 8, 8), "three": torch.zeros(1, 3, 8, 8)}
    unknown = labels + 9 * (labels == 0)
    return {
        "float labels": (TypeError, "labels must be an integer", (labels.float(), instances), {}),
        "bool ids": (TypeError, "instances must be an integer", (labels, instances.bool()), {}),
        "unknown class": (ValueError, r"in \[0, 7\), found \[9\]", (unknown, instances), {}),
        "two channels": (ValueError, "of shape", (labels.expand(1, 2, 8, 8), instances), {}),
        "other size": (ValueError, "same batch size", (labels, instances[..., :7]), {}),
        "no instances": (ValueError, "pass instances", (labels, None), {}),
        "two sources": (
            ValueError,
            "give one style source",
            (labels, instances, {7: 0}),
            {"features": features["two"]},
        ),
        "feature channels": (
            ValueError,
            "expected features with 2 channels",
            (labels, instances),
            {"features": features["three"]},
        ),
        "no encoder": (ValueError, "has no encoder", (labels, instances), {"image": image}),
        "negative seed": (ValueError, "seed must be", (labels, instances), {"seed": -1}),
        "empty": (ValueError, "must not be empty", (labels[..., :0], instances[..., :0]), {}),
    }


CASES = sorted(bad_calls(*scene(8, 8)))


@pytest.mark.parametrize("case", CASES)
def test_bad_calls_raise_before_generating(synthesizer, case):
    error, message, args, kwargs = bad_calls(*scene(8, 8))[case]
    with pytest.raises(error, match=message):
        synthesizer(*args, **kwargs)


def test_style_sources_must_fit_the_generator():
    labels, instances, _ = scene(8, 8)
    plain = Synthesizer(tiny_generator(), NUM_CLASSES)
    with pytest.raises(ValueError, match="takes no instance features, got choices"):
        plain(labels, instances, {7: 0})
    assert plain(labels, instances, {}).shape == (1, 3, 8, 8)  # no choices: nothing to style
    bare = Synthesizer(tiny_generator(FEATURES), NUM_CLASSES, feature_channels=FEATURES)
    with pytest.raises(ValueError, match="build the Synthesizer with a bank"):
        bare(labels, instances)
    without_boundary = Synthesizer(
        GlobalGenerator(NUM_CLASSES, base_channels=4, num_downsamples=1, num_blocks=1),
        NUM_CLASSES,
        use_instances=False,
    )
    assert without_boundary(labels).shape == (1, 3, 8, 8)


def test_ignore_index_is_not_an_unknown_class():
    generator = GlobalGenerator(2, base_channels=4, num_downsamples=1, num_blocks=1)
    synthesizer = Synthesizer(generator, 2, use_instances=False, ignore_index=255)
    labels = torch.tensor([[[[0, 1, 255, 255]]]]).expand(1, 1, 4, 4)
    assert synthesizer(labels).shape == (1, 3, 4, 4)


def test_bad_construction_is_named(bank):
    with pytest.raises(TypeError, match="generator must be callable"):
        Synthesizer(42, NUM_CLASSES)
    with pytest.raises(ValueError, match="size_multiple is needed"):
        Synthesizer(lambda x: x, NUM_CLASSES)
    with pytest.raises(ValueError, match=r"takes 8 input channels, .* give 10 channels"):
        Synthesizer(tiny_generator(), NUM_CLASSES, bank=bank)
    with pytest.raises(ValueError, match="feature channels disagree"):
        Synthesizer(tiny_generator(3), NUM_CLASSES, bank=bank, feature_channels=3)
    with pytest.raises(ValueError, match="fp16"):
        Synthesizer(tiny_generator(), NUM_CLASSES, precision="fp16")
    with pytest.raises(TypeError, match="bank must be a FeatureBank"):
        Synthesizer(tiny_generator(), NUM_CLASSES, bank={})
