"""Shared helpers of the benchmark scripts: the machine, medians of timed runs, and the report.

Every script prints its figures and, through ``write_report``, writes ``<out>/<name>.json`` (the
figures, their settings and the machine) and ``<out>/<name>.md`` (a markdown table that
``docs/benchmarks.md`` includes). Both are written beside the target and renamed over it, so a
reader never sees half a file. The default ``<out>`` is ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def add_out_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        help=f"folder of the JSON and markdown reports (default {RESULTS})",
    )


def resolve_device(device: str) -> str:
    """``"auto"`` is ``"cuda"`` when a GPU is visible, else ``"cpu"``; anything else as given."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def sync(device: str) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine(device: str = "cpu") -> dict[str, Any]:
    """What the figures were measured on: CPU, cores, threads, torch, and the GPU if used."""
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    machine: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
    }
    if str(device).startswith("cuda"):
        index = torch.device(device).index or 0
        machine["gpu"] = torch.cuda.get_device_name(index)
        machine["cuda"] = torch.version.cuda
    return machine


def machine_line(machine: dict[str, Any]) -> str:
    """One line for printed output and the markdown reports."""
    text = (
        f"{machine['cpu']}, {machine['usable_cores']} cores, {machine['torch_threads']} torch "
        f"threads, torch {machine['torch']}, device {machine['device']}"
    )
    if "gpu" in machine:
        text += f" ({machine['gpu']}, CUDA {machine['cuda']})"
    return text + f"; {machine['date_utc']} UTC, load {machine['load_average_1min']}"


def median_time(
    fn: Callable[[], object], *, repeats: int, warmup: int = 1, device: str = "cpu"
) -> dict[str, Any]:
    """``{"median_s", "all_s"}`` of ``repeats`` timed calls of ``fn`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "all_s": times}


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|")

    lines = [
        "| " + " | ".join(cell(c) for c in columns) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in its folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_report(
    out: Path,
    name: str,
    *,
    title: str,
    machine: dict[str, Any],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    settings: dict[str, Any] | None = None,
    results: Any = None,
    notes: Sequence[str] = (),
) -> tuple[Path, Path]:
    """Write ``out/name.json`` and ``out/name.md`` atomically; returns both paths.

    The markdown holds the title, the machine, the table (``columns`` and the formatted
    ``rows``) and the notes; the JSON holds all of them plus the raw ``results``.
    """
    out = Path(out)
    record = {
        "name": name,
        "title": title,
        "machine": machine,
        "settings": settings or {},
        "columns": list(columns),
        "rows": [list(row) for row in rows],
        "results": results,
        "notes": list(notes),
    }
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    write_atomically(json_path, json.dumps(record, indent=2, default=str) + "\n")
    parts = [f"**{title}**", "", f"Machine: {machine_line(machine)}.", ""]
    parts.append(markdown_table(columns, rows))
    if notes:
        parts += ["", *(f"- {note}" for note in notes)]
    write_atomically(md_path, "\n".join(parts) + "\n")
    print(f"wrote {json_path} and {md_path.name}")
    return json_path, md_path
