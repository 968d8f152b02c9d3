"""Pictures of a run: images as uint8, side-by-side grids, PNG files, an ``index.html`` page.

Writing PNG files needs Pillow (``pip install "condgan-blocks[recipe]"``), imported only when a
file is written.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ._files.atomic import atomic_write

__all__ = [
    "ReportSection",
    "image_grid",
    "render_index_html",
    "save_png",
    "to_uint8_image",
    "write_index_html",
]


def to_uint8_image(image: Tensor) -> Tensor:
    """A float image in [-1, 1] as uint8 in [0, 255] (values outside are clipped).

    Args:
        image: Tensor of shape (C, H, W) or (N, C, H, W); uint8 input is returned as is.

    Returns:
        uint8 tensor of the same shape, on the CPU.

    Examples:
        >>> to_uint8_image(torch.tensor([[[-1.0, 0.0, 1.0, 2.0]]]))
        tensor([[[  0, 128, 255, 255]]], dtype=torch.uint8)
    """
    if not isinstance(image, Tensor):
        raise TypeError(f"image must be a torch.Tensor, got {type(image).__name__}")
    if image.dtype == torch.uint8:
        return image.cpu()
    if not image.is_floating_point():
        raise TypeError(f"image must be float in [-1, 1] or uint8, got dtype {image.dtype}")
    scaled = (image.detach().float().cpu().clamp(-1, 1) + 1) * 127.5
    return scaled.round().to(torch.uint8)


def image_grid(rows: Sequence[Sequence[Tensor]], *, padding: int = 2, fill: int = 255) -> Tensor:
    """Tile images into one picture: ``rows[i][j]`` goes to row i, column j.

    Every image is (C, H, W), float in [-1, 1] or uint8; one-channel images are repeated to
    three. Cells take the largest height of their row and the largest width of their column;
    smaller images sit in the top-left corner of their cell.

    Args:
        rows: A list of rows, each a list of images.
        padding: Pixels of ``fill`` between and around the cells.
        fill: The uint8 value of the padding.

    Returns:
        uint8 tensor of shape (3, H, W).

    Examples:
        >>> image = torch.zeros(3, 4, 6)
        >>> image_grid([[image, image], [image, image]], padding=1).shape
        torch.Size([3, 11, 15])
    """
    if not rows or not all(rows) or any(isinstance(row, Tensor) for row in rows):
        raise ValueError("rows must be a non-empty list of non-empty lists of images")
    cells = [[_rgb(to_uint8_image(image)) for image in row] for row in rows]
    num_columns = max(len(row) for row in cells)
    heights = [max(image.shape[1] for image in row) for row in cells]
    widths = [max(row[j].shape[2] for row in cells if j < len(row)) for j in range(num_columns)]
    out = torch.full(
        (3, sum(heights) + padding * (len(heights) + 1), sum(widths) + padding * (num_columns + 1)),
        fill,
        dtype=torch.uint8,
    )
    top = padding
    for row, height in zip(cells, heights, strict=True):
        left = padding
        for j, image in enumerate(row):
            out[:, top : top + image.shape[1], left : left + image.shape[2]] = image
            left += widths[j] + padding
        top += height + padding
    return out


def _rgb(image: Tensor) -> Tensor:
    if image.ndim != 3:
        raise ValueError(f"grid images must have shape (C, H, W), got {tuple(image.shape)}")
    if image.shape[0] == 1:
        return image.expand(3, -1, -1)
    if image.shape[0] != 3:
        raise ValueError(f"grid images must have 1 or 3 channels, got {tuple(image.shape)}")
    return image


def save_png(image: Tensor, path: str | os.PathLike) -> Path:
    """Write a (C, H, W) image (uint8, or float in [-1, 1]) as a PNG, atomically.

    The folder is created; the file is written beside the target and renamed over it.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Shape:
        - Input: ``image`` (C, H, W) with C = 1 or 3.

    Examples:
        >>> import os, tempfile
        >>> from PIL import Image
        >>> image = torch.zeros(3, 4, 6, dtype=torch.uint8)
        >>> path = save_png(image, os.path.join(tempfile.mkdtemp(), "sub", "black.png"))
        >>> with Image.open(path) as png:
        ...     png.size, png.mode
        ((6, 4), 'RGB')
    """
    from PIL import Image

    array = _rgb(to_uint8_image(image)).permute(1, 2, 0).contiguous().numpy()
    path = Path(path)
    with atomic_write(path) as file:
        Image.fromarray(array).save(file, format="PNG")
    return path


@dataclass
class ReportSection:
    """One section of a [`write_index_html`][condgan_blocks.visualization.write_index_html] page.

    Attributes:
        title: The heading.
        text: Paragraphs shown under the heading (plain text, escaped).
        images: ``(caption, path)`` pairs; paths are linked relative to the page.
        table: Optional ``(header, rows)``; cells are converted with ``str`` and escaped.
        links: ``(text, path)`` pairs listed as links.
        warnings: Paragraphs shown highlighted right under the heading, before the text: why
            the numbers below may not mean what they seem (a smoke run, an untrained scorer).

    Examples:
        >>> section = ReportSection("Scores", text=["Lower is better."], table=(["FID"], [[12.5]]))
        >>> section.title, section.images, section.links, section.warnings
        ('Scores', (), (), ())
    """

    title: str
    text: Sequence[str] = ()
    images: Sequence[tuple[str, str | os.PathLike]] = ()
    table: tuple[Sequence[str], Sequence[Sequence[object]]] | None = None
    links: Sequence[tuple[str, str | os.PathLike]] = field(default_factory=tuple)
    warnings: Sequence[str] = ()


def _relative(path: str | os.PathLike, folder: Path) -> str:
    relative = os.path.relpath(Path(path).resolve(), folder.resolve())
    return html.escape(Path(relative).as_posix(), quote=True)


def render_index_html(title: str, sections: Sequence[ReportSection], folder: Path) -> str:
    """The page [`write_index_html`][condgan_blocks.visualization.write_index_html] writes, as a
    string (links relative to ``folder``).

    Examples:
        >>> page = render_index_html("a <run>", [ReportSection("x", text=["1 < 2"])], Path("."))
        >>> "<h1>a &lt;run&gt;</h1>" in page, "<p>1 &lt; 2</p>" in page
        (True, True)
        >>> section = ReportSection("Scores", warnings=["a smoke run measures nothing"])
        >>> '<p class="warning"><strong>Warning:</strong> a smoke run' in render_index_html(
        ...     "run", [section], Path("."))
        True
    """
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "img{image-rendering:pixelated;max-width:100%;border:1px solid #ccc}"
        "figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px 10px;"
        "text-align:right}th{background:#eee}"
        ".warning{background:#fff3cd;border-left:4px solid #e0a800;padding:6px 10px}</style>",
        "</head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    for section in sections:
        parts.append(f"<h2>{esc(section.title)}</h2>")
        parts.extend(
            f'<p class="warning"><strong>Warning:</strong> {esc(warning)}</p>'
            for warning in section.warnings
        )
        parts.extend(f"<p>{esc(paragraph)}</p>" for paragraph in section.text)
        if section.table is not None:
            header, rows = section.table
            parts.append("<table><tr>" + "".join(f"<th>{esc(str(h))}</th>" for h in header))
            for row in rows:
                parts.append("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>")
            parts.append("</table>")
        for caption, path in section.images:
            href = _relative(path, folder)
            parts.append(
                f'<figure><a href="{href}"><img src="{href}" alt="{esc(caption, quote=True)}">'
                f"</a><figcaption>{esc(caption)}</figcaption></figure>"
            )
        if section.links:
            parts.append("<ul>")
            parts.extend(
                f'<li><a href="{_relative(path, folder)}">{esc(text)}</a></li>'
                for text, path in section.links
            )
            parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_index_html(
    path: str | os.PathLike, title: str, sections: Sequence[ReportSection]
) -> Path:
    """Write an HTML page of sections (text, tables, images, links), atomically.

    All text is escaped and every link is relative to the page's folder, so the folder can be
    moved or served as is.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Examples:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> image = save_png(torch.zeros(1, 2, 2), os.path.join(folder, "images", "a.png"))
        >>> section = ReportSection("Samples", images=[("first", image)])
        >>> page = write_index_html(os.path.join(folder, "index.html"), "Run", [section])
        >>> text = page.read_text()
        >>> "<h1>Run</h1>" in text, 'src="images/a.png"' in text
        (True, True)
    """
    path = Path(path)
    page = render_index_html(title, sections, path.parent)
    with atomic_write(path) as file:
        file.write(page.encode("utf-8"))
    return path
