"""FID and KID over feature sets, and FidKidMeter / fid_kid with a small stand-in extractor."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from condgan_blocks.evaluation import (
    FidKidMeter,
    feature_statistics,
    fid_kid,
    format_fid_kid,
    frechet_distance,
    frechet_distance_from_statistics,
    kernel_inception_distance,
)


def _sets(seed: int, n_a: int, n_b: int, dim: int, shift: float = 0.0, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim))  # correlated features, full covariances
    a = rng.normal(size=(n_a, dim)) @ mixing
    b = (rng.normal(size=(n_b, dim)) @ mixing) * scale + shift
    return a, b


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def _eigen_fid(a: np.ndarray, b: np.ndarray) -> float:
    """Tr((S_a S_b)^(1/2)) = Tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)), all symmetric: eigh only."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False, ddof=1))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False, ddof=1))
    root_a = _psd_sqrt(cov_a)
    inner = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    return float(
        ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    )


sizes = st.tuples(st.integers(2, 40), st.integers(2, 40), st.integers(1, 6))


@settings(deadline=None, max_examples=30)
@given(sizes=sizes, seed=st.integers(0, 2**16))
def test_fid_is_zero_for_identical_sets(sizes, seed):
    a, _ = _sets(seed, sizes[0], 2, sizes[2])
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(torch.from_numpy(a).float(), a) < 1e-3 * max(1.0, float(a.var()))


@settings(deadline=None, max_examples=30)
@given(sizes=sizes, seed=st.integers(0, 2**16), shift=st.floats(-2, 2), scale=st.floats(0.2, 3))
def test_fid_is_symmetric_non_negative_and_matches_the_eigen_formula(sizes, seed, shift, scale):
    a, b = _sets(seed, *sizes, shift=shift, scale=scale)
    forward, backward = frechet_distance(a, b), frechet_distance(b, a)
    assert forward >= 0.0
    assert forward == pytest.approx(backward, rel=1e-6, abs=1e-6)
    assert forward == pytest.approx(max(_eigen_fid(a, b), 0.0), rel=1e-6, abs=1e-6)


@settings(deadline=None, max_examples=20)
@given(n_a=st.integers(2, 12), n_b=st.integers(2, 40), seed=st.integers(0, 2**16))
def test_fid_with_fewer_samples_than_dimensions_agrees_with_sqrtm(n_a, n_b, seed):
    """N <= D takes the exact low-rank route; sqrtm on the singular covariances agrees."""
    a, b = _sets(seed, n_a, n_b, 12, shift=0.5, scale=1.5)
    low_rank = frechet_distance(a, b)
    assert low_rank == pytest.approx(_eigen_fid(a, b), rel=1e-6, abs=1e-6)
    stats = (*feature_statistics(a), *feature_statistics(b))
    assert low_rank == pytest.approx(frechet_distance_from_statistics(*stats), rel=1e-5)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


@settings(deadline=None, max_examples=30)
@given(
    dim=st.integers(1, 8),
    seed=st.integers(0, 2**16),
)
def test_fid_of_diagonal_gaussians_has_the_closed_form(dim, seed):
    rng = np.random.default_rng(seed)
    mean_a, mean_b = rng.normal(size=dim), rng.normal(size=dim)
    var_a, var_b = rng.uniform(0.1, 4, size=dim), rng.uniform(0.1, 4, size=dim)
    expected = ((mean_a - mean_b) ** 2).sum() + ((np.sqrt(var_a) - np.sqrt(var_b)) ** 2).sum()
    got = frechet_distance_from_statistics(mean_a, np.diag(var_a), mean_b, np.diag(var_b))
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_fid_of_samples_approaches_the_gaussian_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200_000, 3)) * np.sqrt([1.0, 2.0, 0.5])
    b = rng.normal(size=(200_000, 3)) * np.sqrt([4.0, 2.0, 0.5]) + [1.0, 0.0, 0.0]
    expected = 1.0 + (1 - 2) ** 2  # |mean|^2 + sum (sqrt var_a - sqrt var_b)^2
    assert frechet_distance(a, b) == pytest.approx(expected, abs=0.02)


def test_fid_accepts_tensors_and_equals_the_statistics_route():
    a, b = _sets(1, 30, 20, 4, shift=1.0)
    expected = frechet_distance(a, b)
    assert frechet_distance(torch.from_numpy(a), torch.from_numpy(b)) == expected
    stats = (*feature_statistics(a), *feature_statistics(b))
    assert frechet_distance_from_statistics(*stats) == expected
    mean, cov = feature_statistics(a)
    assert mean.shape == (4,)
    assert cov.shape == (4, 4)
    np.testing.assert_allclose(cov, np.cov(a, rowvar=False))


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        (np.zeros(5), np.zeros((5, 2)), r"features_a must have shape \(N, D\).*got \(5,\)"),
        (np.zeros((5, 2, 1)), np.zeros((5, 2)), r"features_a must have shape \(N, D\)"),
        (np.zeros((5, 2)), np.zeros((5, 3)), "same feature dimension D, got 2 and 3"),
        (np.zeros((1, 2)), np.zeros((5, 2)), "features_a needs at least 2 samples, got 1"),
        (np.zeros((5, 2)), np.full((5, 2), np.nan), "features_b holds NaN"),
    ],
)
def test_fid_refuses_bad_feature_sets(a, b, match):
    with pytest.raises(ValueError, match=match):
        frechet_distance(a, b)


def test_fid_refuses_bad_types_and_statistics():
    with pytest.raises(ValueError, match="eps must be >= 0"):
        frechet_distance(np.zeros((2, 3)), np.ones((2, 3)), eps=-1.0)
    with pytest.raises(TypeError, match="features_a must be a numpy array or torch tensor"):
        frechet_distance([[0.0, 1.0], [1.0, 0.0]], np.zeros((2, 2)))
    with pytest.raises(TypeError, match="must hold real numbers"):
        frechet_distance(np.zeros((3, 2), dtype=complex), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"cov_b must have shape \(D, D\) = \(2, 2\)"):
        frechet_distance_from_statistics(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match=r"mean_a must have shape \(D,\)"):
        frechet_distance_from_statistics(np.zeros((1, 2)), np.eye(2), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="not positive semi-definite"):
        frechet_distance_from_statistics(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))


def _unbiased_mmd_loop(x: np.ndarray, y: np.ndarray) -> float:
    m, dim = len(x), x.shape[1]

    def k(u, v):
        return (float(u @ v) / dim + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


@settings(deadline=None, max_examples=20)
@given(n=st.integers(2, 8), dim=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_kid_on_whole_sets_is_the_unbiased_mmd_and_symmetric(n, dim, seed):
    a, b = _sets(seed, n, n, dim, shift=0.3)
    mean, std = kernel_inception_distance(a, b, subsets=3, subset_size=n)
    assert mean == pytest.approx(_unbiased_mmd_loop(a, b), rel=1e-9, abs=1e-9)
    assert std == pytest.approx(0.0, abs=1e-9)  # every subset is the whole set
    assert kernel_inception_distance(b, a, subsets=3, subset_size=n)[0] == pytest.approx(
        mean, rel=1e-12, abs=1e-12
    )


def test_kid_is_unbiased_for_one_distribution():
    """Averaged over many independent small draws the estimate is 0 within its standard error."""
    rng = np.random.default_rng(0)
    estimates = [
        kernel_inception_distance(
            rng.normal(size=(10, 4)), rng.normal(size=(10, 4)), subsets=1, subset_size=10
        )[0]
        for _ in range(400)
    ]
    standard_error = np.std(estimates) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates)) < 4 * standard_error
    assert min(estimates) < 0 < max(estimates)  # unbiased: single estimates may be negative


def test_kid_grows_with_the_shift_and_is_symmetric_on_average():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 6)), rng.normal(size=(300, 6))
    same = kernel_inception_distance(a, b, subsets=20, subset_size=100)
    half = kernel_inception_distance(a, b + 0.5, subsets=20, subset_size=100)
    whole = kernel_inception_distance(a, b + 1.0, subsets=20, subset_size=100)
    assert abs(same[0]) < same[1]
    assert same[0] < half[0] < whole[0]
    assert half[0] > 5 * half[1]
    swapped = kernel_inception_distance(b + 0.5, a, subsets=20, subset_size=100)
    assert swapped[0] == pytest.approx(half[0], rel=0.2)


def test_kid_is_reproducible_per_seed():
    a, b = _sets(4, 50, 60, 3, shift=0.2)
    first = kernel_inception_distance(a, b, subsets=5, subset_size=20, seed=1)
    assert kernel_inception_distance(a, b, subsets=5, subset_size=20, seed=1) == first
    assert kernel_inception_distance(a, b, subsets=5, subset_size=20, seed=2) != first


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"subset_size": 11}, ValueError, "features_a has 10 samples, fewer than subset_size=11"),
        ({"subset_size": 1}, ValueError, "subset_size must be >= 2, got 1"),
        ({"subsets": 0}, ValueError, "subsets must be >= 1, got 0"),
        ({"subsets": 2.0}, TypeError, "subsets must be an int"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
    ],
)
def test_kid_refuses_bad_counts(kwargs, error, match):
    a, b = _sets(0, 10, 12, 2)
    with pytest.raises(error, match=match):
        kernel_inception_distance(a, b, **{"subset_size": 5, **kwargs})


def test_kid_refuses_bad_shapes():
    with pytest.raises(ValueError, match=r"features_b must have shape \(N, D\)"):
        kernel_inception_distance(np.zeros((5, 2)), np.zeros(5), subset_size=2)
    with pytest.raises(ValueError, match="same feature dimension D, got 2 and 3"):
        kernel_inception_distance(np.zeros((5, 2)), np.zeros((5, 3)), subset_size=2)


# --------------------------------------------------------------------- meter with a stand-in
def _extractor() -> nn.Module:
    return nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten())  # (n, 12) features


def _images(seed: int, n: int, size: int = 8) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_fid_kid_equals_the_distances_of_the_features():
    real, fake = _images(0, 20), _images(1, 14, size=12) * 0.5
    scores = fid_kid(real, fake, _extractor(), batch_size=6, kid_subsets=4, kid_subset_size=10)
    features_real = _extractor()(real).double().numpy()
    features_fake = _extractor()(fake).double().numpy()
    assert scores["fid"] == pytest.approx(frechet_distance(features_real, features_fake))
    kid = kernel_inception_distance(features_real, features_fake, subsets=4, subset_size=10)
    assert (scores["kid_mean"], scores["kid_std"]) == pytest.approx(kid)
    assert (scores["num_real"], scores["num_fake"]) == (20, 14)
    default = fid_kid(real, fake, _extractor(), kid_subsets=2)
    assert default["kid_subset_size"] == 14  # min(1000, 20, 14)


def test_fid_kid_does_not_depend_on_batching_or_input_form():
    real, fake = _images(2, 12), _images(3, 9)
    reference = fid_kid(real, fake, _extractor(), batch_size=32, kid_subsets=3)
    assert fid_kid(real, fake, _extractor(), batch_size=4, kid_subsets=3) == pytest.approx(
        reference
    )
    as_batches = fid_kid(list(real.split(5)), iter(fake.split(2)), _extractor(), kid_subsets=3)
    assert as_batches == pytest.approx(reference)
    with_bar = fid_kid(real, fake, _extractor(), kid_subsets=3, progress=True)
    assert with_bar == pytest.approx(reference)
    meter = FidKidMeter(_extractor(), batch_size=5)
    for index in range(3):
        meter.update(real=real[4 * index : 4 * index + 4], fake=fake[3 * index : 3 * index + 3])
    assert meter.compute(kid_subsets=3) == pytest.approx(reference)


def test_fid_kid_refuses_bad_input():
    real = _images(0, 4)
    with pytest.raises(TypeError, match=r"extractor must be a torch\.nn\.Module"):
        fid_kid(real, real, lambda x: x)
    with pytest.raises(TypeError, match="real_images must be a tensor"):
        fid_kid(3, real, _extractor())
    with pytest.raises(ValueError, match=r"expected fake_images with 3 channels"):
        fid_kid(real, real[:, :1], _extractor())
    with pytest.raises(ValueError, match="at least 2 real and 2 generated images, got 4 and 1"):
        fid_kid(real, real[:1], _extractor())
    with pytest.raises(ValueError, match=r"extractor must return \(n, D\) features"):
        fid_kid(real, real, nn.Identity())
    with pytest.raises(ValueError, match="fewer than subset_size=5"):
        fid_kid(real, real, _extractor(), kid_subset_size=5)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        FidKidMeter(_extractor(), batch_size=0)


def test_a_meter_without_weights_skips_and_says_why(tmp_path):
    missing = tmp_path / "nowhere" / "inception.pth"
    meter = FidKidMeter.if_available(missing)
    assert meter.skipped is not None
    assert str(missing) in meter.skipped
    meter.update(real=_images(0, 3), fake=_images(1, 3))
    assert meter.num_real == 0
    scores = meter.compute()
    assert scores == {"skipped": meter.skipped}
    line = format_fid_kid(scores)
    assert line.startswith(f"FID/KID skipped: no Inception-v3 FID weights file at {missing}")
    assert "pt_inception-2015-12-05-6726825d.pth" in line  # the URL: what to put there


def test_format_fid_kid_reports_the_scores():
    scores = {"fid": 3.14159, "kid_mean": 0.5, "kid_std": 0.25, "num_real": 5000, "num_fake": 4000}
    assert format_fid_kid(scores) == (
        "FID 3.14, KID 0.5000 +/- 0.2500 (5000 real, 4000 generated images)"
    )
    few = format_fid_kid({**scores, "num_fake": 100})
    assert "fewer than 2048 per set: FID is biased upwards" in few
