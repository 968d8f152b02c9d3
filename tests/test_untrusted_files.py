"""Files from elsewhere: crafted, damaged and truncated files are refused before they are loaded.

Every crafted file here would run code (create a marker file) with torch's own loaders; the
library must refuse it with a ValueError naming the file and the member, and run nothing.
"""

from __future__ import annotations

import io
import json
import pickle
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from condgan_blocks import GlobalGenerator, VGG19Features
from condgan_blocks.compat import pix2pixhd
from condgan_blocks.evaluation import load_segmenter
from condgan_blocks.export import export_program, load_program, save_program

Members = dict[str, bytes]


class _WritesMarker:
    """Unpickling this object opens (creates) the marker file: stands for any code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _torch_bytes(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _write_zip(path: Path, members: Members | list[tuple[str, bytes]]) -> Path:
    items = members.items() if isinstance(members, dict) else members
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in items:
            archive.writestr(name, data)
    return path


def _flip_bit_in(path: Path, needle: bytes) -> None:
    data = bytearray(path.read_bytes())
    at = data.index(needle)
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def program_members(tmp_path_factory) -> Members:
    net = GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1)
    path = save_program(export_program(net), tmp_path_factory.mktemp("pt2") / "model.pt2")
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _edit_json(members: Members, name: str, edit: Callable[[dict], None]) -> None:
    content = json.loads(members[name])
    edit(content)
    members[name] = json.dumps(content).encode()


def _pickled_weight(members: Members, marker: Path) -> str:
    def mark(config):
        config["config"]["stem.conv.weight"]["use_pickle"] = True

    _edit_json(members, "model/data/weights/model_weights_config.json", mark)
    members["model/data/weights/weight_0"] = _torch_bytes(_WritesMarker(marker))
    return "model_weights_config.json' entry 'stem.conv.weight'.*use_pickle"


def _opaque_constant(members: Members, marker: Path) -> str:
    def add(config):
        config["config"]["evil"] = {
            "path_name": "opaque_obj_0",
            "is_param": False,
            "use_pickle": True,
            "tensor_meta": None,
        }

    _edit_json(members, "model/data/constants/model_constants_config.json", add)
    members["model/data/constants/opaque_obj_0"] = pickle.dumps(_WritesMarker(marker))
    return "model_constants_config.json' entry 'evil'"


def _pickled_sample_inputs(members: Members, marker: Path) -> str:
    members["model/data/sample_inputs/model.pt"] = _torch_bytes((_WritesMarker(marker),))
    return "member 'model/data/sample_inputs/model.pt'.*weights_only=True refuses"


def _guard_code(members: Members, marker: Path) -> str:
    def add(program):
        program["guards_code"].append(f"open({str(marker)!r}, 'w') is not None")

    _edit_json(members, "model/models/model.json", add)
    return "member 'model/models/model.json' has the guards_code \"open"


def _guard_code_inside_max(members: Members, marker: Path) -> str:
    def add(program):  # max() is allowed for torch's stride guards, not what it is given
        program["guards_code"].append(f"max(1, open({str(marker)!r}, 'w') is not None) > 0")

    _edit_json(members, "model/models/model.json", add)
    return "member 'model/models/model.json' has the guards_code \"max"


def _sympy_expression(members: Members, marker: Path) -> str:
    text = members["model/models/model.json"].decode()
    symbol = "Symbol('s77', positive=True, integer=True)"
    assert symbol in text
    evil = f"__import__('builtins').open({str(marker)!r}, 'w')"
    members["model/models/model.json"] = text.replace(symbol, evil, 1).encode()
    return "member 'model/models/model.json' has the expr_str"


def _os_target(members: Members, marker: Path) -> str:
    def retarget(program):
        program["graph_module"]["graph"]["nodes"][0]["target"] = "torch.serialization.os.system"

    _edit_json(members, "model/models/model.json", retarget)
    return "target 'torch.serialization.os.system'"


def _compiled_code(members: Members, marker: Path) -> str:
    members["model/data/aotinductor/model/model.so"] = b"\x7fELF"
    return "member 'model/data/aotinductor/model/model.so' is compiled code"


def _pkl_member(members: Members, marker: Path) -> str:
    members["model/extra/data.pkl"] = pickle.dumps(_WritesMarker(marker))
    return r"member 'model/extra/data.pkl' is a pickle \(.pkl\)"


def _pickle_stream(members: Members, marker: Path) -> str:
    members["model/extra/notes.txt"] = pickle.dumps(_WritesMarker(marker))
    return "member 'model/extra/notes.txt' is a pickle stream"


CRAFTED = {
    "pickled weight": _pickled_weight,
    "opaque constant": _opaque_constant,
    "pickled sample inputs": _pickled_sample_inputs,
    "guard code": _guard_code,
    "guard code inside max()": _guard_code_inside_max,
    "sympy expression": _sympy_expression,
    "graph target": _os_target,
    "compiled code": _compiled_code,
    "pkl member": _pkl_member,
    "pickle stream": _pickle_stream,
}


@pytest.mark.parametrize("craft", list(CRAFTED))
def test_crafted_programs_are_refused_without_running_code(program_members, craft, tmp_path):
    marker = tmp_path / "marker"
    members = dict(program_members)
    message = CRAFTED[craft](members, marker)
    path = _write_zip(tmp_path / "model.pt2", members)
    with pytest.raises(ValueError, match=f"{path}.*{message}"):
        load_program(path)
    with pytest.raises(ValueError, match=message):
        load_segmenter(path)
    assert not marker.exists()


def test_the_untouched_program_still_loads(program_members, tmp_path):
    path = _write_zip(tmp_path / "model.pt2", program_members)
    out = load_program(path).module()(torch.zeros(1, 3, 8, 8))
    assert out.shape == (1, 3, 8, 8)


def _duplicate(members: Members) -> list[tuple[str, bytes]]:
    items = list(members.items())
    return [*items, ("model/archive_version", b"0")]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda m: [("../model/archive_version", b"0"), *m.items()], "'..' path component"),
        (lambda m: [("/abs/archive_version", b"0"), *m.items()], "absolute path"),
        (_duplicate, "'model/archive_version' occurs more than once"),
        (lambda m: [("a/archive_version", b"0"), *m.items()], "one top-level folder"),
    ],
)  # fmt: skip
def test_programs_with_bad_member_names_are_refused(program_members, build, message, tmp_path):
    path = tmp_path / "model.pt2"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of the duplicate name
        _write_zip(path, build(program_members))
    with pytest.raises(ValueError, match=message):
        load_program(path)


def test_damaged_truncated_and_foreign_programs(program_members, tmp_path):
    path = _write_zip(tmp_path / "model.pt2", program_members)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=f"{path} is not a valid .*truncated or not a zip"):
        load_program(path)
    path.write_bytes(good)
    _flip_bit_in(path, program_members["model/data/weights/weight_0"][:16])
    with pytest.raises(ValueError, match="member 'model/data/weights/weight_0' is damaged"):
        load_program(path)
    path.write_bytes(torch.randint(0, 256, (512,), dtype=torch.uint8).numpy().tobytes())
    with pytest.raises(ValueError, match=f"{path} is not a valid torch.export program"):
        load_program(path)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        load_program(path)
    with pytest.raises(FileNotFoundError, match=r"missing\.pt2"):
        load_program(tmp_path / "missing.pt2")
    with pytest.raises(FileNotFoundError, match="no segmenter"):
        load_segmenter(tmp_path / "missing.pt2")


# -- torch.save files: original checkpoints and VGG19 weights --------------------------------------

OPTIONS = {"input_nc": 4, "ngf": 4, "n_downsample_global": 1, "n_blocks_global": 1}


def _checkpoint_state() -> dict[str, torch.Tensor]:
    return pix2pixhd.to_original_state_dict(pix2pixhd.build("global_generator", OPTIONS))


def _load_checkpoint(path: Path) -> None:
    assert isinstance(pix2pixhd.load_checkpoint(path, "global_generator", OPTIONS), GlobalGenerator)


def _load_vgg(path: Path) -> None:
    # A small state dict keeps the files small: read, then refused for the keys it misses.
    with pytest.raises(ValueError, match="missing keys"):
        VGG19Features(weights=path)


def _vgg_state() -> dict[str, torch.Tensor]:
    return {"features.0.weight": torch.randn(64, 3, 3, 3), "features.0.bias": torch.randn(64)}


LOADERS = {"checkpoint": (_checkpoint_state, _load_checkpoint), "vgg": (_vgg_state, _load_vgg)}


def _refused(kind: str, path: Path) -> None:
    if kind == "checkpoint":
        pix2pixhd.load_checkpoint(path, "global_generator", OPTIONS)
    else:
        VGG19Features(weights=path)


@pytest.mark.parametrize("kind", list(LOADERS))
def test_damaged_torch_files_are_refused_naming_the_file(kind, tmp_path):
    make_state, load = LOADERS[kind]
    state = make_state()
    path = tmp_path / "weights.pth"
    torch.save(state, path)
    load(path)  # the intact file is read
    first = next(iter(state.values()))
    _flip_bit_in(path, first.numpy().tobytes()[:16])
    with pytest.raises(ValueError, match=rf"{path} is not a valid .*member '.*/data/0' is damaged"):
        _refused(kind, path)
    torch.save(state, path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=f"{path} is not a valid .*truncated or not a zip"):
        _refused(kind, path)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=f"{path} is not a valid .*empty"):
        _refused(kind, path)
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(ValueError, match="neither a zip archive"):
        _refused(kind, path)
    with pytest.raises(FileNotFoundError, match=r"absent\.pth"):
        _refused(kind, tmp_path / "absent.pth")


@pytest.mark.parametrize("kind", list(LOADERS))
def test_torch_files_with_code_are_refused_without_running_it(kind, tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pth"
    torch.save({**LOADERS[kind][0](), "evil": _WritesMarker(marker)}, path)
    with pytest.raises(ValueError, match=f"{path} is not a valid .*weights_only=True refuses"):
        _refused(kind, path)
    assert not marker.exists()


@pytest.mark.parametrize("kind", list(LOADERS))
def test_legacy_torch_files_load_and_truncated_ones_are_refused(kind, tmp_path):
    make_state, load = LOADERS[kind]
    path = tmp_path / "legacy.pth"
    torch.save(make_state(), path, _use_new_zipfile_serialization=False)
    load(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=f"{path} is not a valid .*truncated or damaged"):
        _refused(kind, path)


def test_load_experiment_refuses_a_damaged_checkpoint(tmp_path):
    (tmp_path / "opt.txt").write_text("label_nc: 3\nngf: 4\nn_downsample_global: 1\n")
    state = pix2pixhd.to_original_state_dict(
        pix2pixhd.build("global_generator", {**OPTIONS, "n_blocks_global": 9})
    )
    path = tmp_path / "latest_net_G.pth"
    torch.save(state, path)
    pix2pixhd.load_experiment(tmp_path)
    _flip_bit_in(path, next(iter(state.values())).numpy().tobytes()[:16])
    with pytest.raises(ValueError, match=f"{path} is not a valid pix2pixHD checkpoint.*damaged"):
        pix2pixhd.load_experiment(tmp_path)
