from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import InstanceBoundary, instance_boundary


def loop_boundary(instances: torch.Tensor) -> torch.Tensor:
    """Slow reference: a pixel is 1 if one of its existing 4-neighbours holds another id."""
    batch, _, height, width = instances.shape
    out = torch.zeros(batch, 1, height, width)
    for b in range(batch):
        for y in range(height):
            for x in range(width):
                for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                    ny, nx = y + dy, x + dx
                    inside = 0 <= ny < height and 0 <= nx < width
                    if inside and instances[b, 0, ny, nx] != instances[b, 0, y, x]:
                        out[b, 0, y, x] = 1
    return out


@st.composite
def instance_maps(draw, max_size: int = 9) -> torch.Tensor:
    batch, height, width = (draw(st.integers(1, n)) for n in (2, max_size, max_size))
    palette = draw(st.lists(st.integers(0, 40000), min_size=1, max_size=4, unique=True))
    size = batch * height * width
    values = draw(st.lists(st.sampled_from(palette), min_size=size, max_size=size))
    return torch.tensor(values).view(batch, 1, height, width)


maps = instance_maps()


@settings(deadline=None, max_examples=20)
@given(maps)
def test_matches_slow_loop(instances):
    assert torch.equal(instance_boundary(instances), loop_boundary(instances))


@settings(deadline=None, max_examples=20)
@given(maps)
def test_commutes_with_flips_and_transposes(instances):
    edges = instance_boundary(instances)
    for dims in ((2,), (3,), (2, 3)):
        assert torch.equal(instance_boundary(instances.flip(dims)), edges.flip(dims))
    assert torch.equal(instance_boundary(instances.transpose(2, 3)), edges.transpose(2, 3))


@settings(deadline=None, max_examples=10)
@given(st.integers(0, 40000), st.integers(1, 12), st.integers(1, 12))
def test_constant_map_has_no_boundary(value, height, width):
    assert instance_boundary(torch.full((2, 1, height, width), value)).sum() == 0


@pytest.mark.parametrize(
    "dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float32]
)
def test_any_integer_dtype_or_integer_valued_float(dtype):
    instances = torch.randint(0, 3, (2, 1, 6, 7))
    out = instance_boundary(instances.to(dtype))
    assert out.dtype == torch.float32
    assert torch.equal(out, loop_boundary(instances))


def test_module_equals_function_three_dims_and_dtype():
    instances = torch.randint(0, 3, (2, 6, 7), dtype=torch.int32)
    out = InstanceBoundary(dtype=torch.float16)(instances)
    assert out.shape == (2, 1, 6, 7)
    assert out.dtype == torch.float16
    assert torch.equal(out.float(), instance_boundary(instances.unsqueeze(1)))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\) or \(N, H, W\), got \(1, 2, 3, 3\)"):
        instance_boundary(torch.zeros(1, 2, 3, 3))
    with pytest.raises(TypeError, match=r"dtype must be a torch\.dtype"):
        InstanceBoundary(dtype="float32")


def test_compiles_without_graph_breaks():
    instances = torch.randint(0, 3, (2, 1, 6, 7))
    compiled = torch.compile(instance_boundary, fullgraph=True, backend="eager")
    assert torch.equal(compiled(instances), instance_boundary(instances))
