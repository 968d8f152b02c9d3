"""The layer factory, seen through the public blocks that use it.

Every block resolves ``norm``, ``activation`` and ``padding`` through one factory: instance
norm is ``InstanceNorm2d(affine=False)``, batch norm is ``BatchNorm2d(affine=True)``, "none" leaves
the layer (and its state-dict keys) out, paddings are computed by the convolutions, and unknown
names raise a ``ValueError`` that lists the valid ones.
"""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from condgan_blocks import GlobalGenerator, NLayerDiscriminator, ResnetBlock

NORMS = ("batch", "instance", "none")
ACTIVATIONS = ("leaky_relu", "none", "relu", "tanh")
PADDINGS = ("reflect", "replicate", "zero")


def test_instance_norm_is_affine_free_and_stateless():
    block = ResnetBlock(4, norm="instance")
    for norm in (block.norm1, block.norm2):
        assert type(norm) is nn.InstanceNorm2d
        assert norm.affine is False
        assert norm.track_running_stats is False
        assert norm.num_features == 4
    assert not any("norm" in key for key in block.state_dict())


def test_instance_norm_normalises_each_channel_of_each_sample():
    norm = ResnetBlock(3, norm="instance").norm1
    x = torch.randn(2, 3, 8, 8) * 5 + 3
    y = norm(x)
    torch.testing.assert_close(y.mean(dim=(2, 3)), torch.zeros(2, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        y.var(dim=(2, 3), unbiased=False), torch.ones(2, 3), atol=1e-3, rtol=0
    )


def test_batch_norm_is_affine_with_running_statistics():
    block = ResnetBlock(4, norm="batch")
    for norm in (block.norm1, block.norm2):
        assert type(norm) is nn.BatchNorm2d
        assert norm.affine is True
        assert norm.track_running_stats is True
        assert norm.num_features == 4
    keys = {key for key in block.state_dict() if key.startswith("norm1.")}
    assert keys == {
        "norm1.weight",
        "norm1.bias",
        "norm1.running_mean",
        "norm1.running_var",
        "norm1.num_batches_tracked",
    }


def test_norm_none_adds_no_layer_and_no_keys():
    block = ResnetBlock(4, norm="none")
    assert isinstance(block.norm1, nn.Identity)
    assert not any("norm" in key for key in block.state_dict())
    # In conv-norm-activation groups "none" leaves the child out entirely.
    net = GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1, norm="none")
    for group in (net.stem, net.downsamples[0], net.upsamples[0]):
        assert "norm" not in dict(group.named_children())
        assert isinstance(group.act, nn.ReLU)
    assert not any("norm" in key for key in net.state_dict())
    disc = NLayerDiscriminator(3, base_channels=2, num_layers=2, norm="none")
    assert all("norm" not in dict(layer.named_children()) for layer in disc.layers)


@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_norm_sits_between_conv_and_activation(norm):
    net = GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=0, norm=norm)
    assert list(dict(net.stem.named_children())) == ["conv", "norm", "act"]
    disc = NLayerDiscriminator(3, base_channels=2, num_layers=2, norm=norm)
    assert list(dict(disc.layers[0].named_children())) == ["conv", "act"]  # never a norm
    assert list(dict(disc.layers[1].named_children())) == ["conv", "norm", "act"]
    assert list(dict(disc.layers[-1].named_children())) == ["conv"]


@pytest.mark.parametrize("padding", PADDINGS)
def test_padding_is_computed_by_the_convolution(padding):
    """conv(x) equals F.pad(x, 1, mode) followed by an unpadded conv, as in the original."""
    conv = ResnetBlock(3, padding=padding).conv1
    x = torch.randn(2, 3, 7, 6)
    mode = "constant" if padding == "zero" else padding
    expected = F.conv2d(F.pad(x, (1, 1, 1, 1), mode=mode), conv.weight, conv.bias)
    torch.testing.assert_close(conv(x), expected)
    assert conv(x).shape == x.shape


def test_paddings_differ_at_the_border_only():
    outputs = {}
    for padding in PADDINGS:
        torch.manual_seed(1)
        outputs[padding] = ResnetBlock(2, padding=padding, norm="none").conv1(
            torch.randn(1, 2, 8, 8) + 2
        )
    for a in PADDINGS:
        for b in PADDINGS:
            if a < b:
                inner_a, inner_b = outputs[a][..., 1:-1, 1:-1], outputs[b][..., 1:-1, 1:-1]
                torch.testing.assert_close(inner_a, inner_b)
                assert not torch.allclose(outputs[a], outputs[b])


def test_activations():
    x = torch.tensor([-1.0, 0.5])
    relu = ResnetBlock(2, activation="relu").act
    leaky = ResnetBlock(2, activation="leaky_relu").act
    assert isinstance(relu, nn.ReLU)
    assert isinstance(leaky, nn.LeakyReLU)
    assert leaky.negative_slope == pytest.approx(0.2)
    torch.testing.assert_close(relu(x.clone()), torch.tensor([0.0, 0.5]))
    torch.testing.assert_close(leaky(x.clone()), torch.tensor([-0.2, 0.5]))
    torch.testing.assert_close(ResnetBlock(2, activation="tanh").act(x.clone()), torch.tanh(x))
    assert isinstance(ResnetBlock(2, activation="none").act, nn.Identity)
    disc = NLayerDiscriminator(3, base_channels=2, num_layers=1)
    assert all(layer.act.negative_slope == pytest.approx(0.2) for layer in disc.layers[:-1])


def _choices(values):
    return re.escape(str(tuple(values)))


@pytest.mark.parametrize(
    ("build", "argument", "choices"),
    [
        (lambda v: ResnetBlock(4, norm=v), "norm", NORMS),
        (lambda v: ResnetBlock(4, activation=v), "activation", ACTIVATIONS),
        (lambda v: ResnetBlock(4, padding=v), "padding", PADDINGS),
        (lambda v: GlobalGenerator(3, norm=v, num_blocks=0), "norm", NORMS),
        (lambda v: GlobalGenerator(3, padding=v, num_blocks=0), "padding", PADDINGS),
        (lambda v: NLayerDiscriminator(3, norm=v), "norm", NORMS),
    ],
)
def test_unknown_names_raise_listing_the_valid_ones(build, argument, choices):
    with pytest.raises(ValueError, match=f"{argument} must be one of {_choices(choices)}, got 'x'"):
        build("x")
    with pytest.raises(ValueError, match=argument):
        build("Instance")  # names are case-sensitive
    with pytest.raises(TypeError, match=f"{argument} must be a string"):
        build(None)
