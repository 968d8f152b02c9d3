"""Full-reference image metrics: PSNR and SSIM between generated and real images.

For image-to-image training (``num_classes=0``, the original's ``--label_nc 0``) there are no
label maps to segment, so generated images are compared with their targets pixel by pixel:
the L1 distance, the peak signal-to-noise ratio and the structural similarity (SSIM, Wang et
al. 2004, with its usual 11x11 Gaussian window of standard deviation 1.5, K1 = 0.01 and
K2 = 0.03). Both functions take images in [-1, 1] by default (``data_range=2``), compute in
float64 and return one value per image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_image_batch, check_number, check_positive_int


def _check_pair(x: object, y: object) -> tuple[Tensor, Tensor]:
    check_image_batch(x, name="x")
    check_image_batch(y, name="y")
    if x.shape != y.shape:
        raise ValueError(
            f"x and y must have the same shape (N, C, H, W), got {tuple(x.shape)} and "
            f"{tuple(y.shape)}"
        )
    for name, value in (("x", x), ("y", y)):
        if not value.is_floating_point():
            raise TypeError(
                f"{name} must be a floating image (values in [-1, 1] for data_range=2), got "
                f"dtype {value.dtype}"
            )
    if x.numel() == 0:
        raise ValueError(f"x and y are empty: shape {tuple(x.shape)}")
    return x.detach().to(torch.float64), y.detach().to(x.device, torch.float64)


def _check_range(data_range: object) -> float:
    data_range = check_number("data_range", data_range, minimum=0.0)
    if data_range == 0:
        raise ValueError("data_range must be > 0 (2.0 for images in [-1, 1]), got 0.0")
    return data_range


def psnr(x: Tensor, y: Tensor, *, data_range: float = 2.0) -> Tensor:
    """Peak signal-to-noise ratio of every image pair, in decibels.

    ``10 * log10(data_range ** 2 / MSE)`` with the mean squared error over each image's
    channels and pixels; identical images give ``inf``.

    Args:
        x: Images (N, C, H, W), e.g. generated, in [-1, 1] for the default ``data_range``.
        y: Images of the same shape, e.g. the real targets.
        data_range: The span of the image values: 2.0 for [-1, 1], 1.0 for [0, 1], 255.0
            for 0..255.

    Returns:
        Float64 tensor of shape (N,) on ``x``'s device; ``inf`` where a pair is identical.

    Raises:
        TypeError: If an input is not a floating tensor.
        ValueError: If an input is not 4-D, the shapes differ, or ``data_range <= 0``.

    Shape:
        - x, y: (N, C, H, W)
        - Output: (N,)

    Examples:
        >>> x = torch.zeros(2, 3, 8, 8)
        >>> psnr(x, x).tolist()
        [inf, inf]
        >>> psnr(x, x + 0.2).round(decimals=4).tolist()  # 10 * log10(2 ** 2 / 0.2 ** 2)
        [20.0, 20.0]
    """
    data_range = _check_range(data_range)
    x, y = _check_pair(x, y)
    mse = (x - y).square().flatten(1).mean(1)
    return 10 * torch.log10(data_range**2 / mse)


def _gaussian_window(size: int, sigma: float, like: Tensor) -> Tensor:
    offsets = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    window = torch.exp(-(offsets**2) / (2 * sigma**2))
    return window / window.sum()


def _filter(x: Tensor, window: Tensor) -> Tensor:
    """Separable 'valid' filtering of every channel of (N, C, H, W) with a 1-D window."""
    channels = x.shape[1]
    size = window.numel()
    x = F.conv2d(x, window.view(1, 1, size, 1).expand(channels, 1, size, 1), groups=channels)
    return F.conv2d(x, window.view(1, 1, 1, size).expand(channels, 1, 1, size), groups=channels)


def ssim(
    x: Tensor,
    y: Tensor,
    *,
    data_range: float = 2.0,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> Tensor:
    """Structural similarity of every image pair (Wang et al. 2004), averaged over channels.

    Local means, variances and the covariance are taken with a normalised Gaussian window at
    every position where it fits inside the image (no padding), and

        SSIM = (2 mu_x mu_y + C1) (2 cov_xy + C2) / ((mu_x^2 + mu_y^2 + C1) (var_x + var_y + C2))

    with ``C1 = (k1 * data_range) ** 2`` and ``C2 = (k2 * data_range) ** 2``, averaged over the
    positions and the channels. It is symmetric in ``x`` and ``y``, at most 1, and 1 exactly
    for identical images.

    Args:
        x: Images (N, C, H, W), e.g. generated, in [-1, 1] for the default ``data_range``.
        y: Images of the same shape, e.g. the real targets.
        data_range: The span of the image values: 2.0 for [-1, 1], 1.0 for [0, 1].
        window_size: Side of the Gaussian window; H and W must be at least this large.
        sigma: Standard deviation of the window, in pixels.
        k1: Stabiliser of the luminance term.
        k2: Stabiliser of the contrast-structure term.

    Returns:
        Float64 tensor of shape (N,) on ``x``'s device.

    Raises:
        TypeError: If an input is not a floating tensor.
        ValueError: If an input is not 4-D, the shapes differ, the images are smaller than
            the window, or a parameter is out of range.

    Shape:
        - x, y: (N, C, H, W) with H, W >= ``window_size``
        - Output: (N,)

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
        >>> ssim(x, x).tolist()
        [1.0, 1.0]
        >>> noisy = (x + 0.3 * torch.randn(2, 3, 16, 16, generator=g)).clamp(-1, 1)
        >>> bool((ssim(x, noisy) < 1).all()), torch.allclose(ssim(x, noisy), ssim(noisy, x))
        (True, True)
    """
    data_range = _check_range(data_range)
    check_positive_int("window_size", window_size, minimum=1)
    sigma = check_number("sigma", sigma, minimum=0.0)
    if sigma == 0:
        raise ValueError("sigma must be > 0, got 0.0")
    k1 = check_number("k1", k1, minimum=0.0)
    k2 = check_number("k2", k2, minimum=0.0)
    x, y = _check_pair(x, y)
    if min(x.shape[-2:]) < window_size:
        raise ValueError(
            f"ssim needs images of at least window_size x window_size = {window_size}x"
            f"{window_size}, got H x W = {x.shape[-2]}x{x.shape[-1]}; pass a smaller "
            "window_size"
        )
    window = _gaussian_window(window_size, sigma, x)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_x, mu_y = _filter(x, window), _filter(y, window)
    var_x = _filter(x * x, window) - mu_x.square()
    var_y = _filter(y * y, window) - mu_y.square()
    cov = _filter(x * y, window) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    denominator = (mu_x.square() + mu_y.square() + c1) * (var_x + var_y + c2)
    return (numerator / denominator).flatten(1).mean(1)


PAIR_SCORE_KEYS = ("l1", "psnr", "ssim")
"""The scores of [`ImagePairMeter`][condgan_blocks.evaluation.ImagePairMeter], in report order."""


class ImagePairMeter:
    """Means over image pairs of the L1 distance, the PSNR and the SSIM, over any number of
    batches: the evaluation of image-to-image runs, which have no labels to segment.

    The L1 distance is the mean absolute difference on [-1, 1],
    [`psnr`][condgan_blocks.evaluation.psnr] is in dB on a span of 2, and
    [`ssim`][condgan_blocks.evaluation.ssim] uses the 11x11 Gaussian window, or a smaller one
    for images smaller than that.

    Examples:
        >>> meter = ImagePairMeter()
        >>> real = torch.zeros(2, 3, 8, 8)
        >>> meter.update(real + 0.5, real)
        >>> scores = meter.compute()
        >>> scores["l1"], round(scores["psnr"], 2), scores["num_images"]
        (0.5, 12.04, 2)
        >>> meter.update(real, real)  # identical images: an infinite PSNR, reported as None
        >>> meter.compute()["psnr"] is None
        True
        >>> ImagePairMeter().compute()
        Traceback (most recent call last):
        ...
        ValueError: ImagePairMeter.compute() needs at least one update()
    """

    def __init__(self) -> None:
        self._scores: dict[str, list[float]] = {key: [] for key in PAIR_SCORE_KEYS}

    def update(self, generated: Tensor, real: Tensor) -> None:
        """Add a batch of generated images and their targets, both (N, C, H, W) in [-1, 1]."""
        x, y = _check_pair(generated, real)
        window = min(11, *x.shape[-2:])
        self._scores["l1"] += (x - y).abs().flatten(1).mean(1).tolist()
        self._scores["psnr"] += psnr(x, y).tolist()
        self._scores["ssim"] += ssim(x, y, window_size=window).tolist()

    def compute(self) -> dict[str, float | int | None]:
        """``{"l1", "psnr", "ssim", "num_images"}``; a mean that is not finite (the PSNR of an
        identical pair) is None. ValueError before any update."""
        count = len(self._scores["l1"])
        if count == 0:
            raise ValueError("ImagePairMeter.compute() needs at least one update()")
        results: dict[str, float | int | None] = {}
        for key, values in self._scores.items():
            mean = sum(values) / count
            results[key] = mean if math.isfinite(mean) else None
        results["num_images"] = count
        return results
