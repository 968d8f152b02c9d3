"""``min_size`` is exactly the smallest input the generators accept."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from condgan_blocks import GlobalGenerator, LocalEnhancer


def _generators(draw_downsamples: int, num_blocks: int, padding: str, num_enhancers: int):
    global_net = GlobalGenerator(
        2, base_channels=2, num_downsamples=draw_downsamples, num_blocks=num_blocks, padding=padding
    )
    local_net = LocalEnhancer(
        2,
        base_channels=1,
        num_enhancers=num_enhancers,
        num_blocks_local=1,
        num_downsamples_global=draw_downsamples,
        num_blocks_global=num_blocks,
        global_padding=padding,
    )
    return global_net, local_net


@given(
    num_downsamples=st.integers(0, 3),
    num_blocks=st.integers(0, 1),
    padding=st.sampled_from(["reflect", "zero"]),
    num_enhancers=st.integers(1, 2),
)
def test_min_size_is_accepted_and_one_multiple_less_is_rejected(
    num_downsamples, num_blocks, padding, num_enhancers
):
    for net in _generators(num_downsamples, num_blocks, padding, num_enhancers):
        size, multiple = net.min_size, net.size_multiple
        assert size % multiple == 0
        with torch.no_grad():
            assert net(torch.zeros(1, 2, size, size)).shape[-2:] == (size, size)
            if size > multiple:
                with pytest.raises(ValueError, match="too small"):
                    net(torch.zeros(1, 2, size - multiple, size))
