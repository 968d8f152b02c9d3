"""Grids, PNG files and the index.html page."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from condgan_blocks.visualization import (
    ReportSection,
    image_grid,
    render_index_html,
    save_png,
    to_uint8_image,
    write_index_html,
)


def test_to_uint8_maps_the_range_and_clips():
    out = to_uint8_image(torch.tensor([[[-2.0, -1.0, 0.0, 1.0, 3.0]]]))
    assert out.tolist() == [[[0, 0, 128, 255, 255]]]


def test_grid_places_every_image_in_its_cell():
    a = torch.full((3, 2, 3), 10, dtype=torch.uint8)
    b = torch.full((1, 4, 2), 20, dtype=torch.uint8)  # one channel: repeated
    grid = image_grid([[a, b], [b]], padding=1, fill=0)
    # rows: heights 4, 4; columns: widths 3, 2
    assert grid.shape == (3, 1 + 4 + 1 + 4 + 1, 1 + 3 + 1 + 2 + 1)
    assert (grid[:, 1:3, 1:4] == 10).all()
    assert (grid[:, 1:5, 5:7] == 20).all()
    assert (grid[:, 6:10, 1:3] == 20).all()
    assert int(grid[:, 0].sum()) == 0


def test_grid_rejects_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        image_grid([])
    with pytest.raises(ValueError, match="1 or 3 channels"):
        image_grid([[torch.zeros(2, 4, 4)]])


def test_save_png_round_trip(tmp_path):
    from PIL import Image

    image = torch.randint(0, 256, (3, 5, 7), dtype=torch.uint8)
    path = save_png(image, tmp_path / "a" / "x.png")
    assert np.array_equal(np.asarray(Image.open(path)), image.permute(1, 2, 0).numpy())
    assert not list((tmp_path / "a").glob(".*"))


def test_index_html_escapes_and_links_relatively(tmp_path):
    (tmp_path / "grids").mkdir()
    picture = tmp_path / "grids" / "step 1.png"
    picture.write_bytes(b"")
    sections = [
        ReportSection(
            "Scores <b>",
            text=["a & b"],
            table=(("name", "value"), [("<script>", 1.5)]),
            images=[("grid", picture)],
            links=[("file", tmp_path / "recipe.json")],
        )
    ]
    page = write_index_html(tmp_path / "index.html", "run <1>", sections).read_text()
    assert "<h2>Scores &lt;b&gt;</h2>" in page
    assert "<td>&lt;script&gt;</td>" in page
    assert "<script>" not in page
    assert 'src="grids/step 1.png"' in page
    assert 'href="recipe.json"' in page
    assert str(tmp_path) not in page  # no absolute links
    assert page == render_index_html("run <1>", sections, tmp_path)
