"""The table and JSON that ``testfleet discover`` prints (pure)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from testfleet.categories import CategorySummary, ResourceSummary
from testfleet.reporting.text import format_seconds

_HEADER = ("category", "priority", "parallel", "tests", "estimate", "patterns/markers")
# Numbers read best right-aligned; the last column is never padded.
_RIGHT = (False, True, False, True, True, False)


def format_table(rows: Sequence[CategorySummary], resources: Sequence[ResourceSummary] = ()) -> str:
    """An aligned plain-text table of ``rows`` with a total line, without a final newline.

    Markers show as ``mark:NAME`` after the patterns; ``other``, which has
    neither, shows ``(the rest)``.  When tests hold resources, a second table
    lists them after a blank line.
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
    if resources:
        lines += ["", _resource_table(resources)]
    return "\n".join(lines)


def _resource_table(resources: Sequence[ResourceSummary]) -> str:
    header = ("resource", "capacity", "tests", "estimate", "per slot")
    cells = [header]
    cells += [
        (
            row.name,
            str(row.capacity),
            str(row.tests),
            format_seconds(row.estimate),
            format_seconds(row.per_slot),
        )
        for row in resources
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in cells
    )


def _selectors(row: CategorySummary) -> str:
    selectors = [*row.patterns, *(f"mark:{marker}" for marker in row.markers)]
    return ", ".join(selectors) if selectors else "(the rest)"


def to_json(rows: Sequence[CategorySummary], resources: Sequence[ResourceSummary] = ()) -> str:
    """The listing as JSON for machines: sorted keys, rows in priority order.

    ``{"categories": [{"name", "priority", "parallel", "tests", "estimate",
    "patterns", "markers"}, ...], "resources": [{"name", "capacity", "tests",
    "estimate"}, ...], "total": {"tests", "estimate"}}``, estimates in seconds
    rounded to milliseconds; resources by name.
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
        "resources": [
            {
                "name": row.name,
                "capacity": row.capacity,
                "tests": row.tests,
                "estimate": round(row.estimate, 3),
            }
            for row in resources
        ],
        "total": {
            "tests": sum(row.tests for row in ordered),
            "estimate": round(math.fsum(row.estimate for row in ordered), 3),
        },
    }
    return json.dumps(document, indent=2, sort_keys=True)
