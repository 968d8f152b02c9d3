"""The evaluation's results dict, its warnings and its text report."""

from __future__ import annotations

import json

import pytest
import torch

from condgan_blocks.evaluation import (
    SMOKE_RUN_WARNING,
    ConfusionMatrix,
    HighFrequencyMeter,
    evaluation_warnings,
    format_class_ratios,
    format_evaluation,
    format_fid_kid,
    format_noise,
    format_pair_scores,
    format_ratio,
    format_score_table,
    format_style_draws,
    per_class_iou,
    summarize_evaluation,
)

KINDS = ("generated", "real", "flat")


def _scored(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (2, 1, 8, 8), generator=generator)
    predictions = {
        "generated": torch.randint(0, 3, (2, 1, 8, 8), generator=generator),
        "real": labels.clone(),
        "flat": torch.zeros_like(labels),
    }
    matrices, meters = {}, {}
    for kind in KINDS:
        matrices[kind] = ConfusionMatrix(3)
        matrices[kind].update(predictions[kind], labels)
        meters[kind] = HighFrequencyMeter()
        meters[kind].update(torch.rand(2, 3, 8, 8, generator=generator) * 2 - 1)
    return matrices, meters


def test_summary_holds_each_kind_and_the_ratios():
    matrices, meters = _scored()
    results = summarize_evaluation(matrices, meters)
    for kind in KINDS:
        expected = {**matrices[kind].compute(), **meters[kind].compute()}
        expected.pop("num_images")
        class_iou = results[kind].pop("class_iou")
        assert results[kind] == expected
        assert class_iou == pytest.approx(per_class_iou(matrices[kind].matrix).tolist())
    assert results["real"]["mean_iou"] == 1.0
    assert results["miou_ratio"] == pytest.approx(results["generated"]["mean_iou"])
    # real images score every class 1.0 here, so each class ratio is the generated IoU
    assert results["class_iou_ratio"] == pytest.approx(
        per_class_iou(matrices["generated"].matrix).tolist()
    )
    for name in ("chroma_hf", "luminance_hf"):
        ratio = results["generated"][name] / results["real"][name]
        assert results[f"{name}_ratio"] == pytest.approx(ratio)


def test_class_ratios_are_none_for_absent_classes_and_printed():
    labels = torch.tensor([[[[0, 0], [1, 1]]]])  # class 2 in neither labels nor predictions
    matrices = {kind: ConfusionMatrix(3) for kind in ("generated", "real")}
    matrices["real"].update(labels, labels)
    matrices["generated"].update(torch.zeros_like(labels), labels)  # class 1 painted as 0
    results = summarize_evaluation(matrices)
    assert results["real"]["class_iou"] == [1.0, 1.0, None]
    assert results["class_iou_ratio"] == [0.5, 0.0, None]
    json.dumps(results, allow_nan=False)  # metrics.json holds no NaN
    assert "generated / real IoU per class: 0 0.50, 1 0.00, 2 n/a; lowest 1 (0.00)" in (
        format_evaluation(results)
    )


def test_summary_without_meters_and_with_real_images_scoring_zero():
    matrices, _ = _scored()
    matrices["real"] = ConfusionMatrix(3)
    ones = torch.ones(1, 1, 4, 4, dtype=torch.long)
    matrices["real"].update(ones, ones - 1)  # every pixel wrong
    results = summarize_evaluation(matrices)
    assert results["miou_ratio"] is None
    assert "chroma_hf_ratio" not in results
    assert format_noise(results) == ""


def test_summary_refuses_missing_kinds_and_mismatched_meters():
    matrices, meters = _scored()
    with pytest.raises(ValueError, match=r"missing \['real'\]"):
        summarize_evaluation({"generated": matrices["generated"]})
    with pytest.raises(ValueError, match="meters must cover the kinds"):
        summarize_evaluation(matrices, {"generated": meters["generated"]})


def test_an_untrained_segmenter_is_flagged():
    scores = {"pixel_accuracy": 0.5, "mean_iou": 0.07}
    results = {"generated": scores, "real": scores, "flat": scores}
    (warning,) = evaluation_warnings(results, advice="pass --segmenter")
    assert "no better than flat colour paintings (mean IoU 0.0700 vs 0.0700)" in warning
    assert warning.endswith("; pass --segmenter.")
    (generic,) = evaluation_warnings(results)
    assert "train the segmenter longer" in generic
    better = {**results, "real": {"pixel_accuracy": 0.9, "mean_iou": 0.6}}
    assert evaluation_warnings(better) == []
    assert evaluation_warnings(better, smoke=True) == [SMOKE_RUN_WARNING]
    assert evaluation_warnings(results, smoke=True)[0] == SMOKE_RUN_WARNING


def test_ratio_and_noise_lines():
    assert format_ratio(None).startswith("n/a")
    assert format_ratio(0.5) == "0.500"
    kind = {"chroma_hf": 0.041, "luminance_hf": 0.02}
    real = {"chroma_hf": 0.008, "luminance_hf": 0.0}
    results = {"generated": kind, "real": real, "chroma_hf_ratio": 5.125,
               "luminance_hf_ratio": None}  # fmt: skip
    assert format_noise(results) == (
        "chroma high-frequency: generated 0.041, real 0.008 (5.1x real); luminance: generated "
        "0.020, real 0.000 (n/a, the real images have none)"
    )


def test_text_report_has_the_table_the_ratio_noise_and_warnings():
    matrices, meters = _scored()
    results = summarize_evaluation(matrices, meters)
    results["warnings"] = ["first", "second"]
    lines = format_evaluation(results).splitlines()
    assert lines[:5] == format_score_table(results).splitlines()
    assert lines[2].startswith("pix2pixHD (ours)")
    assert f"{100 * results['real']['pixel_accuracy']:.2f}" in lines[3]
    assert lines[5] == f"generated / real mean IoU: {format_ratio(results['miou_ratio'])}"
    assert lines[6] == format_noise(results)
    assert lines[7] == format_class_ratios(results)
    assert lines[8:] == ["WARNING: first", "WARNING: second"]


FID_KID = {"fid": 41.234, "kid_mean": 0.01234, "kid_std": 0.001, "num_real": 4, "num_fake": 4}


@pytest.mark.parametrize("scores", [FID_KID, {"skipped": "no weights file at x.pth"}])
def test_text_report_shows_fid_kid_or_why_not_before_the_warnings(scores):
    matrices, meters = _scored()
    results = {**summarize_evaluation(matrices, meters), "fid_kid": scores, "warnings": ["w"]}
    lines = format_evaluation(results).splitlines()
    assert lines[-2:] == [format_fid_kid(scores), "WARNING: w"]
    expected = "FID 41.23, KID 0.0123" if "fid" in scores else "FID/KID skipped: no weights"
    assert lines[-2].startswith(expected)
    del results["fid_kid"]  # results written before FID/KID: no line
    assert not any(line.startswith("FID") for line in format_evaluation(results).splitlines())


def test_text_report_of_image_pairs():
    results = {"l1": 0.25, "psnr": None, "ssim": 0.5, "num_images": 3, "split": "val"}
    line = "generated vs target, 3 val images: L1 0.2500 (on [-1, 1]), PSNR n/a dB, SSIM 0.5000"
    assert format_pair_scores(results) == line
    assert format_evaluation({**results, "warnings": ["w"]}).splitlines() == [line, "WARNING: w"]


def test_summary_reports_every_style_draw_and_checks_that_they_add_up():
    matrices, meters = _scored()
    generator = torch.Generator().manual_seed(5)
    labels = torch.randint(0, 3, (2, 1, 8, 8), generator=generator)
    draws = [ConfusionMatrix(3), ConfusionMatrix(3)]
    pooled = ConfusionMatrix(3)
    for draw in draws:
        prediction = torch.randint(0, 3, labels.shape, generator=generator)
        draw.update(prediction, labels)
        pooled.update(prediction, labels)
    results = summarize_evaluation({**matrices, "generated": pooled}, meters, draws=draws)
    real = results["real"]["mean_iou"]
    assert results["style_draws"] == 2
    assert results["miou_ratio_per_draw"] == pytest.approx(
        [draw.compute()["mean_iou"] / real for draw in draws]
    )
    assert results["miou_ratio"] == pytest.approx(pooled.compute()["mean_iou"] / real)
    low, high = sorted(results["miou_ratio_per_draw"])
    assert format_style_draws(results) == f" (2 style draws pooled; per draw {low:.3f}-{high:.3f})"
    assert format_style_draws(results) in format_evaluation(results)
    with pytest.raises(ValueError, match=r"the 1 draws' matrices must add up"):
        summarize_evaluation({**matrices, "generated": pooled}, meters, draws=draws[:1])
    with pytest.raises(ValueError, match="at least one ConfusionMatrix"):
        summarize_evaluation(matrices, meters, draws=[])
