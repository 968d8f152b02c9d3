"""Plain-text tables for terminal reports."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(rows: Sequence[Sequence[str]]) -> str:
    """A header row and data rows as aligned columns separated by `` | ``, with a rule under
    the header.

    Examples:
        >>> print(text_table([("name", "value"), ("a", "1.50")]))
        name | value
        -----+------
        a    | 1.50
    """
    if not rows:
        raise ValueError("a table needs at least a header row, got no rows")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)
