"""Clear TypeErrors and ValueErrors for bad dtypes, absurd padding multiples and NaN ids."""

from __future__ import annotations

import re
import time

import pytest
import torch

from condgan_blocks import (
    EnhancerStage,
    GANLoss,
    GlobalGenerator,
    InstanceBoundary,
    InstanceFeatureEncoder,
    LocalEnhancer,
    MultiscaleDiscriminator,
    NLayerDiscriminator,
    OneHotLabels,
    ResnetBlock,
    gan_loss,
    instance_boundary,
    one_hot_labels,
    pad_to_multiple,
)


def _nets():
    return {
        "global": (GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1), 3),
        "local": (
            LocalEnhancer(
                3,
                base_channels=2,
                num_enhancers=1,
                num_blocks_local=1,
                num_downsamples_global=1,
                num_blocks_global=1,
            ),
            3,
        ),
        "nlayer": (NLayerDiscriminator(3, base_channels=2, num_layers=1), 3),
        "multiscale": (MultiscaleDiscriminator(3, num_scales=2, base_channels=2, num_layers=1), 3),
        "spectral": (NLayerDiscriminator(3, base_channels=2, num_layers=1, spectral_norm=True), 3),
        "resnet_block": (ResnetBlock(3), 3),
    }


NAMES = list(_nets())


@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8, torch.bool])
@pytest.mark.parametrize("name", NAMES)
def test_integer_inputs_are_refused(name, dtype):
    net, channels = _nets()[name]
    x = torch.zeros(1, channels, 16, 16, dtype=dtype)
    with pytest.raises(TypeError, match=rf"input must be a floating tensor, got dtype {dtype}"):
        net(x)
    with (
        pytest.raises(TypeError, match="input must be a floating tensor"),
        torch.autocast("cpu", dtype=torch.bfloat16),
    ):
        net(x)


@pytest.mark.parametrize("name", NAMES)
def test_dtype_mismatch_is_a_type_error(name):
    net, channels = _nets()[name]
    x = torch.randn(1, channels, 16, 16)
    message = re.escape(
        "input dtype torch.float64 differs from the module's parameter dtype torch.float32"
    )
    with pytest.raises(TypeError, match=message):
        net(x.double())
    # autocast never casts float64, so it is refused there too.
    with pytest.raises(TypeError, match=message), torch.autocast("cpu", dtype=torch.bfloat16):
        net(x.double())
    with pytest.raises(TypeError, match=r"input dtype torch.float32 differs .* torch.float64"):
        net.double()(x)
    with pytest.raises(TypeError, match=r"input dtype torch.float32 differs .* torch.bfloat16"):
        net.bfloat16()(x)


@pytest.mark.parametrize("name", NAMES)
def test_matching_dtypes_and_autocast_still_run(name):
    net, channels = _nets()[name]
    x = torch.randn(1, channels, 16, 16)
    with torch.no_grad():
        net(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            net(x)
            net(x.half())  # both eligible: autocast casts them to bfloat16
        net.bfloat16()(x.bfloat16())
        net.double()(x.double())


def test_encoder_and_stage_check_their_inputs():
    encoder = InstanceFeatureEncoder(base_channels=2, num_downsamples=1)
    instances = torch.zeros(1, 1, 8, 8, dtype=torch.long)
    with pytest.raises(TypeError, match=r"image must be a floating tensor, got dtype torch.uint8"):
        encoder(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), instances)
    with pytest.raises(TypeError, match=r"image dtype torch.float64 differs"):
        encoder.features(torch.zeros(1, 3, 8, 8, dtype=torch.float64))
    stage = EnhancerStage(3, 2, num_blocks=1)
    with pytest.raises(TypeError, match=r"coarser dtype torch.float64 differs"):
        stage(torch.zeros(1, 3, 8, 8), torch.zeros(1, 4, 4, 4, dtype=torch.float64))
    with pytest.raises(TypeError, match="image must be a floating tensor"):
        stage(torch.zeros(1, 3, 8, 8, dtype=torch.long), torch.zeros(1, 4, 4, 4))


def test_one_hot_dtype_must_be_a_floating_torch_dtype():
    labels = torch.zeros(1, 1, 2, 2, dtype=torch.long)
    for bad in ("float32", "x", torch.int64, torch.bool, None):
        with pytest.raises(TypeError, match=r"^dtype must be a floating dtype .*got "):
            one_hot_labels(labels, 3, dtype=bad)
        with pytest.raises(TypeError, match=r"^dtype must be a floating dtype .*got "):
            OneHotLabels(3, dtype=bad)
    assert OneHotLabels(3, dtype=torch.float16)(labels).dtype == torch.float16


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_gan_loss_refuses_integer_predictions(dtype):
    pred = torch.ones(1, 1, 2, 2, dtype=dtype)
    match = rf"predictions must be floating tensors .*got dtype {dtype} at scale 0"
    for mode in ("lsgan", "vanilla", "hinge"):
        with pytest.raises(TypeError, match=match):
            gan_loss(pred, True, mode=mode)
    with pytest.raises(TypeError, match=r"got dtype .* at scale 1"):
        GANLoss()([[torch.ones(1, 1, 2, 2)], [pred]], True)


def test_pad_to_multiple_refuses_absurd_multiples_fast():
    x = torch.zeros(1, 1, 4, 4)
    start = time.perf_counter()
    for mode in ("reflect", "replicate", "zero"):
        with pytest.raises(ValueError, match=r"multiple must be <= max\(1024, 2 \* max\(H, W\)\)"):
            pad_to_multiple(x, 2**40, mode)
    assert time.perf_counter() - start < 1.0
    # The bound: max(1024, 2 * max(H, W)); tiny images still pad to any multiple up to 1024.
    assert pad_to_multiple(torch.zeros(1, 1, 1, 1), 1024, "zero")[0].shape == (1, 1, 1024, 1024)
    with pytest.raises(ValueError, match="= 1024 for input"):
        pad_to_multiple(torch.zeros(1, 1, 1, 1), 1025, "zero")
    wide = torch.zeros(1, 1, 1, 600)
    assert pad_to_multiple(wide, 1200, "zero")[0].shape == (1, 1, 1200, 1200)
    with pytest.raises(ValueError, match="= 1200 for input"):
        pad_to_multiple(wide, 1201, "zero")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 1.5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_instance_boundary_refuses_nan_inf_and_fractional_ids(bad, dtype):
    instances = torch.zeros(2, 1, 4, 4, dtype=dtype)
    instances[1, 0, 2, 3] = bad
    match = r"floating instance map must hold finite integer values; 1 pixel\(s\)"
    with pytest.raises(ValueError, match=match):
        instance_boundary(instances)
    with pytest.raises(ValueError, match=match):
        InstanceBoundary()(instances)


def test_instance_boundary_still_accepts_integer_valued_floats():
    instances = torch.tensor([[[[1.0, 1.0, -2.0], [1.0, 1.0, 1.0]]]])
    out = instance_boundary(instances)
    assert out.tolist() == [[[[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]]]
