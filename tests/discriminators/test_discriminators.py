"""NLayerDiscriminator and MultiscaleDiscriminator: layer shapes, channel cap, sigmoid, scales."""

from __future__ import annotations

import math
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils import parametrize

from condgan_blocks import MultiscaleDiscriminator, NLayerDiscriminator, downsample


def expected_layer_shapes(height, width, base_channels, num_layers):
    """(C, H, W) after every layer, from the paper's rules; independent of the implementation."""
    shapes = []
    for n in range(num_layers + 1):
        stride = 2 if n < num_layers else 1
        height, width = (
            (height // 2 + 1, width // 2 + 1) if stride == 2 else (height + 1, width + 1)
        )
        shapes.append((min(base_channels * 2**n, 512), height, width))
    shapes.append((1, height + 1, width + 1))
    return shapes


@given(
    num_layers=st.integers(1, 4),
    base_channels=st.integers(1, 3),
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    batch=st.integers(1, 2),
)
@settings(deadline=None, max_examples=25)
def test_nlayer_per_layer_shapes(num_layers, base_channels, height, width, batch):
    net = NLayerDiscriminator(
        2, base_channels=base_channels, num_layers=num_layers, norm="none", return_features=True
    )
    outputs = net(torch.randn(batch, 2, height, width))
    assert len(outputs) == num_layers + 2
    expected = expected_layer_shapes(height, width, base_channels, num_layers)
    assert [tuple(o.shape) for o in outputs] == [(batch, *s) for s in expected]


def test_nlayer_layout():
    net = NLayerDiscriminator(5, base_channels=3, num_layers=3)
    convs = [layer.conv for layer in net.layers]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (5, 3),
        (3, 6),
        (6, 12),
        (12, 24),
        (24, 1),
    ]
    assert [c.stride for c in convs] == [(2, 2)] * 3 + [(1, 1)] * 2
    assert all(c.kernel_size == (4, 4) and c.padding == (2, 2) for c in convs)
    assert all(c.padding_mode == "zeros" for c in convs)


def test_channels_are_capped_at_512():
    with torch.device("meta"):
        net = NLayerDiscriminator(3, base_channels=128, num_layers=5)
    widths = [layer.conv.out_channels for layer in net.layers]
    assert widths == [128, 256, 512, 512, 512, 512, 1]
    assert net.layers[-1].conv.in_channels == 512


def test_return_features_last_is_the_prediction():
    net = NLayerDiscriminator(3, base_channels=4, num_layers=2, return_features=True)
    single = NLayerDiscriminator(3, base_channels=4, num_layers=2)
    single.load_state_dict(net.state_dict())
    x = torch.randn(2, 3, 16, 16)
    features = net(x)
    assert isinstance(features, list)
    torch.testing.assert_close(features[-1], single(x))
    torch.testing.assert_close(features, net.features(x))
    # The features are the layer outputs chained.
    h = x
    for layer, feature in zip(net.layers, features, strict=True):
        h = layer(h)
        torch.testing.assert_close(feature, h)
    assert all(f.min() < 0 for f in features[:-1])  # LeakyReLU keeps negatives


@pytest.mark.parametrize("return_features", [False, True])
def test_use_sigmoid(return_features):
    plain = NLayerDiscriminator(3, base_channels=4, num_layers=2, return_features=return_features)
    sig = NLayerDiscriminator(
        3, base_channels=4, num_layers=2, use_sigmoid=True, return_features=return_features
    )
    sig.load_state_dict(plain.state_dict())  # a sigmoid adds no keys
    x = torch.randn(2, 3, 16, 16)
    a, b = plain(x), sig(x)
    if return_features:
        torch.testing.assert_close(b[:-1], a[:-1])
        a, b = a[-1], b[-1]
    torch.testing.assert_close(b, torch.sigmoid(a))
    assert ((b > 0) & (b < 1)).all()


@given(
    num_scales=st.integers(1, 3),
    num_layers=st.integers(1, 3),
    height=st.integers(4, 40),
    width=st.integers(4, 40),
    return_features=st.booleans(),
)
@settings(deadline=None, max_examples=20)
def test_multiscale_shapes_per_scale(num_scales, num_layers, height, width, return_features):
    net = MultiscaleDiscriminator(
        2,
        num_scales=num_scales,
        base_channels=2,
        num_layers=num_layers,
        norm="none",
        return_features=return_features,
    )
    outputs = net(torch.randn(1, 2, height, width))
    assert len(outputs) == num_scales
    h, w = height, width
    for k, scale in enumerate(outputs):
        # Scale k sees ceil(H / 2^k): repeated ceil-halving equals one ceil division.
        assert (h, w) == (math.ceil(height / 2**k), math.ceil(width / 2**k))
        expected = [(1, *s) for s in expected_layer_shapes(h, w, 2, num_layers)]
        assert isinstance(scale, list)
        if return_features:
            assert [tuple(o.shape) for o in scale] == expected
        else:
            assert len(scale) == 1
            assert tuple(scale[0].shape) == expected[-1]
        h, w = math.ceil(h / 2), math.ceil(w / 2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_multiscale_scale_k_runs_on_the_input_downsampled_k_times(dtype):
    net = MultiscaleDiscriminator(3, num_scales=3, base_channels=2, num_layers=2).to(dtype)
    x = torch.randn(2, 3, 24, 20, dtype=dtype)
    outputs = net(x)
    level = x
    for k, scale in enumerate(net.scales):
        torch.testing.assert_close(outputs[k], scale.features(level))
        assert outputs[k][-1].dtype == dtype
        level = downsample(level)
    # The scales are independent discriminators, not shared weights.
    assert net.scales[0].layers[0].conv.weight is not net.scales[1].layers[0].conv.weight


def test_multiscale_return_features_false_gives_the_prediction_per_scale():
    net = MultiscaleDiscriminator(3, num_scales=2, base_channels=2, num_layers=2)
    single = MultiscaleDiscriminator(
        3, num_scales=2, base_channels=2, num_layers=2, return_features=False
    )
    single.load_state_dict(net.state_dict())
    x = torch.randn(1, 3, 16, 16)
    full, preds = net(x), single(x)
    assert [len(s) for s in full] == [4, 4]
    assert [len(s) for s in preds] == [1, 1]
    for k in range(2):
        torch.testing.assert_close(preds[k][0], full[k][-1])


def test_multiscale_use_sigmoid_applies_to_every_prediction():
    net = MultiscaleDiscriminator(3, num_scales=2, base_channels=2, num_layers=1, use_sigmoid=True)
    for scale in net(torch.randn(1, 3, 16, 16)):
        assert ((scale[-1] > 0) & (scale[-1] < 1)).all()
        assert scale[0].min() < 0  # only the prediction


@pytest.mark.parametrize("multiscale", [False, True])
def test_spectral_norm_uses_torch_parametrization(multiscale):
    if multiscale:
        net = MultiscaleDiscriminator(
            3, num_scales=2, base_channels=4, num_layers=2, spectral_norm=True
        )
        layers = [layer for scale in net.scales for layer in scale.layers]
    else:
        net = NLayerDiscriminator(3, base_channels=4, num_layers=2, spectral_norm=True)
        layers = list(net.layers)
    x = torch.randn(2, 3, 16, 16)
    for _ in range(5):  # power iterations run in training mode
        out = net(x)
    for layer in layers:
        conv = layer.conv
        assert parametrize.is_parametrized(conv, "weight")
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma == pytest.approx(1.0, abs=0.05)
    leaves = out if not multiscale else [t for scale in out for t in scale]
    sum(t.sum() for t in leaves).backward()
    for name, param in net.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
    assert any(
        name.endswith("parametrizations.weight.original") for name, _ in net.named_parameters()
    )
    # Without the flag nothing is parametrized.
    plain = NLayerDiscriminator(3, base_channels=4, num_layers=2)
    assert not any(parametrize.is_parametrized(layer.conv) for layer in plain.layers)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: NLayerDiscriminator(3, num_layers=0),
            ValueError,
            "num_layers must be >= 1, got 0",
        ),
        (lambda: NLayerDiscriminator(0), ValueError, "in_channels must be >= 1"),
        (lambda: NLayerDiscriminator(3, base_channels=0), ValueError, "base_channels must be >= 1"),
        (lambda: NLayerDiscriminator(3, norm="x"), ValueError, "norm must be one of"),
        (lambda: NLayerDiscriminator(3.0), TypeError, "in_channels must be an int"),
        (lambda: MultiscaleDiscriminator(3, num_scales=0), ValueError, "num_scales must be >= 1"),
        (lambda: MultiscaleDiscriminator(3, num_layers=0), ValueError, "num_layers must be >= 1"),
        (lambda: MultiscaleDiscriminator(3, norm="x"), ValueError, "norm must be one of"),
    ],
)
def test_bad_arguments_raise(build, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build()


@pytest.mark.parametrize(
    "net",
    [
        NLayerDiscriminator(3, base_channels=2, num_layers=1),
        MultiscaleDiscriminator(3, num_scales=2, base_channels=2, num_layers=1),
    ],
    ids=["nlayer", "multiscale"],
)
def test_bad_inputs_raise(net):
    with pytest.raises(ValueError, match=re.escape("got (3, 16, 16)")):
        net(torch.randn(3, 16, 16))
    with pytest.raises(
        ValueError, match=re.escape("with 3 channels (N, 3, H, W), got (1, 4, 8, 8)")
    ):
        net(torch.randn(1, 4, 8, 8))


def test_backward_reaches_every_parameter():
    net = MultiscaleDiscriminator(3, num_scales=2, base_channels=2, num_layers=2, norm="batch")
    x = torch.randn(2, 3, 16, 16, requires_grad=True)
    sum(f.square().mean() for scale in net(x) for f in scale).backward()
    assert torch.isfinite(x.grad).all()
    for name, param in net.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_state_dict_round_trip(norm):
    source = MultiscaleDiscriminator(3, num_scales=2, base_channels=2, num_layers=2, norm=norm)
    x = torch.randn(2, 3, 16, 16)
    source(x)
    source.eval()
    torch.manual_seed(11)
    target = MultiscaleDiscriminator(3, num_scales=2, base_channels=2, num_layers=2, norm=norm)
    target.eval()
    target.load_state_dict(source.state_dict())
    torch.testing.assert_close(target(x), source(x))
