"""FID and KID of generated images against real ones, in batches.

[`FidKidMeter`][condgan_blocks.evaluation.FidKidMeter] collects the features of real and
generated images batch by batch (only the (N, D) float64 features are kept, not the images) and
computes both distances at the end; [`fid_kid`][condgan_blocks.evaluation.fid_kid] does the
same for two whole image sets. The feature network is normally
[`InceptionFeatures`][condgan_blocks.evaluation.InceptionFeatures] with the FID weights, the
only setting in which the numbers compare with published ones; any module mapping
(n, 3, H, W) images to (n, D) features works.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .._checks import check_bool, check_image_batch, check_positive_int
from .feature_distances import frechet_distance, kernel_inception_distance
from .inception import FEATURE_DIM, load_inception_features

_MAX_KID_SUBSET = 1000


class FidKidMeter:
    """Features of real and generated images, gathered over batches, and their FID and KID.

    Args:
        extractor: Feature network, (n, 3, H, W) images in [-1, 1] to (n, D) features; usually
            [`load_inception_features`][condgan_blocks.evaluation.load_inception_features]'s.
            Run without gradients, on the device of its parameters.
        batch_size: Images per forward pass of the extractor.

    Examples:
        >>> extractor = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten())  # 12-d features
        >>> meter = FidKidMeter(extractor)
        >>> images = torch.rand(16, 3, 8, 8) * 2 - 1
        >>> meter.update(real=images, fake=images)
        >>> scores = meter.compute(kid_subsets=5)
        >>> round(scores["fid"], 6), scores["num_real"], scores["kid_subset_size"]
        (0.0, 16, 16)
    """

    def __init__(self, extractor: nn.Module, *, batch_size: int = 32) -> None:
        if not isinstance(extractor, nn.Module):
            raise TypeError(f"extractor must be a torch.nn.Module, got {type(extractor).__name__}")
        self._setup(extractor, batch_size, skipped=None, optional=False)

    def _setup(
        self, extractor: nn.Module | None, batch_size: int, *, skipped: str | None, optional: bool
    ) -> None:
        self.extractor = extractor
        self.batch_size = check_positive_int("batch_size", batch_size)
        #: Why the meter skips FID and KID (the missing weights file), or None.
        self.skipped = skipped
        self._optional = optional
        self._features: dict[str, list[np.ndarray]] = {"real": [], "fake": []}

    @classmethod
    def if_available(
        cls,
        weights: str | os.PathLike | None = None,
        *,
        device: str | torch.device = "cpu",
        batch_size: int = 32,
    ) -> FidKidMeter:
        """A meter on the Inception FID weights, or a skipping one when the file is missing.

        For scripts in which FID and KID are optional. The weights are found as in
        [`load_inception_features`][condgan_blocks.evaluation.load_inception_features]
        (nothing is downloaded). When the file is missing the meter's ``skipped`` holds why
        (the path and where to get the file), ``update`` does nothing and ``compute`` returns
        ``{"skipped": reason}``; it does the same when fewer than 2 real or generated images
        were seen. A damaged or wrong file still raises.

        Args:
            weights: Path of the weights file, or None for the environment variable or the
                torch hub folder.
            device: Device to run the network on.
            batch_size: Images per forward pass.

        Returns:
            The meter.

        Examples:
            >>> import tempfile
            >>> from pathlib import Path
            >>> meter = FidKidMeter.if_available(Path(tempfile.mkdtemp()) / "absent.pth")
            >>> meter.update(real=torch.zeros(2, 3, 8, 8))
            >>> meter.compute()["skipped"]  # doctest: +ELLIPSIS
            'no Inception-v3 FID weights file at .../absent.pth: download https://...'
        """
        extractor, skipped = None, None
        try:
            extractor = load_inception_features(weights, device=device)
        except FileNotFoundError as error:
            skipped = str(error)
        meter = cls.__new__(cls)
        meter._setup(extractor, batch_size, skipped=skipped, optional=True)
        return meter

    @property
    def num_real(self) -> int:
        """Real images seen so far."""
        return sum(len(part) for part in self._features["real"])

    @property
    def num_fake(self) -> int:
        """Generated images seen so far."""
        return sum(len(part) for part in self._features["fake"])

    def update(self, *, real: Tensor | None = None, fake: Tensor | None = None) -> None:
        """Add a batch of real images, of generated images, or of both.

        Args:
            real: Real images (n, 3, H, W) in [-1, 1], or None.
            fake: Generated images (m, 3, H', W') in [-1, 1], or None.
        """
        batches = {"real": real, "fake": fake}
        for name, images in batches.items():
            if images is not None:
                check_image_batch(images, 3, name=name)
        if self.extractor is None:
            return
        for name, images in batches.items():
            if images is not None:
                self._features[name].append(self._extract(self.extractor, images, name))

    def _extract(self, extractor: nn.Module, images: Tensor, name: str) -> np.ndarray:
        parameter = next(extractor.parameters(), None)
        device = parameter.device if parameter is not None else images.device
        parts = []
        with torch.no_grad():
            for chunk in images.split(self.batch_size):
                features = extractor(chunk.to(device))
                if not isinstance(features, Tensor) or features.ndim != 2:
                    shape = tuple(features.shape) if isinstance(features, Tensor) else features
                    raise ValueError(
                        f"the extractor must return (n, D) features, got {shape} for {name} "
                        f"images of shape {tuple(chunk.shape)}"
                    )
                parts.append(features.detach().to("cpu", torch.float64).numpy())
        out = np.concatenate(parts)
        seen = [part.shape[1] for kind in self._features.values() for part in kind]
        if seen and seen[0] != out.shape[1]:
            raise ValueError(
                f"the extractor returned {out.shape[1]}-d features for {name} images, "
                f"{seen[0]}-d before"
            )
        return out

    def compute(
        self,
        *,
        kid_subsets: int = 100,
        kid_subset_size: int | None = None,
        seed: int = 0,
    ) -> dict[str, Any]:
        """FID and KID of the generated images against the real ones seen so far.

        Args:
            kid_subsets: Random subsets KID averages over.
            kid_subset_size: Images per KID subset; None for min(1000, real, generated images).
            seed: Seed of the KID subsets.

        Returns:
            ``{"fid", "kid_mean", "kid_std", "num_real", "num_fake", "kid_subsets",
            "kid_subset_size"}``, or ``{"skipped": reason}`` for a skipping meter (see
            [`if_available`][condgan_blocks.evaluation.FidKidMeter.if_available]).

        Raises:
            ValueError: If fewer than 2 real or 2 generated images were seen (no covariance),
                or ``kid_subset_size`` exceeds either count.
        """
        if self.skipped is not None:
            return {"skipped": self.skipped}
        num_real, num_fake = self.num_real, self.num_fake
        if min(num_real, num_fake) < 2:
            reason = (
                "FID and KID need at least 2 real and 2 generated images, got "
                f"{num_real} and {num_fake}"
            )
            if self._optional:
                return {"skipped": reason}
            raise ValueError(reason)
        if kid_subset_size is None:
            kid_subset_size = min(_MAX_KID_SUBSET, num_real, num_fake)
        real = np.concatenate(self._features["real"])
        fake = np.concatenate(self._features["fake"])
        kid_mean, kid_std = kernel_inception_distance(
            real, fake, subsets=kid_subsets, subset_size=kid_subset_size, seed=seed
        )
        return {
            "fid": frechet_distance(real, fake),
            "kid_mean": kid_mean,
            "kid_std": kid_std,
            "num_real": num_real,
            "num_fake": num_fake,
            "kid_subsets": kid_subsets,
            "kid_subset_size": kid_subset_size,
        }


def _batches(images: Tensor | Iterable[Tensor], batch_size: int, name: str) -> Iterator[Tensor]:
    if isinstance(images, Tensor):
        check_image_batch(images, 3, name=name)
        yield from images.split(batch_size)
    elif isinstance(images, Iterable):
        yield from images
    else:
        raise TypeError(
            f"{name} must be a tensor (N, 3, H, W) or an iterable of such batches, "
            f"got {type(images).__name__}"
        )


def fid_kid(
    real_images: Tensor | Iterable[Tensor],
    fake_images: Tensor | Iterable[Tensor],
    extractor: nn.Module,
    *,
    batch_size: int = 32,
    kid_subsets: int = 100,
    kid_subset_size: int | None = None,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """FID and KID of generated images against real ones.

    Runs ``extractor`` over both sets in batches of ``batch_size`` (a tqdm progress bar when
    ``progress`` and tqdm is installed) and compares the features with
    [`frechet_distance`][condgan_blocks.evaluation.frechet_distance] and
    [`kernel_inception_distance`][condgan_blocks.evaluation.kernel_inception_distance]. FID
    is biased upwards for small sets: compare FIDs only at equal image counts, and published
    ones only with at least 2048 images per set (usually 10k or 50k).

    Args:
        real_images: Real images (N, 3, H, W) in [-1, 1], or an iterable of such batches.
        fake_images: Generated images (M, 3, H', W') in [-1, 1], or an iterable of batches.
        extractor: Feature network, normally
            [`load_inception_features`][condgan_blocks.evaluation.load_inception_features]'s.
        batch_size: Images per forward pass (tensor inputs; iterables keep their batches).
        kid_subsets: Random subsets KID averages over.
        kid_subset_size: Images per KID subset; None for min(1000, N, M).
        seed: Seed of the KID subsets.
        progress: Show a progress bar (needs tqdm).

    Returns:
        ``{"fid", "kid_mean", "kid_std", "num_real", "num_fake", "kid_subsets",
        "kid_subset_size"}``.

    Raises:
        TypeError: If an image set or the extractor has the wrong type.
        ValueError: If images are not (n, 3, H, W), or either set has fewer than 2 images.

    Examples:
        >>> extractor = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten())
        >>> real = torch.rand(20, 3, 8, 8) * 2 - 1
        >>> scores = fid_kid(real, real * 0.5, extractor, batch_size=8, kid_subsets=5)
        >>> scores["fid"] > 0.0, scores["num_fake"]
        (True, 20)
    """
    meter = FidKidMeter(extractor, batch_size=batch_size)
    check_bool("progress", progress)
    for name, images in (("real", real_images), ("fake", fake_images)):
        batches: Iterable[Tensor] = _batches(images, batch_size, f"{name}_images")
        if progress:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # the bar is optional
                pass
            else:
                total = -(-len(images) // batch_size) if isinstance(images, Tensor) else None
                batches = tqdm(batches, total=total, desc=f"{name} features", unit="batch")
        for batch in batches:
            meter.update(**{name: batch})
    return meter.compute(kid_subsets=kid_subsets, kid_subset_size=kid_subset_size, seed=seed)


def format_fid_kid(scores: dict[str, Any]) -> str:
    """One line for a report on a [`FidKidMeter`][condgan_blocks.evaluation.FidKidMeter]
    result: the scores, or why they were skipped.

    Examples:
        >>> print(format_fid_kid({"skipped": "no weights file at x.pth"}))
        FID/KID skipped: no weights file at x.pth
        >>> scores = {"fid": 41.234, "kid_mean": 0.01234, "kid_std": 0.00101,
        ...           "num_real": 500, "num_fake": 500}
        >>> print(format_fid_kid(scores))  # doctest: +NORMALIZE_WHITESPACE
        FID 41.23, KID 0.0123 +/- 0.0010 (500 real, 500 generated images; fewer than 2048 per
        set: FID is biased upwards, compare only at equal counts)
    """
    if "skipped" in scores:
        return f"FID/KID skipped: {scores['skipped']}"
    count = min(scores["num_real"], scores["num_fake"])
    note = (
        f"; fewer than {FEATURE_DIM} per set: FID is biased upwards, compare only at equal counts"
        if count < FEATURE_DIM
        else ""
    )
    return (
        f"FID {scores['fid']:.2f}, KID {scores['kid_mean']:.4f} +/- {scores['kid_std']:.4f} "
        f"({scores['num_real']} real, {scores['num_fake']} generated images{note})"
    )
