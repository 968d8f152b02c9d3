"""The recipe's ``generate --onnx``: a smoke-trained generator exported with ``export_onnx`` and
run by onnxruntime writes the same images as the torch path (within one level of 255)."""

from __future__ import annotations

import importlib
import importlib.util
import os

import numpy as np
import pytest
import torch

from condgan_blocks.training import load_run

from .._recipe_helpers import recipe_main

_NEEDS_ONNX = "generate --onnx needs the 'onnx' extra: pip install \"condgan-blocks[onnx]\""


def _import_extra(name: str):
    # .ci/run installs the extra: under CI=true a missing package is an error, elsewhere a skip.
    if os.environ.get("CI") == "true":
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=_NEEDS_ONNX)


@pytest.fixture(scope="module")
def exported_run(tmp_path_factory):
    """A smoke demo run (train, encode-features) and its generator exported to ONNX."""
    for name in ("onnx", "onnxscript", "onnxruntime"):
        _import_extra(name)
    pytest.importorskip("PIL", reason="the recipe needs pillow: pip install pillow")
    from condgan_blocks.export import export_onnx

    folder = tmp_path_factory.mktemp("recipe_onnx")
    run = folder / "demo"
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        recipe_main(["demo", "--smoke", "--output", str(run), "--device", "cpu"])
        _, training = load_run(run, device="cpu")
        path = export_onnx(training.generator, folder / "generator.onnx", opset=18)
    finally:
        torch.set_num_threads(previous)
    return run, path


def _pictures(folder) -> dict[str, np.ndarray]:
    from PIL import Image

    return {p.name: np.asarray(Image.open(p), dtype=np.int16) for p in sorted(folder.glob("*.png"))}


# (H, W) of the synthetic scenes: None is the run's size; 33x70 needs padding to the multiple.
@pytest.mark.parametrize("size", [None, (33, 70)])
def test_generate_onnx_writes_the_torch_images(exported_run, tmp_path, size):
    run, path = exported_run
    common = ["generate", "--run", str(run), "--num", "2", "--precision", "fp32", "--device", "cpu"]
    if size is not None:
        common += ["--size", *map(str, size)]
    eager = recipe_main([*common, "--output", str(tmp_path / "torch")])
    onnx = recipe_main([*common, "--output", str(tmp_path / "onnx"), "--onnx", str(path)])
    expected, got = _pictures(eager), _pictures(onnx)
    assert len(expected) == 3  # two images and the grid
    assert got.keys() == expected.keys()
    for name, picture in expected.items():
        assert got[name].shape == picture.shape, name
        if size is not None and name != "grid.png":
            assert picture.shape[:2] == size
        assert np.abs(got[name] - picture).max() <= 1, name


def test_generate_onnx_rejects_a_generator_of_other_inputs(exported_run, tmp_path):
    from condgan_blocks import GlobalGenerator
    from condgan_blocks.export import export_onnx

    run, _ = exported_run
    other = export_onnx(
        GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1),
        tmp_path / "other.onnx",
        opset=18,
    )
    with pytest.raises(ValueError, match="channels"):
        recipe_main(
            ["generate", "--run", str(run), "--num", "1", "--onnx", str(other),
             "--output", str(tmp_path / "out"), "--device", "cpu"]
        )  # fmt: skip
