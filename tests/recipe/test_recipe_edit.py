"""The recipe's ``edit`` subcommand: the editor on a trained (smoke) run."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request

import numpy as np
import pytest
import torch

from condgan_blocks.editor import EditorServer, session_for_run
from condgan_blocks.training import load_run, load_run_bank

from .._recipe_helpers import SCRIPT, recipe_main
from ..conftest import REPO_ROOT


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A smoke run with a checkpoint and a feature bank (a few seconds)."""
    out = tmp_path_factory.mktemp("edit") / "run"
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        recipe_main(["train", "--smoke", "--output", str(out), "--device", "cpu"])
        recipe_main(["encode-features", "--run", str(out), "--device", "cpu"])
    finally:
        torch.set_num_threads(previous)
    return out


def test_editor_server_uses_the_run(trained_run):
    server = EditorServer(session_for_run(trained_run, device="cpu"))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        session = server.session
        assert session.size == (32, 64)  # the smoke scenes
        bank = load_run_bank(trained_run, load_run(trained_run, device="cpu")[1])
        assert session.num_styles == {k: len(v) for k, v in bank.centers.items()}
        with urllib.request.urlopen(server.url + "api/image/generated.png", timeout=30) as reply:
            assert reply.status == 200
            assert reply.read().startswith(b"\x89PNG")
        data = json.dumps({"seed": 1}).encode()
        request = urllib.request.Request(
            server.url + "api/randomize",
            data,
            {"Content-Type": "application/json", "X-Editor-Token": server.token},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert json.load(reply)["state"]["can_undo"]
        assert set(session.choices) <= set(session.instances.unique().tolist())
    finally:
        server.shutdown()
        server.server_close()


def test_edit_command_prints_the_url(trained_run):
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "edit", "--run", str(trained_run), "--device", "cpu"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("editor running at http://127.0.0.1:")
        url = line.split()[3]
        with urllib.request.urlopen(url + "api/state", timeout=30) as reply:
            assert json.load(reply)["state"]["size"] == [32, 64]
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()


def test_editor_and_generate_command_make_the_same_image(trained_run, tmp_path):
    """The editor and ``generate --choices`` run one inference path: bit-identical images."""
    from PIL import Image

    session = session_for_run(trained_run, device="cpu")
    styles = {k: len(session.instance_info(k)["styles"]) for k in session.choices}
    chosen = max(styles, key=styles.get)  # an instance of a class with the most styles
    session.set_style(chosen, (session.choices[chosen] + 1) % styles[chosen])
    choices = tmp_path / "choices.json"
    choices.write_text(json.dumps({str(k): v for k, v in session.choices.items()}))
    out = recipe_main(
        ["generate", "--run", str(trained_run), "--num", "1", "--choices", str(choices),
         "--output", str(tmp_path / "gen"), "--device", "cpu"]
    )  # fmt: skip
    (picture,) = [p for p in out.glob("*.png") if p.name != "grid.png"]
    written = torch.from_numpy(np.array(Image.open(picture))).permute(2, 0, 1)
    assert torch.equal(written, session.generated())
