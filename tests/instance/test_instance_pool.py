from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import InstanceAveragePool, instance_average_pool


def loop_pool(features: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
    """Slow reference, written as the original does it: a mask per id, per image and channel."""
    out = features.clone()
    for instance_id in instances.unique().tolist():
        mask = instances == instance_id
        for b in range(features.shape[0]):
            if mask[b, 0].any():
                for c in range(features.shape[1]):
                    out[b, c][mask[b, 0]] = features[b, c][mask[b, 0]].mean()
    return out


@st.composite
def instance_maps(draw, max_size: int = 10) -> torch.Tensor:
    batch, height, width = (draw(st.integers(1, n)) for n in (3, max_size, max_size))
    ids = st.one_of(st.integers(0, 50), st.integers(0, 2**40))  # direct table and torch.unique
    palette = draw(st.lists(ids, min_size=1, max_size=5, unique=True))
    size = batch * height * width
    values = draw(st.lists(st.sampled_from(palette), min_size=size, max_size=size))
    return torch.tensor(values).view(batch, 1, height, width)


TOLERANCES = {torch.float32: 1e-5, torch.float64: 1e-12, torch.bfloat16: 2e-2}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(deadline=None, max_examples=20)
@given(instances=instance_maps(), channels=st.integers(1, 3))
def test_constant_per_instance_and_mean_preserved(dtype, instances, channels):
    batch, _, height, width = instances.shape
    features = torch.randn(batch, channels, height, width, dtype=dtype)
    out = instance_average_pool(features, instances)
    tol = TOLERANCES[dtype]
    for b in range(batch):
        for instance_id in instances[b].unique():
            mask = instances[b, 0] == instance_id
            values = out[b][:, mask]
            assert torch.allclose(values, values[:, :1].expand_as(values), atol=tol)
            assert torch.allclose(values.mean(1), features[b][:, mask].mean(1), atol=tol)


@settings(deadline=None, max_examples=20)
@given(instances=instance_maps())
def test_idempotent_and_matches_loop(instances):
    features = torch.randn(instances.shape[0], 2, *instances.shape[2:], dtype=torch.float64)
    once = instance_average_pool(features, instances)
    assert torch.allclose(instance_average_pool(once, instances), once, atol=1e-12)
    assert torch.allclose(once, loop_pool(features, instances), atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_dtypes_follow_the_input(dtype):
    instances = torch.randint(0, 4, (2, 1, 8, 9))
    features = torch.randn(2, 3, 8, 9).to(dtype)
    out = instance_average_pool(features, instances)
    assert out.dtype == dtype
    expected = loop_pool(features.double(), instances)
    assert torch.allclose(out.double(), expected, atol=TOLERANCES[dtype], rtol=TOLERANCES[dtype])


def test_gradcheck_against_loop_reference():
    instances = torch.tensor([[[[3, 3, 24001], [3, 5, 24001]]], [[[5, 5, 5], [24001, 24001, 9]]]])
    features = torch.randn(2, 2, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: instance_average_pool(x, instances), (features,))
    weights = torch.randn(2, 2, 2, 3, dtype=torch.float64)
    (grad,) = torch.autograd.grad(
        (instance_average_pool(features, instances) * weights).sum(), features
    )
    (expected,) = torch.autograd.grad((loop_pool(features, instances) * weights).sum(), features)
    assert torch.allclose(grad, expected, atol=1e-12)


def test_large_sparse_ids_and_ids_in_some_images_only():
    instances = torch.tensor([[[[2**40, 2**40, 7]]], [[[7, 12, 12]]]])
    features = torch.tensor([[[[1.0, 3.0, 5.0]]], [[[10.0, 20.0, 40.0]]]])
    out = instance_average_pool(features, instances)
    # id 7 is pooled per image, never across the batch
    assert out.flatten().tolist() == [2.0, 2.0, 5.0, 10.0, 30.0, 30.0]
    assert torch.equal(
        instance_average_pool(features, instances.float().clamp_max(99)),
        torch.tensor([[[[2.0, 2.0, 5.0]]], [[[10.0, 30.0, 30.0]]]]),
    )


def test_module_equals_function_and_accepts_three_dim_instances():
    instances = torch.randint(0, 5, (2, 7, 6), dtype=torch.int32)
    features = torch.randn(2, 4, 7, 6)
    expected = instance_average_pool(features, instances.unsqueeze(1))
    assert torch.equal(InstanceAveragePool()(features, instances), expected)
    assert InstanceAveragePool().state_dict() == {}


def test_backward_runs_through_the_module():
    features = torch.randn(1, 3, 8, 8, requires_grad=True)
    InstanceAveragePool()(features, torch.randint(0, 3, (1, 1, 8, 8))).square().sum().backward()
    assert features.grad is not None
    assert torch.isfinite(features.grad).all()


def test_bad_inputs():
    features = torch.randn(2, 3, 8, 8)
    with pytest.raises(ValueError, match=r"features \(2, 3, 8, 8\) and instances \(2, 1, 8, 9\)"):
        instance_average_pool(features, torch.zeros(2, 1, 8, 9, dtype=torch.long))
    with pytest.raises(ValueError, match=r"features \(2, 3, 8, 8\) and instances \(1, 1, 8, 8\)"):
        instance_average_pool(features, torch.zeros(1, 1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"integer values.*\(2, 1, 8, 8\)"):
        instance_average_pool(features, torch.full((2, 1, 8, 8), 0.5))
    with pytest.raises(ValueError, match="non-negative"):
        instance_average_pool(features, torch.full((2, 1, 8, 8), -1))
    with pytest.raises(TypeError, match="floating"):
        instance_average_pool(features.long(), torch.zeros(2, 1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        instance_average_pool(features[0], torch.zeros(2, 1, 8, 8, dtype=torch.long))


def test_compiled_pool_matches_eager():
    instances = torch.randint(0, 3, (2, 1, 6, 7)) * 1000
    features = torch.randn(2, 3, 6, 7)
    compiled = torch.compile(instance_average_pool, backend="eager")
    assert torch.allclose(compiled(features, instances), instance_average_pool(features, instances))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    instances = torch.randint(0, 4, (2, 1, 8, 9)) * 1000
    features = torch.randn(2, 3, 8, 9)
    out = instance_average_pool(features.cuda(), instances.cuda())
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), instance_average_pool(features, instances))
