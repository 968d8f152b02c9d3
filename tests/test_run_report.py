"""The report page of a recipe run folder (write_run_report), label pictures and JSON files."""

from __future__ import annotations

import json

import pytest
import torch

from condgan_blocks._files import atomic
from condgan_blocks.data import colorize
from condgan_blocks.evaluation import SMOKE_RUN_WARNING
from condgan_blocks.visualization import label_picture, save_png, write_json, write_run_report

SCORES = {"pixel_accuracy": 0.5, "mean_iou": 0.25}
OLD_METRICS = {"generated": SCORES, "real": SCORES, "flat": SCORES, "miou_ratio": 1.0,
               "num_images": 4, "split": "val", "warnings": []}  # fmt: skip


def _metrics(run, results):
    write_json(run / "evaluation" / "metrics.json", results)


def test_metrics_without_high_frequency_energy_render(tmp_path):
    _metrics(tmp_path, OLD_METRICS)
    page = write_run_report(tmp_path).read_text()
    assert "<h2>Evaluation</h2>" in page
    assert "chroma HF" in page
    assert "<td>n/a</td>" in page
    assert "High-frequency energy" not in page
    assert "4 val images" in page
    assert 'href="evaluation/metrics.json"' in page


def test_high_frequency_ratios_render_and_missing_ones_say_why(tmp_path):
    flat = {**SCORES, "chroma_hf": 0.0123, "luminance_hf": 0.0}
    results = {**OLD_METRICS, "generated": flat, "real": flat, "flat": flat,
               "chroma_hf_ratio": 2.5, "luminance_hf_ratio": None}  # fmt: skip
    _metrics(tmp_path, results)
    page = write_run_report(tmp_path).read_text()
    assert "<td>0.0123</td>" in page
    assert "chroma 2.5x real" in page
    assert "luminance n/a, the real images have none" in page


def test_per_class_ratios_render_with_names_and_the_lowest(tmp_path):
    results = {**OLD_METRICS, "class_iou_ratio": [0.9, None, 0.25],
               "class_names": ["sky", "road", "person"]}  # fmt: skip
    _metrics(tmp_path, results)
    page = write_run_report(tmp_path).read_text()
    assert "Generated / real IoU per class: sky 0.90, road n/a, person 0.25; lowest person" in page
    _metrics(tmp_path, OLD_METRICS)
    assert "IoU per class" not in write_run_report(tmp_path).read_text()


def test_a_smoke_run_warns_once_on_top(tmp_path):
    write_json(tmp_path / "recipe.json", {"smoke": True})
    _metrics(tmp_path, {**OLD_METRICS, "warnings": [SMOKE_RUN_WARNING, "untrained segmenter"]})
    page = write_run_report(tmp_path).read_text()
    assert page.count("measure nothing") == 1
    assert page.index("measure nothing") < page.index("<h2>Evaluation</h2>")
    assert "untrained segmenter" in page
    write_json(tmp_path / "recipe.json", {"smoke": False})
    assert "<h2>Smoke run</h2>" not in write_run_report(tmp_path).read_text()


def test_further_scores_and_other_metrics_layouts_render(tmp_path):
    _metrics(tmp_path, {"fid": 12.3456, "kid": None, "psnr": 21.0, "split": "val"})
    page = write_run_report(tmp_path).read_text()
    assert "Further scores: fid 12.35, kid n/a, psnr 21" in page
    assert "<table>" not in page  # no segmentation scores, no segmentation table


def test_every_part_of_a_run_folder_is_linked_relatively(tmp_path):
    picture = torch.zeros(3, 4, 4, dtype=torch.uint8)
    for name in ("generated/grid.png", "generated/0001.png", "grids/step_000002.png",
                 "grids/step_000010.png", "car_styles.png"):  # fmt: skip
        save_png(picture, tmp_path / name)
    styles = {"scene": "val/1", "instance_id": 5000, "num_styles": 3, "max_difference": 0.5,
              "mean_difference": 0.25}  # fmt: skip
    write_json(tmp_path / "car_styles.json", styles)
    write_json(tmp_path / "recipe.json", {})
    (tmp_path / "metrics.jsonl").write_text("{}\n")
    page = write_run_report(tmp_path, title="my run").read_text()
    assert "<h1>my run</h1>" in page
    for link in ("generated/grid.png", "generated/0001.png", "grids/step_000002.png",
                 'src="grids/step_000010.png"', "car_styles.png", "recipe.json",
                 "metrics.jsonl"):  # fmt: skip
        assert link in page, link
    assert "instance 5000 rendered with each of the 3" in page
    assert str(tmp_path) + "/" not in page.replace(f"Run folder: {tmp_path}", "")


def test_the_run_folder_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"run folder .*nope does not exist"):
        write_run_report(tmp_path / "nope")


def test_label_picture_draws_unknown_ids_black():
    palette = torch.tensor([[10, 20, 30], [200, 100, 0]], dtype=torch.uint8)
    label = torch.tensor([[[0, 1], [255, -1]]])
    picture = label_picture(label, palette)
    assert picture.shape == (3, 2, 2)
    assert torch.equal(picture[:, 0], colorize(label[:, :1], palette)[:, 0])
    assert not picture[:, 1].any()
    assert torch.equal(label_picture(label[0], palette), picture)
    with pytest.raises(TypeError, match="integer tensor"):
        label_picture(label.float(), palette)
    with pytest.raises(ValueError, match=r"\(1, H, W\) or \(H, W\)"):
        label_picture(label[None], palette)


def test_write_json_is_the_one_atomic_json_writer(tmp_path):
    assert write_json is atomic.write_json
    path = write_json(tmp_path / "a" / "b.json", {"x": [1, 2]})
    assert json.loads(path.read_text()) == {"x": [1, 2]}


def test_fid_kid_render_or_say_why_they_were_skipped(tmp_path):
    scores = {"fid": 41.234, "kid_mean": 0.01234, "kid_std": 0.001, "num_real": 4, "num_fake": 4}
    _metrics(tmp_path, {**OLD_METRICS, "fid_kid": scores})
    page = write_run_report(tmp_path).read_text()
    assert "FID 41.23, KID 0.0123 +/- 0.0010 (4 real, 4 generated images" in page
    assert "Further scores" not in page  # the dict is not a further score
    _metrics(tmp_path, {**OLD_METRICS, "fid_kid": {"skipped": "no weights file at <x.pth>"}})
    page = write_run_report(tmp_path).read_text()
    assert "FID/KID skipped: no weights file at &lt;x.pth&gt;" in page  # escaped
    _metrics(tmp_path, OLD_METRICS)
    assert "FID" not in write_run_report(tmp_path).read_text()
