"""The fixture contract: every reference case of the original pix2pixHD is reproduced.

For each case: build from ``options``, load ``state_dict`` through the compat layer, set the
stored ``mode``, call with the stored ``inputs`` in their stored order, compare with ``outputs``.
"""

from __future__ import annotations

import pytest
import torch

from condgan_blocks.compat import pix2pixhd

from ..conftest import FIXTURE_DIR, fixture_paths, load_case

ATOL, RTOL = 2e-5, 1e-4
PATHS = fixture_paths()


def _call(case: dict, module: torch.nn.Module):
    inputs = case["inputs"]
    if case["kind"] == "gan_loss":
        return {
            f"{name}_{suffix}": module(inputs[f"pred_{name}"], real)
            for name in ("nested", "flat")
            for suffix, real in (("real", True), ("fake", False))
        }
    return module(*inputs.values())


def _assert_matches(case: dict, result) -> None:
    expected = case["outputs"]
    if case["kind"] == "encode_features":
        for label, rows in expected.items():
            got = result.get(label, torch.zeros(0, rows.shape[1], dtype=torch.float64))
            assert got.dtype == torch.float64, f"label {label}"
            assert got.shape == rows.shape, (
                f"label {label}: {tuple(got.shape)} vs {tuple(rows.shape)}"
            )
            torch.testing.assert_close(got[:, :-1], rows[:, :-1], atol=ATOL, rtol=RTOL)
            assert torch.equal(got[:, -1], rows[:, -1]), f"area column of label {label}"
        assert set(result) <= set(expected), f"extra labels {set(result) - set(expected)}"
    elif case["kind"] == "get_edges":
        assert result.dtype == torch.float32
        assert torch.equal(result, expected)
    else:
        torch.testing.assert_close(result, expected, atol=ATOL, rtol=RTOL)


@pytest.mark.skipif(not PATHS, reason=f"reference fixtures not found at {FIXTURE_DIR}")
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_fixture_case_matches_original(path):
    case = load_case(path)
    module = pix2pixhd.build(case["kind"], case["options"])
    pix2pixhd.load_state_dict(module, case["state_dict"])
    module.train(case["mode"] == "train")
    with torch.no_grad():
        result = _call(case, module)
    _assert_matches(case, result)
    if "state_dict_after" in case["extras"]:
        after = pix2pixhd.to_original_state_dict(module)
        torch.testing.assert_close(
            after, dict(case["extras"]["state_dict_after"]), atol=ATOL, rtol=RTOL
        )


def test_fixture_folder_is_complete():
    if not PATHS:
        pytest.skip(f"reference fixtures not found at {FIXTURE_DIR}")
    kinds = {load_case(p)["kind"] for p in PATHS}
    assert kinds <= set(pix2pixhd.kinds()), (
        f"kinds without a builder: {kinds - set(pix2pixhd.kinds())}"
    )
