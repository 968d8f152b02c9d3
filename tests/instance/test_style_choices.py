"""Choices files: the feature-bank cluster of each instance, for every image or per image."""

from __future__ import annotations

import json

import pytest
import torch

from condgan_blocks.instance import read_style_choices, style_choices_for


def test_choices_json_per_image_and_global(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"5000": 2}))
    assert read_style_choices(str(path)) == {"*": {5000: 2}}
    path.write_text(json.dumps({"synthetic/val/000001": {"5001": 0}}))
    assert read_style_choices(path) == {"synthetic/val/000001": {5001: 0}}
    assert read_style_choices(None) is None


def test_the_choices_of_one_image_hold_only_its_instances():
    choices = {"*": {5000: 1, 5001: 2, 26000: 0}, "b.png": {5001: 3}}
    instances = torch.tensor([[[[7, 5000], [5001, 5001]]]])
    assert style_choices_for(choices, "a.png", instances) == {5000: 1, 5001: 2}
    assert style_choices_for(choices, "b.png", instances) == {5001: 3}
    assert style_choices_for({"b.png": {5001: 3}}, "a.png", instances) == {}
    assert style_choices_for(None, "a.png", instances) is None


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        (None, FileNotFoundError, "does not exist"),
        ("{", ValueError, "not valid JSON"),
        ("[1]", ValueError, "must hold a JSON object"),
        ('{"car": 2}', ValueError, "cluster indices"),
        ('{"a.png": {"5000": "two"}}', ValueError, r"'a\.png' must map instance ids"),
    ],
)
def test_bad_choices_files_are_refused(tmp_path, content, error, match):
    path = tmp_path / "c.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(error, match=match):
        read_style_choices(path)
