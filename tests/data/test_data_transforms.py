"""Paired transforms: one draw per sample, maps stay integer and aligned with the image."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import crop_padding, pad_to_multiple
from condgan_blocks.data import (
    Compose,
    PadToMultiple,
    RandomCrop,
    RandomHorizontalFlip,
    ScaleWidth,
    SyntheticScenes,
    crop_sample,
    hflip_sample,
    pad_sample,
    resize_sample,
)


def _coded_sample(height: int, width: int, seed: int) -> dict:
    """Random maps, and an image whose channels are exact float copies of them."""
    gen = torch.Generator().manual_seed(seed)
    label = torch.randint(0, 35, (1, height, width), generator=gen)
    instance = label * 1000 + torch.randint(0, 3, (1, height, width), generator=gen)
    image = torch.cat([label, instance]).float()
    return {"label": label, "instance": instance, "image": image, "path": "p.png"}


sizes = st.integers(2, 24)


@given(height=sizes, width=sizes, crop=st.integers(1, 24), multiple=st.integers(1, 8),
       seed=st.integers(0, 2**16))  # fmt: skip
@settings(deadline=None, max_examples=20)
def test_pixels_keep_their_labels(height, width, crop, multiple, seed):
    crop_h, crop_w = min(crop, height), min(crop + 1, width)
    transform = Compose(
        [
            RandomCrop((crop_h, crop_w)),
            RandomHorizontalFlip(0.5),
            PadToMultiple(multiple, image_padding="replicate"),
        ]
    )
    out = transform(
        _coded_sample(height, width, seed), generator=torch.Generator().manual_seed(seed)
    )
    assert out["label"].dtype == torch.int64
    assert out["instance"].dtype == torch.int64
    assert out["path"] == "p.png"
    assert out["label"].shape[-2] % multiple == 0
    assert out["label"].shape[-1] % multiple == 0
    assert torch.equal(out["image"][0].long(), out["label"][0])
    assert torch.equal(out["image"][1].long(), out["instance"][0])


@given(height=st.integers(8, 24), width=st.integers(8, 40), new_width=st.integers(8, 64),
       interpolation=st.sampled_from(["bilinear", "bicubic"]))  # fmt: skip
@settings(deadline=None, max_examples=20)
def test_scaling_keeps_maps_aligned_with_the_image(height, width, new_width, interpolation):
    cols = torch.arange(width).expand(1, height, width)
    rows = torch.arange(height)[:, None].expand(1, height, width)
    sample = {"label": cols, "instance": rows, "image": torch.cat([cols, rows]).float()}
    out = ScaleWidth(new_width, interpolation=interpolation)(sample)
    new_height = max(1, int(new_width * height / width))
    assert out["label"].shape == (1, new_height, new_width)
    assert out["label"].dtype == torch.int64
    assert set(out["label"].unique().tolist()) <= set(range(width))  # only values that existed
    # Away from the borders (where the filters see the edge) the smooth image holds each pixel's
    # source coordinate; the nearest-neighbour maps must point at the source pixel under it.
    for channel, key, size in ((0, "label", width), (1, "instance", height)):
        reach = 2 * max(1.0, size / (new_width if key == "label" else new_height)) + 1
        source = out[key][0]
        inner = (source >= reach) & (source <= size - 1 - reach)
        error = (out["image"][channel] - source)[inner].abs()
        assert error.numel() == 0 or error.max() <= 0.5 + 1e-3


@given(height=sizes, width=sizes, seed=st.integers(0, 2**16))
@settings(deadline=None, max_examples=20)
def test_flip_twice_is_identity(height, width, seed):
    sample = _coded_sample(height, width, seed)
    twice = hflip_sample(hflip_sample(sample))
    for key in ("label", "instance", "image"):
        assert torch.equal(twice[key], sample[key])
    flip = RandomHorizontalFlip(p=1.0)
    assert torch.equal(flip(flip(sample))["label"], sample["label"])
    assert torch.equal(flip(sample)["label"], sample["label"].flip(-1))


@given(height=sizes, width=sizes, multiple=st.integers(1, 16))
@settings(deadline=None, max_examples=20)
def test_pad_matches_pad_to_multiple_and_crop_padding_undoes_it(height, width, multiple):
    sample = _coded_sample(height, width, 0)
    out = PadToMultiple(multiple, image_padding="zero", map_fill=-1)(sample)
    expected, padding = pad_to_multiple(sample["image"][None], multiple, mode="zero")
    assert torch.equal(out["image"], expected[0])
    assert torch.equal(crop_padding(out["label"], padding), sample["label"])
    padded = torch.ones_like(out["label"], dtype=torch.bool)
    padded[
        :, padding[2] : padded.shape[1] - padding[3], padding[0] : padded.shape[2] - padding[0 + 1]
    ] = False
    assert (out["label"][padded] == -1).all()


def test_replicated_maps_add_no_new_boundary():
    sample = {"label": torch.tensor([[[3, 4]]]), "image": torch.zeros(1, 1, 2)}
    out = pad_sample(sample, (2, 1, 1, 0), image_padding="replicate")
    assert out["label"].tolist() == [[[3, 3, 3, 4, 4], [3, 3, 3, 4, 4]]]


def test_same_generator_same_draws_and_every_member_shares_them():
    sample = _coded_sample(20, 30, 1)
    transform = Compose([RandomCrop(7), RandomHorizontalFlip()])
    first = transform(sample, generator=torch.Generator().manual_seed(5))
    second = transform(sample, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first["label"], second["label"])
    draws = {
        tuple(
            transform(sample, generator=torch.Generator().manual_seed(s))["label"]
            .flatten()[:5]
            .tolist()
        )
        for s in range(10)
    }
    assert len(draws) > 1  # the window really is random


def test_resize_nearest_matches_pillow_rule():
    label = torch.arange(5).expand(1, 1, 5)
    out = resize_sample({"label": label}, (1, 3))["label"]
    assert out.tolist() == [[[0, 2, 4]]]  # source = floor((i + 0.5) * 5 / 3)


def test_bicubic_does_not_overshoot():
    image = torch.zeros(1, 8, 8)
    image[:, :, 4:] = 1.0
    out = resize_sample({"image": image}, (16, 16), interpolation="bicubic")["image"]
    assert out.min() >= 0.0
    assert out.max() <= 1.0


def test_transform_in_dataset():
    scenes = SyntheticScenes(
        2, size=(32, 64), transform=Compose([ScaleWidth(32), RandomCrop((8, 16))])
    )
    sample = scenes[0]
    assert sample["label"].shape == (1, 8, 16)
    assert sample["image"].shape == (3, 8, 16)
    assert sample["instance"].dtype == torch.int64


def test_bad_arguments_and_samples():
    with pytest.raises(ValueError, match="width must be >= 1"):
        ScaleWidth(0)
    with pytest.raises(ValueError, match="interpolation must be one of"):
        ScaleWidth(8, interpolation="cubic")
    with pytest.raises(ValueError, match=r"p must be a probability"):
        RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError, match="multiple must be >= 1"):
        PadToMultiple(0)
    with pytest.raises(TypeError, match="map_fill"):
        PadToMultiple(4, map_fill=0.5)
    with pytest.raises(TypeError, match="size must be an int or a pair"):
        RandomCrop((1, 2, 3))
    with pytest.raises(ValueError, match=r"cannot crop \(8, 8\)"):
        RandomCrop(8)(_coded_sample(4, 10, 0))
    with pytest.raises(ValueError, match="must share H and W"):
        hflip_sample({"label": torch.zeros(1, 2, 3), "image": torch.zeros(3, 2, 4)})
    with pytest.raises(ValueError, match=r"must have shape \(C, H, W\)"):
        hflip_sample({"label": torch.zeros(2, 3)})
    with pytest.raises(ValueError, match="not inside"):
        crop_sample(_coded_sample(4, 4, 0), 2, 0, 3, 2)
    with pytest.raises(ValueError, match="reflect padding"):
        pad_sample({"image": torch.zeros(1, 2, 2)}, (2, 0, 0, 0))
    with pytest.raises(TypeError, match="every transform must be callable"):
        Compose([ScaleWidth(4), 3])
