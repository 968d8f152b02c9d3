"""Absurd architecture sizes are refused from the arguments, fast, before anything is allocated.

The size functions give the widest layer and the exact parameter count without building; they
are checked against modules built on the meta device (no memory), the paper's configurations
included.
"""

from __future__ import annotations

import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import (
    EnhancerStage,
    GlobalGenerator,
    InstanceFeatureEncoder,
    LocalEnhancer,
    MultiscaleDiscriminator,
    NLayerDiscriminator,
    ResnetBlock,
)
from condgan_blocks._checks import (
    MAX_CHANNELS,
    MAX_PARAMETERS,
    MAX_REPEATS,
    check_architecture_size,
)
from condgan_blocks.compat import pix2pixhd
from condgan_blocks.discriminators.nlayer import nlayer_discriminator_size
from condgan_blocks.generators.global_generator import global_generator_size
from condgan_blocks.generators.local_enhancer import local_enhancer_size
from condgan_blocks.instance.encoder import instance_encoder_size

NORMS = st.sampled_from(["instance", "batch", "none"])


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_bounds_are_the_documented_ones():
    assert (MAX_CHANNELS, MAX_PARAMETERS, MAX_REPEATS) == (2**16, 2**34, 2**12)
    check_architecture_size("X", MAX_CHANNELS, MAX_PARAMETERS, hint="h")
    with pytest.raises(ValueError, match=r"X would have a layer with 65537 channels.*lower h"):
        check_architecture_size("X", MAX_CHANNELS + 1, 1, hint="h")
    with pytest.raises(ValueError, match=r"X would have 17179869185 parameters.*lower h"):
        check_architecture_size("X", 1, MAX_PARAMETERS + 1, hint="h")


@settings(deadline=None, max_examples=15)
@given(
    in_channels=st.integers(1, 5),
    out_channels=st.integers(1, 4),
    base=st.integers(1, 4),
    downsamples=st.integers(0, 3),
    blocks=st.integers(0, 2),
    norm=NORMS,
    head=st.booleans(),
)
def test_global_generator_size_is_exact(
    in_channels, out_channels, base, downsamples, blocks, norm, head
):
    with torch.device("meta"):
        net = GlobalGenerator(
            in_channels,
            out_channels,
            base_channels=base,
            num_downsamples=downsamples,
            num_blocks=blocks,
            norm=norm,
            include_head=head,
        )
    widest, count = global_generator_size(
        in_channels, out_channels, base, downsamples, blocks, norm, include_head=head
    )
    assert count == _count(net)
    assert widest == max(in_channels, out_channels, base * 2**downsamples)


@settings(deadline=None, max_examples=15)
@given(
    base=st.integers(1, 3),
    enhancers=st.integers(1, 3),
    blocks_local=st.integers(0, 2),
    downsamples=st.integers(0, 2),
    global_base=st.one_of(st.none(), st.integers(1, 8)),
    norm=NORMS,
)
def test_local_enhancer_size_is_exact(
    base, enhancers, blocks_local, downsamples, global_base, norm
):
    with torch.device("meta"):
        net = LocalEnhancer(
            4,
            3,
            base_channels=base,
            num_enhancers=enhancers,
            num_blocks_local=blocks_local,
            num_downsamples_global=downsamples,
            num_blocks_global=1,
            global_base_channels=global_base,
            norm=norm,
        )
    global_base = base * 2**enhancers if global_base is None else global_base
    _, count = local_enhancer_size(
        4, 3, base, enhancers, blocks_local, downsamples, 1, global_base, norm
    )
    assert count == _count(net)


@settings(deadline=None, max_examples=15)
@given(
    in_channels=st.integers(1, 6),
    base=st.sampled_from([1, 3, 300, 600]),
    layers=st.integers(1, 5),
    norm=NORMS,
)
def test_discriminator_sizes_are_exact(in_channels, base, layers, norm):
    with torch.device("meta"):
        single = NLayerDiscriminator(in_channels, base_channels=base, num_layers=layers, norm=norm)
        multi = MultiscaleDiscriminator(
            in_channels, num_scales=2, base_channels=base, num_layers=layers, norm=norm
        )
    widest, count = nlayer_discriminator_size(in_channels, base, layers, norm)
    assert count == _count(single)
    assert 2 * count == _count(multi)
    assert widest == max(in_channels, base, *(min(base * 2**n, 512) for n in range(1, layers + 1)))


def test_spectral_norm_adds_no_parameters():
    net = NLayerDiscriminator(3, base_channels=4, num_layers=2, norm="batch", spectral_norm=True)
    assert nlayer_discriminator_size(3, 4, 2, "batch")[1] == _count(net)


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_instance_encoder_size_is_exact(norm):
    with torch.device("meta"):
        net = InstanceFeatureEncoder(3, 3, base_channels=16, num_downsamples=4, norm=norm)
    assert instance_encoder_size(3, 3, 16, 4, norm) == (256, _count(net))


def test_paper_configurations_still_build():
    # G1 with ngf 64, 4 downsamplings, 9 blocks; G1 + 2 enhancers with ngf 32 (Cityscapes 2048).
    assert global_generator_size(36, 3, 64, 4, 9, "instance") == (1024, 182_546_755)
    assert local_enhancer_size(36, 3, 32, 2, 3, 4, 9, 128, "instance") == (2048, 731_346_659)
    with torch.device("meta"):
        assert _count(GlobalGenerator(36)) == 182_546_755
        assert _count(LocalEnhancer(36, num_enhancers=2)) == 731_346_659
        assert _count(MultiscaleDiscriminator(39)) == 8_404_803
        InstanceFeatureEncoder()


ABSURD = [
    (lambda: GlobalGenerator(3, num_downsamples=64), r"GlobalGenerator would have a layer with "),
    (lambda: GlobalGenerator(3, num_downsamples=10**9), r"num_downsamples must be <= 4096"),
    (lambda: GlobalGenerator(3, num_blocks=10**6), r"num_blocks must be <= 4096"),
    (lambda: GlobalGenerator(3, num_blocks=4096), r"GlobalGenerator would have \d+ parameters"),
    (lambda: GlobalGenerator(3, base_channels=2**17, num_downsamples=0), "65536"),
    (lambda: GlobalGenerator(10**7, base_channels=1, num_downsamples=0), "channels"),
    (lambda: LocalEnhancer(3, num_enhancers=40), r"LocalEnhancer would have a layer with "),
    (lambda: LocalEnhancer(3, num_downsamples_global=64), r"LocalEnhancer would have a layer"),
    (
        lambda: LocalEnhancer(3, base_channels=256, num_blocks_local=4096),
        r"LocalEnhancer would have \d+ parameters",
    ),
    (lambda: LocalEnhancer(3, num_enhancers=10**9), r"num_enhancers must be <= 4096"),
    (lambda: NLayerDiscriminator(3, num_layers=10**6), r"num_layers must be <= 4096"),
    (lambda: NLayerDiscriminator(3, base_channels=2**17), r"NLayerDiscriminator would have a"),
    (lambda: MultiscaleDiscriminator(3, num_scales=10**5), r"num_scales must be <= 4096"),
    (
        lambda: MultiscaleDiscriminator(3, num_scales=4096, num_layers=500),
        r"MultiscaleDiscriminator would have \d+ parameters",
    ),
    (lambda: InstanceFeatureEncoder(num_downsamples=64), r"InstanceFeatureEncoder would have"),
    (lambda: ResnetBlock(2**17), r"ResnetBlock would have a layer with 131072 channels"),
    (lambda: ResnetBlock(2**16), r"ResnetBlock would have \d+ parameters"),
    (lambda: EnhancerStage(3, 2**16), r"EnhancerStage would have a layer with 131072 channels"),
    (
        # An original opt.txt: compat may refuse the option itself, else the block does.
        lambda: pix2pixhd.build("global_generator", {"input_nc": 36, "n_downsample_global": 64}),
        r"n_downsample_global|GlobalGenerator would have a layer with about 2\*\*70 channels",
    ),
    (
        lambda: pix2pixhd.build(
            "global_generator", {"input_nc": 36, "ngf": 128, "n_downsample_global": 10}
        ),
        r"ngf|n_downsample_global|GlobalGenerator would have a layer with 131072 channels",
    ),
]


@pytest.mark.parametrize(("build", "message"), ABSURD)
def test_absurd_sizes_are_refused_fast(build, message):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message), torch.device("meta"):  # meta: never allocate
        build()
    assert time.perf_counter() - start < 1.0
