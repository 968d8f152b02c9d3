"""The evaluation's results as numbers, text and warnings.

The paper's protocol scores three kinds of images with one segmenter: the generated images,
the real images (the oracle) and flat-colour paintings of the labels (the floor). A results
dict holds one entry per kind (``pixel_accuracy``, ``mean_iou`` and the high-frequency energy
``chroma_hf``, ``luminance_hf``) and the generated / real ratios (``miou_ratio``,
``chroma_hf_ratio``, ``luminance_hf_ratio``; None where the real images score 0). Results
written before the high-frequency energy was measured have no ``*_hf`` keys; every function
here accepts them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._tables import text_table
from .high_frequency import HighFrequencyMeter
from .image_metrics import PAIR_SCORE_KEYS
from .inception_scores import format_fid_kid
from .metrics import ConfusionMatrix, per_class_iou

# The kinds of scored images, in table order, with their names in tables.
SCORED_IMAGES = (
    ("generated", "pix2pixHD (ours)"),
    ("real", "real images (oracle)"),
    ("flat", "flat colours (floor)"),
)
# The high-frequency energy keys of each kind (HighFrequencyMeter); the generated / real ratio
# of each is stored as f"{key}_ratio".
HIGH_FREQUENCY_KEYS = ("chroma_hf", "luminance_hf")
SMOKE_RUN_WARNING = (
    "This is a --smoke run: tiny networks trained for a few steps on a few images, and a "
    "segmenter trained for a couple of epochs. It checks that the pipeline runs; its images "
    "and scores measure nothing."
)
"""The first warning of a smoke run's report (see
[`evaluation_warnings`][condgan_blocks.evaluation.evaluation_warnings])."""
_DEFAULT_ADVICE = "train the segmenter longer or use a better one"


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def summarize_evaluation(
    matrices: Mapping[str, ConfusionMatrix],
    meters: Mapping[str, HighFrequencyMeter] | None = None,
    *,
    draws: Sequence[ConfusionMatrix] | None = None,
) -> dict[str, Any]:
    """The results dict of a finished evaluation: scores per kind and generated / real ratios.

    Generated images whose object styles are drawn at random (from a
    [`FeatureBank`][condgan_blocks.instance.feature_bank.FeatureBank]) score differently with
    every draw: on 48 small scenes the mean IoU ratio moved by +-0.015 between draws. Scoring
    several draws into the ``"generated"`` matrix and passing each draw's own matrix as
    ``draws`` reports the pooled ratio and the spread.

    Args:
        matrices: A [`ConfusionMatrix`][condgan_blocks.evaluation.ConfusionMatrix] per kind of
            image, with at least ``"generated"`` and ``"real"``.
        meters: Optionally a [`HighFrequencyMeter`][condgan_blocks.evaluation.HighFrequencyMeter]
            per kind (the same kinds), for ``chroma_hf`` and ``luminance_hf``.
        draws: Optionally one matrix per style draw of the generated images (their sum is
            ``matrices["generated"]``): adds ``style_draws`` (their number) and
            ``miou_ratio_per_draw``.

    Returns:
        ``{kind: {"pixel_accuracy", "mean_iou", "class_iou"[, "chroma_hf", "luminance_hf"]},
        ..., "miou_ratio", "class_iou_ratio"[, "chroma_hf_ratio", "luminance_hf_ratio"]}``;
        ``class_iou`` lists every class's IoU (None for a class in neither the labels nor the
        prediction), ``class_iou_ratio`` the generated / real IoU of every class; a ratio is
        None where the real images score 0 (or the class is absent).

    Raises:
        ValueError: ``"generated"`` or ``"real"`` is missing, the meters cover other kinds,
            ``draws`` is empty, or the draws do not add up to the generated matrix.

    Examples:
        >>> import torch
        >>> labels = torch.tensor([[[[0, 1], [1, 1]]]])
        >>> matrices = {key: ConfusionMatrix(2) for key in ("generated", "real")}
        >>> matrices["generated"].update(torch.zeros_like(labels), labels)
        >>> matrices["real"].update(labels, labels)
        >>> results = summarize_evaluation(matrices)
        >>> results["real"]["mean_iou"], results["generated"]["pixel_accuracy"]
        (1.0, 0.25)
        >>> results["miou_ratio"]
        0.125
        >>> results["generated"]["class_iou"], results["class_iou_ratio"]
        ([0.25, 0.0], [0.25, 0.0])
    """
    missing = sorted({"generated", "real"} - set(matrices))
    if missing:
        raise ValueError(f"matrices needs the kinds 'generated' and 'real', missing {missing}")
    if meters is not None and set(meters) != set(matrices):
        raise ValueError(
            f"meters must cover the kinds of matrices {sorted(matrices)}, got {sorted(meters)}"
        )
    if draws is not None:
        if not draws:
            raise ValueError("draws must hold at least one ConfusionMatrix, got none")
        pooled = sum(draw.matrix for draw in draws)
        if not bool((pooled == matrices["generated"].matrix).all()):
            raise ValueError(
                f"the {len(draws)} draws' matrices must add up to matrices['generated']"
            )
    results: dict[str, Any] = {}
    for key, matrix in matrices.items():
        iou = per_class_iou(matrix.matrix).tolist()
        results[key] = {**matrix.compute(), "class_iou": [v if v == v else None for v in iou]}
    results["miou_ratio"] = _ratio(results["generated"]["mean_iou"], results["real"]["mean_iou"])
    results["class_iou_ratio"] = [
        None if g is None or r is None else _ratio(g, r)
        for g, r in zip(
            results["generated"]["class_iou"], results["real"]["class_iou"], strict=True
        )
    ]
    if draws is not None:
        real = results["real"]["mean_iou"]
        results["style_draws"] = len(draws)
        results["miou_ratio_per_draw"] = [_ratio(d.compute()["mean_iou"], real) for d in draws]
    if meters is not None:
        for key, meter in meters.items():
            energy = meter.compute()
            results[key].update({name: energy[name] for name in HIGH_FREQUENCY_KEYS})
        for name in HIGH_FREQUENCY_KEYS:
            results[f"{name}_ratio"] = _ratio(results["generated"][name], results["real"][name])
    return results


def evaluation_warnings(
    results: Mapping[str, Any], *, smoke: bool = False, advice: str | None = None
) -> list[str]:
    """Why the scores of ``results`` may say nothing about the generator.

    Two reasons are known: a smoke run (``smoke``: tiny networks, a few steps) and a segmenter
    that scores the real images no better than the flat-colour floor (it has not learnt to
    segment, so the generated / real ratio is meaningless).

    Args:
        results: A results dict with ``"real"`` and ``"flat"`` mean IoUs.
        smoke: The run is a smoke run: adds
            [`SMOKE_RUN_WARNING`][condgan_blocks.evaluation.report.SMOKE_RUN_WARNING] first.
        advice: What to do about a segmenter that has not learnt (ends the warning); a generic
            hint when None.

    Returns:
        The warnings, as sentences; empty when the scores can be trusted.

    Examples:
        >>> scores = {"pixel_accuracy": 0.5, "mean_iou": 0.07}
        >>> results = {"generated": scores, "real": scores, "flat": scores}
        >>> print(evaluation_warnings(results, advice="pass --segmenter")[0])  # doctest: +ELLIPSIS
        The segmenter scores real images no better than flat colour paintings (mean IoU 0.0700 \
vs 0.0700): ...; pass --segmenter.
        >>> evaluation_warnings({**results, "real": {"mean_iou": 0.6}})
        []
    """
    warnings = [SMOKE_RUN_WARNING] if smoke else []
    real, flat = results["real"]["mean_iou"], results["flat"]["mean_iou"]
    if real <= flat + 1e-3:
        warnings.append(
            f"The segmenter scores real images no better than flat colour paintings (mean IoU "
            f"{real:.4f} vs {flat:.4f}): it has not learnt to segment, so the generated / real "
            f"ratio says nothing about the generator; {advice or _DEFAULT_ADVICE}."
        )
    return warnings


def format_ratio(ratio: float | None) -> str:
    """A generated / real mean IoU ratio for a report (None: the real images score 0).

    Examples:
        >>> format_ratio(0.81234), format_ratio(None)
        ('0.812', 'n/a (the real images score 0)')
    """
    return "n/a (the real images score 0)" if ratio is None else f"{ratio:.3f}"


def format_times_real(ratio: float | None) -> str:
    """A generated / real high-frequency energy ratio, e.g. ``"5.1x real"``.

    Examples:
        >>> format_times_real(5.08), format_times_real(None)
        ('5.1x real', 'n/a, the real images have none')
    """
    return "n/a, the real images have none" if ratio is None else f"{ratio:.1f}x real"


def format_class_ratios(results: Mapping[str, Any], names: list[str] | None = None) -> str:
    """One line with every class's generated / real IoU and the lowest of them.

    Args:
        results: A results dict with ``class_iou_ratio``.
        names: Class names, by class id; None: ``results["class_names"]`` when present, else
            the ids.

    Returns:
        E.g. ``"generated / real IoU per class: 0 0.89, 1 0.85, 2 n/a; lowest 1 (0.85)"``;
        empty for results written before per-class IoUs were kept.

    Examples:
        >>> print(format_class_ratios({"class_iou_ratio": [0.891, 0.25, None]}))
        generated / real IoU per class: 0 0.89, 1 0.25, 2 n/a; lowest 1 (0.25)
        >>> print(format_class_ratios({"class_iou_ratio": [0.5, 1.0]}, ["road", "car"]))
        generated / real IoU per class: road 0.50, car 1.00; lowest road (0.50)
    """
    ratios = results.get("class_iou_ratio")
    if not ratios:
        return ""
    names = results.get("class_names") if names is None else names

    def name(k: int) -> str:
        return names[k] if names is not None and k < len(names) else str(k)

    shown = ", ".join(
        f"{name(k)} {'n/a' if r is None else f'{r:.2f}'}" for k, r in enumerate(ratios)
    )
    present = [(r, k) for k, r in enumerate(ratios) if r is not None]
    lowest = ""
    if present:
        ratio, k = min(present)
        lowest = f"; lowest {name(k)} ({ratio:.2f})"
    return f"generated / real IoU per class: {shown}{lowest}"


def format_style_draws(results: Mapping[str, Any]) -> str:
    """The spread of the mean IoU ratio over style draws, to follow the pooled ratio.

    Returns:
        E.g. ``" (4 style draws pooled; per draw 0.880-0.920)"``; empty for one draw, or for
        results written before draws were counted.

    Examples:
        >>> format_style_draws({"style_draws": 2, "miou_ratio_per_draw": [0.92, 0.88]})
        ' (2 style draws pooled; per draw 0.880-0.920)'
        >>> format_style_draws({"style_draws": 1, "miou_ratio_per_draw": [0.9]})
        ''
    """
    ratios = [r for r in results.get("miou_ratio_per_draw") or () if r is not None]
    if results.get("style_draws", 1) < 2 or not ratios:
        return ""
    return (
        f" ({results['style_draws']} style draws pooled; per draw "
        f"{min(ratios):.3f}-{max(ratios):.3f})"
    )


def format_noise(results: Mapping[str, Any]) -> str:
    """One line on the high-frequency energy of the generated and the real images.

    Returns:
        E.g. ``"chroma high-frequency: generated 0.041, real 0.008 (5.1x real); luminance:
        ..."``; empty for results written before the energy was measured.

    Examples:
        >>> kind = {"chroma_hf": 0.04, "luminance_hf": 0.02}
        >>> results = {"generated": kind, "real": {"chroma_hf": 0.01, "luminance_hf": 0.0},
        ...            "chroma_hf_ratio": 4.0, "luminance_hf_ratio": None}
        >>> print(format_noise(results))  # doctest: +NORMALIZE_WHITESPACE
        chroma high-frequency: generated 0.040, real 0.010 (4.0x real); luminance: generated
        0.020, real 0.000 (n/a, the real images have none)
        >>> format_noise({"generated": kind, "real": kind})
        ''
    """
    if any(f"{name}_ratio" not in results for name in HIGH_FREQUENCY_KEYS):
        return ""
    parts = [
        f"generated {results['generated'][name]:.3f}, real {results['real'][name]:.3f} "
        f"({format_times_real(results[f'{name}_ratio'])})"
        for name in HIGH_FREQUENCY_KEYS
    ]
    return f"chroma high-frequency: {parts[0]}; luminance: {parts[1]}"


def format_score_table(results: Mapping[str, Any]) -> str:
    """The pixel accuracy (%) and mean IoU of each kind of image as a text table.

    Examples:
        >>> scores = {"pixel_accuracy": 0.5, "mean_iou": 0.25}
        >>> print(format_score_table({"generated": scores, "real": scores, "flat": scores}))
        images               | pixel accuracy | mean IoU
        ---------------------+----------------+---------
        pix2pixHD (ours)     | 50.00          | 0.2500
        real images (oracle) | 50.00          | 0.2500
        flat colours (floor) | 50.00          | 0.2500
    """
    rows = [("images", "pixel accuracy", "mean IoU")]
    for key, name in SCORED_IMAGES:
        if key in results:
            scores = results[key]
            rows.append(
                (name, f"{100 * scores['pixel_accuracy']:.2f}", f"{scores['mean_iou']:.4f}")
            )
    return text_table(rows)


def format_pair_scores(results: Mapping[str, Any]) -> str:
    """The line of an image-to-image evaluation: the means of
    [`ImagePairMeter`][condgan_blocks.evaluation.ImagePairMeter] (``n/a`` for None).

    Examples:
        >>> results = {"l1": 0.25, "psnr": None, "ssim": 0.5, "num_images": 4, "split": "val"}
        >>> print(format_pair_scores(results))
        generated vs target, 4 val images: L1 0.2500 (on [-1, 1]), PSNR n/a dB, SSIM 0.5000
    """
    shown = {
        key: "n/a" if results.get(key) is None else f"{results[key]:.4f}" for key in PAIR_SCORE_KEYS
    }
    count = results.get("num_images", "?")
    images = f"{count} {results['split']}" if results.get("split") else f"{count}"
    return (
        f"generated vs target, {images} images: L1 {shown['l1']} (on [-1, 1]), "
        f"PSNR {shown['psnr']} dB, SSIM {shown['ssim']}"
    )


def format_evaluation(results: Mapping[str, Any]) -> str:
    """The whole text report: the score table, the mean IoU ratio and the noise line (or, for
    image-to-image results, the L1 / PSNR / SSIM line), the FID / KID line when
    ``results["fid_kid"]`` is present (the scores, or why they were skipped), and one
    ``WARNING:`` line per entry of ``results["warnings"]``.

    Examples:
        >>> scores = {"pixel_accuracy": 0.5, "mean_iou": 0.25}
        >>> results = {"generated": scores, "real": scores, "flat": scores, "miou_ratio": 1.0,
        ...            "fid_kid": {"skipped": "no weights"}, "warnings": ["a warning"]}
        >>> print(format_evaluation(results).splitlines()[-3:])
        ['generated / real mean IoU: 1.000', 'FID/KID skipped: no weights', 'WARNING: a warning']
        >>> print(format_evaluation({"l1": 0.5, "psnr": 12.0, "ssim": 0.1, "num_images": 2}))
        generated vs target, 2 images: L1 0.5000 (on [-1, 1]), PSNR 12.0000 dB, SSIM 0.1000
    """
    if "generated" not in results and all(key in results for key in PAIR_SCORE_KEYS):
        lines = [format_pair_scores(results)]
    else:
        lines = [format_score_table(results)]
        lines.append(
            f"generated / real mean IoU: {format_ratio(results.get('miou_ratio'))}"
            f"{format_style_draws(results)}"
        )
        noise = format_noise(results)
        if noise:
            lines.append(noise)
        classes = format_class_ratios(results)
        if classes:
            lines.append(classes)
    if isinstance(results.get("fid_kid"), Mapping):
        lines.append(format_fid_kid(results["fid_kid"]))
    lines.extend(f"WARNING: {warning}" for warning in results.get("warnings", ()))
    return "\n".join(lines)
