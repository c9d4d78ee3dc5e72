"""The table and JSON that ``testfleet discover`` prints (pure)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from testfleet.categories import CategorySummary
from testfleet.reporting.text import format_seconds

_HEADER = ("category", "priority", "parallel", "tests", "estimate", "patterns/markers")
# Numbers read best right-aligned; the last column is never padded.
_RIGHT = (False, True, False, True, True, False)


def format_table(rows: Sequence[CategorySummary]) -> str:
    """An aligned plain-text table of ``rows`` with a total line, without a final newline.

    Markers show as ``mark:NAME`` after the patterns; ``other``, which has
    neither, shows ``(the rest)``.
    """
    ordered = sorted(rows, key=CategorySummary.sort_key)
    cells = [_HEADER]
    cells += [
        (
            row.name,
            str(row.priority),
            "yes" if row.parallel else "no",
            str(row.tests),
            format_seconds(row.estimate),
            _selectors(row),
        )
        for row in ordered
    ]
    total = math.fsum(row.estimate for row in ordered)
    cells.append(
        ("total", "", "", str(sum(row.tests for row in ordered)), format_seconds(total), "")
    )
    widths = [max(len(line[column]) for line in cells) for column in range(len(_HEADER))]
    lines = [
        "  ".join(
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(line, widths, _RIGHT, strict=True)
        ).rstrip()
        for line in cells
    ]
    return "\n".join(lines)


def _selectors(row: CategorySummary) -> str:
    selectors = [*row.patterns, *(f"mark:{marker}" for marker in row.markers)]
    return ", ".join(selectors) if selectors else "(the rest)"


def to_json(rows: Sequence[CategorySummary]) -> str:
    """The listing as JSON for machines: sorted keys, rows in priority order.

    ``{"categories": [{"name", "priority", "parallel", "tests", "estimate",
    "patterns", "markers"}, ...], "total": {"tests", "estimate"}}``, estimates
    in seconds rounded to milliseconds.
    """
    ordered = sorted(rows, key=CategorySummary.sort_key)
    document = {
        "categories": [
            {
                "name": row.name,
                "priority": row.priority,
                "parallel": row.parallel,
                "tests": row.tests,
                "estimate": round(row.estimate, 3),
                "patterns": list(row.patterns),
                "markers": list(row.markers),
            }
            for row in ordered
        ],
        "total": {
            "tests": sum(row.tests for row in ordered),
            "estimate": round(math.fsum(row.estimate for row in ordered), 3),
        },
    }
    return json.dumps(document, indent=2, sort_keys=True)
