"""The small segmenter: shapes, learning, files (ours, TorchScript), flat-colour floor."""

from __future__ import annotations

import warnings

import pytest
import torch

from condgan_blocks.data import SyntheticScenes
from condgan_blocks.evaluation import (
    SegmentationNet,
    flat_colour_image,
    load_segmenter,
    masked_mean_colour,
    mean_class_colours,
    save_segmenter,
    segment,
    train_segmenter,
)


@pytest.mark.parametrize(("height", "width"), [(16, 16), (13, 21), (7, 9)])
def test_segment_returns_the_input_size(height, width):
    net = SegmentationNet(3, 5, base_channels=4).eval()
    out = segment(net, torch.randn(2, 3, height, width))
    assert out.shape == (2, 1, height, width)
    assert out.dtype == torch.int64
    assert int(out.min()) >= 0
    assert int(out.max()) < 5


@pytest.mark.parametrize("num_downsamples", [0, 1, 2])
def test_fuse_is_one_convolution_of_the_concatenated_features(num_downsamples):
    # forward sums the fuse convolution's two weight halves: it must equal fuse(cat([y, skip]))
    torch.manual_seed(0)
    net = SegmentationNet(3, 5, base_channels=4, num_downsamples=num_downsamples).eval()
    x = torch.randn(2, 3, 16, 24)
    skip = net.stem(x)
    y = skip
    for stage in net.stages:
        y = stage(y)
    y = torch.nn.functional.interpolate(
        net.context(y), size=skip.shape[-2:], mode="bilinear", align_corners=False
    )
    expected = net.head(net.fuse(torch.cat([y, skip], 1)))
    torch.testing.assert_close(net(x), expected, rtol=1e-5, atol=1e-5)


def test_training_is_seeded_and_learns():
    scenes = SyntheticScenes(4, size=(16, 32), seed=2)

    def run():
        torch.manual_seed(0)
        net = SegmentationNet(3, 7, base_channels=4, num_downsamples=1)
        losses = train_segmenter(net, scenes, epochs=3, batch_size=2, seed=1)
        return net, losses

    first, losses = run()
    second, again = run()
    assert losses == again
    assert losses[-1] < losses[0]
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(("precision", "channels_last"), [("bf16", False), ("fp32", True)])
def test_fast_training_learns_and_returns_a_contiguous_model(precision, channels_last):
    scenes = SyntheticScenes(4, size=(16, 32), seed=2)
    torch.manual_seed(0)
    net = SegmentationNet(3, 7, base_channels=4, num_downsamples=1)
    losses = train_segmenter(
        net,
        scenes,
        epochs=3,
        batch_size=2,
        seed=1,
        precision=precision,
        channels_last=channels_last,
    )
    assert losses[-1] < losses[0]
    assert all(p.dtype == torch.float32 for p in net.parameters())  # weights stay fp32
    assert net.stem[0].weight.is_contiguous()  # handed back in the default layout
    assert not net.training


def test_fast_training_matches_plain_training_closely():
    scenes = SyntheticScenes(4, size=(16, 32), seed=2)

    def run(channels_last):
        torch.manual_seed(0)
        net = SegmentationNet(3, 7, base_channels=4, num_downsamples=1)
        train_segmenter(net, scenes, epochs=1, batch_size=2, seed=1, channels_last=channels_last)
        return net

    plain, fast = run(False), run(True)
    for a, b in zip(plain.state_dict().values(), fast.state_dict().values(), strict=True):
        torch.testing.assert_close(a.float(), b.float(), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"precision": "fp16"}, ValueError, "precision must be one of"),
        ({"precision": "half"}, ValueError, "got 'half'"),
        ({"channels_last": 1}, TypeError, "channels_last must be a bool"),
    ],
)
def test_training_rejects_bad_speed_options(kwargs, error, match):
    net = SegmentationNet(3, 7, base_channels=4, num_downsamples=1)
    with pytest.raises(error, match=match):
        train_segmenter(net, SyntheticScenes(2, size=(16, 16)), epochs=1, **kwargs)


def test_save_load_round_trip(tmp_path):
    net = SegmentationNet(3, 4, base_channels=4).eval()
    path = save_segmenter(net, tmp_path / "sub" / "seg.pt")
    loaded = load_segmenter(path)
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(loaded(x), net(x))
    assert not list(tmp_path.glob("sub/.*tmp*"))  # no temporary left behind


def test_loads_a_users_torchscript_model(tmp_path):
    net = SegmentationNet(3, 4, base_channels=4).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(net), str(tmp_path / "script.pt"))
    loaded = load_segmenter(tmp_path / "script.pt")
    x = torch.randn(1, 3, 12, 20)
    assert torch.equal(segment(loaded, x), segment(net, x))


def test_load_rejects_other_files(tmp_path):
    torch.save({"weights": torch.ones(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="neither a save_segmenter file"):
        load_segmenter(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="no segmenter"):
        load_segmenter(tmp_path / "missing.pt")


def test_bad_input_channels():
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3, H, W\)"):
        SegmentationNet(3, 2)(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        SegmentationNet(3, 0)


def test_mean_class_colours_by_hand():
    label = torch.tensor([[[0, 0], [1, 2]]])
    image = torch.tensor([[[0.0, 1.0], [0.5, -1.0]], [[1.0, 1.0], [0.0, 0.0]]])
    colours = mean_class_colours([{"label": label, "image": image}], 4, ignore_index=2)
    assert colours.tolist() == [[0.5, 1.0], [0.5, 0.0], [0.0, 0.0], [0.0, 0.0]]


def test_flat_colour_paints_every_class_with_its_colour():
    label = torch.randint(0, 3, (2, 1, 5, 6))
    colours = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    painted = flat_colour_image(label, colours)
    assert painted.shape == (2, 3, 5, 6)
    assert torch.equal(painted.argmax(1, keepdim=True), label)


def test_masked_mean_colour():
    images = torch.zeros(2, 3, 4, 4)
    images[1, 0] = 1.0
    mask = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    mask[..., :2, :2] = True
    assert masked_mean_colour(images, mask).tolist() == [[0, 0, 0], [1, 0, 0]]
    with pytest.raises(ValueError, match="at least one pixel"):
        masked_mean_colour(images, torch.zeros_like(mask))
