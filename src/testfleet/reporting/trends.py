"""The table and JSON that ``testfleet trends`` prints (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone, tzinfo

from testfleet.monitoring.trends import Direction, RunTrend, SlowerTest, Trends
from testfleet.reporting.text import format_seconds

_RUN_HEADER = (
    "run",
    "date",
    "commit",
    "result",
    "tests",
    "wall",
    "test time",
    "workers",
    "efficiency",
    "peak memory",
)
# Numbers read best right-aligned.
_RUN_RIGHT = (True, False, False, False, True, True, True, True, True, True)
_SLOWER_HEADER = ("test", "before", "now", "change")
_SLOWER_RIGHT = (False, True, True, True)
_UNITS = ("KiB", "MiB", "GiB", "TiB")
#: Runs that span less than this (a day) say little about a week.
SHORT_SPAN = 24 * 3600.0
#: Commits show as git's short form.
_COMMIT = 7


def format_bytes(count: int) -> str:
    """``512 KiB``, ``87 MiB``, ``1.2 GiB``: binary units, as memory is counted."""
    if count < 0:
        raise ValueError(f"expected a non-negative number of bytes, got {count!r}")
    if count < 1024:
        return f"{count} B"
    size, unit = count / 1024, _UNITS[0]
    for larger in _UNITS[1:]:
        if size < 1024:
            break
        size, unit = size / 1024, larger
    return f"{size:.1f} {unit}" if size < 10 else f"{size:.0f} {unit}"


def format_signed_seconds(seconds: float) -> str:
    """``+1.5s``, ``-2m 03s``: :func:`format_seconds` with a sign."""
    return ("-" if seconds < 0 else "+") + format_seconds(abs(seconds))


def result_of(run: RunTrend) -> str:
    """How a run ended, in a word: passed, failed, interrupted, or pytest's exit code."""
    if run.status == "interrupted":
        return "interrupted"
    return {0: "passed", 1: "failed", 5: "no tests"}.get(
        run.exit_code if run.exit_code is not None else -1, f"exit {run.exit_code}"
    )


def _date(started: float, tz: tzinfo | None) -> str:
    return datetime.fromtimestamp(started, tz).strftime("%Y-%m-%d %H:%M")


def _table(header: Sequence[str], right: Sequence[bool], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.rjust(width) if r else cell.ljust(width)
            for cell, width, r in zip(row, widths, right, strict=True)
        ).rstrip()
        for row in (header, *rows)
    )


def _run_row(run: RunTrend, tz: tzinfo | None) -> tuple[str, ...]:
    def maybe(value: float | None) -> str:
        return "-" if value is None else format_seconds(value)

    return (
        "-" if run.run_id is None else str(run.run_id),
        _date(run.started, tz),
        (run.commit or "-")[:_COMMIT],
        result_of(run),
        "-" if run.tests is None else str(run.tests),
        maybe(run.wall),
        maybe(run.test_seconds),
        str(run.workers),
        "-" if run.efficiency is None else f"{run.efficiency:.0%}",
        "-" if run.peak_rss is None else format_bytes(run.peak_rss),
    )


def format_span(seconds: float) -> str:
    """A stretch of time: ``2.5 days`` from a day on, :func:`format_seconds` below."""
    if seconds >= SHORT_SPAN:
        return f"{seconds / SHORT_SPAN:.1f} days"
    return format_seconds(seconds)


def format_direction(found: Direction) -> str:
    """The suite's direction in one sentence (two when the runs span less than a day)."""
    if found.tests_per_week is None or found.wall_per_week is None:
        return f"Direction: needs 2 complete runs started at different times ({found.runs} shown)."
    text = (
        f"Direction over {found.runs} complete runs in {format_span(found.span)}: "
        f"{found.tests_per_week:+.1f} tests a week, wall "
        f"{format_signed_seconds(found.wall_per_week)} a week."
    )
    if found.span < SHORT_SPAN:
        text += " Runs less than a day apart say little about a week."
    return text


def format_test_seconds(seconds: float) -> str:
    """A test's duration: hundredths under 10 s (``0.25s``), :func:`format_seconds` above."""
    return f"{seconds:.2f}s" if round(seconds, 2) < 10 else format_seconds(seconds)


def _slower_row(test: SlowerTest) -> tuple[str, ...]:
    ratio = "" if test.ratio is None else f" ({test.ratio:.1f}x)"
    sign = "-" if test.increase < 0 else "+"
    return (
        test.nodeid,
        format_test_seconds(test.baseline),
        format_test_seconds(test.recent),
        sign + format_test_seconds(abs(test.increase)) + ratio,
    )


def format_trends(found: Trends, *, tz: tzinfo | None = None) -> str:
    """The runs oldest first, the direction, and the tests that got slower.

    Dates are in ``tz``, the local time zone by default.  No final newline.
    """
    if not found.runs:
        return "No finished runs in the history yet."
    lines = [_table(_RUN_HEADER, _RUN_RIGHT, [_run_row(r, tz) for r in found.runs]), ""]
    lines.append(format_direction(found.direction))
    windows = found.windows
    compared = (
        f"median of each test's last {windows.recent} passing runs vs the "
        f"{windows.baseline} before them"
    )
    if found.slower:
        lines += ["", f"Tests that got slower ({compared}):", ""]
        lines.append(_table(_SLOWER_HEADER, _SLOWER_RIGHT, [_slower_row(s) for s in found.slower]))
    else:
        lines.append(f"No test got slower ({compared}).")
    return "\n".join(lines)


def to_json(found: Trends) -> str:
    """The trends as JSON for machines, sorted keys.

    ``{"runs": [{"run_id", "started", "date", "commit", "status", "exit_code",
    "wall", "tests", "test_seconds", "workers", "efficiency", "peak_rss"}, ...],
    "direction": {"runs", "span", "tests_per_week", "wall_per_week"}, "slower":
    [{"nodeid", "baseline", "recent", "increase", "ratio", "baseline_samples",
    "recent_samples"}, ...], "windows": {"recent", "baseline", "min_samples"}}``.
    Runs oldest first; ``started`` in seconds since the epoch and ``date`` in
    ISO 8601 UTC; seconds rounded to milliseconds; ``peak_rss`` in bytes; a
    figure that was not recorded is null.
    """
    document = {
        "runs": [
            {
                "run_id": run.run_id,
                "started": round(run.started, 3),
                "date": datetime.fromtimestamp(run.started, timezone.utc).isoformat(
                    timespec="seconds"
                ),
                "commit": run.commit,
                "status": run.status,
                "exit_code": run.exit_code,
                "wall": _round(run.wall),
                "tests": run.tests,
                "test_seconds": _round(run.test_seconds),
                "workers": run.workers,
                "efficiency": _round(run.efficiency),
                "peak_rss": run.peak_rss,
            }
            for run in found.runs
        ],
        "direction": {
            "runs": found.direction.runs,
            "span": round(found.direction.span, 3),
            "tests_per_week": _round(found.direction.tests_per_week),
            "wall_per_week": _round(found.direction.wall_per_week),
        },
        "slower": [
            {
                "nodeid": s.nodeid,
                "baseline": _round(s.baseline),
                "recent": _round(s.recent),
                "increase": _round(s.increase),
                "ratio": _round(s.ratio),
                "baseline_samples": s.baseline_samples,
                "recent_samples": s.recent_samples,
            }
            for s in found.slower
        ],
        "windows": {
            "recent": found.windows.recent,
            "baseline": found.windows.baseline,
            "min_samples": found.windows.min_samples,
        },
    }
    return json.dumps(document, indent=2, sort_keys=True)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
