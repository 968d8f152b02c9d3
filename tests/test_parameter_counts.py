"""Parameter counts equal the original pix2pixHD's for the same options.

The formulas below are written from the layout tables of the fixtures README (the original's
``Sequential`` layouts), independently of our modules: a k x k convolution (or transposed
convolution) from cin to cout holds ``k*k*cin*cout + cout`` parameters, a BatchNorm over C channels
``2*C`` and instance norm none. Modules are built on the meta device, so even the paper's 731M
parameter model costs no memory.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import GlobalGenerator, LocalEnhancer, MultiscaleDiscriminator
from condgan_blocks.compat import pix2pixhd

from .conftest import FIXTURE_DIR, fixture_paths, load_case

BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def conv(k: int, cin: int, cout: int) -> int:
    return k * k * cin * cout + cout


def norm(channels: int, kind: str) -> int:
    return 2 * channels if kind == "batch" else 0


def resnet_block(channels: int, kind: str) -> int:
    return 2 * (conv(3, channels, channels) + norm(channels, kind))


def original_global_generator(input_nc, output_nc, ngf, d, blocks, kind, *, head=True) -> int:
    total = conv(7, input_nc, ngf) + norm(ngf, kind)
    for i in range(d):
        total += conv(3, ngf * 2**i, ngf * 2 ** (i + 1)) + norm(ngf * 2 ** (i + 1), kind)
    total += blocks * resnet_block(ngf * 2**d, kind)
    for i in range(d):
        total += conv(3, ngf * 2 ** (d - i), ngf * 2 ** (d - i - 1)) + norm(
            ngf * 2 ** (d - i - 1), kind
        )
    if head:
        total += conv(7, ngf, output_nc)
    return total


def original_local_enhancer(input_nc, output_nc, ngf, d, blocks, enhancers, blocks_local, kind):
    # `model`: the global generator at ngf * 2^L without its last pad/conv/tanh.
    total = original_global_generator(
        input_nc, output_nc, ngf * 2**enhancers, d, blocks, kind, head=False
    )
    for n in range(1, enhancers + 1):
        c = ngf * 2 ** (enhancers - n)
        total += conv(7, input_nc, c) + norm(c, kind) + conv(3, c, 2 * c) + norm(2 * c, kind)
        total += blocks_local * resnet_block(2 * c, kind)
        total += conv(3, 2 * c, c) + norm(c, kind)
        if n == enhancers:
            total += conv(7, ngf, output_nc)
    return total


def original_nlayer(input_nc, ndf, n_layers, kind) -> int:
    total = conv(4, input_nc, ndf)
    nf = ndf
    for n in range(1, n_layers + 1):
        nf_prev, nf = nf, min(ndf * 2**n, 512)
        total += conv(4, nf_prev, nf) + norm(nf, kind)
    return total + conv(4, nf, 1)


def original_multiscale(input_nc, ndf, n_layers, num_d, kind) -> int:
    return num_d * original_nlayer(input_nc, ndf, n_layers, kind)


def original_count(kind: str, o: dict) -> int:
    if kind == "global_generator":
        return original_global_generator(
            o["input_nc"],
            o["output_nc"],
            o["ngf"],
            o["n_downsample_global"],
            o["n_blocks_global"],
            o["norm"],
        )
    if kind == "local_enhancer":
        return original_local_enhancer(
            o["input_nc"],
            o["output_nc"],
            o["ngf"],
            o["n_downsample_global"],
            o["n_blocks_global"],
            o["n_local_enhancers"],
            o["n_blocks_local"],
            o["norm"],
        )
    if kind == "nlayer_discriminator":
        return original_nlayer(o["input_nc"], o["ndf"], o["n_layers_D"], o["norm"])
    return original_multiscale(o["input_nc"], o["ndf"], o["n_layers_D"], o["num_D"], o["norm"])


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_meta(kind: str, options: dict) -> torch.nn.Module:
    with torch.device("meta"):
        return pix2pixhd.build(kind, options)


NORMS = st.sampled_from(["instance", "batch"])


@given(
    input_nc=st.integers(1, 40),
    output_nc=st.integers(1, 4),
    ngf=st.integers(1, 96),
    d=st.integers(0, 5),
    blocks=st.integers(0, 9),
    kind=NORMS,
)
@settings(deadline=None, max_examples=25)
def test_global_generator_count(input_nc, output_nc, ngf, d, blocks, kind):
    options = {
        "input_nc": input_nc,
        "output_nc": output_nc,
        "ngf": ngf,
        "n_downsample_global": d,
        "n_blocks_global": blocks,
        "norm": kind,
    }
    assert count(build_meta("global_generator", options)) == original_count(
        "global_generator", options
    )


@given(
    input_nc=st.integers(1, 40),
    output_nc=st.integers(1, 4),
    ngf=st.integers(1, 32),
    d=st.integers(0, 4),
    blocks=st.integers(0, 4),
    enhancers=st.integers(1, 3),
    blocks_local=st.integers(0, 3),
    kind=NORMS,
)
@settings(deadline=None, max_examples=25)
def test_local_enhancer_count(input_nc, output_nc, ngf, d, blocks, enhancers, blocks_local, kind):
    options = {
        "input_nc": input_nc,
        "output_nc": output_nc,
        "ngf": ngf,
        "n_downsample_global": d,
        "n_blocks_global": blocks,
        "n_local_enhancers": enhancers,
        "n_blocks_local": blocks_local,
        "norm": kind,
    }
    assert count(build_meta("local_enhancer", options)) == original_count("local_enhancer", options)


@given(
    input_nc=st.integers(1, 40),
    ndf=st.sampled_from([1, 2, 3, 8, 64, 100, 300]),
    n_layers=st.integers(1, 5),
    num_d=st.integers(1, 4),
    kind=NORMS,
    interm=st.booleans(),
)
@settings(deadline=None, max_examples=25)
def test_discriminator_counts(input_nc, ndf, n_layers, num_d, kind, interm):
    options = {
        "input_nc": input_nc,
        "ndf": ndf,
        "n_layers_D": n_layers,
        "num_D": num_d,
        "norm": kind,
        "getIntermFeat": interm,
    }
    single = original_count("nlayer_discriminator", options)
    assert count(build_meta("nlayer_discriminator", options)) == single
    multi = original_count("multiscale_discriminator", options)
    assert multi == num_d * single
    assert count(build_meta("multiscale_discriminator", options)) == multi


NETWORK_FIXTURES = [
    p
    for p in fixture_paths()
    if p.stem.startswith(("global_generator", "local_enhancer", "nlayer", "multiscale"))
]


@pytest.mark.skipif(not NETWORK_FIXTURES, reason=f"reference fixtures not found at {FIXTURE_DIR}")
@pytest.mark.parametrize("path", NETWORK_FIXTURES, ids=[p.stem for p in NETWORK_FIXTURES])
def test_formula_and_module_match_the_original_state_dicts(path):
    case = load_case(path)
    options = case["options"]
    original_params = sum(
        v.numel() for k, v in case["state_dict"].items() if not k.endswith(BUFFERS)
    )
    assert original_count(case["kind"], options) == original_params
    module = pix2pixhd.build(case["kind"], case["options"])
    assert count(module) == original_params
    # Buffers too: the whole state dict has the same number of elements.
    assert sum(v.numel() for v in module.state_dict().values()) == sum(
        v.numel() for v in case["state_dict"].values()
    )


# The paper's Cityscapes configurations, with 37 input channels as specified for this suite
# (35 labels + boundary map = 36 in the original's data pipeline; the count scales by 7*7*ngf).
PAPER_INPUT_NC = 37
PAPER_CONFIGS = {
    "global_1024x512": (
        GlobalGenerator,
        {"base_channels": 64, "num_downsamples": 4, "num_blocks": 9},
        original_global_generator(PAPER_INPUT_NC, 3, 64, 4, 9, "instance"),
        182_549_891,
    ),
    "local_n1": (
        LocalEnhancer,
        {"base_channels": 32, "num_enhancers": 1, "num_blocks_local": 3},
        original_local_enhancer(PAPER_INPUT_NC, 3, 32, 4, 9, 1, 3, "instance"),
        182_861_763,
    ),
    "local_n2": (
        LocalEnhancer,
        {"base_channels": 32, "num_enhancers": 2, "num_blocks_local": 3},
        original_local_enhancer(PAPER_INPUT_NC, 3, 32, 4, 9, 2, 3, "instance"),
        731_357_635,
    ),
}


@pytest.mark.parametrize("name", list(PAPER_CONFIGS))
def test_paper_generator_configurations(name):
    cls, kwargs, formula, pinned = PAPER_CONFIGS[name]
    with torch.device("meta"):
        net = cls(PAPER_INPUT_NC, 3, **kwargs)
    assert count(net) == formula == pinned


def test_local_n2_is_about_731m_parameters():
    total = PAPER_CONFIGS["local_n2"][2]
    assert 730e6 < total < 732e6
    # Its global generator at 128 base channels dominates: 9 blocks at 2048 channels.
    assert 9 * resnet_block(2048, "instance") > 0.9 * total


def test_paper_multiscale_discriminator():
    in_channels = 3 + PAPER_INPUT_NC
    with torch.device("meta"):
        net = MultiscaleDiscriminator(in_channels, num_scales=3, base_channels=64, num_layers=3)
    expected = original_multiscale(in_channels, 64, 3, 3, "instance")
    assert count(net) == expected == 8_407_875
