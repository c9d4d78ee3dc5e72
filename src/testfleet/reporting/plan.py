"""The table ``testfleet plan`` prints: predicted wall time for each worker count."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from testfleet.reporting.text import format_seconds

#: Adding workers "stops paying" when one more step saves less than this share.
WORTHWHILE = 0.10


@dataclass(frozen=True)
class Prediction:
    """The simulated run phase on ``workers`` workers."""

    workers: int
    predicted: float
    lower_bound: float


def stops_paying(predictions: Sequence[Prediction]) -> Prediction | None:
    """The last worker count worth having: the next one saves less than 10 %."""
    ordered = sorted(predictions, key=lambda p: p.workers)
    for current, following in itertools.pairwise(ordered):
        if current.predicted <= 0 or following.predicted > current.predicted * (1 - WORTHWHILE):
            return current
    return None


def format_plan(
    predictions: Sequence[Prediction], *, tests: int, estimated: bool, cpus: int | None = None
) -> str:
    """The table, with the verdict on where more workers stop paying."""
    ordered = sorted(predictions, key=lambda p: p.workers)
    base = ordered[0].predicted if ordered else 0.0
    header = ("workers", "predicted", "lower bound", "vs bound", "speed-up")
    rows = [
        (
            str(p.workers),
            format_seconds(p.predicted),
            format_seconds(p.lower_bound),
            f"{p.predicted / p.lower_bound:.2f}x" if p.lower_bound > 0 else "-",
            f"{base / p.predicted:.2f}x" if p.predicted > 0 else "-",
        )
        for p in ordered
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
        for row in (header, *rows)
    ]
    lines.append("")
    source = "recorded durations" if estimated else "no recorded durations (every test 0.1s)"
    lines.append(f"{tests} tests; run phase predicted from {source}.")
    best = stops_paying(ordered)
    if best is not None and best is not ordered[-1]:
        lines.append(
            f"Adding workers stops paying after {best.workers}: the next step saves "
            f"less than {WORTHWHILE:.0%}."
        )
    elif ordered:
        lines.append(
            f"Every step up to {ordered[-1].workers} workers still saves {WORTHWHILE:.0%} or more."
        )
    if cpus is not None and ordered and ordered[-1].workers > cpus:
        lines.append(
            f"This process may use {cpus} CPUs: past {cpus} workers the prediction holds "
            "only for tests that wait (I/O, sleep), not for tests that compute."
        )
    return "\n".join(lines)
