"""Pictures of a run: images as uint8, side-by-side grids, PNG and JSON files, ``index.html``
pages, and the report page of a recipe run folder.

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
from einops import rearrange
from torch import Tensor

from ._files.atomic import atomic_write, write_json
from ._files.json_file import read_json_object
from .data.label_colours import colorize
from .evaluation.inception_scores import format_fid_kid
from .evaluation.report import (
    HIGH_FREQUENCY_KEYS,
    SCORED_IMAGES,
    SMOKE_RUN_WARNING,
    format_class_ratios,
    format_ratio,
    format_style_draws,
    format_times_real,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "ReportSection",
    "generated_image_name",
    "image_grid",
    "image_picture",
    "label_picture",
    "render_index_html",
    "save_generated_image",
    "save_png",
    "to_uint8_image",
    "write_index_html",
    "write_json",
    "write_run_report",
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
        ``path`` as a `Path`.

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

    array = rearrange(_rgb(to_uint8_image(image)), "c h w -> h w c").contiguous().numpy()
    path = Path(path)
    with atomic_write(path) as file:
        Image.fromarray(array).save(file, format="PNG")
    return path


IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
"""File name endings read as image files (any case)."""


def generated_image_name(source: str | os.PathLike) -> str:
    """The file name of the image generated for a sample: its name with one ``.png``.

    Args:
        source: The sample's ``path`` (a file, or a name such as ``synthetic/val/000001``).

    Returns:
        The name alone, its image ending (if any) replaced by ``.png``.

    Examples:
        >>> generated_image_name("datasets/x/test_label/0000.png")
        '0000.png'
        >>> generated_image_name("a/frame_01.JPG"), generated_image_name("synthetic/val/000001")
        ('frame_01.png', '000001.png')
        >>> generated_image_name("scene.v2")  # not an image ending: kept
        'scene.v2.png'
    """
    path = Path(source)
    stem = path.stem if path.suffix.lower() in IMAGE_SUFFIXES else path.name
    return f"{stem}.png"


def save_generated_image(image: Tensor, path: str | os.PathLike) -> Path:
    """Write a generated image, atomically: a PNG for 1 or 3 channels, else an ``.npy``.

    Image-to-image runs may generate other channel counts: those are written as ``.npy``
    arrays of (H, W, C) float32 in [-1, 1] (``path`` with its ending replaced), the layout
    that [`PairedFolderDataset`][condgan_blocks.data.PairedFolderDataset] reads back.

    Args:
        image: (C, H, W), float in [-1, 1] (or uint8 for a PNG).
        path: The ``.png`` path.

    Returns:
        The path written.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> save_generated_image(torch.zeros(3, 4, 6), folder / "a.png").name
        'a.png'
        >>> save_generated_image(torch.zeros(2, 4, 6), folder / "b.png").name
        'b.npy'
    """
    import numpy as np

    if not isinstance(image, Tensor) or image.ndim != 3:
        shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
        raise ValueError(f"expected an image of shape (C, H, W), got {shape}")
    if image.shape[0] in (1, 3):
        return save_png(image, path)
    path = Path(path).with_suffix(".npy")
    array = image.detach().clamp(-1, 1).permute(1, 2, 0).float().cpu().numpy()
    with atomic_write(path) as file:
        np.save(file, array, allow_pickle=False)
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
        ``path`` as a `Path`.

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


def label_picture(label: Tensor, palette: Tensor) -> Tensor:
    """A label map as a colour picture; ids without a colour in ``palette`` are black.

    Unlike [`colorize`][condgan_blocks.data.colorize], ids outside the palette (an ignore id
    such as 255, or -1) are allowed, so any label map can be drawn.

    Args:
        label: Integer class ids of shape (1, H, W) or (H, W).
        palette: uint8 colours of shape (K, 3), row ``k`` for class ``k``.

    Returns:
        uint8 tensor of shape (3, H, W).

    Examples:
        >>> palette = torch.tensor([[0, 0, 0], [255, 0, 0]], dtype=torch.uint8)
        >>> label_picture(torch.tensor([[[1, 255]]]), palette)[:, 0]
        tensor([[255,   0],
                [  0,   0],
                [  0,   0]], dtype=torch.uint8)
    """
    if not isinstance(label, Tensor) or label.is_floating_point() or label.is_complex():
        raise TypeError(f"label must be an integer tensor, got {label!r:.60}")
    if label.ndim == 2:
        label = label[None]
    if label.ndim != 3 or label.shape[0] != 1:
        raise ValueError(f"expected label of shape (1, H, W) or (H, W), got {tuple(label.shape)}")
    inside = (label >= 0) & (label < palette.shape[0])
    return colorize(torch.where(inside, label, 0), palette) * inside


def image_picture(image: Tensor) -> Tensor:
    """An image of any channel count as one of 1 or 3 channels, which
    [`image_grid`][condgan_blocks.visualization.image_grid] and
    [`save_png`][condgan_blocks.visualization.save_png] can draw.

    For the inputs and outputs of image-to-image runs, which may have any number of channels:
    one- and three-channel images stay as they are, of two channels the first is kept (grey),
    of four or more the first three (RGBA loses its alpha).

    Args:
        image: (C, H, W), float in [-1, 1] or uint8.

    Returns:
        The same tensor, or a view of its first one or three channels.

    Shape:
        - Input: (C, H, W)
        - Output: (1, H, W) for C <= 2, (3, H, W) for C >= 3

    Examples:
        >>> image_picture(torch.zeros(4, 2, 5)).shape
        torch.Size([3, 2, 5])
        >>> image_picture(torch.zeros(2, 2, 5)).shape
        torch.Size([1, 2, 5])
    """
    if not isinstance(image, Tensor) or image.ndim != 3 or image.shape[0] == 0:
        shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
        raise ValueError(f"expected an image of shape (C, H, W) with C >= 1, got {shape}")
    return image[:3] if image.shape[0] >= 3 else image[:1]


# The files of a recipe run folder that the report page shows, relative to the run folder.
RUN_RECIPE_FILE = "recipe.json"
RUN_METRICS_FILE = "evaluation/metrics.json"
RUN_STYLES_FILE = "car_styles.json"
RUN_STYLES_PICTURE = "car_styles.png"
RUN_GENERATED_FOLDER = "generated"
RUN_GRIDS_FOLDER = "grids"
RUN_LOSS_LOG = "metrics.jsonl"
# metrics.json entries shown in the segmentation table and text, not as further scores.
_SHOWN_SCORES = {
    "miou_ratio",
    "num_images",
    "style_draws",
    *(f"{k}_ratio" for k in HIGH_FREQUENCY_KEYS),
}


def _read_json(path: Path) -> dict:
    return read_json_object(path, "run file")


def _evaluation_section(results: dict, metrics: Path, smoke: bool) -> ReportSection:
    text, table = [], None
    if all("pixel_accuracy" in results.get(key, {}) for key, _ in SCORED_IMAGES):
        header = ("images", "pixel accuracy (%)", "mean IoU", "chroma HF", "luminance HF")
        rows = [
            (
                name,
                f"{100 * results[key]['pixel_accuracy']:.2f}",
                f"{results[key]['mean_iou']:.4f}",
                *(
                    "n/a" if results[key].get(hf) is None else f"{results[key][hf]:.4f}"
                    for hf in HIGH_FREQUENCY_KEYS
                ),
            )
            for key, name in SCORED_IMAGES
        ]
        table = (header, rows)
        text.append(
            f"A segmentation network trained on real training images segments "
            f"{results.get('num_images', '?')} {results.get('split', '')} images (the paper's "
            f"Table 1 protocol). Generated / real mean IoU: "
            f"{format_ratio(results.get('miou_ratio'))}{format_style_draws(results)}."
        )
        if all(f"{hf}_ratio" in results for hf in HIGH_FREQUENCY_KEYS):
            text.append(
                "High-frequency energy (the HF columns: mean |x - 3x3 box blur| on [0, 1]), "
                f"generated / real: chroma {format_times_real(results['chroma_hf_ratio'])}, "
                f"luminance {format_times_real(results['luminance_hf_ratio'])} (1.0x real: as "
                "noisy as the real images)."
            )
        classes = format_class_ratios(results)
        if classes:
            text.append(classes[0].upper() + classes[1:] + ".")
    fid_kid = results.get("fid_kid")
    if isinstance(fid_kid, dict):  # the scores, or why they were skipped
        text.append(format_fid_kid(fid_kid))
    others = [
        (name, "n/a" if value is None else f"{value:.4g}")
        for name, value in results.items()
        if name not in _SHOWN_SCORES
        and (value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)))
    ]
    if others:
        text.append("Further scores: " + ", ".join(f"{name} {value}" for name, value in others))
    warnings = [w for w in results.get("warnings", ()) if not (smoke and w == SMOKE_RUN_WARNING)]
    return ReportSection(
        "Evaluation",
        text=text,
        table=table,
        links=[("metrics.json", metrics)],
        warnings=warnings,
    )


def write_run_report(run: str | os.PathLike, *, title: str | None = None) -> Path:
    """Write ``run/index.html``: the report page of a recipe run folder.

    The page shows what the folder holds, each part only when present: a warning when
    ``recipe.json`` marks a smoke run (``"smoke": true``); the evaluation of
    ``evaluation/metrics.json`` (the segmentation scores of generated, real and flat-colour
    images with their high-frequency energy, the generated / real IoU of each class, FID and
    KID or why they were skipped, any further numeric scores, and the warnings stored with
    them); the feature-bank styles of ``car_styles.json`` / ``car_styles.png``;
    ``generated/grid.png`` and the generated images; the newest training grid of
    ``grids/step_*.png`` with links to all; and links to ``recipe.json`` and
    ``metrics.jsonl``. Links are relative, so the folder can be moved.

    Args:
        run: The run folder.
        title: The page title; default ``"pix2pixHD run: <folder name>"``.

    Returns:
        The path of ``index.html``.

    Raises:
        FileNotFoundError: ``run`` is not a folder.

    Examples:
        >>> import json, tempfile
        >>> run = Path(tempfile.mkdtemp())
        >>> _ = (run / "recipe.json").write_text(json.dumps({"smoke": True}))
        >>> page = write_run_report(run).read_text()
        >>> "This is a --smoke run" in page, 'href="recipe.json"' in page
        (True, True)
    """
    run = Path(run)
    if not run.is_dir():
        raise FileNotFoundError(f"run folder {run} does not exist")
    sections = []
    recipe_path = run / RUN_RECIPE_FILE
    smoke = recipe_path.is_file() and bool(_read_json(recipe_path).get("smoke"))
    if smoke:
        sections.append(ReportSection("Smoke run", warnings=[SMOKE_RUN_WARNING]))
    metrics = run / RUN_METRICS_FILE
    if metrics.is_file():
        sections.append(_evaluation_section(_read_json(metrics), metrics, smoke))
    styles = run / RUN_STYLES_FILE
    if styles.is_file():
        info = _read_json(styles)
        text = [
            f"Scene {info['scene']}: instance {info['instance_id']} rendered with each of the "
            f"{info['num_styles']} feature-bank clusters of its class (top-left: labels, "
            f"bottom-left: the real image). Mean-colour difference inside the object (RGB L2 "
            f"on [0, 1]): largest {info['max_difference']:.3f}, mean {info['mean_difference']:.3f}."
        ]
        sections.append(
            ReportSection(
                "Feature bank: one scene, several car styles",
                text=text,
                images=[("car styles", run / RUN_STYLES_PICTURE)],
            )
        )
    generated = run / RUN_GENERATED_FOLDER
    if (generated / "grid.png").is_file():
        files = sorted(p for p in generated.glob("*.png") if p.name != "grid.png")
        sections.append(
            ReportSection(
                "Generated (labels | generated | real)",
                images=[("generated", generated / "grid.png")],
                links=[(p.name, p) for p in files],
            )
        )
    grids = sorted((run / RUN_GRIDS_FOLDER).glob("step_*.png"))
    if grids:
        sections.append(
            ReportSection(
                "Training (labels | generated | real)",
                images=[(grids[-1].stem, grids[-1])],
                links=[(p.stem, p) for p in grids],
            )
        )
    links = [
        (name, run / name) for name in (RUN_RECIPE_FILE, RUN_LOSS_LOG) if (run / name).is_file()
    ]
    sections.append(ReportSection("Run", text=[f"Run folder: {run}"], links=links))
    return write_index_html(run / "index.html", title or f"pix2pixHD run: {run.name}", sections)
