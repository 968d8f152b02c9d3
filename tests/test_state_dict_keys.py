"""State-dict keys are public API: exact key lists of small configurations, pinned.

The lists were generated once from the code; a change here breaks every saved checkpoint and must
be deliberate (and noted in the changelog).
"""

from __future__ import annotations

import pytest
import torch

from condgan_blocks import (
    GlobalGenerator,
    LocalEnhancer,
    MultiscaleDiscriminator,
    NLayerDiscriminator,
)
from condgan_blocks.compat import pix2pixhd

GLOBAL_GENERATOR_KEYS = [
    "stem.conv.weight",
    "stem.conv.bias",
    "stem.norm.weight",
    "stem.norm.bias",
    "stem.norm.running_mean",
    "stem.norm.running_var",
    "stem.norm.num_batches_tracked",
    "downsamples.0.conv.weight",
    "downsamples.0.conv.bias",
    "downsamples.0.norm.weight",
    "downsamples.0.norm.bias",
    "downsamples.0.norm.running_mean",
    "downsamples.0.norm.running_var",
    "downsamples.0.norm.num_batches_tracked",
    "blocks.0.conv1.weight",
    "blocks.0.conv1.bias",
    "blocks.0.norm1.weight",
    "blocks.0.norm1.bias",
    "blocks.0.norm1.running_mean",
    "blocks.0.norm1.running_var",
    "blocks.0.norm1.num_batches_tracked",
    "blocks.0.conv2.weight",
    "blocks.0.conv2.bias",
    "blocks.0.norm2.weight",
    "blocks.0.norm2.bias",
    "blocks.0.norm2.running_mean",
    "blocks.0.norm2.running_var",
    "blocks.0.norm2.num_batches_tracked",
    "upsamples.0.conv.weight",
    "upsamples.0.conv.bias",
    "upsamples.0.norm.weight",
    "upsamples.0.norm.bias",
    "upsamples.0.norm.running_mean",
    "upsamples.0.norm.running_var",
    "upsamples.0.norm.num_batches_tracked",
    "head.conv.weight",
    "head.conv.bias",
]

LOCAL_ENHANCER_KEYS = [
    "global_generator.stem.conv.weight",
    "global_generator.stem.conv.bias",
    "global_generator.stem.norm.weight",
    "global_generator.stem.norm.bias",
    "global_generator.stem.norm.running_mean",
    "global_generator.stem.norm.running_var",
    "global_generator.stem.norm.num_batches_tracked",
    "global_generator.downsamples.0.conv.weight",
    "global_generator.downsamples.0.conv.bias",
    "global_generator.downsamples.0.norm.weight",
    "global_generator.downsamples.0.norm.bias",
    "global_generator.downsamples.0.norm.running_mean",
    "global_generator.downsamples.0.norm.running_var",
    "global_generator.downsamples.0.norm.num_batches_tracked",
    "global_generator.blocks.0.conv1.weight",
    "global_generator.blocks.0.conv1.bias",
    "global_generator.blocks.0.norm1.weight",
    "global_generator.blocks.0.norm1.bias",
    "global_generator.blocks.0.norm1.running_mean",
    "global_generator.blocks.0.norm1.running_var",
    "global_generator.blocks.0.norm1.num_batches_tracked",
    "global_generator.blocks.0.conv2.weight",
    "global_generator.blocks.0.conv2.bias",
    "global_generator.blocks.0.norm2.weight",
    "global_generator.blocks.0.norm2.bias",
    "global_generator.blocks.0.norm2.running_mean",
    "global_generator.blocks.0.norm2.running_var",
    "global_generator.blocks.0.norm2.num_batches_tracked",
    "global_generator.upsamples.0.conv.weight",
    "global_generator.upsamples.0.conv.bias",
    "global_generator.upsamples.0.norm.weight",
    "global_generator.upsamples.0.norm.bias",
    "global_generator.upsamples.0.norm.running_mean",
    "global_generator.upsamples.0.norm.running_var",
    "global_generator.upsamples.0.norm.num_batches_tracked",
    "stages.0.front.0.conv.weight",
    "stages.0.front.0.conv.bias",
    "stages.0.front.0.norm.weight",
    "stages.0.front.0.norm.bias",
    "stages.0.front.0.norm.running_mean",
    "stages.0.front.0.norm.running_var",
    "stages.0.front.0.norm.num_batches_tracked",
    "stages.0.front.1.conv.weight",
    "stages.0.front.1.conv.bias",
    "stages.0.front.1.norm.weight",
    "stages.0.front.1.norm.bias",
    "stages.0.front.1.norm.running_mean",
    "stages.0.front.1.norm.running_var",
    "stages.0.front.1.norm.num_batches_tracked",
    "stages.0.blocks.0.conv1.weight",
    "stages.0.blocks.0.conv1.bias",
    "stages.0.blocks.0.norm1.weight",
    "stages.0.blocks.0.norm1.bias",
    "stages.0.blocks.0.norm1.running_mean",
    "stages.0.blocks.0.norm1.running_var",
    "stages.0.blocks.0.norm1.num_batches_tracked",
    "stages.0.blocks.0.conv2.weight",
    "stages.0.blocks.0.conv2.bias",
    "stages.0.blocks.0.norm2.weight",
    "stages.0.blocks.0.norm2.bias",
    "stages.0.blocks.0.norm2.running_mean",
    "stages.0.blocks.0.norm2.running_var",
    "stages.0.blocks.0.norm2.num_batches_tracked",
    "stages.0.up.conv.weight",
    "stages.0.up.conv.bias",
    "stages.0.up.norm.weight",
    "stages.0.up.norm.bias",
    "stages.0.up.norm.running_mean",
    "stages.0.up.norm.running_var",
    "stages.0.up.norm.num_batches_tracked",
    "stages.1.front.0.conv.weight",
    "stages.1.front.0.conv.bias",
    "stages.1.front.0.norm.weight",
    "stages.1.front.0.norm.bias",
    "stages.1.front.0.norm.running_mean",
    "stages.1.front.0.norm.running_var",
    "stages.1.front.0.norm.num_batches_tracked",
    "stages.1.front.1.conv.weight",
    "stages.1.front.1.conv.bias",
    "stages.1.front.1.norm.weight",
    "stages.1.front.1.norm.bias",
    "stages.1.front.1.norm.running_mean",
    "stages.1.front.1.norm.running_var",
    "stages.1.front.1.norm.num_batches_tracked",
    "stages.1.blocks.0.conv1.weight",
    "stages.1.blocks.0.conv1.bias",
    "stages.1.blocks.0.norm1.weight",
    "stages.1.blocks.0.norm1.bias",
    "stages.1.blocks.0.norm1.running_mean",
    "stages.1.blocks.0.norm1.running_var",
    "stages.1.blocks.0.norm1.num_batches_tracked",
    "stages.1.blocks.0.conv2.weight",
    "stages.1.blocks.0.conv2.bias",
    "stages.1.blocks.0.norm2.weight",
    "stages.1.blocks.0.norm2.bias",
    "stages.1.blocks.0.norm2.running_mean",
    "stages.1.blocks.0.norm2.running_var",
    "stages.1.blocks.0.norm2.num_batches_tracked",
    "stages.1.up.conv.weight",
    "stages.1.up.conv.bias",
    "stages.1.up.norm.weight",
    "stages.1.up.norm.bias",
    "stages.1.up.norm.running_mean",
    "stages.1.up.norm.running_var",
    "stages.1.up.norm.num_batches_tracked",
    "stages.1.head.conv.weight",
    "stages.1.head.conv.bias",
]

NLAYER_DISCRIMINATOR_KEYS = [
    "layers.0.conv.weight",
    "layers.0.conv.bias",
    "layers.1.conv.weight",
    "layers.1.conv.bias",
    "layers.1.norm.weight",
    "layers.1.norm.bias",
    "layers.1.norm.running_mean",
    "layers.1.norm.running_var",
    "layers.1.norm.num_batches_tracked",
    "layers.2.conv.weight",
    "layers.2.conv.bias",
    "layers.2.norm.weight",
    "layers.2.norm.bias",
    "layers.2.norm.running_mean",
    "layers.2.norm.running_var",
    "layers.2.norm.num_batches_tracked",
    "layers.3.conv.weight",
    "layers.3.conv.bias",
]

MULTISCALE_DISCRIMINATOR_KEYS = [
    "scales.0.layers.0.conv.weight",
    "scales.0.layers.0.conv.bias",
    "scales.0.layers.1.conv.weight",
    "scales.0.layers.1.conv.bias",
    "scales.0.layers.1.norm.weight",
    "scales.0.layers.1.norm.bias",
    "scales.0.layers.1.norm.running_mean",
    "scales.0.layers.1.norm.running_var",
    "scales.0.layers.1.norm.num_batches_tracked",
    "scales.0.layers.2.conv.weight",
    "scales.0.layers.2.conv.bias",
    "scales.0.layers.2.norm.weight",
    "scales.0.layers.2.norm.bias",
    "scales.0.layers.2.norm.running_mean",
    "scales.0.layers.2.norm.running_var",
    "scales.0.layers.2.norm.num_batches_tracked",
    "scales.0.layers.3.conv.weight",
    "scales.0.layers.3.conv.bias",
    "scales.1.layers.0.conv.weight",
    "scales.1.layers.0.conv.bias",
    "scales.1.layers.1.conv.weight",
    "scales.1.layers.1.conv.bias",
    "scales.1.layers.1.norm.weight",
    "scales.1.layers.1.norm.bias",
    "scales.1.layers.1.norm.running_mean",
    "scales.1.layers.1.norm.running_var",
    "scales.1.layers.1.norm.num_batches_tracked",
    "scales.1.layers.2.conv.weight",
    "scales.1.layers.2.conv.bias",
    "scales.1.layers.2.norm.weight",
    "scales.1.layers.2.norm.bias",
    "scales.1.layers.2.norm.running_mean",
    "scales.1.layers.2.norm.running_var",
    "scales.1.layers.2.norm.num_batches_tracked",
    "scales.1.layers.3.conv.weight",
    "scales.1.layers.3.conv.bias",
]

SPECTRAL_NLAYER_DISCRIMINATOR_KEYS = [
    "layers.0.conv.bias",
    "layers.0.conv.parametrizations.weight.original",
    "layers.0.conv.parametrizations.weight.0._u",
    "layers.0.conv.parametrizations.weight.0._v",
    "layers.1.conv.bias",
    "layers.1.conv.parametrizations.weight.original",
    "layers.1.conv.parametrizations.weight.0._u",
    "layers.1.conv.parametrizations.weight.0._v",
    "layers.2.conv.bias",
    "layers.2.conv.parametrizations.weight.original",
    "layers.2.conv.parametrizations.weight.0._u",
    "layers.2.conv.parametrizations.weight.0._v",
]

# The same GlobalGenerator under the original pix2pixHD's keys (to_original_state_dict).
ORIGINAL_GLOBAL_GENERATOR_KEYS = [
    "model.1.weight",
    "model.1.bias",
    "model.2.weight",
    "model.2.bias",
    "model.2.running_mean",
    "model.2.running_var",
    "model.2.num_batches_tracked",
    "model.4.weight",
    "model.4.bias",
    "model.5.weight",
    "model.5.bias",
    "model.5.running_mean",
    "model.5.running_var",
    "model.5.num_batches_tracked",
    "model.7.conv_block.1.weight",
    "model.7.conv_block.1.bias",
    "model.7.conv_block.2.weight",
    "model.7.conv_block.2.bias",
    "model.7.conv_block.2.running_mean",
    "model.7.conv_block.2.running_var",
    "model.7.conv_block.2.num_batches_tracked",
    "model.7.conv_block.5.weight",
    "model.7.conv_block.5.bias",
    "model.7.conv_block.6.weight",
    "model.7.conv_block.6.bias",
    "model.7.conv_block.6.running_mean",
    "model.7.conv_block.6.running_var",
    "model.7.conv_block.6.num_batches_tracked",
    "model.8.weight",
    "model.8.bias",
    "model.9.weight",
    "model.9.bias",
    "model.9.running_mean",
    "model.9.running_var",
    "model.9.num_batches_tracked",
    "model.12.weight",
    "model.12.bias",
]


CASES = {
    "global_generator": (
        lambda: GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1, norm="batch"),
        GLOBAL_GENERATOR_KEYS,
    ),
    "local_enhancer": (
        lambda: LocalEnhancer(
            3,
            base_channels=2,
            num_enhancers=2,
            num_blocks_local=1,
            num_downsamples_global=1,
            num_blocks_global=1,
            norm="batch",
        ),
        LOCAL_ENHANCER_KEYS,
    ),
    "nlayer_discriminator": (
        lambda: NLayerDiscriminator(3, base_channels=2, num_layers=2, norm="batch"),
        NLAYER_DISCRIMINATOR_KEYS,
    ),
    "multiscale_discriminator": (
        lambda: MultiscaleDiscriminator(
            3, num_scales=2, base_channels=2, num_layers=2, norm="batch"
        ),
        MULTISCALE_DISCRIMINATOR_KEYS,
    ),
    "spectral_nlayer_discriminator": (
        lambda: NLayerDiscriminator(
            3, base_channels=2, num_layers=1, norm="none", spectral_norm=True
        ),
        SPECTRAL_NLAYER_DISCRIMINATOR_KEYS,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_keys_are_pinned(name):
    build, expected = CASES[name]
    assert list(build().state_dict()) == expected


@pytest.mark.parametrize("name", list(CASES))
def test_keys_do_not_depend_on_dtype_or_mode(name):
    build, expected = CASES[name]
    module = build().double().eval()
    assert list(module.state_dict()) == expected


def test_original_keys_of_the_global_generator_are_pinned():
    build, _ = CASES["global_generator"]
    assert list(pix2pixhd.to_original_state_dict(build())) == ORIGINAL_GLOBAL_GENERATOR_KEYS


def test_instance_norm_configurations_have_no_norm_keys():
    net = GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1)
    expected = [k for k in GLOBAL_GENERATOR_KEYS if ".norm" not in k]
    assert list(net.state_dict()) == expected


def test_headless_global_generator_drops_only_head_keys():
    net = GlobalGenerator(
        3, base_channels=2, num_downsamples=1, num_blocks=1, norm="batch", include_head=False
    )
    assert list(net.state_dict()) == [k for k in GLOBAL_GENERATOR_KEYS if not k.startswith("head.")]


def test_return_features_and_sigmoid_do_not_change_keys():
    with torch.device("meta"):
        net = NLayerDiscriminator(
            3, base_channels=2, num_layers=2, norm="batch", use_sigmoid=True, return_features=True
        )
    assert list(net.state_dict()) == NLAYER_DISCRIMINATOR_KEYS
