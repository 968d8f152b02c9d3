"""Resize (pix2pixHD's resize_and_crop) and the random crop on top of it: sizes, maps kept exact,
one window for every member, seeded draws."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks.data import Compose, RandomCrop, Resize, resize_sample


def _sample(height: int, width: int) -> dict:
    label = torch.arange(height * width).view(1, height, width) % 7
    return {"label": label, "instance": label * 1000 + 1, "image": label.float().expand(3, -1, -1),
            "path": "a.png"}  # fmt: skip


@given(height=st.integers(1, 12), width=st.integers(1, 12), out_h=st.integers(1, 12),
       out_w=st.integers(1, 12))  # fmt: skip
@settings(deadline=None, max_examples=30)
def test_resize_gives_the_size_and_keeps_maps_exact(height, width, out_h, out_w):
    sample = _sample(height, width)
    out = Resize((out_h, out_w))(sample)
    assert out["label"].shape == (1, out_h, out_w)
    assert out["image"].shape == (3, out_h, out_w)
    assert out["label"].dtype == torch.int64
    assert out["path"] == "a.png"
    assert set(out["label"].unique().tolist()) <= set(sample["label"].unique().tolist())
    assert torch.equal(out["instance"], out["label"] * 1000 + 1)  # the same pixels picked


def test_resize_equals_resize_sample_and_an_int_means_square():
    sample = _sample(4, 10)
    for interpolation in ("bicubic", "bilinear", "nearest"):
        out = Resize(6, interpolation=interpolation)(sample)
        expected = resize_sample(sample, (6, 6), interpolation=interpolation)
        assert all(torch.equal(out[k], expected[k]) for k in ("label", "instance", "image"))


def test_resize_then_crop_cuts_the_same_window_everywhere_and_is_seeded():
    transform = Compose([Resize(16), RandomCrop(8)])
    sample = _sample(8, 20)
    first = transform(sample, generator=torch.Generator().manual_seed(3))
    again = transform(sample, generator=torch.Generator().manual_seed(3))
    assert first["label"].shape == (1, 8, 8)
    assert torch.equal(first["instance"], first["label"] * 1000 + 1)
    assert all(torch.equal(first[k], again[k]) for k in ("label", "instance", "image"))
    windows = {
        tuple(transform(sample, generator=torch.Generator().manual_seed(s))["label"].flatten())
        for s in range(8)
    }
    assert len(windows) > 1  # the window moves with the seed


@pytest.mark.parametrize(
    ("size", "kwargs", "error", "message"),
    [
        ((4, 5, 6), {}, TypeError, r"size must be an int or a pair \(height, width\)"),
        ("8", {}, TypeError, "size must be an int or a pair"),
        (0, {}, ValueError, "size"),
        ((4, -1), {}, ValueError, "size"),
        (4, {"interpolation": "cubic"}, ValueError, "interpolation must be one of"),
    ],
)
def test_resize_refuses_bad_arguments(size, kwargs, error, message):
    with pytest.raises(error, match=message):
        Resize(size, **kwargs)


def test_resize_repr():
    assert repr(Resize((3, 4))) == "Resize((3, 4), interpolation='bicubic')"
