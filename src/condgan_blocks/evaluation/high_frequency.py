"""High-frequency energy of images: how much colour and luminance noise a generator leaves.

A real photograph has little pixel-to-pixel colour change: its chroma (each channel minus the
pixel's mean over channels) is smooth, while its luminance carries the edges and textures. A GAN
that has not converged, or that upsamples with transposed convolutions, leaves speckle in both.
The measure is the mean absolute difference between an image and its 3x3 box blur, on [0, 1],
once for the chroma and once for the luminance; the ratio to the same figure of real images of
the same scenes says how noisy the generated ones are (1.0: as noisy as real).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_image_batch
from ..layers._detail import box_detail


def _box_residual(x: Tensor) -> Tensor:
    """Per-image mean |x - box3x3(x)| of (N, C, H, W), borders replicated: shape (N,)."""
    return box_detail(x).flatten(1).mean(1)


def high_frequency_energy(images: Tensor) -> dict[str, Tensor]:
    """Chroma and luminance high-frequency energy of every image of a batch.

    Images in [-1, 1] are mapped to [0, 1]; luminance is the mean over channels, chroma each
    channel minus it. Single-channel images have no chroma (zeros).

    Args:
        images: Float images of shape (N, C, H, W) in [-1, 1], H and W at least 2.

    Returns:
        ``{"chroma": (N,), "luminance": (N,)}`` float64 tensors on the images' device.

    Examples:
        >>> flat = torch.zeros(1, 3, 8, 8)
        >>> {k: v.tolist() for k, v in high_frequency_energy(flat).items()}
        {'chroma': [0.0], 'luminance': [0.0]}
        >>> noisy = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
        >>> bool((high_frequency_energy(noisy)["chroma"] > 0.1).all())
        True
    """
    check_image_batch(images, name="images")
    if not images.is_floating_point():
        raise TypeError(f"images must be floating point in [-1, 1], got dtype {images.dtype}")
    if min(images.shape[-2:]) < 2:
        raise ValueError(f"images must be at least 2x2, got {tuple(images.shape)}")
    x = (images.detach().to(torch.float64).clamp(-1, 1) + 1) / 2
    luminance = x.mean(1, keepdim=True)
    return {"chroma": _box_residual(x - luminance), "luminance": _box_residual(luminance)}


class HighFrequencyMeter:
    """Running means of [`high_frequency_energy`][condgan_blocks.evaluation.high_frequency_energy]
    over any number of batches.

    Examples:
        >>> meter = HighFrequencyMeter()
        >>> meter.update(torch.zeros(2, 3, 8, 8))
        >>> meter.compute()
        {'chroma_hf': 0.0, 'luminance_hf': 0.0, 'num_images': 2}
    """

    def __init__(self) -> None:
        self._sums = {"chroma": 0.0, "luminance": 0.0}
        self.num_images = 0

    def update(self, images: Tensor) -> None:
        """Add a batch (N, C, H, W) in [-1, 1]."""
        energy = high_frequency_energy(images)
        for key, values in energy.items():
            self._sums[key] += float(values.sum())
        self.num_images += images.shape[0]

    def compute(self) -> dict[str, float | int]:
        """``{"chroma_hf", "luminance_hf", "num_images"}``; ValueError before any update."""
        if self.num_images == 0:
            raise ValueError("HighFrequencyMeter.compute() needs at least one update()")
        return {
            "chroma_hf": self._sums["chroma"] / self.num_images,
            "luminance_hf": self._sums["luminance"] / self.num_images,
            "num_images": self.num_images,
        }
