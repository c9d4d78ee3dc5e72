"""The lines testfleet adds to pytest's terminal summary at the end of a run."""

from __future__ import annotations

from collections.abc import Sequence

from testfleet.model.history import RunRecord, TestResult
from testfleet.reporting.text import format_seconds

#: Tests named per kind before the rest are counted.
NAMED = 10


def format_bytes(size: int) -> str:
    """``size`` bytes for people: ``410 MB``, ``1.2 GB``."""
    if size >= 1 << 30:
        return f"{size / (1 << 30):.1f} GB"
    return f"{size / (1 << 20):.0f} MB"


def run_line(run: RunRecord) -> str:
    """One line on how the run went: workers, how busy, wall (and the plan's), peak memory."""
    parts = [f"testfleet: {run.workers} worker{'s' if run.workers != 1 else ''}"]
    if run.efficiency is not None:
        parts.append(f"{run.efficiency * 100:.0f} % busy")
    if run.wall is not None:
        wall = format_seconds(run.wall)
        if run.planned is not None:
            wall += f" (planned {format_seconds(run.planned)})"
        parts.append(wall)
    if run.peak_rss is not None:
        parts.append(f"peak {format_bytes(run.peak_rss)}")
    return ", ".join(parts)


def flaky_tests(results: Sequence[TestResult]) -> list[str]:
    """Lines naming the run's flaky tests: they failed, then passed when run again."""
    flaky = [r for r in results if r.flaky]
    if not flaky:
        return []
    lines = [f"testfleet: {len(flaky)} flaky (failed, then passed when run again):"]
    lines += [f"  {r.nodeid} (passed on attempt {r.attempts})" for r in flaky[:NAMED]]
    if len(flaky) > NAMED:
        lines.append(f"  ... and {len(flaky) - NAMED} more")
    return lines


def quarantined_tests(outcomes: Sequence[tuple[str, str]]) -> list[str]:
    """Lines naming the run's quarantined tests: ``(node id, what happened)`` each."""
    if not outcomes:
        return []
    failed = sum(1 for _, text in outcomes if not text.startswith("passed"))
    lines = [
        f"testfleet: {len(outcomes)} quarantined, {failed} of them failed "
        "(quarantined failures do not fail the run):"
    ]
    lines += [f"  {nodeid}: {text}" for nodeid, text in outcomes[:NAMED]]
    if len(outcomes) > NAMED:
        lines.append(f"  ... and {len(outcomes) - NAMED} more")
    return lines
