"""``init_weights``: N(0, std) convolutions, N(1, std) batch-norm weights, zero BN biases."""

from __future__ import annotations

import math
import re

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from condgan_blocks import GlobalGenerator, LocalEnhancer, NLayerDiscriminator, init_weights


def _assert_normal(values: torch.Tensor, mean: float, std: float) -> None:
    values = values.detach().double().flatten()
    n = values.numel()
    # Mean within 5 standard errors, std within 5 % (the std estimate's error is ~1/sqrt(2n)).
    assert abs(values.mean().item() - mean) < 5 * std / math.sqrt(n)
    assert values.std().item() == pytest.approx(std, rel=0.05)


@pytest.mark.parametrize("std", [0.02, 0.1])
@pytest.mark.parametrize("conv_type", [nn.Conv2d, nn.ConvTranspose2d])
def test_conv_weights_are_normal(conv_type, std):
    conv = conv_type(64, 64, 5)  # 102400 weights
    bias = conv.bias.detach().clone()
    assert init_weights(conv, std=std) is conv
    _assert_normal(conv.weight, 0.0, std)
    # Convolution biases keep PyTorch's default initialisation, as in the original.
    assert torch.equal(conv.bias, bias)


def test_default_std_is_0_02():
    conv = nn.Conv2d(32, 64, 5)
    init_weights(conv)
    _assert_normal(conv.weight, 0.0, 0.02)


def test_batch_norm_weights_and_biases():
    bn = nn.BatchNorm2d(8192)
    with torch.no_grad():
        bn.bias.fill_(3.0)
    init_weights(bn, std=0.02)
    _assert_normal(bn.weight, 1.0, 0.02)
    assert torch.equal(bn.bias, torch.zeros(8192))
    # Buffers are untouched.
    assert torch.equal(bn.running_mean, torch.zeros(8192))
    assert torch.equal(bn.running_var, torch.ones(8192))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_submodule_of_a_generator_is_visited(dtype):
    net = LocalEnhancer(
        3,
        base_channels=4,
        num_enhancers=1,
        num_blocks_local=1,
        num_downsamples_global=1,
        num_blocks_global=2,
        norm="batch",
    ).to(dtype)
    init_weights(net, std=0.02)
    conv_weights, bn_weights, bn_biases = [], [], []
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            conv_weights.append(module.weight.flatten())
        elif isinstance(module, nn.BatchNorm2d):
            bn_weights.append(module.weight.flatten())
            bn_biases.append(module.bias.flatten())
    # global: stem, down, 2 blocks x 2, up; enhancer: stem, down, 1 block x 2, up, head
    assert len(conv_weights) == 7 + 6
    weights = torch.cat(conv_weights)
    assert weights.dtype == dtype
    _assert_normal(weights, 0.0, 0.02)
    assert torch.equal(torch.cat(bn_biases), torch.zeros_like(torch.cat(bn_biases)))
    bn = torch.cat(bn_weights)
    assert (bn - 1).abs().max() < 0.02 * 6
    assert bn.std() > 0  # drawn, not filled


def test_spectral_norm_initialises_the_original_weight():
    net = NLayerDiscriminator(3, base_channels=32, num_layers=2, spectral_norm=True)
    init_weights(net, std=0.02)
    originals = []
    for layer in net.layers:
        assert parametrize.is_parametrized(layer.conv, "weight")
        originals.append(layer.conv.parametrizations.weight.original.flatten())
    _assert_normal(torch.cat(originals), 0.0, 0.02)


def test_instance_norm_has_nothing_to_initialise():
    net = GlobalGenerator(3, base_channels=4, num_downsamples=1, num_blocks=1)
    keys = set(net.state_dict())
    init_weights(net)
    assert set(net.state_dict()) == keys


def test_is_deterministic_under_a_seed():
    a = GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1)
    b = GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1)
    torch.manual_seed(5)
    init_weights(a)
    torch.manual_seed(5)
    init_weights(b)
    weights_b = dict(b.named_parameters())
    for key, value in a.named_parameters():
        if key.endswith("weight"):
            assert torch.equal(value, weights_b[key]), key


@pytest.mark.parametrize("std", [0.0, -0.02])
def test_non_positive_std_raises(std):
    with pytest.raises(ValueError, match=r"std must be > 0, got"):
        init_weights(nn.Conv2d(1, 1, 3), std=std)


@pytest.mark.parametrize("module", [torch.zeros(3), "conv", None])
def test_non_module_raises(module):
    with pytest.raises(TypeError, match=re.escape("module must be an nn.Module")):
        init_weights(module)
