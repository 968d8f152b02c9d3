"""precision="auto": bf16 only where the device computes it in hardware, fp32 elsewhere."""

from __future__ import annotations

import pytest
import torch

from condgan_blocks import GlobalGenerator, Synthesizer
from condgan_blocks.data import SyntheticScenes
from condgan_blocks.training import (
    TrainingConfig,
    autocast_context,
    build_training,
    cpu_has_fast_bf16,
    dry_run,
    make_grad_scaler,
    resolve_precision,
)
from condgan_blocks.training import precision as precision_module
from tests._training_helpers import SIZE, batch_of, one_thread, tiny_config


@pytest.fixture
def fast_bf16(monkeypatch):
    """Pretend the CPU has (True) or lacks (False) bfloat16 hardware."""

    def pretend(value: bool) -> None:
        monkeypatch.setattr(precision_module, "cpu_has_fast_bf16", lambda: value)

    return pretend


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_concrete_precisions_resolve_to_themselves(precision):
    assert resolve_precision(precision, "cpu") == precision


@pytest.mark.parametrize(("hardware", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_on_cpu_follows_the_bf16_hardware(fast_bf16, hardware, expected):
    fast_bf16(hardware)
    assert resolve_precision("auto", "cpu") == expected
    assert resolve_precision("auto", torch.device("cpu")) == expected


@pytest.mark.parametrize(("supported", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_on_cuda_follows_the_gpu(monkeypatch, supported, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: supported)
    assert resolve_precision("auto", "cuda") == expected


def test_unknown_precision_and_fp16_off_cuda_are_refused():
    with pytest.raises(ValueError, match=r"precision must be one of \('auto', 'bf16'"):
        resolve_precision("fp8", "cpu")
    with pytest.raises(ValueError, match=r"fp16.*needs a CUDA device.*'auto'"):
        resolve_precision("fp16", "cpu")


@pytest.mark.parametrize(
    ("machine", "avx512_bf16", "amx", "onednn_bf16", "expected"),
    [
        ("x86_64", False, False, True, False),  # AVX2 or AVX512 without BF16: emulated
        ("x86_64", True, False, False, True),
        ("AMD64", False, True, False, True),
        ("aarch64", False, False, True, True),
        ("aarch64", True, True, False, False),
    ],
)
def test_cpu_bf16_hardware_detection(monkeypatch, machine, avx512_bf16, amx, onednn_bf16, expected):
    monkeypatch.setattr(precision_module.platform, "machine", lambda: machine)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: onednn_bf16)
    assert cpu_has_fast_bf16() is expected


def test_cpu_bf16_detection_without_the_probes_says_no(monkeypatch):
    """A torch build without the private probes (or without oneDNN) means no fast bf16."""
    monkeypatch.setattr(precision_module.platform, "machine", lambda: "x86_64")
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert cpu_has_fast_bf16() is False

    def missing():
        raise RuntimeError("no mkldnn")

    monkeypatch.setattr(precision_module.platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", missing)
    assert cpu_has_fast_bf16() is False


@pytest.mark.parametrize(("hardware", "dtype"), [(True, torch.bfloat16), (False, torch.float32)])
def test_autocast_context_auto(fast_bf16, hardware, dtype):
    fast_bf16(hardware)
    with autocast_context("auto", "cpu"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == dtype
    assert make_grad_scaler("auto", "cpu") is None


def test_config_accepts_auto_and_round_trips():
    config = TrainingConfig(num_classes=7, precision="auto")
    assert TrainingConfig.from_dict(config.to_dict()).precision == "auto"


@pytest.mark.parametrize(("hardware", "concrete"), [(False, "fp32"), (True, "bf16")])
def test_auto_training_is_the_run_of_the_precision_it_resolves_to(fast_bf16, hardware, concrete):
    fast_bf16(hardware)
    data = SyntheticScenes(2, size=SIZE, seed=3)
    with one_thread():
        auto = build_training(tiny_config(precision="auto"))
        explicit = build_training(tiny_config(precision=concrete))
        assert auto.precision == concrete
        assert auto.config.precision == "auto"
        assert auto.step(batch_of(data, [0])) == explicit.step(batch_of(data, [0]))
        pairs = zip(
            auto.models.generator.parameters(),
            explicit.models.generator.parameters(),
            strict=True,
        )
        for mine, theirs in pairs:
            torch.testing.assert_close(mine, theirs, rtol=0, atol=0)


@pytest.mark.parametrize(("hardware", "expected"), [(True, "bf16"), (False, "fp32")])
def test_synthesizer_resolves_auto(fast_bf16, hardware, expected):
    fast_bf16(hardware)
    generator = GlobalGenerator(8, 3, base_channels=4, num_downsamples=1, num_blocks=1)
    synthesizer = Synthesizer(generator, 7, feature_channels=0, precision="auto")
    assert synthesizer.precision == expected
    assert f"precision={expected!r}" in repr(synthesizer)
    labels = torch.randint(0, 7, (1, 1, 8, 8))
    assert synthesizer(labels, labels).dtype == torch.float32


def test_demo_preset_leaves_the_precision_to_the_device():
    import json
    from pathlib import Path

    preset = Path(__file__).resolve().parents[2] / "examples" / "presets" / "demo.json"
    assert json.loads(preset.read_text())["training"]["precision"] == "auto"


@pytest.mark.parametrize(("hardware", "expected"), [(True, "bf16"), (False, "fp32")])
def test_dry_run_reports_the_resolved_precision(fast_bf16, hardware, expected):
    fast_bf16(hardware)
    with one_thread():
        result = dry_run(tiny_config(precision="auto"), steps=1, size=(16, 16))
    assert result["precision"] == expected
