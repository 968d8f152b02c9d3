"""FID and KID in the recipe's evaluate: computed when Inception weights are found (here random
weights in the FID layout), skipped with the reason otherwise."""

from __future__ import annotations

import json
import math

import pytest
import torch

from condgan_blocks.evaluation import INCEPTION_WEIGHTS_ENV, InceptionFeatures
from tests._training_helpers import one_thread

from .._recipe_helpers import recipe_main


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fid_kid") / "demo"
    with one_thread():
        recipe_main(["demo", "--smoke", "--output", str(out), "--device", "cpu"])
    return out


@pytest.mark.slow
def test_evaluate_skips_fid_kid_without_weights_and_says_why(smoke_run, tmp_path, capsys):
    missing = tmp_path / "no" / "inception.pth"
    with one_thread():
        results = recipe_main(
            ["evaluate", "--run", str(smoke_run), "--device", "cpu", "--inception-weights",
             str(missing)]
        )  # fmt: skip
    reason = results["fid_kid"]["skipped"]
    assert f"no Inception-v3 FID weights file at {missing}" in reason
    assert f"FID/KID skipped: {reason}" in capsys.readouterr().out.splitlines()
    metrics = json.loads((smoke_run / "evaluation" / "metrics.json").read_text())
    assert metrics["fid_kid"] == {"skipped": reason}


@pytest.mark.slow
def test_evaluate_reports_fid_kid_with_weights_from_the_environment(
    smoke_run, tmp_path, monkeypatch, capsys
):
    torch.manual_seed(0)
    weights = tmp_path / "inception.pth"
    torch.save(InceptionFeatures().state_dict(), weights)
    monkeypatch.setenv(INCEPTION_WEIGHTS_ENV, str(weights))
    with one_thread():
        results = recipe_main(["evaluate", "--run", str(smoke_run), "--device", "cpu"])
    scores = json.loads((smoke_run / "evaluation" / "metrics.json").read_text())["fid_kid"]
    assert scores == pytest.approx(results["fid_kid"])
    assert scores["num_real"] == scores["num_fake"] == results["num_images"]
    assert math.isfinite(scores["fid"])
    assert scores["fid"] > 0
    assert math.isfinite(scores["kid_mean"])
    printed = capsys.readouterr().out
    assert f"FID {scores['fid']:.2f}, KID {scores['kid_mean']:.4f}" in printed
