"""condgan_blocks.export: torch.export programs and ONNX files of the generators."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from condgan_blocks import GlobalGenerator, LocalEnhancer
from condgan_blocks.export import (
    OnnxGenerator,
    export_onnx,
    export_program,
    load_program,
    save_program,
)

ATOL = 1e-5  # torch.export runs the same kernels as eager
ONNX_ATOL = 1e-4  # onnxruntime's kernels differ in rounding
# Valid for both tiny generators (size multiple 4 and 16).
SIZES = [(1, 32, 64), (2, 64, 32), (1, 96, 128)]
_NEEDS_ONNX = "the ONNX tests need the 'onnx' extra: pip install \"condgan-blocks[onnx]\""


def _global() -> GlobalGenerator:
    return GlobalGenerator(3, base_channels=4, num_downsamples=2, num_blocks=1)


def _local() -> LocalEnhancer:
    # size_multiple 2 ** (2 + 2) = 16; smallest input 32 (the global generator's reflect padding).
    return LocalEnhancer(
        3,
        base_channels=2,
        num_enhancers=2,
        num_blocks_local=1,
        num_downsamples_global=2,
        num_blocks_global=1,
    )


def _global_skips() -> GlobalGenerator:
    net = GlobalGenerator(3, base_channels=4, num_downsamples=2, num_blocks=1, condition_skips=True)
    return net


def _global_modulated_blocks() -> GlobalGenerator:
    torch.manual_seed(0)
    net = GlobalGenerator(
        3,
        base_channels=4,
        num_downsamples=2,
        num_blocks=1,
        label_modulation=4,
        label_modulation_blocks=True,
    )
    with torch.no_grad():  # a trained modulation: not the zero it starts at
        for norm in [up.norm for up in net.upsamples] + [block.norm2 for block in net.blocks]:
            norm.affine.weight.normal_(0.0, 0.3)
    return net


def _global_modulated() -> GlobalGenerator:
    torch.manual_seed(0)
    net = GlobalGenerator(3, base_channels=4, num_downsamples=2, num_blocks=1, label_modulation=4)
    with torch.no_grad():  # a trained modulation: not the zero it starts at
        for up in net.upsamples:
            up.norm.affine.weight.normal_(0.0, 0.3)
    return net


GENERATORS = {
    "global": _global,
    "local": _local,
    "global_skips": _global_skips,
    "global_modulated": _global_modulated,
    "global_modulated_blocks": _global_modulated_blocks,
}


def _eager(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return net.eval()(x)


def _inputs(size: tuple[int, int, int]) -> torch.Tensor:
    batch, height, width = size
    return torch.randn(batch, 3, height, width)


def _leftovers(folder) -> list[str]:
    return [path.name for path in folder.iterdir() if ".tmp" in path.name]


@pytest.fixture(scope="module", params=list(GENERATORS))
def exported(request):
    torch.manual_seed(0)
    net = GENERATORS[request.param]()
    return net, export_program(net)


# -- torch.export ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_program_matches_eager_at_several_sizes(exported, size):
    net, program = exported
    x = _inputs(size)
    out = program.module()(x)
    assert out.shape == (size[0], 3, *size[1:])
    torch.testing.assert_close(out, _eager(net, x), atol=ATOL, rtol=0)


@pytest.fixture(scope="module")
def small_global():
    torch.manual_seed(0)
    net = GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1)
    return net, export_program(net).module()


@given(batch=st.integers(1, 3), h_blocks=st.integers(2, 7), w_blocks=st.integers(2, 7))
@settings(deadline=None, max_examples=10)
def test_program_matches_eager_for_any_accepted_size(small_global, batch, h_blocks, w_blocks):
    net, runnable = small_global
    x = torch.randn(batch, 3, 2 * h_blocks, 2 * w_blocks)
    torch.testing.assert_close(runnable(x), _eager(net, x), atol=ATOL, rtol=0)


def test_program_size_range_is_the_generators(exported):
    net, program = exported
    m = net.size_multiple
    runnable = program.module()
    smallest = 2 * m  # both tiny generators have reflect-padded residual blocks
    x = torch.randn(1, 3, smallest, smallest + m)
    torch.testing.assert_close(runnable(x), _eager(net, x), atol=ATOL, rtol=0)
    with pytest.raises((AssertionError, RuntimeError)):
        runnable(torch.randn(1, 3, smallest + m // 2, smallest))  # not a multiple
    with pytest.raises(ValueError, match="too small"):
        net(torch.randn(1, 3, m, 2 * m))  # eager rejects one block ...
    with pytest.raises((AssertionError, RuntimeError)):
        runnable(torch.randn(1, 3, m, 2 * m))  # ... and so does the program


def test_static_program_accepts_only_the_example_shape():
    net = _global()
    program = export_program(net, (1, 3, 16, 24), dynamic_size=False, batch_dynamic=False)
    x = torch.randn(1, 3, 16, 24)
    torch.testing.assert_close(program.module()(x), _eager(net, x), atol=ATOL, rtol=0)
    for shape in [(1, 3, 24, 16), (2, 3, 16, 24)]:
        with pytest.raises((AssertionError, RuntimeError)):
            program.module()(torch.randn(shape))


def test_save_load_round_trip(exported, tmp_path):
    net, program = exported
    path = save_program(program, str(tmp_path / "generator.pt2"))
    assert path == tmp_path / "generator.pt2"
    assert path.is_file()
    assert _leftovers(tmp_path) == []
    loaded = load_program(path).module()
    for size in SIZES[:2]:
        x = _inputs(size)
        torch.testing.assert_close(loaded(x), _eager(net, x), atol=ATOL, rtol=0)


def test_failed_save_keeps_the_old_file(exported, tmp_path, monkeypatch):
    _, program = exported
    path = tmp_path / "generator.pt2"
    path.write_bytes(b"old")

    def broken_save(program, f, **kwargs):
        with open(f, "wb") as handle:
            handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch.export, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_program(program, path)
    assert path.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_atomic_write_moves_files_written_beside_in(tmp_path):
    from condgan_blocks._files.atomic import atomic_path

    def write(target):  # like ONNX's external data for models over 2 GB
        target.with_name(target.name + ".data").write_text("weights")
        target.write_text("graph")

    with atomic_path(tmp_path / "generator.onnx") as temporary:
        write(temporary)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "generator.onnx",
        "generator.onnx.data",
    ]
    assert (tmp_path / "generator.onnx").read_text() == "graph"


def test_export_uses_eval_mode_and_restores_modes():
    net = GlobalGenerator(3, base_channels=4, num_downsamples=1, num_blocks=1, norm="batch")
    net(torch.randn(4, 3, 8, 8) * 3 + 1)  # move the running statistics away from 0 and 1
    net.blocks.eval()  # a submodule in another mode than its parent
    statistics = {k: v.clone() for k, v in net.state_dict().items() if "running" in k}
    program = export_program(net)
    assert net.training
    assert not net.blocks.training
    assert all(m.training for m in net.stem.modules())
    for key, value in statistics.items():
        torch.testing.assert_close(net.state_dict()[key], value)  # tracing updated nothing
    x = torch.randn(2, 3, 8, 12)
    with torch.no_grad():
        train_out = net(x)
    torch.testing.assert_close(program.module()(x), _eager(net, x), atol=ATOL, rtol=0)
    assert not torch.allclose(train_out, _eager(net, x), atol=1e-3)


def test_export_works_with_activation_checkpointing():
    net = _global()
    net.checkpoint_activations = True
    program = export_program(net)
    assert net.checkpoint_activations
    x = torch.randn(1, 3, 16, 16)
    torch.testing.assert_close(program.module()(x), _eager(net, x), atol=ATOL, rtol=0)


def _forbid(*args, **kwargs):
    raise AssertionError("bad arguments must be caught before tracing")


BAD_ARGUMENTS = [
    ({"generator": torch.nn.Conv2d(3, 3, 1)}, TypeError, "GlobalGenerator or LocalEnhancer"),
    ({"example_input": torch.randn(3, 16, 16)}, ValueError, r"shape \(N, C, H, W\)"),
    ({"example_input": torch.randn(1, 4, 16, 16)}, ValueError, "with 3 channels"),
    ({"example_input": (1, 3, 18, 16)}, ValueError, "multiples of 4"),
    ({"example_input": (1, 3, 4, 16)}, ValueError, "at least 8"),
    ({"example_input": (1, 3, 16)}, ValueError, r"shape \(N, C, H, W\)"),
    ({"example_input": (1, 3, 16.0, 16)}, TypeError, "must hold ints"),
    ({"example_input": "1, 3, 16, 16"}, TypeError, "Tensor, a shape"),
    ({"example_input": torch.randn(1, 3, 16, 16).double()}, TypeError, "dtype"),
    ({"dynamic_size": False}, ValueError, "example_input is required"),
    ({"dynamic_size": 1}, TypeError, "dynamic_size must be a bool"),
    ({"batch_dynamic": None}, TypeError, "batch_dynamic must be a bool"),
]


@pytest.mark.parametrize(("overrides", "error", "message"), BAD_ARGUMENTS)
def test_bad_arguments_raise_before_tracing(overrides, error, message, monkeypatch):
    monkeypatch.setattr(torch.export, "export", _forbid)
    arguments = {"generator": _global(), "example_input": None} | overrides
    generator = arguments.pop("generator")
    example_input = arguments.pop("example_input")
    with pytest.raises(error, match=message):
        export_program(generator, example_input, **arguments)


def test_save_program_checks_its_arguments(tmp_path):
    with pytest.raises(TypeError, match="ExportedProgram"):
        save_program(_global(), tmp_path / "generator.pt2")
    program = export_program(GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=0))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_program(program, tmp_path / "missing" / "generator.pt2")
    with pytest.raises(TypeError, match=r"os\.PathLike"):
        save_program(program, 3)


def test_importing_the_package_stays_light():
    code = (
        "import sys, condgan_blocks\n"
        "heavy = {'condgan_blocks.export', 'onnx', 'onnxscript', 'onnxruntime'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_missing_extra_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes the import fail
    with pytest.raises(ImportError, match=r'pip install "condgan-blocks\[onnx\]"'):
        OnnxGenerator(tmp_path / "generator.onnx")
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    monkeypatch.setattr(torch.onnx, "export", _forbid)
    with pytest.raises(ImportError, match=r"needs onnx.*condgan-blocks\[onnx\]"):
        export_onnx(_global(), tmp_path / "generator.onnx")


# -- ONNX --------------------------------------------------------------------------------------


def _import_extra(name: str):
    # .ci/run installs the extra: under CI=true a missing package is an error, elsewhere a skip.
    if os.environ.get("CI") == "true":
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=_NEEDS_ONNX)


@pytest.fixture(scope="module")
def onnxruntime():
    _import_extra("onnx")
    _import_extra("onnxscript")
    return _import_extra("onnxruntime")


@pytest.fixture(scope="module", params=list(GENERATORS))
def onnx_exported(request, onnxruntime, tmp_path_factory):
    torch.manual_seed(0)
    net = GENERATORS[request.param]()
    folder = tmp_path_factory.mktemp("onnx")
    path = export_onnx(net, folder / "generator.onnx", opset=18)
    return net, path


@pytest.mark.parametrize("size", SIZES)
def test_onnxruntime_matches_torch_at_several_sizes(onnx_exported, size):
    net, path = onnx_exported
    generator = OnnxGenerator(path, providers=["CPUExecutionProvider"])
    x = _inputs(size)
    out = generator(x)
    assert out.shape == (size[0], 3, *size[1:])
    assert out.dtype == x.dtype
    torch.testing.assert_close(out, _eager(net, x), atol=ONNX_ATOL, rtol=0)


def test_onnx_file_records_dynamic_sizes_and_checks(onnx_exported):
    import onnx

    net, path = onnx_exported
    assert _leftovers(path.parent) == []
    model = onnx.load(path)
    onnx.checker.check_model(model)
    assert model.opset_import[0].version == 18
    (graph_input,) = model.graph.input
    dims = [d.dim_param or d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    m = net.size_multiple
    assert dims == ["batch", 3, f"{m}*h_blocks", f"{m}*w_blocks"]
    metadata = {p.key: p.value for p in model.metadata_props}
    assert metadata["condgan_blocks.size_multiple"] == str(m)
    assert metadata["condgan_blocks.generator"] == type(net).__name__
    generator = OnnxGenerator(path, providers=["CPUExecutionProvider"])
    assert (generator.in_channels, generator.out_channels) == (3, 3)
    assert generator.size_multiple == m
    assert generator.min_size == 2 * m  # reflect-padded residual blocks need 2 pixels


def test_onnx_generator_checks_inputs_like_the_generator(onnx_exported):
    net, path = onnx_exported
    generator = OnnxGenerator(path, providers=["CPUExecutionProvider"])
    m = net.size_multiple
    bad_inputs = [
        (torch.randn(3, 2 * m, 2 * m), "of shape"),
        (torch.randn(1, 4, 2 * m, 2 * m), "with 3 channels"),
        (torch.randn(1, 3, 2 * m + 2, 2 * m), f"multiples of {m}"),
        (torch.randn(1, 3, m, 2 * m), "too small"),
    ]
    for x, message in bad_inputs:
        with pytest.raises(ValueError, match=message):
            net(x)
        with pytest.raises(ValueError, match=message):
            generator(x)
    with pytest.raises(TypeError, match="dtype"):
        generator(torch.randn(1, 3, 2 * m, 2 * m).double())


def test_static_onnx_export_fixes_the_shape(onnxruntime, tmp_path):
    net = GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1)
    x = torch.randn(1, 3, 8, 12)
    path = export_onnx(
        net, tmp_path / "static.onnx", example_input=x, dynamic_size=False, batch_dynamic=False
    )
    generator = OnnxGenerator(path, providers=["CPUExecutionProvider"])
    torch.testing.assert_close(generator(x), _eager(net, x), atol=ONNX_ATOL, rtol=0)
    with pytest.raises(ValueError, match="dimension 2 must be 8"):
        generator(torch.randn(1, 3, 12, 12))
    with pytest.raises(ValueError, match="dimension 0 must be 1"):
        generator(torch.randn(2, 3, 8, 12))


def test_export_onnx_checks_arguments_before_tracing(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.onnx, "export", _forbid)
    with pytest.raises(TypeError, match="GlobalGenerator or LocalEnhancer"):
        export_onnx(torch.nn.Identity(), tmp_path / "g.onnx")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_onnx(_global(), tmp_path / "missing" / "g.onnx")
    with pytest.raises(ValueError, match="directory"):
        export_onnx(_global(), tmp_path)
    with pytest.raises(TypeError, match="opset must be an int"):
        export_onnx(_global(), tmp_path / "g.onnx", opset="18")
    with pytest.raises(ValueError, match="with 3 channels"):
        export_onnx(_global(), tmp_path / "g.onnx", example_input=(1, 1, 16, 16))
    assert list(tmp_path.iterdir()) == []


def test_onnx_generator_rejects_foreign_files(onnxruntime, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])],
    )
    path = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    with pytest.raises(ValueError, match="export_onnx"):
        OnnxGenerator(path, providers=["CPUExecutionProvider"])


def _identity_onnx(path, metadata: dict[str, str]):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, "h", "w"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    helper.set_model_props(model, metadata)
    onnx.save(model, path)
    return path


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("condgan_blocks.size_multiple", "0"),
        ("condgan_blocks.size_multiple", "-4"),
        ("condgan_blocks.size_multiple", "abc"),
        ("condgan_blocks.min_size", "1e9"),
    ],
)
def test_onnx_generator_checks_its_metadata(onnxruntime, tmp_path, key, value):
    metadata = {"condgan_blocks.size_multiple": "4", "condgan_blocks.min_size": "8", key: value}
    path = _identity_onnx(tmp_path / "crafted.onnx", metadata)
    with pytest.raises(ValueError, match=f"{path}.*metadata {key} must be an int"):
        OnnxGenerator(path, providers=["CPUExecutionProvider"])


def test_onnx_generator_refuses_missing_empty_and_truncated_files(onnxruntime, tmp_path):
    metadata = {"condgan_blocks.size_multiple": "4", "condgan_blocks.min_size": "8"}
    path = _identity_onnx(tmp_path / "good.onnx", metadata)
    generator = OnnxGenerator(path, providers=["CPUExecutionProvider"])
    assert (generator.in_channels, generator.size_multiple, generator.min_size) == (3, 4, 8)
    with pytest.raises(FileNotFoundError, match=r"absent\.onnx"):
        OnnxGenerator(tmp_path / "absent.onnx")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=f"{empty} is not a valid ONNX file: it is empty"):
        OnnxGenerator(empty)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match=f"{truncated} is not a valid ONNX file: onnxruntime"):
        OnnxGenerator(truncated, providers=["CPUExecutionProvider"])
    with pytest.raises(TypeError, match="providers must be a sequence of str"):
        OnnxGenerator(path, providers="CPUExecutionProvider")


def test_load_program_refuses_random_bytes_naming_the_file(tmp_path):
    path = tmp_path / "random.pt2"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=f"{path} is not a valid torch.export program"):
        load_program(path)
    with pytest.raises(FileNotFoundError, match=r"absent\.pt2"):
        load_program(tmp_path / "absent.pt2")
