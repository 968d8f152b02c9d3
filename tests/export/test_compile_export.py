"""The blocks under torch.compile, torch.export, channels_last and bfloat16 autocast."""

from __future__ import annotations

import pytest
import torch

from condgan_blocks import (
    GlobalGenerator,
    MultiscaleDiscriminator,
    NLayerDiscriminator,
)
from tests._generator_helpers import tiny_local_enhancer

ATOL, RTOL = 1e-5, 1e-4


def _global():
    return GlobalGenerator(3, base_channels=4, num_downsamples=2, num_blocks=1)


def _local():
    return tiny_local_enhancer()


def _nlayer():
    return NLayerDiscriminator(3, base_channels=4, num_layers=2, return_features=True)


def _multiscale():
    return MultiscaleDiscriminator(3, num_scales=2, base_channels=4, num_layers=2, norm="batch")


NETS = {"global": _global, "local": _local, "nlayer": _nlayer, "multiscale": _multiscale}


def _flatten(output) -> list[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return [output]
    return [t for item in output for t in _flatten(item)]


def _make(name: str):
    net = NETS[name]().eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        expected = _flatten(net(x))
    return net, x, expected


@pytest.mark.parametrize("name", list(NETS))
def test_compile_fullgraph_matches_eager(name):
    torch._dynamo.reset()
    net, x, expected = _make(name)
    compiled = torch.compile(net, fullgraph=True, backend="aot_eager")
    with torch.no_grad():
        out = _flatten(compiled(x))
    assert len(out) == len(expected)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", list(NETS))
def test_export_matches_eager(name):
    net, x, expected = _make(name)
    program = torch.export.export(net, (x,))
    out = _flatten(program.module()(x))
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=RTOL)
    # The exported program is not tied to the example input's values.
    y = torch.randn_like(x)
    with torch.no_grad():
        torch.testing.assert_close(
            _flatten(program.module()(y)), _flatten(net(y)), atol=ATOL, rtol=RTOL
        )


@pytest.mark.parametrize("name", list(NETS))
def test_channels_last_matches(name):
    net, x, expected = _make(name)
    with torch.no_grad():
        out = _flatten(net(x.contiguous(memory_format=torch.channels_last)))
        out_both = _flatten(
            net.to(memory_format=torch.channels_last)(
                x.contiguous(memory_format=torch.channels_last)
            )
        )
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(out_both, expected, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", list(NETS))
def test_bfloat16_autocast_is_finite_and_close(name):
    net, x, expected = _make(name)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = _flatten(net(x))
    assert len(out) == len(expected)
    assert any(t.dtype == torch.bfloat16 for t in out)  # autocast really ran in bfloat16
    for got, want in zip(out, expected, strict=True):
        assert got.shape == want.shape
        assert torch.isfinite(got).all()
        scale = want.abs().max().clamp_min(1e-3)
        assert (got.float() - want).abs().max() <= 0.1 * scale + 0.02


@pytest.mark.slow
def test_inductor_compile_matches_eager():
    torch._dynamo.reset()
    net = GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1).eval()
    x = torch.randn(1, 3, 8, 8)
    compiled = torch.compile(net)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), net(x), atol=ATOL, rtol=RTOL)
