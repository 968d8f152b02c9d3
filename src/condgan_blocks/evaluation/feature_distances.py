"""Distances between two sets of image features: Fréchet (FID) and kernel (KID) distances.

Both compare the distribution of real images with that of generated ones through the features
of a fixed network (Inception-v3's 2048-d pool features for FID and KID; see
[`InceptionFeatures`][condgan_blocks.evaluation.InceptionFeatures]), and both are 0 when the two
distributions are the same.

- The Fréchet distance fits a Gaussian to each set and measures
  ``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``. It is biased: with few samples it
  stays well above 0 even for two draws of the same distribution, so compare FIDs only at equal
  sample counts.
- The kernel distance is the unbiased estimate of the squared maximum mean discrepancy (MMD^2)
  with the cubic polynomial kernel ``k(x, y) = (x . y / D + 1)^3``, averaged over random
  subsets. It is 0 on average for two draws of the same distribution (single estimates may be
  slightly negative) and comparable across sample counts.

Features are (N, D) numpy arrays or torch tensors; everything is computed in float64 numpy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg
import torch

from .._checks import check_number, check_positive_int


def _as_features(features: Any, name: str, *, min_samples: int = 1) -> np.ndarray:
    """``features`` as a finite float64 array of shape (N, D) with N >= ``min_samples``."""
    if isinstance(features, torch.Tensor):
        if features.is_complex():
            raise TypeError(f"{name} must be real, got dtype {features.dtype}")
        features = features.detach().to("cpu", torch.float64).numpy()
    elif isinstance(features, np.ndarray):
        if features.dtype.kind not in "fiu":
            raise TypeError(f"{name} must hold real numbers, got dtype {features.dtype}")
        features = features.astype(np.float64, copy=False)
    else:
        raise TypeError(
            f"{name} must be a numpy array or torch tensor of shape (N, D), "
            f"got {type(features).__name__}"
        )
    if features.ndim != 2:
        raise ValueError(
            f"{name} must have shape (N, D) (one feature vector per row), got {features.shape}"
        )
    if features.shape[1] == 0:
        raise ValueError(f"{name} must have at least one feature dimension, got {features.shape}")
    if features.shape[0] < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples, got {features.shape[0]}")
    if not np.isfinite(features).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return features


def _check_same_dimension(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same feature dimension D, got "
            f"{a.shape[-1]} and {b.shape[-1]}"
        )


def feature_statistics(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a feature set, the Gaussian that the Fréchet distance compares.

    The covariance is the unbiased one (divided by N - 1), as in the reference FID code.

    Args:
        features: Array or tensor of shape (N, D), N >= 2.

    Returns:
        A ``(mean, cov)`` tuple:

        - ``mean``: float64 array of shape (D,).
        - ``cov``: float64 array of shape (D, D).

    Raises:
        TypeError: If ``features`` is not a real numpy array or torch tensor.
        ValueError: If it is not (N, D), has fewer than 2 samples, or is not finite.

    Examples:
        >>> mean, cov = feature_statistics(np.array([[0.0, 1.0], [2.0, 3.0]]))
        >>> mean.tolist(), cov.tolist()
        ([1.0, 2.0], [[2.0, 2.0], [2.0, 2.0]])
    """
    features = _as_features(features, "features", min_samples=2)
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(features.shape[1], -1)


def frechet_distance_from_statistics(
    mean_a: Any, cov_a: Any, mean_b: Any, cov_b: Any, *, eps: float = 1e-6
) -> float:
    """Fréchet distance between the Gaussians N(mean_a, cov_a) and N(mean_b, cov_b).

    ``|mean_a - mean_b|^2 + Tr(cov_a) + Tr(cov_b) - 2 Tr((cov_a cov_b)^(1/2))``, with the matrix
    square root from ``scipy.linalg.sqrtm`` (for D = 2048 this takes from several seconds to a
    minute or more on a CPU). As in the reference FID code, when the square root is not finite
    (singular covariances, for example fewer samples than dimensions) it is retried on
    ``(cov_a + eps I)(cov_b + eps I)``, and a complex result whose diagonal has an imaginary
    part below 1e-3 (rounding) is replaced by its real part. Rounding can leave a
    result of about -1e-12 for equal inputs: it is clamped to 0.

    Args:
        mean_a: Mean of the first set, shape (D,).
        cov_a: Covariance of the first set, shape (D, D), symmetric positive semi-definite.
        mean_b: Mean of the second set, shape (D,).
        cov_b: Covariance of the second set, shape (D, D).
        eps: Offset added to the diagonals when the square root is not finite.

    Returns:
        The distance, a float >= 0.

    Raises:
        TypeError: If an input is not a real numpy array or torch tensor.
        ValueError: If the shapes do not fit together, a value is not finite, or the square
            root has a large imaginary component (covariances that are not PSD).

    Examples:
        >>> mean, cov = np.zeros(2), np.eye(2)
        >>> frechet_distance_from_statistics(mean, cov, mean + 1.0, 4 * cov)
        4.0
    """
    eps = check_number("eps", eps, minimum=0.0)
    mean_a, mean_b = _as_mean(mean_a, "mean_a"), _as_mean(mean_b, "mean_b")
    _check_same_dimension(mean_a, mean_b, ("mean_a", "mean_b"))
    cov_a, cov_b = _as_features(cov_a, "cov_a"), _as_features(cov_b, "cov_b")
    dim = mean_a.shape[0]
    for name, cov in (("cov_a", cov_a), ("cov_b", cov_b)):
        if cov.shape != (dim, dim):
            raise ValueError(
                f"{name} must have shape (D, D) = ({dim}, {dim}) to match the means, "
                f"got {cov.shape}"
            )
    root = _sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():
        offset = eps * np.eye(dim)
        root = _sqrtm((cov_a + offset) @ (cov_b + offset))
    if np.iscomplexobj(root):
        imaginary = np.abs(np.diagonal(root).imag).max()
        if not imaginary < 1e-3:
            raise ValueError(
                f"the square root of cov_a @ cov_b has an imaginary component of {imaginary:.3g} "
                "on its diagonal: the covariances are not positive semi-definite"
            )
        root = root.real
    diff = mean_a - mean_b
    distance = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(root)
    return max(float(distance), 0.0)


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """``scipy.linalg.sqrtm``; its warning on singular matrices is expected here (N < D)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.sqrtm(matrix)


def _as_mean(mean: Any, name: str) -> np.ndarray:
    """``mean`` as a finite float64 vector of shape (D,)."""
    if isinstance(mean, torch.Tensor | np.ndarray):
        if mean.ndim != 1:
            raise ValueError(f"{name} must have shape (D,), got {tuple(mean.shape)}")
        mean = mean[None]
    return _as_features(mean, name)[0]


def frechet_distance(features_a: Any, features_b: Any, *, eps: float = 1e-6) -> float:
    """Fréchet distance between two feature sets (FID when they are Inception pool features).

    Fits a Gaussian to each set with
    [`feature_statistics`][condgan_blocks.evaluation.feature_statistics] and compares them with
    [`frechet_distance_from_statistics`][condgan_blocks.evaluation.frechet_distance_from_statistics].
    Symmetric in its arguments.

    When a set has no more samples than dimensions (N <= D: fewer than 2049 images for
    Inception features) its covariance is singular, and ``sqrtm`` of a singular D x D matrix is
    slow (minutes on a CPU for D = 2048) and inexact. The trace term is then computed exactly
    from the centred samples instead: with ``A`` (N_a, D) and ``B`` (N_b, D) centred,
    ``Tr((S_a S_b)^(1/2))`` is the sum of the singular values of ``A B^T`` divided by
    ``sqrt((N_a - 1)(N_b - 1))`` (the nonzero eigenvalues of ``S_a S_b`` are those of
    ``(A B^T)(A B^T)^T`` up to that factor). The two routes agree to rounding.

    Args:
        features_a: Array or tensor of shape (N_a, D), N_a >= 2.
        features_b: Array or tensor of shape (N_b, D), N_b >= 2.
        eps: Offset added to the covariance diagonals when the square root is not finite.

    Returns:
        The distance, a float >= 0 (0 for identical sets).

    Raises:
        TypeError: If a set is not a real numpy array or torch tensor.
        ValueError: If a set is not (N, D), has fewer than 2 samples (no covariance), is not
            finite, or the two differ in D.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> real = rng.normal(size=(500, 4))
        >>> round(frechet_distance(real, real), 6)
        0.0
        >>> frechet_distance(real, real + 3.0) > 35.0  # the mean moved by 3 in 4 dimensions
        True
    """
    features_a = _as_features(features_a, "features_a", min_samples=2)
    features_b = _as_features(features_b, "features_b", min_samples=2)
    _check_same_dimension(features_a, features_b, ("features_a", "features_b"))
    if min(features_a.shape[0], features_b.shape[0]) > features_a.shape[1]:
        return frechet_distance_from_statistics(
            *feature_statistics(features_a), *feature_statistics(features_b), eps=eps
        )
    check_number("eps", eps, minimum=0.0)
    centred_a = features_a - features_a.mean(axis=0)
    centred_b = features_b - features_b.mean(axis=0)
    scale_a, scale_b = features_a.shape[0] - 1, features_b.shape[0] - 1
    trace_root = np.linalg.svd(centred_a @ centred_b.T, compute_uv=False).sum()
    diff = features_a.mean(axis=0) - features_b.mean(axis=0)
    distance = (
        diff @ diff
        + (centred_a**2).sum() / scale_a
        + (centred_b**2).sum() / scale_b
        - 2.0 * trace_root / np.sqrt(scale_a * scale_b)
    )
    return max(float(distance), 0.0)


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    m = x.shape[0]
    k_xx, k_yy, k_xy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


def kernel_inception_distance(
    features_a: Any,
    features_b: Any,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel distance between two feature sets (KID when they are Inception pool features).

    For each of ``subsets`` rounds, ``subset_size`` rows are drawn without replacement from each
    set and the unbiased MMD^2 with the kernel ``k(x, y) = (x . y / D + 1)^3`` is computed; the
    mean and standard deviation over the rounds are returned. The draws come from
    ``numpy.random.default_rng(seed)``, so a seed gives the same result on every run. When
    ``subset_size`` equals both set sizes every round would use the whole sets: the estimate is
    computed once (std 0.0) and is exactly symmetric in its arguments.

    Args:
        features_a: Array or tensor of shape (N_a, D), N_a >= subset_size.
        features_b: Array or tensor of shape (N_b, D), N_b >= subset_size.
        subsets: Number of random subsets to average over, >= 1.
        subset_size: Rows per subset and set, >= 2.
        seed: Seed of the subset draws.

    Returns:
        A ``(mean, std)`` tuple:

        - ``mean``: mean of the MMD^2 estimates (near 0, possibly negative, for one distribution).
        - ``std``: their standard deviation (ddof 0; 0.0 for a single subset).

    Raises:
        TypeError: If a set is not a real numpy array or torch tensor, or a count is not an int.
        ValueError: If a set is not (N, D), is not finite, has fewer than ``subset_size`` rows,
            the two differ in D, or a count is out of range.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> real, fake = rng.normal(size=(200, 8)), rng.normal(size=(200, 8))
        >>> mean, std = kernel_inception_distance(real, fake, subsets=10, subset_size=100)
        >>> abs(mean) < 0.05
        True
        >>> kernel_inception_distance(real, fake + 1.0, subsets=10, subset_size=100)[0] > 0.5
        True
    """
    subsets = check_positive_int("subsets", subsets)
    subset_size = check_positive_int("subset_size", subset_size, minimum=2)
    seed = check_positive_int("seed", seed, minimum=0)
    features_a = _as_features(features_a, "features_a")
    features_b = _as_features(features_b, "features_b")
    _check_same_dimension(features_a, features_b, ("features_a", "features_b"))
    for name, features in (("features_a", features_a), ("features_b", features_b)):
        if features.shape[0] < subset_size:
            raise ValueError(
                f"{name} has {features.shape[0]} samples, fewer than subset_size={subset_size}; "
                "pass a smaller subset_size or more samples"
            )
    if features_a.shape[0] == features_b.shape[0] == subset_size:
        # Every subset is the whole of both sets, and the estimate does not depend on the order.
        return _unbiased_mmd2(features_a, features_b), 0.0
    rng = np.random.default_rng(seed)
    estimates = np.empty(subsets)
    for index in range(subsets):
        rows_a = rng.choice(features_a.shape[0], subset_size, replace=False)
        rows_b = rng.choice(features_b.shape[0], subset_size, replace=False)
        estimates[index] = _unbiased_mmd2(features_a[rows_a], features_b[rows_b])
    return float(estimates.mean()), float(estimates.std())
